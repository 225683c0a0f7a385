/**
 * Options, events and the public interface of the HTTP reload proxy (src/reload/http-proxy.ts),
 * with the validation of its limits.
 */

import { NaijaSupError } from '../errors.js';
import type { HttpProxyStats } from './http-proxy-stats.js';

export interface HttpProxyTarget {
  /** The instance's private port on `targetHost`. */
  port: number;
  /** The instance's id (labels its counters). */
  id: string;
}

/** Client-side limits; defaults are Node's own where they are sound (docs/http-proxy.md). */
export interface HttpProxyLimits {
  /** Largest request head, bytes; bigger gets 431. Default 16,384 (Node's). */
  maxHeaderSize?: number;
  /** Time for a client to send a complete request head, ms (slowloris); 408 then. Default 60,000 (Node's). */
  headersTimeout?: number;
  /** Time for a client to send a complete request, body included, ms; 408 then. Default 300,000 (Node's). */
  requestTimeout?: number;
  /** An idle client keep-alive connection is closed after this long, ms. Default 5,000 (Node's). */
  keepAliveTimeout?: number;
  /** Largest request body, bytes; bigger gets 413. Default: no limit (the app decides). */
  maxBodySize?: number;
  /** Requests waiting for an instance beyond this many get 503 at once. Default 1,024. */
  maxQueued?: number;
  /**
   * An instance that sends nothing for this long after a request was sent to it in full, before
   * its response head, gets the request answered 504 (not retried: it may still be working on it).
   * Default 60,000 (nginx's proxy_read_timeout); Infinity: none. A response that has started may go
   * quiet longer (SSE).
   */
  responseTimeout?: number;
}

export interface HttpProxyOptions {
  /** Public address (IP literal or host name; brackets allowed for IPv6). */
  host: string;
  /** Public port; 0 = kernel's choice, read back from `proxy.port`. */
  port: number;
  /** Where instances listen; default 127.0.0.1. */
  targetHost?: string;
  /** The first target; default null (requests wait for setTarget). */
  target?: HttpProxyTarget | null;
  /** The longest a request waits for an instance, ms from its arrival; default 10,000. */
  queueTimeoutMs?: number;
  /** Add X-Forwarded-For/-Proto/-Host; default true. */
  forwardedHeaders?: boolean;
  limits?: HttpProxyLimits;
  onEvent?: ((event: HttpProxyEvent) => void) | undefined;
}

/** Notable events; routine traffic is only counted (stats()). */
export type HttpProxyEvent =
  | { type: 'queued'; reason: 'no-target' | 'target-refused'; target: string | null }
  | { type: 'queue-timeout'; waitedMs: number }
  | { type: 'retry'; target: string; code: string; method: string }
  | { type: 'upstream-error'; target: string; code: string; method: string; retried: boolean; responseStarted: boolean }
  | { type: 'client-error'; code: string }
  | { type: 'dropped'; reason: 'max-queued' | 'closing' }
  | { type: 'accept-error'; code: string };

export interface HttpReloadProxy {
  readonly host: string;
  readonly port: number;
  /** The current target, or null while requests wait. */
  target(): HttpProxyTarget | null;
  /**
   * New requests go to `target` from now on; waiting requests are sent at once. Requests in flight
   * stay where they are. null: no instance now, new requests wait (queueTimeoutMs).
   */
  setTarget(target: HttpProxyTarget | null): void;
  /**
   * Several instances (issue 20): `slot` (the app's instance index) takes new requests at `target`,
   * or none (null). Each request goes to the target with the fewest in flight; one that failed is
   * retried on another. `setTarget` is slot 0.
   */
  setTargetAt(slot: number, target: HttpProxyTarget | null): void;
  /** Requests in flight (and open WebSocket tunnels) to `targetPort`, or to all targets. */
  inFlight(targetPort?: number): number;
  /** Requests waiting for an instance right now. */
  queued(): number;
  /** Resolves true once nothing is in flight to `targetPort`, false after `timeoutMs`. */
  waitForDrain(targetPort: number, timeoutMs: number): Promise<boolean>;
  /**
   * Resolves true once every request sent to `targetPort` has its response head (or failed),
   * false after `timeoutMs`: what a reload waits for before it signals the old instance.
   */
  waitForAnswers(targetPort: number, timeoutMs: number): Promise<boolean>;
  stats(): HttpProxyStats;
  /**
   * Stops listening, answers waiting requests 503, lets in-flight ones finish for up to `timeout` ms
   * (default 5,000; their responses carry `Connection: close`), then closes every connection. Safe
   * to call twice.
   */
  close(options?: { timeout?: number }): Promise<void>;
}

export interface ResolvedLimits {
  maxHeaderSize: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxBodySize: number;
  maxQueued: number;
  responseTimeout: number;
}

export function resolveLimits(limits: HttpProxyLimits): ResolvedLimits {
  const resolved: ResolvedLimits = {
    maxHeaderSize: positive('limits.maxHeaderSize', limits.maxHeaderSize ?? 16_384),
    headersTimeout: positive('limits.headersTimeout', limits.headersTimeout ?? 60_000),
    requestTimeout: positive('limits.requestTimeout', limits.requestTimeout ?? 300_000),
    keepAliveTimeout: positive('limits.keepAliveTimeout', limits.keepAliveTimeout ?? 5000),
    maxBodySize: positive('limits.maxBodySize', limits.maxBodySize ?? Infinity),
    maxQueued: positive('limits.maxQueued', limits.maxQueued ?? 1024),
    responseTimeout: positive('limits.responseTimeout', limits.responseTimeout ?? 60_000),
  };
  if (resolved.headersTimeout > resolved.requestTimeout) {
    throw new NaijaSupError('E_USAGE', `createHttpProxy: limits.headersTimeout (${resolved.headersTimeout} ms) must not exceed limits.requestTimeout (${resolved.requestTimeout} ms).`, {
      fix: 'The head is part of the request: raise requestTimeout or lower headersTimeout.',
    });
  }
  return resolved;
}

export function positive(name: string, value: number): number {
  if (Number.isNaN(value) || value <= 0) {
    throw new NaijaSupError('E_USAGE', `createHttpProxy: ${name} must be a positive number, got ${String(value)}.`);
  }
  return value;
}

export function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NaijaSupError('E_USAGE', `HTTP reload proxy: ${name} must be a port from 1 to 65535, got ${String(port)}.`);
  }
}
