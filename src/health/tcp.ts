/**
 * The TCP probe ("does anything accept a connection on host:port?") and the transport-level
 * vocabulary the HTTP probe shares with it: {@link ProbeResult}, the socket with its deadline and
 * one ending ({@link probeSocket}), host formatting, and the human wording of socket errors.
 *
 * Probes resolve, never reject: a failed probe is an answer ("connection refused"), not an
 * exception, and the runner decides what a run of failures means.
 */

import { Socket } from 'node:net';
import { monotonicMs } from '../clock.js';

/**
 * Machine-readable reason a probe failed without an HTTP status. The named ones are those callers
 * branch on; any other errno-style code (`EADDRNOTAVAIL`, `ENOTFOUND`, `HPE_INVALID_CONSTANT`…) can
 * appear too. `EINVAL` means the probe target itself was invalid (port 0, a negative timeout).
 */
export type ProbeErrorCode =
  | 'ECONNREFUSED'
  | 'ETIMEDOUT'
  | 'ECONNRESET'
  | 'ABORTED'
  | 'EINVAL'
  // `string & {}` keeps editor completion for the named codes while allowing any other code.
  | (string & {});

/** What one probe attempt found. */
export interface ProbeResult {
  /** The target is up: an HTTP status 200–399, or a TCP connection accepted. */
  ok: boolean;
  /** Time from the start of the attempt to the answer (the response headers, the connect, or the failure), in ms. */
  latencyMs: number;
  /** The HTTP status, whenever the server answered one (also when it is a failure such as 404). */
  status?: number;
  /** Set when no HTTP status was received: why not. */
  error?: ProbeErrorCode;
  /** One human sentence: "200 OK in 3 ms", "connection refused (nothing is listening on 127.0.0.1:8000)". */
  detail: string;
  /** HTTP probes: the connection was accepted (so a failure came from a server, not from no server). */
  connected?: boolean;
  /** HTTP probes: the first bytes of a failing answer's body, whitespace folded. */
  bodyHead?: string;
  /**
   * HTTP probes that got a failing status: the answer (`GET /health → HTTP 503 {"db":"down"}`),
   * what it means and the fix, apart, so a summary can put a count beside the answer.
   */
  failure?: { answer: string; meaning: string; fix: string };
}

/** Options of {@link probeTcp}. */
export interface TcpProbeOptions {
  /** An IP literal (`127.0.0.1`, `::1`, `[::1]`) or a host name. Prefer literals: see {@link probeHostFor}. */
  host: string;
  port: number;
  /** Give up after this many ms (connect included). */
  timeout: number;
  /** Aborting resolves the probe at once with error `'ABORTED'` and closes the socket. */
  signal?: AbortSignal | undefined;
}

/**
 * Connects to `host:port` and closes the connection at once. ok means something accepted the
 * connection (for a listening socket the kernel completes the handshake even before the server
 * calls accept, so this says "bound and listening", not "able to serve").
 *
 * Resolves (never rejects) with a {@link ProbeResult}.
 */
export function probeTcp(options: TcpProbeOptions): Promise<ProbeResult> {
  const invalid = validateProbeTarget(options.port, options.timeout);
  if (invalid !== undefined) return Promise.resolve(invalid);
  if (options.signal?.aborted === true) return Promise.resolve(abortedResult(0));

  const host = unbracketHost(options.host);
  const where = formatHostPort(host, options.port);
  const { signal, timeout } = options;

  return new Promise<ProbeResult>((resolve) => {
    // Nothing is ever written, so destroying the socket closes it with a FIN.
    const { socket, settle, elapsed } = probeSocket(resolve, {
      signal,
      timeout,
      timedOut: (ms) => timedOutResult(timeout, ms, `connecting to ${where}`),
      aborted: abortedResult,
    });
    socket.once('connect', () => {
      const latencyMs = elapsed();
      settle({ ok: true, latencyMs: roundMs(latencyMs), detail: `connected to ${where} in ${formatMs(latencyMs)}` });
    });
    socket.on('error', (error) => settle(socketErrorResult(error, elapsed(), host, where, 'connect')));
    try {
      socket.connect({ host, port: options.port });
    } catch (error) {
      settle(socketErrorResult(error, elapsed(), host, where, 'connect'));
    }
  });
}

/** How {@link probeSocket} ends a probe that got no answer in time, or was aborted (ms since the start). */
export interface ProbeEndings {
  signal: AbortSignal | undefined;
  timeout: number;
  timedOut: (elapsedMs: number) => ProbeResult;
  aborted: (elapsedMs: number) => ProbeResult;
}

/**
 * A probe's fresh socket and its one ending, for both probes: `settle` clears the deadline and the
 * abort listener, destroys the socket and resolves, the first time only. Destroy, not end: a
 * probe's connection is never reused, and destroying also cancels a pending connect and stops a
 * body the probe chose not to read. The deadline (`timeout` ms) and an abort settle with what
 * `endings` make of the time taken.
 */
export function probeSocket(resolve: (result: ProbeResult) => void, endings: ProbeEndings): { socket: Socket; settle: (result: ProbeResult) => void; elapsed: () => number } {
  const { signal } = endings;
  const started = monotonicMs();
  const elapsed = (): number => monotonicMs() - started;
  const socket = new Socket();
  let done = false;
  const settle = (result: ProbeResult): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
    resolve(result);
  };
  const onAbort = (): void => settle(endings.aborted(elapsed()));
  const timer = setTimeout(() => settle(endings.timedOut(elapsed())), endings.timeout);
  signal?.addEventListener('abort', onAbort, { once: true });
  return { socket, settle, elapsed };
}

/**
 * Whether a host (without brackets) has the form of an IPv6 literal, as far as formatting goes:
 * hex digits, colons (at least one), dots (an embedded IPv4 tail) and an optional `%zone`. A host
 * name never holds a colon, so `localhost:8000` (a mistake) stays as written. Not node:net's
 * isIPv6: its regular expression costs ~3 ms to compile at its first use and again at its second,
 * on the path between a spawn and its first probe (CPU profiles, issue 19).
 */
export function isIPv6Literal(host: string): boolean {
  return host.includes(':') && /^[0-9a-f:.]+(%[^%]+)?$/i.test(host);
}

/**
 * `host:port` for messages and the HTTP `Host` header, with IPv6 literals in brackets
 * (`[::1]:8000`) as RFC 3986 requires; a bare `::1:8000` is ambiguous.
 */
export function formatHostPort(host: string, port: number): string {
  const bare = unbracketHost(host);
  return isIPv6Literal(bare) ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/** `[::1]` → `::1`: URLs and configs write IPv6 literals in brackets, sockets want them bare. */
export function unbracketHost(host: string): string {
  return host.length > 2 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** @internal Shared with http.ts: a target no socket call should be attempted for. */
export function validateProbeTarget(port: number, timeout: number): ProbeResult | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return { ok: false, latencyMs: 0, error: 'EINVAL', detail: `invalid probe port ${String(port)} (expected an integer 1–65535)` };
  }
  if (!Number.isFinite(timeout) || timeout <= 0) {
    return { ok: false, latencyMs: 0, error: 'EINVAL', detail: `invalid probe timeout ${String(timeout)} ms (expected a positive number)` };
  }
  return undefined;
}

/** @internal */
export function abortedResult(latencyMs: number): ProbeResult {
  return { ok: false, latencyMs: roundMs(latencyMs), error: 'ABORTED', detail: 'aborted' };
}

/** @internal `phase` says what we were waiting for, which tells a dropped SYN from a hung server. */
export function timedOutResult(timeout: number, latencyMs: number, phase: string): ProbeResult {
  return { ok: false, latencyMs: roundMs(latencyMs), error: 'ETIMEDOUT', detail: `timed out after ${timeout} ms ${phase}` };
}

/**
 * @internal Turns a socket or HTTP client error into a result with a sentence a user can act on.
 * `phase` is 'connect' for a bare connect, 'request' once an HTTP request was sent.
 */
export function socketErrorResult(
  error: unknown,
  latencyMs: number,
  host: string,
  where: string,
  phase: 'connect' | 'request',
): ProbeResult {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, latencyMs: roundMs(latencyMs), error: code, detail: describeSocketError(code, message, host, where, phase) };
}

function describeSocketError(
  code: string,
  message: string,
  host: string,
  where: string,
  phase: 'connect' | 'request',
): string {
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused (nothing is listening on ${where})`;
    case 'ECONNRESET':
      return phase === 'request'
        ? `connection reset: something on ${where} accepted the connection but closed it without an HTTP response`
        : `connection reset by ${where}`;
    case 'ETIMEDOUT':
      return `timed out connecting to ${where} (the operating system gave up)`;
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return isIPv6Literal(host)
        ? `cannot connect to ${where}: IPv6 is not available on this machine (${code})`
        : `cannot connect to ${where}: address not available (${code})`;
    case 'ENETUNREACH':
      return `network unreachable for ${where}`;
    case 'EHOSTUNREACH':
      return `host unreachable: ${where}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host name "${host}" (${code})`;
    default:
      // llhttp parse errors: a TLS server, a database, or anything else that does not speak HTTP/1.
      if (code.startsWith('HPE_')) {
        return `something on ${where} answered, but not with valid HTTP (${message})`;
      }
      return `${code}: ${message}`;
  }
}

/** The errno-style code of a socket error; Node 20's multi-address connect wraps errors in an AggregateError that still carries `code`. */
function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return error instanceof Error ? error.name : 'EUNKNOWN';
}

/** @internal Latency as reported: ms with two decimals (sub-ms probes on loopback are common). */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** @internal "3 ms", or "<1 ms" rather than a misleading "0 ms". */
export function formatMs(ms: number): string {
  return ms < 1 ? '<1 ms' : `${Math.round(ms)} ms`;
}
