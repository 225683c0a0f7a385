/**
 * freePort's decisions and texts over a fake /proc with injected lookups, probes, kill and clock:
 * who is refused and why (an unknown user, the supervisor itself), which pids a group that also
 * holds an outsider is stopped by, what a dry run would signal, how pid-by-pid stopping escalates
 * and when it gives up, what a port that stays held is blamed on, and the one-line owner texts.
 * No process is started and no port bound; free-port.test.ts does that with real servers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InstanceRecord } from '../../src/control/record.js';
import type { CanBindResult } from '../../src/ports/availability.js';
import {
  candidateRefusal,
  describePortHolders,
  describeStopped,
  executeStops,
  formatOwner,
  freePort,
  planStops,
  plannedTargets,
  processAgeMs,
  resolveStopDeps,
  type StopCandidate,
  type StopDeps,
} from '../../src/ports/free-port.js';
import type { PortOwner, PortOwnersAnswer } from '../../src/ports/owners.js';
import { createProc, type Proc } from '../../src/process/proc-read.js';
import type { SelfInfo } from '../../src/process/terminate.js';
import { sampleRecord, sampleOwner, ownersAnswer } from '../helpers/fake-records.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const BOOT = 'boot-bbbb';
const SELF: SelfInfo = { pid: 4000, pgid: 3990, ancestors: [3990, 3000] };
const UID = 1000;

let fake: FakeProc;
let proc: Proc;
let runDir: string;

beforeEach(() => {
  fake = createFakeProc(BOOT);
  proc = createProc(fake.root);
  runDir = mkdtempSync(join(tmpdir(), 'naija-sup-free-port-unit-'));
});

afterEach(() => {
  fake.cleanup();
  rmSync(runDir, { recursive: true, force: true });
});

/** The fake /proc as a system without procfs (macOS, a locked-down container). */
const withoutProcFs = (): Proc => ({ ...createProc(fake.root), available: () => false });

function candidate(overrides: Partial<StopCandidate> = {}): StopCandidate {
  return { pid: 700, pgid: 700, startTime: '3000', uid: UID, user: 'alice', command: 'node server.js', reason: 'port-owner', ...overrides };
}

function owner(overrides: Partial<PortOwner> = {}): PortOwner {
  return sampleOwner({ pid: 700, pgid: 700, uid: UID, startTime: 3000, ...overrides });
}

const { held, free } = ownersAnswer;

const planOptions = (overrides: Partial<{ force: boolean; uid: number | undefined; proc: Proc }> = {}) => ({ force: false, proc, self: SELF, uid: UID, ...overrides });

function record(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return sampleRecord(BOOT, { pid: 700, pgid: 700, startTime: '3000', supervisorPid: 690, supervisorStartTime: '2900', ...overrides });
}

/** Deps over the fake /proc with a fake clock that sleep() advances. */
function clocked(extra: StopDeps = {}) {
  let now = 1_000_000;
  const deps = resolveStopDeps({
    proc,
    self: SELF,
    uid: UID,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    pollInterval: 10,
    killTimeout: 100,
    portFreeTimeout: 200,
    ...extra,
  });
  return { deps, clock: () => now };
}

describe('candidateRefusal', () => {
  it('an owner whose user is unknown is refused unless root with --force', () => {
    expect(candidateRefusal(candidate({ uid: undefined, user: '?' }), planOptions())).toBe(
      'its user is unknown; only root with --force stops a process it cannot identify',
    );
    expect(candidateRefusal(candidate({ uid: undefined }), planOptions({ uid: 0, force: true }))).toBeNull();
    // Our own uid unknown (no process.getuid): nothing of anyone's is ours to stop.
    expect(candidateRefusal(candidate(), planOptions({ uid: undefined }))).toMatch(/^it belongs to user alice \(uid 1000\)/);
  });

  it('the live supervisor itself holding the port is named as the supervisor, with its stop command', () => {
    fake.add({ pid: 690, startTime: '2900' });
    const reason = candidateRefusal(candidate({ pid: 690, pgid: 690, record: record() }), planOptions());
    expect(reason).toBe('it is the naija-sup supervisor of "api": stop it with `naija-sup stop -n api`');
  });

  it('a record whose supervisor is gone protects nothing', () => {
    expect(candidateRefusal(candidate({ record: record() }), planOptions())).toBeNull();
  });
});

describe('planStops', () => {
  it('a pid listed twice is planned once', () => {
    fake.add({ pid: 700, startTime: '3000' });
    const plan = planStops([candidate(), candidate()], planOptions());
    expect(plan.units).toEqual([expect.objectContaining({ scope: 'group', pgid: 700, candidates: [candidate()] })]);
  });

  it('an owner whose process group is unknown (find-process fallback) is stopped by pid', () => {
    const plan = planStops([candidate({ pgid: undefined })], planOptions());
    expect(plan.units).toEqual([{ scope: 'process', candidates: [candidate({ pgid: undefined })], why: 'its process group is unknown' }]);
  });

  it('a group that also holds the shell that launched the owner: the owner and its children by pid, never the shell', () => {
    // setsid bash -c 'node server.js & curl …; wait': bash (705) leads group 700's session, the
    // server (700) forked a worker (702) with no command line left; its child in a group of its own
    // running as another user (703, a setuid helper) is not ours to stop.
    fake.add({ pid: 705, pgid: 700, ppid: 1, comm: 'bash', cmdline: ['bash', '-c', 'node server.js & wait'], startTime: '2990' });
    fake.add({ pid: 700, pgid: 700, ppid: 705, startTime: '3000' });
    fake.add({ pid: 702, pgid: 700, ppid: 700, comm: 'worker', cmdline: [], startTime: '3010' });
    fake.add({ pid: 703, pgid: 703, ppid: 700, uid: 0, startTime: '3011' });
    const plan = planStops([candidate({ startTime: '3000' })], planOptions());
    expect(plan.refused).toEqual([]);
    expect(plan.units).toHaveLength(1);
    const unit = plan.units[0];
    expect(unit?.scope).toBe('process');
    if (unit?.scope !== 'process') return;
    expect(unit.candidates.map((c) => [c.pid, c.command, c.user])).toEqual([
      [700, 'node server.js', 'alice'],
      [702, 'worker', 'alice'],
    ]);
    expect(unit.why).toBe('its process group 700 also holds pid 705 (bash), which neither holds the port nor was started by a process that does');
  });

  it('a pre-fork parent and its worker both listening, beside an outsider: each pid once; an unreadable uid is nobody\'s', () => {
    fake.add({ pid: 705, pgid: 700, ppid: 1, comm: 'bash', startTime: '2990' });
    fake.add({ pid: 700, pgid: 700, ppid: 705, startTime: '3000' });
    fake.add({ pid: 701, pgid: 700, ppid: 700, startTime: '3001' });
    // A child whose status cannot be read (it is exiting): its user is unknown, so it is not signalled.
    fake.add({ pid: 708, pgid: 708, ppid: 701, startTime: '3002' });
    rmSync(join(fake.root, '708', 'status'));
    const plan = planStops([candidate(), candidate({ pid: 701, startTime: '3001' })], planOptions());
    expect(plan.units).toHaveLength(1);
    const unit = plan.units[0];
    if (unit?.scope !== 'process') throw new Error('expected a pid-by-pid unit');
    expect(unit.candidates.map((c) => c.pid)).toEqual([700, 701]);
  });

  it('without procfs a group is signalled as a whole (nothing can be checked), the oldest owner its anchor', () => {
    const plan = planStops([candidate({ pid: 701, startTime: undefined }), candidate({ pid: 700, startTime: '3000' })], planOptions({ proc: withoutProcFs() }));
    expect(plan.units).toEqual([expect.objectContaining({ scope: 'group', pgid: 700, anchor: expect.objectContaining({ pid: 700 }) })]);
    // Two owners without a start time: the lower pid is the anchor.
    const unknownAges = planStops([candidate({ pid: 702, startTime: undefined }), candidate({ pid: 701, startTime: undefined })], planOptions({ proc: withoutProcFs() }));
    expect(unknownAges.units[0]).toMatchObject({ anchor: { pid: 701 } });
  });

  it("a group holding one of naija-sup's ancestors is never signalled as a whole", () => {
    fake.add({ pid: 700, pgid: 700, startTime: '3000' });
    fake.add({ pid: 3000, pgid: 700, startTime: '100' });
    const plan = planStops([candidate()], planOptions());
    expect(plan.units).toEqual([{ scope: 'process', candidates: [candidate()], why: 'its process group 700 includes naija-sup or an ancestor' }]);
  });
});

describe('plannedTargets', () => {
  it("a group's live members with their command lines, the anchor alone when the group is already empty", () => {
    fake.add({ pid: 700, pgid: 700, startTime: '3000' });
    fake.add({ pid: 701, pgid: 700, ppid: 700, cmdline: ['node', 'worker.js'], startTime: '3001' });
    fake.add({ pid: 706, pgid: 700, ppid: 700, cmdline: [], comm: 'kworker', startTime: '3002' });
    const plan = planStops([candidate()], planOptions());
    expect(plannedTargets(plan, { proc })).toEqual([
      { pid: 700, command: 'node server.js', scope: 'group', pgid: 700 },
      { pid: 701, command: 'node worker.js', scope: 'group', pgid: 700 },
      { pid: 706, command: '?', scope: 'group', pgid: 700 },
    ]);
    for (const pid of [700, 701, 706]) fake.remove(pid);
    expect(plannedTargets(plan, { proc })).toEqual([{ pid: 700, command: 'node server.js', scope: 'group', pgid: 700 }]);
  });
});

describe('executeStops', () => {
  const byPid = (candidates: StopCandidate[]) => ({ scope: 'process' as const, why: 'test', candidates });

  it('SIGKILL as the stop signal: no grace period, and nothing left to signal is "already gone"', async () => {
    fake.add({ pid: 710, startTime: '3000' });
    const kills: Array<[number, string]> = [];
    const { deps } = clocked({
      kill: (pid, signal) => {
        kills.push([pid, String(signal)]);
        fake.remove(pid);
      },
    });
    const [killed] = await executeStops([byPid([candidate({ pid: 710 })])], { timeout: 5000, signal: 'SIGKILL' }, deps);
    expect(kills).toEqual([[710, 'SIGKILL']]);
    expect(killed).toMatchObject({ outcome: 'killed', forced: true, detail: 'killed with SIGKILL (pids only: test)' });
    const [gone] = await executeStops([byPid([candidate({ pid: 710 })])], { timeout: 5000, signal: 'SIGKILL' }, deps);
    expect(gone).toMatchObject({ outcome: 'gone-already', forced: false, detail: 'no process was left to signal (pids only: test)' });
  });

  it('a pid that exits between the grace period and SIGKILL counts as exited', async () => {
    fake.add({ pid: 711, startTime: '3000' });
    const kill = vi.fn((pid: number, signal: NodeJS.Signals | 0) => {
      // The SIGKILL finds nothing: ESRCH, as process.kill throws it.
      if (signal === 'SIGKILL') throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    });
    const { deps } = clocked({ kill });
    const [result] = await executeStops([byPid([candidate({ pid: 711 })])], { timeout: 50 }, deps);
    expect(kill.mock.calls.map((c) => c[1])).toEqual(['SIGTERM', 'SIGKILL']);
    expect(result).toMatchObject({ outcome: 'exited', forced: false, detail: 'exited after SIGTERM (pids only: test)' });
  });

  it('a pid that survives SIGKILL (uninterruptible sleep) is reported with its pid', async () => {
    fake.add({ pid: 712, startTime: '3000', state: 'D' });
    const kill = vi.fn();
    const { deps } = clocked({ kill });
    const [result] = await executeStops([byPid([candidate({ pid: 712 })])], { timeout: 50 }, deps);
    expect(kill.mock.calls.map((c) => c[1])).toEqual(['SIGTERM', 'SIGKILL']);
    expect(result).toMatchObject({ outcome: 'survived', forced: true, detail: 'still running after SIGKILL: 712 (pids only: test)' });
    expect(describeStopped(result!)).toBe('pid 712 (node server.js): still running after SIGKILL: 712 (pids only: test) in 150 ms');
  });

  it('a candidate without a start time is never signalled (its identity cannot be checked)', async () => {
    fake.add({ pid: 713, startTime: '3000' });
    const kill = vi.fn();
    const [result] = await executeStops([byPid([candidate({ pid: 713, startTime: undefined })])], { timeout: 50 }, clocked({ kill }).deps);
    expect(kill).not.toHaveBeenCalled();
    expect(result?.outcome).toBe('gone-already');
  });

  it('without procfs: a pid is signalled only while its start time can be checked, so never', async () => {
    const kill = vi.fn();
    const { deps } = clocked({ kill, proc: withoutProcFs() });
    // Without procfs only kill(pid, 0) is left to the identity check, on the real system: a pid no
    // process can have (pid_max and above), not a small one that some process of the machine may
    // hold (PIDs wrap at 32768 here, and a CI run met one).
    const absent = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const [result] = await executeStops([byPid([candidate({ pid: absent })])], { timeout: 50 }, deps);
    expect(kill).not.toHaveBeenCalled();
    expect(result?.outcome).toBe('gone-already');
  });

  it('a group whose members are already gone reports the planned pids, and sends nothing', async () => {
    const kill = vi.fn();
    const unit = { scope: 'group' as const, pgid: 720, anchor: candidate({ pid: 720, pgid: 720, startTime: undefined }), candidates: [candidate({ pid: 720, pgid: 720, startTime: undefined })] };
    const [result] = await executeStops([unit], { timeout: 50 }, clocked({ kill }).deps);
    expect(kill).not.toHaveBeenCalled();
    expect(result).toMatchObject({ scope: 'group', pgid: 720, pids: [720], outcome: 'gone-already' });
    expect(describeStopped(result!)).toMatch(/^process group 720 \(pids 720: node server\.js\): already gone in \d+ ms$/);
  });
});

describe('freePort over injected lookups', () => {
  const run = (lookups: PortOwnersAnswer[], probe: () => CanBindResult, extra: StopDeps = {}) => {
    const lookup = vi.fn(async () => lookups.shift() ?? free());
    return { lookup, deps: { ...clocked({ lookup, probe: async () => probe(), ...extra }).deps } };
  };

  it('free with a note: free, the note is the reason', async () => {
    const { deps } = run([free('also [::1]:8000')], () => true);
    expect(await freePort({ port: 8000, host: '127.0.0.1', deps })).toMatchObject({ free: true, reason: 'also [::1]:8000', stopped: [] });
  });

  it('nothing visible but the bind fails: another namespace, named; EACCES: free but not bindable by this user', async () => {
    const blocked = await freePort({ port: 8000, host: '127.0.0.1', deps: run([free()], () => false).deps });
    expect(blocked).toMatchObject({ free: false, reason: 'no owner is visible, yet binding 127.0.0.1:8000 fails with EADDRINUSE (a process in another namespace or container?)' });
    const denied = await freePort({ port: 80, deps: run([free()], () => ({ error: 'EACCES' }) as unknown as CanBindResult).deps });
    expect(denied).toMatchObject({ free: true, reason: 'nothing holds the port, but this user cannot bind it (EACCES)' });
  });

  it('a dry run with a refused owner would signal nothing, and says how many may not be stopped', async () => {
    fake.add({ pid: 700, startTime: '3000' });
    const owners = [owner(), owner({ pid: 801, pgid: 801, uid: 33, user: 'www-data', startedAt: 999_000 })];
    const result = await freePort({ port: 8000, dryRun: true, deps: run([held(owners)], () => false).deps });
    expect(result).toMatchObject({ free: false, wouldSignal: [], stopped: [] });
    expect(result.reason).toBe('dry run: 2 process(es) hold the port; nothing was stopped; 1 of them may not be stopped');
    expect(result.owners.map((o) => o.ageMs)).toEqual([undefined, 1000]);
  });

  it('a real run with a refused owner stops nothing and names each refusal', async () => {
    const kill = vi.fn();
    const result = await freePort({ port: 8000, deps: run([held([owner({ uid: 33, user: 'www-data' })])], () => false, { kill }).deps });
    expect(kill).not.toHaveBeenCalled();
    expect(result.reason).toBe("nothing was stopped: pid 700: it belongs to user www-data (uid 33); only root with --force stops another user's process");
  });

  it('an owner in a live naija-sup record is marked ours and refused', async () => {
    fake.add({ pid: 690, startTime: '2900' });
    fake.add({ pid: 700, startTime: '3000' });
    const { writeRecord } = await import('../../src/control/record.js');
    writeRecord(runDir, record());
    const result = await freePort({ port: 8000, runDir, deps: run([held([owner()])], () => false).deps });
    expect(result.owners[0]?.ours).toEqual({ name: 'api', supervisorPid: 690, supervisorAlive: true });
    expect(result.refused[0]?.reason).toMatch(/^it is supervised by naija-sup \(app "api", supervisor pid 690\)/);
  });

  it('stopped, but the port stays held by a newcomer: the reason names who holds it now', async () => {
    fake.add({ pid: 700, startTime: '3000' });
    const newcomer = owner({ pid: 900, pgid: 900, command: 'python -m http.server 8000', startedAt: 1_000_000 - 5000 });
    const kill = vi.fn((pid: number) => fake.remove(pid > 0 ? pid : -pid));
    const { deps } = run([held([owner()])], () => false, { kill, lookup: async () => held([newcomer], 'a note') });
    const result = await freePort({ port: 8000, timeout: 100, before: held([owner()]), deps });
    expect(result.stopped).toEqual([expect.objectContaining({ pid: 700, outcome: 'exited' })]);
    expect(result.free).toBe(false);
    expect(result.reason).toMatch(
      /^still held after stopping its owners: port 8000 is held by pid 900 \(user alice, running for \d+s\): python -m http\.server 8000 — listening on 127\.0\.0\.1:8000; a note$/,
    );
  });

  it('stopped, and the owner survives SIGKILL: the reason is the survivor', async () => {
    fake.add({ pid: 700, startTime: '3000', state: 'D' });
    const { deps } = run([], () => false, { kill: () => undefined, lookup: async () => held([owner()]) });
    const result = await freePort({ port: 8000, timeout: 50, before: held([owner({ pgid: undefined })]), deps });
    expect(result.stopped[0]).toMatchObject({ outcome: 'survived', scope: 'process' });
    expect(result.reason).toBe('still running after SIGKILL: 700 (pids only: its process group is unknown)');
  });
});

describe('owner texts', () => {
  it('formatOwner: full command lines on request, a placeholder for none, no address list when unknown', () => {
    const long = `node ${'x'.repeat(200)}.js`;
    expect(formatOwner(owner({ command: long, addresses: [] }), 0, { full: true })).toBe(`pid 700 (user alice): ${long}`);
    expect(formatOwner(owner({ command: '' }), 0, { full: true })).toBe('pid 700 (user alice): (no command line: a kernel thread or a zombie) — listening on 127.0.0.1:8000');
  });

  it('describePortHolders: TIME_WAIT with and without a note, a free port with a note, a non-Error failure', async () => {
    const timeWait = (note?: string): PortOwnersAnswer => ownersAnswer.timeWait(3, note);
    expect(await describePortHolders(8000, undefined, { lookup: async () => timeWait() })).toEqual(['port 8000: 3 connection(s) in TIME_WAIT, no owner']);
    expect(await describePortHolders(8000, undefined, { lookup: async () => timeWait('3 in TIME_WAIT') })).toEqual(['3 in TIME_WAIT']);
    expect(await describePortHolders(8000, undefined, { lookup: async () => free('[::1]:8000 listens') })).toEqual(['nothing listens on port 8000 now ([::1]:8000 listens)']);
    const invisible: PortOwnersAnswer = {
      ...ownersAnswer.free(),
      kind: 'held-invisible',
      complete: false,
      uid: 0,
      user: 'root',
      sockets: [{ family: 4, address: '0.0.0.0', port: 8000, endpoint: '0.0.0.0:8000', uid: 0, inode: 9 }],
    };
    expect(await describePortHolders(8000, undefined, { lookup: async () => invisible })).toEqual([
      'port 8000 is held (0.0.0.0:8000), but its owner is not visible to this user (the socket belongs to root, uid 0): run free-port as that user, or as root',
    ]);
    const throwsString = async (): Promise<PortOwnersAnswer> => {
      throw 'no /proc';
    };
    expect(await describePortHolders(8000, undefined, { lookup: throwsString })).toEqual(['could not look up who holds port 8000: no /proc']);
  });

  it('processAgeMs: from the start time and the uptime; unknown without either', () => {
    expect(processAgeMs('500', { proc })).toBeUndefined(); // no /proc/uptime yet
    writeFileSync(join(fake.root, 'uptime'), '100.00 50.00\n');
    expect(processAgeMs('500', { proc })).toBe(95_000); // started 5 s after boot (500 ticks)
    expect(processAgeMs('20000', { proc })).toBe(0); // "in the future": clamped
    expect(processAgeMs(undefined, { proc })).toBeUndefined();
    expect(processAgeMs('12abc', { proc })).toBeUndefined();
  });
});
