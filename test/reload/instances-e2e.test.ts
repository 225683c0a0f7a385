/**
 * Several instances of one app (issue 20), end to end: `naija-sup start` in-process with
 * `instances: 3` in handoff and proxy mode against the reload fixture (test/fixtures/reload/
 * fd-server.mjs), real processes, real ports on 127.0.0.1, real signals. Each test ends with every
 * process it started gone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReloadMode } from '../../src/config/types.js';
import { fetchStatus } from '../../src/control/client.js';
import { controlPaths } from '../../src/control/paths.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { runLoad, type LoadResult } from '../../src/reload/load.js';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

const FIXTURE = fixture('reload/fd-server.mjs');
const NAME = 'instances-e2e';

type LogLine = Record<string, unknown> & { event?: string };

interface Harness {
  sup: InProcessSupervisor;
  port: number;
  events(type: string): LogLine[];
  waitEvent(type: string, index: number, timeout?: number): Promise<LogLine>;
  /** Instance pids from 'spawned' events, tracked for the end-of-test check. */
  spawned(): number[];
  rewrite(config: Record<string, unknown>): void;
  status(): Promise<StatusSnapshot>;
  stop(): Promise<number>;
}

let active: Harness | null = null;

function appConfig(port: number, mode: ReloadMode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { env, health, ...rest } = extra as { env?: Record<string, string>; health?: Record<string, unknown> };
  return {
    name: NAME,
    command: [process.execPath, FIXTURE],
    port,
    host: '127.0.0.1',
    mode,
    instances: 3,
    health: { path: '/health', interval: '25ms', timeout: '2s', startupTimeout: '20s', ...health },
    shutdown: { timeout: '10s' },
    env: { ...env },
    ...rest,
  };
}

function start(config: Record<string, unknown>): Harness {
  let configPath = '';
  const sup = superviseInProcess([], { NAIJA_SUP_LOG_FORMAT: 'json' }, (tmp) => {
    configPath = join(tmp, 'naija-sup.config.json');
    writeFileSync(configPath, JSON.stringify(config));
  });
  const lines = (): LogLine[] => sup.stdout().split('\n').flatMap((line) => {
    try {
      return line.trim() === '' ? [] : [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
  const events = (type: string): LogLine[] => lines().filter((l) => l.event === type);
  const harness: Harness = {
    sup,
    port: config['port'] as number,
    events,
    waitEvent: (type, index, timeout = 30_000) => waitFor(() => events(type)[index], {
      timeout,
      interval: 10,
      message: () => `no "${type}" event #${index + 1}; log:\n${sup.stdout().slice(-6000)}\n${sup.stderr().slice(-2000)}`,
    }),
    spawned: () => {
      const pids = events('spawned').map((e) => Number(e['pid']));
      for (const pid of pids) if (!trackedPids.has(pid)) track(pid);
      return pids;
    },
    rewrite: (next) => writeFileSync(configPath, JSON.stringify(next)),
    status: async () => {
      const status = await fetchStatus(controlPaths(sup.runDir, NAME).socket);
      if (!status) throw new Error('no supervisor answered on the control socket');
      return status;
    },
    stop: async () => {
      sup.signal('SIGTERM');
      return sup.done;
    },
  };
  active = harness;
  return harness;
}

afterEach(async () => {
  const current = active;
  active = null;
  try {
    if (current) {
      current.spawned();
      current.sup.signal('SIGTERM');
      await Promise.race([current.sup.done.catch(() => 1), new Promise((resolve) => setTimeout(resolve, 15_000))]);
    }
    await assertAllGone([...trackedPids.keys()], 15_000);
  } finally {
    killAllTracked();
    current?.sup.cleanup();
  }
});

/** Answers per pid under load. */
class Tally {
  readonly counts = new Map<number, number>();
  record = (response: { status: number; body: string }): void => {
    const pid = response.status === 200 ? Number(response.body.trim()) : NaN;
    if (Number.isInteger(pid)) this.counts.set(pid, (this.counts.get(pid) ?? 0) + 1);
  };
  count(pid: number): number {
    return this.counts.get(pid) ?? 0;
  }
}

function startLoad(port: number, options: { keepAlive: boolean; concurrency?: number }): { tally: Tally; stop(): Promise<LoadResult> } {
  const tally = new Tally();
  const controller = new AbortController();
  const done = runLoad({ port, path: '/pid', concurrency: options.concurrency ?? 6, keepAlive: options.keepAlive, durationMs: 120_000, requestTimeout: 15_000, signal: controller.signal, onResponse: tally.record });
  return { tally, stop: async () => { controller.abort(); return done; } };
}

function describeLoad(result: LoadResult): string {
  return `${result.ok} ok, ${result.failed} failed ${JSON.stringify(result.errors)}${result.sampleErrors.length ? `; ${result.sampleErrors.join(' | ')}` : ''}`;
}

/** Waits for `n` 'ready' events and returns the n pids serving (one per instance). */
async function readyInstances(h: Harness, n: number): Promise<number[]> {
  await h.waitEvent('ready', n - 1);
  const status = await waitFor(async () => {
    const s = await h.status();
    return s.instances?.length === n && s.instances.every((i) => i.state === 'ready') ? s : null;
  }, { timeout: 15_000, message: `status never showed ${n} ready instances` });
  h.spawned();
  return (status.instances ?? []).map((i) => i.pid as number);
}

describe.each<ReloadMode>(['handoff', 'proxy'])('%s mode, instances: 3', (mode) => {
  it('three processes answer on the one port, each told its number; status shows each and the total', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, mode));
    const pids = await readyInstances(h, 3);
    expect(new Set(pids).size).toBe(3);
    const status = await h.status();
    expect(status.instances?.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(status.instancePid).toBe(pids[0]);
    expect(status.total).toMatchObject({ instances: 3, ready: 3, restarts: 0 });
    for (const i of status.instances ?? []) expect(i.rss).toBeGreaterThan(0);
    // One connection per request: the kernel (handoff) or the proxy spreads them over the three.
    const load = startLoad(port, { keepAlive: false });
    try {
      await waitFor(() => pids.every((pid) => load.tally.count(pid) >= 5), { timeout: 20_000, message: () => `not every instance answered: ${JSON.stringify([...load.tally.counts])}` });
    } finally {
      const result = await load.stop();
      expect(result.failed, describeLoad(result)).toBe(0);
    }
    // NAIJA_SUP_INSTANCE: each process has its own number, 0…2.
    const numbers = new Map<number, string>();
    await waitFor(async () => {
      const [env, pid] = await Promise.all([httpGet(port, '/env?name=NAIJA_SUP_INSTANCE'), httpGet(port, '/pid')]);
      if (env.status === 200 && pid.status === 200) numbers.set(Number(pid.body), env.body);
      return new Set(numbers.values()).size === 3;
    }, { timeout: 20_000, interval: 1, message: () => `NAIJA_SUP_INSTANCE values seen: ${JSON.stringify([...numbers])}` });
    expect([...new Set(numbers.values())].sort()).toEqual(['0', '1', '2']);
    expect(await h.stop()).toBe(0);
    await assertAllGone(pids);
  });
});
