/**
 * Dependency waits (issue 7): before each spawn, every `dependsOn` entry — a database, Redis, another
 * HTTP service — is checked, with retries and exponential backoff, so that an API server that
 * cannot work without its database is not started (and crash-looped) while the database is down.
 *
 * This module only checks and returns data; the caller emits the 'dependency' events and fails the
 * start with cause `dependency-unavailable`, naming the dependency, when one never answered.
 */
import { probeHttp } from '../health/http.js';
import { probeTcp, unbracketHost } from '../health/tcp.js';
import type { ProbeResult } from '../health/tcp.js';
import { splitHostPort } from '../config/host-port.js';
import { redactUrl } from '../config/redact.js';
import type { DependencyConfig } from '../config/types.js';
import type { Clock } from '../supervisor/runner.js';
import { monotonicMs } from '../clock.js';

/** The first wait between attempts, ms; it doubles after each failed attempt. */
export const DEFAULT_BACKOFF_MS = 250;
/** The longest wait between attempts, ms. */
export const DEFAULT_MAX_BACKOFF_MS = 5_000;

/** One dependency's outcome. */
export interface DependencyResult {
  name: string;
  kind: 'tcp' | 'http';
  /** "host:port" or the URL, as configured but with its userinfo redacted (it is printed). */
  target: string;
  ok: boolean;
  /** Attempts made (1 + the retries used). */
  attempts: number;
  /** Latency of the last attempt, ms. */
  latencyMs: number;
  /** The last attempt's answer: "connected to 127.0.0.1:5432 in 1 ms", "connection refused (…)". */
  detail: string;
  /** From the first attempt to the result, ms (by the injected clock). */
  durationMs: number;
}

/** Told after every attempt (progress lines; tests use it to bring a server up on cue). */
export interface AttemptInfo {
  dependency: DependencyConfig;
  /** 1-based. */
  attempt: number;
  /** 1 + retries. */
  maxAttempts: number;
  result: ProbeResult;
  /** The wait before the next attempt, ms; null when this was the last one. */
  nextDelayMs: number | null;
}

/** One check of one dependency: injectable for tests; the default speaks TCP or HTTP. */
export type DependencyCheck = (dependency: DependencyConfig, timeoutMs: number, signal: AbortSignal) => Promise<ProbeResult>;

export interface WaitForDependenciesOptions {
  /** Per-attempt timeout, ms (dependencies.timeout; DB_CONNECTION_TIMEOUT, default 10 s). */
  timeout: number;
  /** Attempts after the first (dependencies.retries; REDIS_RETRY_ATTEMPTS, default 3). */
  retries: number;
  /** Aborting ends every wait at once; unfinished dependencies fail with detail "aborted". */
  signal?: AbortSignal | undefined;
  /** Timers and time for the backoff; default the global timers and `monotonicMs` (src/clock.ts). */
  clock?: Clock | undefined;
  /** First backoff, ms (default 250); doubled per failed attempt up to `maxBackoffMs`. */
  backoffMs?: number | undefined;
  maxBackoffMs?: number | undefined;
  /** Called after each attempt, awaited before the backoff starts. */
  onAttempt?: ((info: AttemptInfo) => void | Promise<void>) | undefined;
  /** Replaces the real TCP/HTTP check. */
  check?: DependencyCheck | undefined;
}

const realClock: Clock = {
  now: monotonicMs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Checks every dependency (concurrently, each with its own retries) and resolves with one result
 * per dependency, in the order given. Never rejects for an unreachable dependency: that is a
 * result with `ok: false`. Attempt n (n ≥ 2) waits `backoffMs · 2^(n−2)` (capped) after attempt n−1.
 */
export async function waitForDependencies(deps: readonly DependencyConfig[], options: WaitForDependenciesOptions): Promise<DependencyResult[]> {
  return Promise.all(deps.map((dep) => waitForOne(dep, options)));
}

/** The wait before attempt `attempt + 1`, after `attempt` failed (1-based). */
export function backoffDelayMs(attempt: number, backoffMs = DEFAULT_BACKOFF_MS, maxBackoffMs = DEFAULT_MAX_BACKOFF_MS): number {
  return Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, attempt - 1));
}

async function waitForOne(dep: DependencyConfig, options: WaitForDependenciesOptions): Promise<DependencyResult> {
  const clock = options.clock ?? realClock;
  const check = options.check ?? checkDependency;
  const retries = Math.max(0, Math.floor(options.retries));
  const maxAttempts = 1 + retries;
  const kind: DependencyResult['kind'] = dep.tcp !== null ? 'tcp' : 'http';
  const target = redactUrl(dep.tcp ?? dep.http ?? '');
  const started = clock.now();
  const signal = options.signal ?? new AbortController().signal;
  const finish = (ok: boolean, attempts: number, last: ProbeResult): DependencyResult => ({
    name: dep.name, kind, target, ok, attempts, latencyMs: last.latencyMs, detail: last.detail, durationMs: clock.now() - started,
  });

  let last: ProbeResult = { ok: false, latencyMs: 0, error: 'ABORTED', detail: 'aborted' };
  // Bounded: at most 1 + retries attempts.
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    if (signal.aborted) {
      const detail = attempt === 1 ? 'aborted' : `aborted (last attempt: ${last.detail})`;
      return finish(false, attempt - 1, { ok: false, latencyMs: last.latencyMs, error: 'ABORTED', detail });
    }
    last = await check(dep, options.timeout, signal);
    if (last.ok) {
      await options.onAttempt?.({ dependency: dep, attempt, maxAttempts, result: last, nextDelayMs: null });
      return finish(true, attempt, last);
    }
    // An invalid target (EINVAL) will not get better by waiting.
    const final = attempt === maxAttempts || last.error === 'EINVAL';
    const delay = final ? null : backoffDelayMs(attempt, options.backoffMs, options.maxBackoffMs);
    await options.onAttempt?.({ dependency: dep, attempt, maxAttempts, result: last, nextDelayMs: delay });
    if (delay === null) return finish(false, attempt, last);
    await sleep(clock, delay, signal);
  }
  return finish(false, maxAttempts, last);
}

/**
 * The default check: a TCP connect for `tcp: "host:port"`, a GET (200–399 is up) for `http: url`.
 */
export function checkDependency(dep: DependencyConfig, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  if (dep.tcp !== null) {
    const parsed = parseHostPort(dep.tcp);
    if (parsed === null) {
      return Promise.resolve({ ok: false, latencyMs: 0, error: 'EINVAL', detail: `invalid tcp target "${dep.tcp}" (expected "host:port", e.g. "127.0.0.1:5432" or "[::1]:6379")` });
    }
    return probeTcp({ host: parsed.host, port: parsed.port, timeout: timeoutMs, signal });
  }
  if (dep.http !== null) {
    let url: URL;
    try {
      url = new URL(dep.http);
    } catch {
      return Promise.resolve({ ok: false, latencyMs: 0, error: 'EINVAL', detail: `invalid http target "${redactUrl(dep.http)}" (expected a URL such as "http://127.0.0.1:8080/health")` });
    }
    if (url.protocol !== 'http:') {
      return Promise.resolve({ ok: false, latencyMs: 0, error: 'EINVAL', detail: `unsupported scheme in "${redactUrl(dep.http)}": the http check speaks plain http:// (for a TLS service, use tcp: "host:port")` });
    }
    const port = url.port === '' ? 80 : Number(url.port);
    return probeHttp({ host: unbracketHost(url.hostname), port, path: `${url.pathname}${url.search}`, timeout: timeoutMs, signal });
  }
  return Promise.resolve({ ok: false, latencyMs: 0, error: 'EINVAL', detail: `dependency "${dep.name}" has neither tcp nor http` });
}

/**
 * "host:port", "[::1]:6379" → {host, port}; null when it is not that form or the port is not
 * 1–65535. The config's own parser ({@link splitHostPort}), so every `tcp` target that passed
 * config validation parses here the same way.
 */
export function parseHostPort(text: string): { host: string; port: number } | null {
  return splitHostPort(text) ?? null;
}

/** Waits `ms` on the injected clock; resolves early when aborted. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
