import * as net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canBind, waitUntilFree, type CanBindResult } from '../../src/ports/availability.js';
import type { FindPortOwnersOptions, PortOwnersAnswer } from '../../src/ports/owners.js';
import { ProcessTracker, startNodeFixture, stillOurs } from './fixtures/processes.js';

const tracker = new ProcessTracker();

afterEach(async () => {
  vi.useRealTimers();
  const started = tracker.recorded;
  expect(await tracker.killAll()).toEqual([]);
  // Each process we started is gone: its pid is free, or names another process since (PIDs wrap).
  expect(stillOurs(started)).toEqual([]);
});

const base = { host: '127.0.0.1', complete: true, method: 'procfs' as const, nonConflicting: [] };
const FREE: PortOwnersAnswer = { ...base, port: 8000, kind: 'free' };
const TIME_WAIT: PortOwnersAnswer = { ...base, port: 8000, kind: 'time-wait', count: 1 };
const HELD: PortOwnersAnswer = {
  ...base,
  port: 8000,
  kind: 'held',
  owners: [],
  sockets: [],
  unownedSockets: [],
};

describe('waitUntilFree (fake timers, injected lookup and probe)', () => {
  it('polls until the owner is gone and a bind succeeds', async () => {
    vi.useFakeTimers();
    const answers = [HELD, HELD, FREE];
    const lookup = vi.fn(async (_options: FindPortOwnersOptions) => answers.shift() ?? FREE);
    const probe = vi.fn(async (): Promise<CanBindResult> => true);
    const pending = waitUntilFree({ port: 8000, host: '127.0.0.1', timeout: 5_000, interval: 100, lookup, probe });
    await vi.advanceTimersByTimeAsync(250);
    const result = await pending;
    expect(result).toEqual({ free: true, waitedMs: 200, last: FREE, bind: true, attempts: 3 });
    expect(lookup).toHaveBeenCalledTimes(3);
    expect(lookup).toHaveBeenCalledWith({ port: 8000, host: '127.0.0.1', proc: undefined });
    expect(probe).toHaveBeenCalledTimes(1);
    expect(probe).toHaveBeenCalledWith('127.0.0.1', 8000);
  });

  it('keeps waiting while the lookup says free but the bind still fails (someone else won the race)', async () => {
    vi.useFakeTimers();
    const binds: CanBindResult[] = [false, { error: 'EACCES' }, true];
    const probe = vi.fn(async () => binds.shift() ?? true);
    const pending = waitUntilFree({ port: 8000, timeout: 5_000, interval: 50, lookup: async () => FREE, probe });
    await vi.advanceTimersByTimeAsync(200);
    expect(await pending).toMatchObject({ free: true, attempts: 3, waitedMs: 100 });
  });

  it('accepts TIME_WAIT once a real bind proves the server can take the port', async () => {
    vi.useFakeTimers();
    const result = await waitUntilFree({
      port: 8000,
      timeout: 1_000,
      interval: 50,
      lookup: async () => TIME_WAIT,
      probe: async () => true,
    });
    expect(result).toMatchObject({ free: true, last: TIME_WAIT, attempts: 1, waitedMs: 0 });
  });

  it('gives up at the deadline with the last answer', async () => {
    vi.useFakeTimers();
    const lookup = vi.fn(async () => HELD);
    const probe = vi.fn(async (): Promise<CanBindResult> => true);
    const pending = waitUntilFree({ port: 8000, timeout: 1_000, interval: 300, lookup, probe });
    await vi.advanceTimersByTimeAsync(1_500);
    const result = await pending;
    expect(result).toEqual({ free: false, waitedMs: 1_000, last: HELD, bind: undefined, attempts: 5 });
    expect(probe).not.toHaveBeenCalled();
  });

  it('makes exactly one attempt when the timeout is 0', async () => {
    vi.useFakeTimers();
    const lookup = vi.fn(async () => HELD);
    const result = await waitUntilFree({ port: 8000, timeout: 0, interval: 100, lookup, probe: async () => true });
    expect(result).toMatchObject({ free: false, attempts: 1, waitedMs: 0 });
  });

  it('stops after a bounded number of attempts even if the clock stands still', async () => {
    vi.useFakeTimers();
    const lookup = vi.fn(async () => HELD);
    const pending = waitUntilFree({ port: 8000, timeout: 400, interval: 100, lookup, probe: async () => true });
    // Advance the timers only, never the wall clock: Date.now() stays put.
    for (let i = 0; i < 10; i += 1) {
      vi.setSystemTime(0);
      await vi.advanceTimersToNextTimerAsync();
    }
    const result = await pending;
    expect(result.free).toBe(false);
    expect(lookup).toHaveBeenCalledTimes(5);
  });
});

describe('canBind (real sockets)', () => {
  it('is true for a free port and releases it at once', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    expect(await canBind('127.0.0.1', port)).toBe(true);
    expect(await canBind('127.0.0.1', port)).toBe(true); // the probe did not keep it
  });

  it('is false (EADDRINUSE) while another process listens there', async () => {
    const holder = await startNodeFixture<{ port: number }>(tracker, 'hold-port.mjs', ['127.0.0.1']);
    expect(await canBind('127.0.0.1', holder.info.port)).toBe(false);
    expect(await canBind('localhost', holder.info.port)).toBe(false);
  });

  it('reports other bind errors by code (an address this machine does not have)', async () => {
    // 203.0.113.0/24 is TEST-NET-3: never a local address, so the bind fails before any port is taken.
    expect(await canBind('203.0.113.7', 8000)).toEqual({ error: 'EADDRNOTAVAIL' });
  });
});

describe('waitUntilFree (real processes)', () => {
  it('returns free once the holder is killed', async () => {
    const holder = await startNodeFixture<{ port: number }>(tracker, 'hold-port.mjs', ['127.0.0.1']);
    const { port } = holder.info;
    const pending = waitUntilFree({ port, host: '127.0.0.1', timeout: 10_000, interval: 25 });
    process.kill(holder.pid, 'SIGKILL');
    const result = await pending;
    expect(result.free).toBe(true);
    expect(result.last.kind).toBe('free');
    expect(result.bind).toBe(true);
    expect(result.waitedMs).toBeLessThan(10_000);
  });

  it('is not free at the deadline while the holder lives, and names it', async () => {
    const holder = await startNodeFixture<{ port: number }>(tracker, 'hold-port.mjs', ['127.0.0.1']);
    const result = await waitUntilFree({ port: holder.info.port, host: '127.0.0.1', timeout: 300, interval: 50 });
    expect(result.free).toBe(false);
    expect(result.waitedMs).toBeGreaterThanOrEqual(300);
    expect(result.last.kind === 'held' && result.last.owners.map((o) => o.pid)).toEqual([holder.pid]);
  });
});
