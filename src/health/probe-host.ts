/**
 * Which addresses to probe for a server, and probing them in order.
 *
 * We never probe "localhost": Node ≥ 17 resolves it to ::1 first, and a stale server on ::1:PORT
 * can coexist with a fresh one on 127.0.0.1:PORT, so a "localhost" probe may be answered by the
 * ghost (research/failures-and-ports.md §2 "IPv4, IPv6 and dual-stack"). We probe explicit
 * loopback literals derived from the host the server was told to bind.
 */

import { judgeAnyAnswer, probeHttp } from './http.js';
import { isIPv6Literal, probeTcp, unbracketHost } from './tcp.js';
import type { ProbeResult } from './tcp.js';

/**
 * The addresses to probe, in order, for a server told to bind `bindHost`:
 *
 * | bindHost                  | probe                       | why |
 * |---------------------------|-----------------------------|-----|
 * | `0.0.0.0`                 | `127.0.0.1`                 | all IPv4 interfaces include loopback |
 * | `::` (or `''`, any `::` spelling) | `127.0.0.1`, `::1` | dual stack answers on both; an IPv6-only (`bindv6only`) server only on ::1 |
 * | `localhost`               | `127.0.0.1`, `::1`          | servers resolve it to either family |
 * | `127.0.0.1` / `::1`       | itself                      | |
 * | anything else             | itself                      | a concrete address or host name |
 *
 * `[::1]`-style brackets are accepted and removed. The empty string is Node's "no host" (it binds
 * `::`), so it is treated like `::`.
 */
export function probeHostFor(bindHost: string): string[] {
  const host = unbracketHost(bindHost.trim());
  if (host === '' || isUnspecifiedIPv6(host)) return ['127.0.0.1', '::1'];
  if (host === '0.0.0.0') return ['127.0.0.1'];
  if (host.toLowerCase() === 'localhost') return ['127.0.0.1', '::1'];
  return [host];
}

/**
 * `::`, `0:0:0:0:0:0:0:0`, `::0`… — the WHATWG URL parser canonicalises IPv6 literals for us (and
 * throws for what is not one).
 */
function isUnspecifiedIPv6(host: string): boolean {
  if (!isIPv6Literal(host) || host.includes('%')) return false;
  try {
    return new URL(`http://[${host}]/`).hostname === '[::]';
  } catch {
    return false;
  }
}

/** One probe over a list of candidate addresses of the same server. */
export interface ProbeTarget {
  /** 'auto': an HTTP GET where any answer below 500, or a non-HTTP server's accept, is up ({@link judgeAnyAnswer}). */
  type: 'http' | 'tcp' | 'auto';
  /** Tried in order; usually from {@link probeHostFor}. */
  hosts: readonly string[];
  port: number;
  /** The health path for 'http' (default `/`); ignored for 'tcp'. */
  path?: string | undefined;
  /** Per-host attempt timeout in ms: the worst case is `hosts.length × timeout`. */
  timeout: number;
  signal?: AbortSignal | undefined;
}

/** A {@link ProbeResult} together with the address it came from. */
export interface HostProbeResult extends ProbeResult {
  host: string;
  /** For type 'auto' when ok: whether the server answered HTTP or only accepted the connection. */
  answered?: 'http' | 'tcp';
}

/** The chosen result of {@link probeOnce}, and every attempt that led to it (in order). */
export interface ProbeOnceResult extends HostProbeResult {
  attempts: readonly HostProbeResult[];
}

/**
 * Probes each host in order and resolves (never rejects) with the first ok result. When none is
 * ok, it resolves with the most informative failure, because that is the one worth showing:
 * an HTTP status (the server is up) beats a reset or a non-HTTP answer (something is there) beats
 * a refusal (nothing listens) beats a timeout beats any other error (e.g. IPv6 unavailable). Ties
 * go to the earlier host. An abort stops at once with error `'ABORTED'`.
 */
export async function probeOnce(target: ProbeTarget): Promise<ProbeOnceResult> {
  const attempts: HostProbeResult[] = [];
  if (target.hosts.length === 0) {
    const none: HostProbeResult = { host: '', ok: false, latencyMs: 0, error: 'EINVAL', detail: 'no addresses to probe' };
    return { ...none, attempts: [none] };
  }
  let best: HostProbeResult | undefined;
  for (const host of target.hosts) {
    const path = target.path ?? '/';
    const result =
      target.type === 'tcp'
        ? await probeTcp({ host, port: target.port, timeout: target.timeout, signal: target.signal })
        : await probeHttp({ host, port: target.port, path, timeout: target.timeout, signal: target.signal });
    const judged = target.type === 'auto' ? judgeAnyAnswer(result, path) : result;
    const attempt: HostProbeResult = { ...judged, host };
    attempts.push(attempt);
    if (attempt.ok || attempt.error === 'ABORTED') return { ...attempt, attempts };
    if (best === undefined || informativeness(attempt) > informativeness(best)) best = attempt;
  }
  // The loop ran at least once and every iteration either returned or set best.
  return { ...(best as HostProbeResult), attempts };
}

function informativeness(result: ProbeResult): number {
  if (result.status !== undefined) return 5;
  const code = result.error ?? '';
  if (code === 'ECONNRESET' || code.startsWith('HPE_')) return 4;
  if (code === 'ECONNREFUSED') return 3;
  if (code === 'ETIMEDOUT') return 2;
  return 1;
}

