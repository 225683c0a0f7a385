/**
 * Unit tests for the preflight and free-port decisions, with a fake /proc, injected lookups and
 * probes, and fake timers: who cleanup.match may name, what an instance record means, who may be
 * stopped and how (group or pid), the identity re-check before each signal, the bounded TIME_WAIT
 * wait, the port fallback, and the texts of E_PORT_IN_USE. No process is started and no port bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import type { InstanceRecord } from '../../src/control/record.js';
import { NaijaSupError } from '../../src/errors.js';
import type { CanBindResult } from '../../src/ports/availability.js';
import {
  describePortHolders,
  endpoint,
  executeStops,
  formatAge,
  freePort,
  planStops,
  resolveStopDeps,
  shortCommand,
  type StopCandidate,
} from '../../src/ports/free-port.js';
import type { PortOwner, PortOwnersAnswer } from '../../src/ports/owners.js';
import { findMatchingProcesses, runPreflight, type PreflightConfig } from '../../src/ports/preflight.js';
import { inspectRecord } from '../../src/ports/stale.js';
import type { SelfInfo } from '../../src/process/terminate.js';
import { sampleRecord, sampleOwner } from '../helpers/fake-records.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const BOOT = 'boot-aaaa';
// naija-sup runs in its shell job's process group (led by npx, pid 3990), under bash (3000).
const SELF: SelfInfo = { pid: 4000, pgid: 3990, ancestors: [3990, 3000] };
const UID = 1000;

let fake: FakeProc;
let runDir: string;

beforeEach(() => {
  fake = createFakeProc(BOOT);
  runDir = mkdtempSync(join(tmpdir(), 'naija-sup-preflight-unit-'));
});

afterEach(() => {
  vi.useRealTimers();
  fake.cleanup();
  rmSync(runDir, { recursive: true, force: true });
});

function owner(overrides: Partial<PortOwner> = {}): PortOwner {
  return sampleOwner({ uid: UID, startedAt: Date.now() - 65_000, ...overrides });
}

const base = { port: 8000, host: '127.0.0.1', complete: true, method: 'procfs' as const, nonConflicting: [] };
const answers = {
  free: (): PortOwnersAnswer => ({ ...base, kind: 'free' }),
  timeWait: (): PortOwnersAnswer => ({ ...base, kind: 'time-wait', count: 2, note: 'TIME_WAIT note' }),
  held: (owners: PortOwner[]): PortOwnersAnswer => ({ ...base, kind: 'held', owners, sockets: [], unownedSockets: [] }),
  invisible: (): PortOwnersAnswer => ({
    ...base,
    kind: 'held-invisible',
    complete: false,
    uid: 0,
    user: 'root',
    sockets: [{ family: 4, address: '0.0.0.0', port: 8000, endpoint: '0.0.0.0:8000', uid: 0, inode: 9 }],
  }),
};

function config(overrides: Partial<PreflightConfig> = {}): PreflightConfig {
  return {
    name: 'api',
    port: 8000,
    host: '127.0.0.1',
    pidFile: null,
    portFallback: false,
    shutdown: { signal: 'SIGTERM', timeout: 2000 },
    cleanup: { killExisting: false, match: [] },
    ...overrides,
  };
}

async function thrown(promise: Promise<unknown>): Promise<NaijaSupError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof NaijaSupError) return error;
    throw error;
  }
  throw new Error('expected a NaijaSupError');
}

describe('findMatchingProcesses', () => {
  it('matches the full command line of this user only, never PID 1, itself, its ancestors, its group, zombies or kernel threads', () => {
    const line = ['python', 'start_server.py', '--port', '8000'];
    fake.add({ pid: 1, cmdline: ['/sbin/init', 'start_server.py'], uid: UID });
    fake.add({ pid: 3990, cmdline: ['npx', 'naija-sup', 'start', '--', 'python', 'start_server.py'], uid: UID }); // ancestor
    fake.add({ pid: 4000, cmdline: ['node', 'naija-sup', 'start_server.py'], uid: UID }); // ourselves
    fake.add({ pid: 4001, pgid: 3990, cmdline: ['tee', 'start_server.py.log'], uid: UID }); // our own group
    fake.add({ pid: 5000, pgid: 5000, cmdline: line, uid: UID, startTime: '500' }); // the stale server
    fake.add({ pid: 5001, pgid: 5000, cmdline: ['python', '-c', 'worker of start_server.py'], uid: UID });
    fake.add({ pid: 5002, cmdline: line, uid: 0 }); // another user's
    fake.add({ pid: 5003, cmdline: line, uid: UID, state: 'Z' }); // a zombie
    fake.add({ pid: 5004, cmdline: [], uid: UID }); // a kernel thread
    fake.add({ pid: 5005, cmdline: ['vim', 'notes.txt'], uid: UID });

    const substring = findMatchingProcesses(['start_server.py'], { proc: createProc(fake.root), self: SELF, uid: UID });
    expect(substring.matched.map((p) => p.pid)).toEqual([5000, 5001]);
    expect(substring.otherUsers).toBe(1);
    expect(substring.matched[0]).toMatchObject({ pgid: 5000, startTime: '500', command: 'python start_server.py --port 8000', pattern: 'start_server.py' });

    const regex = findMatchingProcesses(['/^python start_server\\.py\\b/'], { proc: createProc(fake.root), self: SELF, uid: UID });
    expect(regex.matched.map((p) => p.pid)).toEqual([5000]);
    expect(findMatchingProcesses([], { proc: createProc(fake.root), self: SELF, uid: UID }).matched).toEqual([]);
  });
});

describe('inspectRecord', () => {
  function record(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
    return sampleRecord(BOOT, overrides);
  }

  it('a live supervisor (same pid and start time) means "supervised"', () => {
    fake.add({ pid: 590, startTime: '1900' });
    expect(inspectRecord(record(), { proc: createProc(fake.root) }).kind).toBe('supervised');
  });

  it('a supervisor pid reused by another process does not count as alive', () => {
    fake.add({ pid: 590, startTime: '9999' });
    fake.add({ pid: 600, startTime: '2000' });
    expect(inspectRecord(record(), { proc: createProc(fake.root) })).toMatchObject({ kind: 'orphan', leaderAlive: true, target: { pid: 600, pgid: 600, startTime: '2000' } });
  });

  it('an orphan whose leader exited but whose workers live on in its group is still ours', () => {
    fake.add({ pid: 601, pgid: 600, ppid: 1, startTime: '2005' });
    fake.add({ pid: 602, pgid: 600, ppid: 1, startTime: '1500' }); // started before the leader: not ours
    const state = inspectRecord(record(), { proc: createProc(fake.root) });
    expect(state).toMatchObject({ kind: 'orphan', leaderAlive: false, members: [601] });
    if (state.kind === 'orphan') expect(state.target.verifiedMembers).toEqual([{ pid: 601, startTime: '2005' }]);
  });

  it('a reused instance pid, an exited instance and a record from an earlier boot are stale', () => {
    fake.add({ pid: 600, startTime: '7777', cmdline: ['bash'] });
    expect(inspectRecord(record(), { proc: createProc(fake.root) })).toMatchObject({ kind: 'stale', why: 'pid 600 now belongs to another process (bash)' });
    fake.remove(600);
    expect(inspectRecord(record(), { proc: createProc(fake.root) })).toMatchObject({ kind: 'stale', why: 'instance pid 600 has exited' });
    fake.add({ pid: 600, startTime: '2000' });
    expect(inspectRecord(record({ bootId: 'boot-old' }), { proc: createProc(fake.root) })).toMatchObject({ kind: 'stale', why: expect.stringContaining('before the machine last booted') });
  });
});

describe('planStops', () => {
  const options = (overrides: Partial<{ force: boolean; uid: number }> = {}) => ({
    force: false,
    proc: createProc(fake.root),
    self: SELF,
    uid: UID,
    ...overrides,
  });
  const candidate = (overrides: Partial<StopCandidate>): StopCandidate => ({
    pid: 700,
    pgid: 700,
    startTime: '3000',
    uid: UID,
    user: 'alice',
    command: 'node server.js',
    reason: 'port-owner',
    ...overrides,
  });

  it('refuses PID 1, naija-sup, its ancestors, container port proxies and other users (unless root with --force)', () => {
    fake.add({ pid: 800, uid: 0, cmdline: ['/usr/bin/docker-proxy'] });
    const plan = planStops(
      [
        candidate({ pid: 1, pgid: 1 }),
        candidate({ pid: 4000, pgid: 3990 }),
        candidate({ pid: 3000, pgid: 3000 }),
        candidate({ pid: 800, pgid: 800, uid: UID, command: '/usr/bin/docker-proxy -proto tcp -host-port 8000' }),
        candidate({ pid: 801, pgid: 801, uid: 33, user: 'www-data' }),
      ],
      options(),
    );
    expect(plan.units).toEqual([]);
    expect(plan.refused.map((r) => [r.pid, r.reason])).toEqual([
      [1, 'pid 1 is never signalled'],
      [4000, 'that is naija-sup itself'],
      [3000, 'that is an ancestor of naija-sup (it started us)'],
      [800, expect.stringContaining('docker-proxy publishes a container')],
      [801, "it belongs to user www-data (uid 33); only root with --force stops another user's process"],
    ]);
    fake.add({ pid: 801, uid: 33 });
    expect(planStops([candidate({ pid: 801, pgid: 801, uid: 33 })], options({ uid: 0 })).refused).toHaveLength(1);
    expect(planStops([candidate({ pid: 801, pgid: 801, uid: 33 })], options({ uid: 0, force: true })).units).toHaveLength(1);
  });

  it('one group unit per process group, anchored on its oldest member; pids only when the group is ours or mixed', () => {
    fake.add({ pid: 700, pgid: 700, startTime: '3000' });
    fake.add({ pid: 701, pgid: 700, startTime: '3001' });
    fake.add({ pid: 900, pgid: 3990, startTime: '3100' }); // in naija-sup's own group
    fake.add({ pid: 950, pgid: 950, startTime: '3200' });
    fake.add({ pid: 951, pgid: 950, startTime: '3201', uid: 0 }); // another user in the same group
    const plan = planStops(
      [
        candidate({ pid: 701, startTime: '3001' }),
        candidate({ pid: 700, startTime: '3000' }),
        candidate({ pid: 900, pgid: 3990, startTime: '3100' }),
        candidate({ pid: 950, pgid: 950, startTime: '3200' }),
      ],
      options(),
    );
    expect(plan.refused).toEqual([]);
    expect(plan.units).toHaveLength(2);
    const [group, single] = plan.units;
    expect(group).toMatchObject({ scope: 'group', pgid: 700, anchor: { pid: 700 } });
    expect(single?.scope).toBe('process');
    if (single?.scope === 'process') {
      expect(single.candidates.map((c) => c.pid)).toEqual([900, 950]);
      expect(single.why).toContain("naija-sup's own process group");
      expect(single.why).toContain("includes another user's process (pid 951)");
    }
  });
});

describe('executeStops (pid by pid)', () => {
  function clockDeps(kill: (pid: number, signal: NodeJS.Signals | 0) => void) {
    let now = 0;
    return {
      deps: resolveStopDeps({
        proc: createProc(fake.root),
        self: SELF,
        uid: UID,
        kill,
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
        pollInterval: 10,
        killTimeout: 100,
      }),
      clock: () => now,
    };
  }
  const single = (pid: number, startTime: string) => ({
    scope: 'process' as const,
    why: 'test',
    candidates: [{ pid, pgid: 3990, startTime, uid: UID, user: 'alice', command: 'node x.js', reason: 'port-owner' as const }],
  });

  it('never signals a pid whose start time changed since the lookup', async () => {
    fake.add({ pid: 710, startTime: '9999' });
    const kill = vi.fn();
    const [result] = await executeStops([single(710, '3000')], { timeout: 100 }, clockDeps(kill).deps);
    expect(kill).not.toHaveBeenCalled();
    expect(result).toMatchObject({ outcome: 'gone-already', forced: false });
  });

  it('escalates to SIGKILL after the grace period when the stop signal is ignored', async () => {
    fake.add({ pid: 711, startTime: '3000' });
    const calls: Array<[number, string, number]> = [];
    const { deps, clock } = clockDeps((pid, signal) => {
      calls.push([pid, String(signal), clock()]);
      if (signal === 'SIGKILL') fake.remove(pid);
    });
    const [result] = await executeStops([single(711, '3000')], { timeout: 200, signal: 'SIGINT' }, deps);
    expect(calls.map(([pid, signal]) => [pid, signal])).toEqual([
      [711, 'SIGINT'],
      [711, 'SIGKILL'],
    ]);
    expect(calls[1]?.[2]).toBeGreaterThanOrEqual(200);
    expect(result).toMatchObject({ outcome: 'killed', forced: true, signal: 'SIGINT', scope: 'process' });
  });
});

describe('runPreflight decisions (injected lookup and probe)', () => {
  function deps(lookup: () => PortOwnersAnswer, probe: () => CanBindResult, extra: Record<string, unknown> = {}) {
    return {
      proc: createProc(fake.root),
      self: SELF,
      uid: UID,
      lookup: vi.fn(async () => lookup()),
      probe: vi.fn(async () => probe()),
      getPort: vi.fn(async () => 8001),
      ...extra,
    };
  }

  it('TIME_WAIT that blocks the bind: announces the wait, polls, and proceeds once the bind works', async () => {
    vi.useFakeTimers();
    const binds: CanBindResult[] = [false, false, false, true];
    const d = deps(answers.timeWait, () => binds.shift() ?? true, { timeWaitTimeout: 10_000, timeWaitInterval: 500 });
    const steps: string[] = [];
    const running = runPreflight({ config: config(), runDir, killExisting: false, force: false, onStep: (f) => steps.push(f.message), deps: d });
    await vi.advanceTimersByTimeAsync(1500);
    const result = await running;
    expect(result.port).toBe(8000);
    expect(d.probe).toHaveBeenCalledTimes(4);
    expect(steps[0]).toMatch(/2 connection\(s\) in TIME_WAIT .* block the bind .*waiting up to 10s/);
    expect(steps[1]).toBe('TIME_WAIT cleared after 1s: port 8000 is free');
    expect(result.timings['time-wait']).toBe(1500);
  });

  it('an owner killed and still exiting: looks again until it lets go, then proceeds without stopping anything', async () => {
    vi.useFakeTimers();
    const exiting = answers.held([owner({ exiting: true, cmdline: [], command: '' })]);
    const seen: PortOwnersAnswer[] = [exiting, exiting, exiting, answers.free()];
    const d = deps(() => seen.shift() ?? answers.free(), () => true, { pollInterval: 10 });
    const steps: string[] = [];
    const running = runPreflight({ config: config(), runDir, killExisting: false, force: false, onStep: (f) => steps.push(f.message), deps: d });
    await vi.advanceTimersByTimeAsync(100);
    const result = await running;
    expect(result).toMatchObject({ port: 8000, stopped: [] });
    expect(d.lookup).toHaveBeenCalledTimes(4);
    expect(steps).toContain('pid 500 held port 8000 while exiting (killed, its last threads still going); waited 30 ms');
  });

  it('an exiting owner that never lets go: a bounded wait, then the usual E_PORT_IN_USE', async () => {
    vi.useFakeTimers();
    const d = deps(() => answers.held([owner({ exiting: true })]), () => false, { pollInterval: 100, portFreeTimeout: 1000 });
    const running = thrown(runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: d }));
    await vi.advanceTimersByTimeAsync(1500);
    const error = await running;
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(d.lookup.mock.calls.length).toBeLessThanOrEqual(1000 / 100 + 2);
  });

  it('one live owner beside an exiting one: no wait', async () => {
    const d = deps(() => answers.held([owner({ exiting: true }), owner({ pid: 501 })]), () => false);
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: d }));
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(d.lookup).toHaveBeenCalledTimes(1);
  });

  it('TIME_WAIT that never clears: a bounded wait, then E_PORT_IN_USE saying why', async () => {
    vi.useFakeTimers();
    const d = deps(answers.timeWait, () => false, { timeWaitTimeout: 2000, timeWaitInterval: 250 });
    const running = thrown(runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d }));
    await vi.advanceTimersByTimeAsync(2500);
    const error = await running;
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.message).toMatch(/blocked by 2 connection\(s\) in TIME_WAIT.*waited 2s$/);
    expect(d.probe.mock.calls.length).toBeLessThanOrEqual(2000 / 250 + 2);
  });

  it('portFallback: get-port is asked for port+1…port+100, the pick is confirmed by a bind and announced', async () => {
    const d = deps(() => answers.held([owner()]), () => true);
    const result = await runPreflight({ config: config({ portFallback: true }), runDir, killExisting: false, force: false, deps: d });
    expect(result).toMatchObject({ port: 8001, requestedPort: 8000, portChanged: true, stopped: [] });
    const asked = [...(d.getPort.mock.calls[0] as unknown as [{ port: Iterable<number> }])[0].port];
    expect(asked[0]).toBe(8001);
    expect(asked.at(-1)).toBe(8100);
    expect(d.probe).toHaveBeenCalledWith('127.0.0.1', 8001);
    expect(result.details.at(-1)).toMatchObject({ step: 'port-fallback', level: 'warn' });
    expect(result.findings.at(-1)).toMatch(/^port 8000 is not available \(port 8000 \(127\.0\.0\.1\) is in use by pid 500.*\); using port 8001 instead because portFallback is on$/);
  });

  it('E_PORT_IN_USE for an owner of another user says --kill-existing cannot stop it', async () => {
    const d = deps(() => answers.held([owner({ uid: 33, user: 'www-data' })]), () => false);
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: d }));
    expect(error.message).toBe('port 8000 (127.0.0.1) is in use by pid 500 (user www-data, running for 1m 5s): node server.js — listening on 127.0.0.1:8000');
    expect(error.fix).toBe(
      "--kill-existing cannot stop it (it belongs to user www-data (uid 33); only root with --force stops another user's process); " +
        'use another port with --port N (8001 is free now), or let naija-sup pick one with --port-fallback',
    );
    expect(error.details[0]).toContain('cwd /srv/app');
  });

  it('E_PORT_IN_USE when the owner is not visible to this user', async () => {
    const d = deps(answers.invisible, () => false);
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d }));
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.message).toBe('port 8000 (127.0.0.1) is in use, but its owner is not visible to this user: the socket (0.0.0.0:8000) belongs to root, uid 0');
    expect(error.fix).toContain("sudo ss -ltnp 'sport = :8000'");
    expect(error.fix).toContain('--port N (8001 is free now)');
  });

  it('as root, an owner it cannot find is outside this PID namespace: the message does not send root to sudo', async () => {
    const d = deps(answers.invisible, () => false, { uid: 0 });
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d }));
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.message).toBe('port 8000 (127.0.0.1) is in use by no process of this PID namespace: the socket (0.0.0.0:8000) belongs to root, uid 0');
    expect(error.fix).toMatch(/^a container or another PID namespace holds it/);
    expect(error.fix).not.toContain('sudo');
    expect(error.fix).toContain('--port N (8001 is free now)');
  });

  it('a free port with a stale listener on another address warns that "localhost" may reach it', async () => {
    const answer: PortOwnersAnswer = {
      ...answers.free(),
      nonConflicting: [{ family: 6, address: '::1', port: 8000, endpoint: '[::1]:8000', uid: UID, inode: 5 }],
    };
    const result = await runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: deps(() => answer, () => true) });
    expect(result.port).toBe(8000);
    expect(result.findings).toEqual([
      'also listening on port 8000: [::1]:8000 — harmless for a bind on 127.0.0.1, but "localhost:8000" may reach that server instead of this one',
    ]);
  });
});

describe('freePort without holders to stop (injected)', () => {
  it('held-invisible: not free, and says whose socket it is', async () => {
    const result = await freePort({ port: 8000, deps: { proc: createProc(fake.root), self: SELF, uid: UID, lookup: async () => answers.invisible() } });
    expect(result.free).toBe(false);
    expect(result.reason).toContain('not visible to this user (the socket belongs to root, uid 0)');
  });

  it('TIME_WAIT that blocks the bind: not free, nothing to stop', async () => {
    const result = await freePort({
      port: 8000,
      deps: { proc: createProc(fake.root), self: SELF, uid: UID, lookup: async () => answers.timeWait(), probe: async () => false },
    });
    expect(result).toMatchObject({ free: false, stopped: [] });
    expect(result.reason).toMatch(/2 connection\(s\) in TIME_WAIT block the bind/);
  });
});

describe('texts', () => {
  it('formatAge, endpoint, shortCommand', () => {
    expect([999, 1000, 59_000, 75_000, 3_600_000 + 5 * 60_000, 3 * 86_400_000 + 7_200_000].map(formatAge)).toEqual([
      '<1s',
      '1s',
      '59s',
      '1m 15s',
      '1h 5m',
      '3d 2h',
    ]);
    expect([endpoint(undefined, 80), endpoint('::1', 80), endpoint('127.0.0.1', 80)]).toEqual(['[::]:80', '[::1]:80', '127.0.0.1:80']);
    expect(shortCommand('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(shortCommand('')).toMatch(/kernel thread or a zombie/);
  });

  it('describePortHolders: one line per owner, and a line instead of an exception when the lookup fails', async () => {
    const lookup = async () => answers.held([owner(), owner({ pid: 501, startTime: 1001, startedAt: undefined })]);
    const lines = await describePortHolders(8000, '127.0.0.1', { lookup, now: () => Date.now() });
    expect(lines).toEqual([
      expect.stringMatching(/^port 8000 is held by pid 500 \(user alice, running for 1m \d+s\): node server\.js — listening on 127\.0\.0\.1:8000$/),
      'port 8000 is held by pid 501 (user alice, pgid 500): node server.js — listening on 127.0.0.1:8000',
    ]);
    const failing = async (): Promise<PortOwnersAnswer> => {
      throw new Error('boom');
    };
    expect(await describePortHolders(8000, undefined, { lookup: failing })).toEqual(['could not look up who holds port 8000: boom']);
  });
});
