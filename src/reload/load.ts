/**
 * A bounded HTTP load generator for loopback servers, used by the reload tests and benchmarks
 * (issue 8: "a bounded request loop … loopback only"). `concurrency` workers each send one GET at a
 * time over keep-alive connections (node:http Agent), until the time OR the request budget runs out
 * or the signal aborts. Every request is counted: ok (status 200–399) or failed, with failures
 * grouped by code (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `HTTP_503`, …).
 *
 * It refuses anything but loopback addresses: it is a test instrument, not a tool to load other
 * machines.
 */

import { Agent, request } from 'node:http';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { NaijaSupError } from '../errors.js';

/** Hard caps, whatever the caller asks: the generator must always end. */
export const LOAD_LIMITS = {
  maxDurationMs: 10 * 60_000,
  maxRequests: 10_000_000,
  maxConcurrency: 1024,
} as const;

export interface LoadOptions {
  port: number;
  /** A loopback address: 127.0.0.0/8, `::1` (brackets allowed) or `localhost`. Default 127.0.0.1. */
  host?: string;
  /** Default `/`. */
  path?: string;
  /** Parallel requests (workers); default 4. */
  concurrency?: number;
  /** Stop issuing requests after this many ms (in-flight ones finish). Required; at most 10 min. */
  durationMs: number;
  /** Stop after this many requests in total. Default (and cap) 10,000,000. */
  maxRequests?: number;
  /** Reuse connections (default true); false opens one connection per request. */
  keepAlive?: boolean;
  /** A request not answered within this many ms fails with `ETIMEDOUT`; default 10,000. */
  requestTimeout?: number;
  /** Stop issuing requests now (in-flight ones finish). */
  signal?: AbortSignal | undefined;
  /** Called for every answered request, with its body (text). Reading bodies costs a little. */
  onResponse?: ((response: { status: number; body: string; latencyMs: number }) => void) | undefined;
}

export interface LatencySummary {
  /** ms */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  /** Requests answered with a status 200–399. */
  ok: number;
  /** Every other request: a socket error, a timeout or a status ≥ 400. */
  failed: number;
  total: number;
  /** Failures by code: errno codes (`ECONNRESET`…), `ETIMEDOUT`, or `HTTP_<status>`. */
  errors: Record<string, number>;
  /** Answered requests by status. */
  statuses: Record<string, number>;
  /** Wall time from the first request to the last answer, ms. */
  durationMs: number;
  /** total / duration. */
  requestsPerSecond: number;
  /** Latency of answered requests (ok or not); all zero when none was answered. */
  latency: LatencySummary;
  /** The first few failure messages, for test failure output. */
  sampleErrors: string[];
}

/** The options, checked and with their defaults. */
interface LoadSettings {
  host: string;
  port: number;
  path: string;
  durationMs: number;
  maxRequests: number;
  concurrency: number;
  requestTimeout: number;
  keepAlive: boolean;
  signal: AbortSignal | undefined;
  onResponse: LoadOptions['onResponse'];
}

function loadSettings(options: LoadOptions): LoadSettings {
  const host = checkLoopback(options.host ?? '127.0.0.1');
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(`port must be 1–65535, got ${String(port)}`);
  const durationMs = options.durationMs;
  if (!Number.isFinite(durationMs) || durationMs <= 0 || durationMs > LOAD_LIMITS.maxDurationMs) {
    throw usage(`durationMs must be more than 0 and at most ${LOAD_LIMITS.maxDurationMs}, got ${String(durationMs)}`);
  }
  const maxRequests = Math.min(options.maxRequests ?? LOAD_LIMITS.maxRequests, LOAD_LIMITS.maxRequests);
  if (!Number.isInteger(maxRequests) || maxRequests < 1) throw usage(`maxRequests must be a positive integer, got ${String(options.maxRequests)}`);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > LOAD_LIMITS.maxConcurrency) {
    throw usage(`concurrency must be 1–${LOAD_LIMITS.maxConcurrency}, got ${String(concurrency)}`);
  }
  const path = options.path === undefined ? '/' : options.path.startsWith('/') ? options.path : `/${options.path}`;
  return {
    host,
    port,
    path,
    durationMs,
    maxRequests,
    concurrency,
    requestTimeout: options.requestTimeout ?? 10_000,
    keepAlive: options.keepAlive ?? true,
    signal: options.signal,
    onResponse: options.onResponse,
  };
}

/** The counts of one load run. */
class Tally {
  readonly errors: Record<string, number> = {};
  readonly statuses: Record<string, number> = {};
  readonly sampleErrors: string[] = [];
  readonly latencies: number[] = [];
  ok = 0;
  failed = 0;

  fail(code: string, message: string): void {
    this.failed += 1;
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    if (this.sampleErrors.length < 5) this.sampleErrors.push(message);
  }

  answered(status: number, latencyMs: number, path: string): void {
    this.latencies.push(latencyMs);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 400) this.ok += 1;
    else this.fail(`HTTP_${status}`, `HTTP ${status} for GET ${path}`);
  }
}

/**
 * Runs the load and resolves with the tally once the last in-flight request has ended.
 *
 * @throws NaijaSupError `E_USAGE` (as a rejection) for a non-loopback host or invalid numbers.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const settings = loadSettings(options);
  const { concurrency, maxRequests, signal } = settings;
  const agent = new Agent({ keepAlive: settings.keepAlive, maxSockets: concurrency });
  const tally = new Tally();
  let issued = 0;

  const started = performance.now();
  const stopAt = started + settings.durationMs;
  const stopped = (): boolean => signal?.aborted === true || performance.now() >= stopAt || issued >= maxRequests;

  const worker = async (): Promise<void> => {
    // Bounded by `stopped()` (time, count, abort) and, belt and braces, by the request budget.
    for (let n = 0; n < maxRequests && !stopped(); n += 1) {
      issued += 1;
      if (!(await sendOne(settings, agent, tally))) await nextTurn();
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
  } finally {
    agent.destroy();
  }
  const elapsed = performance.now() - started;
  const total = tally.ok + tally.failed;
  return {
    ok: tally.ok,
    failed: tally.failed,
    total,
    errors: tally.errors,
    statuses: tally.statuses,
    durationMs: Math.round(elapsed),
    requestsPerSecond: elapsed > 0 ? Math.round((total / elapsed) * 1000) : 0,
    latency: summarize(tally.latencies),
    sampleErrors: tally.sampleErrors,
  };
}

/** One GET; resolves true when it got an answer (whatever its status), false when it failed. */
function sendOne(settings: LoadSettings, agent: Agent, tally: Tally): Promise<boolean> {
  const { host, port, path, requestTimeout, onResponse } = settings;
  return new Promise<boolean>((resolve) => {
    const t0 = performance.now();
    let settled = false;
    const finish = (answered: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(answered);
    };
    const req = request({ host, port, path, method: 'GET', agent, headers: { 'user-agent': 'naija-sup-load' } }, (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      if (onResponse !== undefined) res.on('data', (chunk: Buffer) => chunks.push(chunk));
      else res.resume();
      res.once('end', () => {
        if (settled) return;
        const latencyMs = performance.now() - t0;
        tally.answered(status, latencyMs, path);
        onResponse?.({ status, body: Buffer.concat(chunks).toString('utf8'), latencyMs });
        finish(true);
      });
      res.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        tally.fail(error.code ?? 'ERROR', `response: ${error.message}`);
        finish(false);
      });
    });
    const timer = setTimeout(() => {
      if (settled) return;
      tally.fail('ETIMEDOUT', `no answer within ${requestTimeout} ms`);
      finish(false);
      req.destroy();
    }, requestTimeout);
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      tally.fail(error.code ?? 'ERROR', `${error.code ?? 'ERROR'}: ${error.message}`);
      finish(false);
    });
    req.end();
  });
}

/**
 * Resolves in the event loop's next check phase, after its timers and I/O. A request can fail
 * without any I/O: a connect error found in the connect() call itself (EADDRNOTAVAIL once the
 * ephemeral ports to the target are all taken, EMFILE) is delivered by process.nextTick, and the
 * worker's next request would then start from the same nextTick/microtask queue, and fail the same
 * way: a storm that never lets the loop turn, so no timer fires (not the caller's abort, not a test's
 * timeout, not an in-process server's) and no socket is read or closed — the ports never come back.
 * An answered request always waited for I/O, so only failures need this.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** p50/p90/p99/max/mean of `values` (ms, rounded to 0.01 ms); nearest-rank percentiles. */
export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  let sum = 0;
  for (const value of sorted) sum += value;
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    p50: round(rank(0.5)),
    p90: round(rank(0.9)),
    p99: round(rank(0.99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(sum / sorted.length),
  };
}

/** Returns the host for node:http (brackets removed) or throws when it is not a loopback address. */
export function checkLoopback(rawHost: string): string {
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  const lower = host.toLowerCase();
  const v4 = lower.startsWith('::ffff:') ? lower.slice(7) : lower;
  const loopback =
    lower === 'localhost' || lower === '::1' || (isIP(v4) === 4 && v4.startsWith('127.'));
  if (!loopback) {
    throw usage(`the load generator only targets loopback addresses (127.0.0.0/8, ::1, localhost), got "${rawHost}"`);
  }
  return host;
}

function usage(message: string): NaijaSupError {
  return new NaijaSupError('E_USAGE', `runLoad: ${message}.`);
}
