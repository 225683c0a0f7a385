import { afterEach, describe, expect, it } from 'vitest';
import { NaijaSupError } from '../../src/errors.js';
import { checkLoopback, runLoad, summarize } from '../../src/reload/load.js';
import { pickPrivatePort } from '../../src/reload/private-port.js';
import { assertAllGone, killAllTracked } from '../helpers/processes.js';
import { PidTally, startFdServer } from './helpers.js';

afterEach(() => {
  killAllTracked();
});

describe('checkLoopback', () => {
  it('accepts loopback addresses only', () => {
    expect(checkLoopback('127.0.0.1')).toBe('127.0.0.1');
    expect(checkLoopback('127.1.2.3')).toBe('127.1.2.3');
    expect(checkLoopback('[::1]')).toBe('::1');
    expect(checkLoopback('::ffff:127.0.0.1')).toBe('::ffff:127.0.0.1');
    expect(checkLoopback('localhost')).toBe('localhost');
    for (const host of ['10.0.0.1', '0.0.0.0', '::', 'example.com', '128.0.0.1', '::2']) {
      expect(() => checkLoopback(host), host).toThrow(/only targets loopback/);
    }
  });
});

describe('summarize', () => {
  it('gives nearest-rank percentiles, max and mean', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(summarize(values)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(summarize([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
    expect(summarize([3])).toEqual({ p50: 3, p90: 3, p99: 3, max: 3, mean: 3 });
  });
});

describe('runLoad', () => {
  it('refuses a non-loopback host and invalid bounds before sending anything', async () => {
    await expect(runLoad({ host: '192.0.2.1', port: 80, durationMs: 100 })).rejects.toBeInstanceOf(NaijaSupError);
    await expect(runLoad({ port: 80, durationMs: 0 })).rejects.toThrow(/durationMs/);
    await expect(runLoad({ port: 80, durationMs: 11 * 60_000 })).rejects.toThrow(/durationMs/);
    await expect(runLoad({ port: 80, durationMs: 100, maxRequests: 0 })).rejects.toThrow(/maxRequests/);
    await expect(runLoad({ port: 80, durationMs: 100, concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(runLoad({ port: 0, durationMs: 100 })).rejects.toThrow(/port/);
  });

  it('stops at the request budget and counts every answer', async () => {
    const server = await startFdServer('node');
    const tally = new PidTally();
    const result = await runLoad({ port: server.port, path: '/pid', concurrency: 4, durationMs: 20_000, maxRequests: 200, onResponse: tally.record });
    expect(result).toMatchObject({ ok: 200, failed: 0, total: 200, errors: {}, statuses: { 200: 200 } });
    expect(tally.count(server.pid)).toBe(200);
    expect(result.latency.p50).toBeGreaterThan(0);
    expect(result.latency.p99).toBeGreaterThanOrEqual(result.latency.p50);
    expect(result.latency.max).toBeGreaterThanOrEqual(result.latency.p99);
    expect(result.requestsPerSecond).toBeGreaterThan(0);
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('stops when the time is up', async () => {
    const server = await startFdServer('node');
    const started = Date.now();
    const result = await runLoad({ port: server.port, path: '/health', concurrency: 2, durationMs: 300 });
    const elapsed = Date.now() - started;
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('stops when the signal aborts', async () => {
    const server = await startFdServer('node');
    const controller = new AbortController();
    let answered = 0;
    const result = await runLoad({
      port: server.port,
      path: '/health',
      durationMs: 60_000,
      signal: controller.signal,
      onResponse: () => {
        answered += 1;
        if (answered === 50) controller.abort();
      },
    });
    // The 4 workers each finish the request they had in flight.
    expect(result.total).toBeGreaterThanOrEqual(50);
    expect(result.total).toBeLessThanOrEqual(54);
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('counts refused connections and HTTP errors as failures, by code', async () => {
    const closedPort = await pickPrivatePort(); // nothing listens there
    const refused = await runLoad({ port: closedPort, durationMs: 5000, maxRequests: 20, concurrency: 2 });
    expect(refused).toMatchObject({ ok: 0, failed: 20, errors: { ECONNREFUSED: 20 } });
    expect(refused.sampleErrors[0]).toContain('ECONNREFUSED');

    const server = await startFdServer('node');
    const notFound = await runLoad({ port: server.port, path: '/nope', durationMs: 5000, maxRequests: 10 });
    expect(notFound).toMatchObject({ ok: 0, failed: 10, errors: { HTTP_404: 10 }, statuses: { 404: 10 } });
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('times out requests that get no answer', async () => {
    const server = await startFdServer('node');
    const result = await runLoad({ port: server.port, path: '/slow?ms=2000', durationMs: 5000, maxRequests: 2, concurrency: 2, requestTimeout: 100 });
    expect(result).toMatchObject({ ok: 0, failed: 2, errors: { ETIMEDOUT: 2 } });
    await server.stop();
    await assertAllGone([server.pid]);
  });
});
