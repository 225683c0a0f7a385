/**
 * runLoad lets the event loop turn after a request that failed (src/reload/load.ts, nextTurn). A
 * connect error found in the connect() call itself — EADDRNOTAVAIL when the ephemeral ports to the
 * target are all taken, EMFILE — is delivered by process.nextTick, without any I/O. Today the
 * Agent's socket limit (maxSockets = concurrency) happens to hold the next request until the failed
 * socket's close callback, once per loop turn; with an unbounded pool the same loop never yields
 * (20,000 failed requests and no 0 ms timer fired, measured with Node 20). The yield makes the
 * bound runLoad's own: a test's timeouts and an in-process supervisor keep running.
 *
 * The same kernel error, made on demand: every connection of runLoad's Agent binds to 192.0.2.1
 * (TEST-NET-1, not an address of this machine) before connecting, which fails with EADDRNOTAVAIL
 * inside the connect call. No timing: the abort is queued for the loop's first check phase, and
 * the assertion is about what happened before it ran.
 */
import { Agent } from 'node:http';
import { createConnection, type NetConnectOpts } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runLoad } from '../../src/reload/load.js';
import { freePort } from '../helpers/supervise.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runLoad, requests that fail without I/O', () => {
  it('yields to the event loop after each: the abort set for its next turn stops every worker after one request', async () => {
    const connect = vi.spyOn(Agent.prototype, 'createConnection').mockImplementation(((options: NetConnectOpts) =>
      createConnection({ ...options, localAddress: '192.0.2.1' } as NetConnectOpts)) as typeof Agent.prototype.createConnection);
    const port = await freePort();
    const controller = new AbortController();
    // Queued before runLoad starts: it runs at the loop's first check phase, before any worker's.
    setImmediate(() => controller.abort());
    const concurrency = 4;
    const result = await runLoad({ port, durationMs: 60_000, maxRequests: 5000, concurrency, signal: controller.signal });
    expect(connect).toHaveBeenCalled();
    expect(result.errors).toEqual({ EADDRNOTAVAIL: result.total });
    // One failed request per worker, then the abort. (Without the yield: 8, the Agent's slots twice.)
    expect(result.total).toBe(concurrency);
  });
});
