/**
 * Dependency waits against real TCP and HTTP servers on 127.0.0.1 (ephemeral ports). The backoff
 * runs on an injected clock that fires at once and records the delays, so no test sleeps; a server
 * "comes up" on cue from the attempt counter, not after a timer.
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DependencyConfig } from '../../src/config/types.js';
import {
  backoffDelayMs,
  checkDependency,
  parseHostPort,
  waitForDependencies,
  type AttemptInfo,
} from '../../src/dependencies/wait.js';
import type { Clock } from '../../src/supervisor/runner.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(async (s) => {
    if (!s.listening) return;
    s.close();
    await once(s, 'close');
  }));
});

async function listen(server: Server, port = 0): Promise<number> {
  servers.push(server);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Fires every timer on the next macrotask and records the delays asked for. */
function instantClock(): Clock & { delays: number[]; elapsed: number } {
  const clock = {
    delays: [] as number[],
    elapsed: 0,
    now: () => clock.elapsed,
    setTimeout: (fn: () => void, ms: number) => {
      clock.delays.push(ms);
      return setImmediate(() => {
        clock.elapsed += ms;
        fn();
      });
    },
    clearTimeout: (handle: unknown) => clearImmediate(handle as NodeJS.Immediate),
  };
  return clock;
}

const tcp = (name: string, target: string): DependencyConfig => ({ name, tcp: target, http: null });
const http = (name: string, url: string): DependencyConfig => ({ name, tcp: null, http: url });

describe('waitForDependencies', () => {
  it('waits for a TCP dependency that comes up after two retries, backing off 250 then 500 ms', async () => {
    const port = await closedPort();
    const server = createServer((socket) => socket.destroy());
    const clock = instantClock();
    const attempts: AttemptInfo[] = [];
    const [result] = await waitForDependencies([tcp('postgres', `127.0.0.1:${port}`)], {
      timeout: 2000,
      retries: 3,
      clock,
      onAttempt: async (info) => {
        attempts.push(info);
        // The database starts listening right after the second failed attempt.
        if (info.attempt === 2) await listen(server, port);
      },
    });
    expect(result).toMatchObject({ name: 'postgres', kind: 'tcp', target: `127.0.0.1:${port}`, ok: true, attempts: 3 });
    expect(result?.detail).toMatch(new RegExp(`connected to 127\\.0\\.0\\.1:${port}`));
    expect(attempts.map((a) => [a.attempt, a.result.ok, a.nextDelayMs])).toEqual([[1, false, 250], [2, false, 500], [3, true, null]]);
    expect(attempts[0]?.result.error).toBe('ECONNREFUSED');
    expect(attempts[0]?.maxAttempts).toBe(4);
    expect(clock.delays).toEqual([250, 500]);
    expect(result?.durationMs).toBe(750);
  });

  it('fails a TCP dependency that never answers, after 1 + retries attempts', async () => {
    const port = await closedPort();
    const clock = instantClock();
    const [result] = await waitForDependencies([tcp('redis', `127.0.0.1:${port}`)], { timeout: 2000, retries: 3, clock });
    expect(result).toMatchObject({ name: 'redis', ok: false, attempts: 4 });
    expect(result?.detail).toBe(`connection refused (nothing is listening on 127.0.0.1:${port})`);
    expect(clock.delays).toEqual([250, 500, 1000]);
  });

  it('times out an attempt on a server that accepts nothing in time (per-attempt timeout)', async () => {
    // A server that accepts and reads but never answers: only the per-attempt deadline ends it.
    // (It reads so that it notices the probe's FIN and the socket closes: afterEach waits for that.)
    const silent = createServer((socket) => socket.resume());
    const port = await listen(silent);
    const [result] = await waitForDependencies([http('api', `http://127.0.0.1:${port}/health`)], { timeout: 100, retries: 1, clock: instantClock() });
    expect(result).toMatchObject({ ok: false, attempts: 2 });
    expect(result?.detail).toMatch(/timed out after 100 ms waiting for a response/);
  });

  it('checks HTTP dependencies: 200–399 is up, anything else is down', async () => {
    const server = createHttpServer((req, res) => {
      res.statusCode = req.url === '/health?deep=1' ? 204 : 503;
      res.end();
    }) as unknown as Server;
    const port = await listen(server);
    const clock = instantClock();
    const results = await waitForDependencies(
      [http('api', `http://127.0.0.1:${port}/health?deep=1`), http('flaky', `http://127.0.0.1:${port}/other`)],
      { timeout: 2000, retries: 1, clock },
    );
    expect(results.map((r) => [r.name, r.kind, r.ok, r.attempts])).toEqual([['api', 'http', true, 1], ['flaky', 'http', false, 2]]);
    expect(results[1]?.detail).toMatch(/HTTP 503/);
  });

  it('checks several dependencies concurrently and keeps their order', async () => {
    const up = await listen(createServer((s) => s.destroy()));
    const down = await closedPort();
    const results = await waitForDependencies(
      [tcp('down', `127.0.0.1:${down}`), tcp('up', `127.0.0.1:${up}`)],
      { timeout: 1000, retries: 2, clock: instantClock() },
    );
    expect(results.map((r) => [r.name, r.ok, r.attempts])).toEqual([['down', false, 3], ['up', true, 1]]);
  });

  it('stops at once when aborted, and reports the last answer', async () => {
    const port = await closedPort();
    const abort = new AbortController();
    const [result] = await waitForDependencies([tcp('db', `127.0.0.1:${port}`)], {
      timeout: 1000,
      retries: 10,
      clock: instantClock(),
      signal: abort.signal,
      onAttempt: (info) => { if (info.attempt === 2) abort.abort(); },
    });
    expect(result).toMatchObject({ ok: false, attempts: 2 });
    expect(result?.detail).toMatch(/^aborted \(last attempt: connection refused/);
  });

  it('does not retry an invalid target', async () => {
    const clock = instantClock();
    const results = await waitForDependencies(
      [tcp('bad', 'no-port-here'), http('tls', 'https://127.0.0.1:1/x'), http('junk', 'not a url'), { name: 'none', tcp: null, http: null }],
      { timeout: 1000, retries: 3, clock },
    );
    expect(results.map((r) => [r.ok, r.attempts])).toEqual([[false, 1], [false, 1], [false, 1], [false, 1]]);
    expect(results[0]?.detail).toMatch(/invalid tcp target "no-port-here"/);
    expect(results[1]?.detail).toMatch(/plain http:\/\//);
    expect(results[2]?.detail).toMatch(/invalid http target/);
    expect(results[3]?.detail).toMatch(/neither tcp nor http/);
    expect(clock.delays).toEqual([]);
  });

  it('resolves at once with no dependencies and with retries 0', async () => {
    expect(await waitForDependencies([], { timeout: 1000, retries: 3 })).toEqual([]);
    const port = await closedPort();
    const [result] = await waitForDependencies([tcp('x', `127.0.0.1:${port}`)], { timeout: 1000, retries: 0 });
    expect(result).toMatchObject({ ok: false, attempts: 1 });
  });

  it('uses the real timers by default (a short backoff)', async () => {
    const port = await closedPort();
    const [result] = await waitForDependencies([tcp('x', `127.0.0.1:${port}`)], { timeout: 1000, retries: 2, backoffMs: 5 });
    expect(result).toMatchObject({ ok: false, attempts: 3 });
    expect(result?.durationMs).toBeGreaterThanOrEqual(14);
  });
});

describe('dependency helpers', () => {
  it('backs off exponentially with a cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect(backoffDelayMs(3, 100, 300)).toBe(300);
  });

  it('parses host:port targets, IPv6 in brackets', () => {
    expect(parseHostPort('127.0.0.1:5432')).toEqual({ host: '127.0.0.1', port: 5432 });
    expect(parseHostPort('db.internal:6379')).toEqual({ host: 'db.internal', port: 6379 });
    expect(parseHostPort('[::1]:6379')).toEqual({ host: '::1', port: 6379 });
    expect(parseHostPort('[fe80::1%eth0]:80')).toEqual({ host: 'fe80::1%eth0', port: 80 });
    for (const bad of ['5432', 'db:', 'db:0', 'db:70000', '::1:6379', '', 'a b:1']) expect(parseHostPort(bad), bad).toBeNull();
    // The config's rules (splitHostPort): only an IPv6 address goes in brackets, no spaces around.
    for (const bad of ['[localhost]:80', '[]:80', ' db:1', 'db:1 ', 'a/b:80']) expect(parseHostPort(bad), bad).toBeNull();
  });

  it('checks a reachable TCP target over IPv4 directly', async () => {
    const port = await listen(createServer((s) => s.destroy()));
    const result = await checkDependency(tcp('x', `127.0.0.1:${port}`), 1000, new AbortController().signal);
    expect(result.ok).toBe(true);
  });
});
