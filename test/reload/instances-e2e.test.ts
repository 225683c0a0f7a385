/**
 * Several instances of one app (issue 20), end to end: `naija-sup start` in-process with
 * `instances: 3` in handoff and proxy mode against the reload fixture (test/fixtures/reload/
 * fd-server.mjs), real processes, real ports on 127.0.0.1, real signals. Each test ends with every
 * process it started gone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/context.js';
import type { ReloadMode } from '../../src/config/types.js';
import { fetchStatus } from '../../src/control/client.js';
import { controlPaths } from '../../src/control/paths.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { runLoad, type LoadResult } from '../../src/reload/load.js';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { jsonEvents, type LogLine } from '../helpers/json-events.js';
import { freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

const FIXTURE = fixture('reload/fd-server.mjs');
const NAME = 'instances-e2e';


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
  const { events, waitEvent } = jsonEvents(sup);
  const harness: Harness = {
    sup,
    port: config['port'] as number,
    events,
    waitEvent,
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
    // `status` and `ls` show each instance.
    const human = await cli(h, ['status', '--name', NAME]);
    for (const [k, pid] of pids.entries()) expect(human.out).toMatch(new RegExp(`instance #${k} +pid ${pid}, ready, restarts 0`));
    expect(human.out).toMatch(/total +3\/3 ready, restarts 0/);
    const ls = await cli(h, ['ls']);
    for (const [k, pid] of pids.entries()) expect(ls.out).toMatch(new RegExp(`${NAME}#${k} +ready +${pid} `));
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

describe('proxy mode, instances: 3: kill -9 of one under load', () => {
  it('fails no request; the killed instance is reported and restarted, the others untouched', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, 'proxy'));
    const pids = await readyInstances(h, 3);
    const load = startLoad(port, { keepAlive: true });
    let result: LoadResult;
    try {
      await waitFor(() => pids.every((pid) => load.tally.count(pid) >= 5), { timeout: 20_000, message: 'the load never reached every instance' });
      const victim = pids[1] as number;
      process.kill(victim, 'SIGKILL');
      const exited = await waitFor(() => h.events('exited').find((e) => Number(e['pid']) === victim), { timeout: 15_000, message: 'the crash was not reported' });
      expect(exited['expected']).toBe(false);
      const after = await waitFor(async () => {
        const s = await h.status();
        const i = s.instances?.[1];
        return i && i.state === 'ready' && i.pid !== victim ? s : null;
      }, { timeout: 20_000, message: 'instance 1 was not restarted' });
      h.spawned();
      const replacement = after.instances?.[1]?.pid as number;
      expect(after.instances?.[1]?.restarts).toBe(1);
      expect([after.instances?.[0]?.pid, after.instances?.[2]?.pid]).toEqual([pids[0], pids[2]]);
      await waitFor(() => load.tally.count(replacement) >= 5, { timeout: 15_000, message: `the replacement (pid ${replacement}) never answered` });
    } finally {
      result = await load.stop();
    }
    expect(result.failed, describeLoad(result)).toBe(0);
    expect(await h.stop()).toBe(0);
  });
});

/**
 * The load went to `pids`: to each of them behind the proxy (it balances requests); in handoff mode
 * to them as a whole — a keep-alive connection stays with the process the kernel gave it to, so a
 * few connections need not cover all three.
 */
function reached(tally: Tally, pids: readonly number[], mode: ReloadMode): boolean {
  if (mode === 'proxy') return pids.every((pid) => tally.count(pid) >= 5);
  return pids.reduce((sum, pid) => sum + tally.count(pid), 0) >= 30;
}

describe.each<ReloadMode>(['handoff', 'proxy'])('%s mode, instances: 3: rolling reload', (mode) => {
  it('replaces the three one at a time under keep-alive load with no failed request', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, mode, { env: { V: '1' } }));
    const before = await readyInstances(h, 3);
    const load = startLoad(port, { keepAlive: true });
    let result: LoadResult;
    try {
      await waitFor(() => reached(load.tally, before, mode), { timeout: 20_000, message: 'the load never reached the instances' });
      h.rewrite(appConfig(port, mode, { env: { V: '2' } }));
      h.sup.signal('SIGHUP');
      // One swap per instance, in order; each reports its own end.
      const finished = await Promise.all([0, 1, 2].map((k) => h.waitEvent('reload-finished', k, 60_000)));
      expect(finished.map((e) => e['outcome'])).toEqual(['reloaded', 'reloaded', 'reloaded']);
      const after = await readyInstances(h, 3);
      expect(after.filter((pid) => before.includes(pid))).toEqual([]);
      await waitFor(() => reached(load.tally, after, mode), { timeout: 20_000, message: 'the load never reached the new instances' });
    } finally {
      result = await load.stop();
    }
    expect(result.failed, describeLoad(result)).toBe(0);
    await waitFor(async () => (await httpGet(port, '/env?name=V')).body === '2', { timeout: 5000, message: 'the new configuration does not serve' });
    expect(await h.stop()).toBe(0);
  });

  it('a second new instance that never gets ready stops the rollout and rolls back: three old ones serve', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, mode, { env: { V: '1' } }));
    const before = await readyInstances(h, 3);
    // One connection per request: in handoff mode the never-ready green accepts some of them (and answers).
    const load = startLoad(port, { keepAlive: mode === 'proxy' });
    let result: LoadResult;
    try {
      await waitFor(() => before.every((pid) => load.tally.count(pid) >= 5), { timeout: 20_000, message: 'the load never reached every instance' });
      h.rewrite(appConfig(port, mode, { env: { V: '2', NEVER_READY_INSTANCE: '1' }, health: { startupTimeout: '1500ms' } }));
      h.sup.signal('SIGHUP');
      // Instance 0 is replaced, instance 1's green never gets ready (its own rollback), then
      // instance 0 goes back to the old configuration; instance 2 is never touched.
      const finished = await Promise.all([0, 1, 2].map((k) => h.waitEvent('reload-finished', k, 60_000)));
      expect(finished.map((e) => e['outcome'])).toEqual(['reloaded', 'rolled-back', 'reloaded']);
      const after = await readyInstances(h, 3);
      expect(after[1]).toBe(before[1]);
      expect(after[2]).toBe(before[2]);
      expect(after[0]).not.toBe(before[0]);
      await waitFor(() => after.every((pid) => load.tally.count(pid) >= 5), { timeout: 20_000, message: 'the load never reached every instance after the rollback' });
    } finally {
      result = await load.stop();
    }
    expect(result.failed, describeLoad(result)).toBe(0);
    // Every instance runs the old configuration again.
    const seen = new Set<string>();
    for (let k = 0; k < 30; k += 1) seen.add((await httpGet(port, '/env?name=V')).body);
    expect([...seen]).toEqual(['1']);
    expect(h.events('spawned')).toHaveLength(6);
    expect(await h.stop()).toBe(0);
  });
});

/** The order of the reload events in the log: "s" for a reload-started, "f" for a reload-finished. */
function reloadOrder(h: Harness): string[] {
  return h.sup.stdout().split('\n').flatMap((line) => {
    const m = /"event":"reload-(started|finished)"/.exec(line);
    return m ? [`${m[1] === 'started' ? 's' : 'f'}`] : [];
  });
}

describe.each<ReloadMode>(['handoff', 'proxy'])('%s mode, instances: 4: reload --parallel 2', (mode) => {
  it('replaces two at a time under keep-alive load: no failed request, all four pids replaced', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, mode, { instances: 4, env: { V: '1' } }));
    const before = await readyInstances(h, 4);
    const load = startLoad(port, { keepAlive: true });
    let result: LoadResult;
    try {
      await waitFor(() => reached(load.tally, before, mode), { timeout: 20_000, message: 'the load never reached the instances' });
      h.rewrite(appConfig(port, mode, { instances: 4, env: { V: '2' } }));
      const reloaded = await cli(h, ['reload', '--parallel', '2', '--name', NAME]);
      expect(reloaded.out).toMatch(new RegExp(`instances-e2e: reloaded \\(4 instances: pids ${before.join(', ')} → `));
      expect(reloaded.status).toBe(0);
      const finished = await Promise.all([0, 1, 2, 3].map((k) => h.waitEvent('reload-finished', k, 60_000)));
      expect(finished.map((e) => e['outcome'])).toEqual(['reloaded', 'reloaded', 'reloaded', 'reloaded']);
      // Two started together; the next two only once both of the first had finished.
      expect(reloadOrder(h)).toEqual(['s', 's', 'f', 'f', 's', 's', 'f', 'f']);
      const after = await readyInstances(h, 4);
      expect(after.filter((pid) => before.includes(pid))).toEqual([]);
      await waitFor(() => reached(load.tally, after, mode), { timeout: 20_000, message: 'the load never reached the new instances' });
      await assertAllGone(before);
    } finally {
      result = await load.stop();
    }
    expect(result.failed, describeLoad(result)).toBe(0);
    await waitFor(async () => (await httpGet(port, '/env?name=V')).body === '2', { timeout: 5000, message: 'the new configuration does not serve' });
    if (mode === 'proxy') {
      // A K that is not a whole number ≥ 1: a clear message, a non-zero exit, nothing replaced.
      const pids = (await h.status()).instances?.map((i) => i.pid);
      for (const bad of ['0', '-1', '1.5', 'two']) {
        const refused = await cli(h, ['reload', `--parallel=${bad}`, '--name', NAME]);
        expect(refused.status, refused.out).not.toBe(0);
        expect(refused.out).toContain(`--parallel expects a whole number of instances from 1 to 256, got "${bad}"`);
        expect(refused.out).toMatch(/naija-sup reload --parallel 2/);
      }
      expect((await h.status()).instances?.map((i) => i.pid)).toEqual(pids);
      expect(h.events('reload-started')).toHaveLength(4);
    }
    expect(await h.stop()).toBe(0);
  });
});

describe('proxy mode, instances: 4: reload --parallel 2 with a new instance that never gets ready', () => {
  it('stops after that batch and rolls back every instance it replaced: the old configuration serves on', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, 'proxy', { instances: 4, env: { V: '1' } }));
    const before = await readyInstances(h, 4);
    const load = startLoad(port, { keepAlive: true });
    let result: LoadResult;
    try {
      await waitFor(() => reached(load.tally, before, 'proxy'), { timeout: 20_000, message: 'the load never reached the instances' });
      h.rewrite(appConfig(port, 'proxy', { instances: 4, env: { V: '2', NEVER_READY_INSTANCE: '2' }, health: { startupTimeout: '1500ms' } }));
      const reloaded = await cli(h, ['reload', '--parallel', '2', '--name', NAME]);
      expect(reloaded.status).not.toBe(0);
      expect(reloaded.out).toMatch(/instance 2: .*; instances 0, 1, 3 went back to the configuration before/);
      // Batch [0, 1] replaced; batch [2, 3]: 2 never ready (its own rollback), 3 replaced; then 3, 1, 0 undone.
      const finished = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((k) => h.waitEvent('reload-finished', k, 60_000)));
      expect(finished.slice(0, 4).map((e) => e['outcome']).sort()).toEqual(['reloaded', 'reloaded', 'reloaded', 'rolled-back']);
      expect(finished.slice(4).map((e) => e['outcome'])).toEqual(['reloaded', 'reloaded', 'reloaded']);
      const after = await readyInstances(h, 4);
      expect(after[2]).toBe(before[2]);
      for (const k of [0, 1, 3]) expect(after[k]).not.toBe(before[k]);
      await waitFor(() => reached(load.tally, after, 'proxy'), { timeout: 20_000, message: 'the load never reached every instance after the rollback' });
    } finally {
      result = await load.stop();
    }
    expect(result.failed, describeLoad(result)).toBe(0);
    const seen = new Set<string>();
    for (let k = 0; k < 40; k += 1) seen.add((await httpGet(port, '/env?name=V')).body);
    expect([...seen]).toEqual(['1']);
    expect(await h.stop()).toBe(0);
  });
});

/** `naija-sup <argv>` in-process against the harness's run dir; its exit status and output. */
async function cli(h: Harness, argv: string[]): Promise<{ status: number; out: string }> {
  let out = '';
  const io: CliIO = {
    stdout: (t) => { out += t; },
    stderr: (t) => { out += t; },
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: h.sup.runDir },
    cwd: h.sup.tmp,
    isTTY: false,
  };
  const status = await run(argv, io);
  return { status, out };
}

describe('proxy mode: naija-sup scale', () => {
  it('scale 5 then scale 2 under load: no failed request, the instances that stay keep their processes', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, 'proxy'));
    const three = await readyInstances(h, 3);
    const load = startLoad(port, { keepAlive: true });
    let result: LoadResult;
    try {
      await waitFor(() => reached(load.tally, three, 'proxy'), { timeout: 20_000, message: 'the load never reached every instance' });
      const up = await cli(h, ['scale', '5', '--name', NAME]);
      expect(up.out).toMatch(/instances-e2e: 3 → 5 instances/);
      expect(up.status).toBe(0);
      const five = await readyInstances(h, 5);
      expect(five.slice(0, 3)).toEqual(three);
      await waitFor(() => reached(load.tally, five, 'proxy'), { timeout: 20_000, message: 'the load never reached the new instances' });
      const down = await cli(h, ['scale', '2', '--name', NAME]);
      expect(down.out).toMatch(/instances-e2e: 5 → 2 instances/);
      expect(down.status).toBe(0);
      expect((await h.status()).instances?.map((i) => i.pid)).toEqual(three.slice(0, 2));
      await assertAllGone(five.slice(2));
      const counted = three.slice(0, 2).map((pid) => load.tally.count(pid));
      await waitFor(() => three.slice(0, 2).every((pid, k) => load.tally.count(pid) >= (counted[k] as number) + 5), { timeout: 20_000, message: 'the two left stopped answering' });
    } finally {
      result = await load.stop();
    }
    expect(result.failed, describeLoad(result)).toBe(0);
    // A bad count: a clear message, a non-zero exit, nothing changed.
    const bad = await cli(h, ['scale', 'many', '--name', NAME]);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toMatch(/expected a number of instances from 1 to 256, got "many"/);
    expect((await h.status()).instances).toHaveLength(2);
    expect(await h.stop()).toBe(0);
  });
});

describe('proxy mode with proxy.protocol "tcp", instances: 3', () => {
  it('takes connections to the three in turn', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const h = start(appConfig(port, 'proxy', { proxy: { protocol: 'tcp' } }));
    const pids = await readyInstances(h, 3);
    const load = startLoad(port, { keepAlive: false });
    try {
      await waitFor(() => pids.every((pid) => load.tally.count(pid) >= 5), { timeout: 20_000, message: () => `not every instance answered: ${JSON.stringify([...load.tally.counts])}` });
    } finally {
      const result = await load.stop();
      expect(result.failed, describeLoad(result)).toBe(0);
    }
    expect(await h.stop()).toBe(0);
  });
});
