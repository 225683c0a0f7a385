import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { listProcesses } from '../../src/process/group.js';
import { parseProcNetTcpForPort } from '../../src/ports/proc-net.js';
import {
  hasExited,
  isSameProcess,
  parseProcStat,
  processIdentity,
  readBootId,
  readCmdline,
  readProcStat,
  readUid,
} from '../../src/process/identity.js';
import { parseVmRss, readProcNetTable, readUptimeSeconds, readVmRss } from '../../src/process/proc-read.js';
import { spawnInstance } from '../../src/process/spawn.js';
import { terminateGroup } from '../../src/process/terminate.js';
import {
  assertAllGone,
  childEnv,
  createFakeProc,
  fixture,
  killAllTracked,
  startFixture,
  statLine,
  trackChild,
  waitFor,
  type FakeProc,
} from '../helpers/processes.js';

describe('parseProcStat', () => {
  it('reads the fields naija-sup uses from a real-shaped line', () => {
    const line = '4265 (cat) R 4261 4261 2711 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 27965 3133440 389 18446744073709551615 0';
    expect(parseProcStat(line)).toEqual({
      pid: 4265, comm: 'cat', state: 'R', ppid: 4261, pgid: 4261, sid: 2711, ttyNr: 0, utime: 0, stime: 0, threads: 1, startTime: '27965',
    });
  });

  it('splits after the LAST ")" so a comm with spaces and parentheses cannot shift the fields', () => {
    const stat = parseProcStat(statLine({ pid: 77, comm: 'a) S 1 1 (b', state: 'R', ppid: 5, pgid: 6, sid: 7, startTime: '123' }));
    expect(stat).toEqual({ pid: 77, comm: 'a) S 1 1 (b', state: 'R', ppid: 5, pgid: 6, sid: 7, ttyNr: 0, utime: 0, stime: 0, threads: 1, startTime: '123' });
    expect(parseProcStat(statLine({ pid: 78, comm: 'my server', startTime: '9' }))?.comm).toBe('my server');
    expect(parseProcStat(statLine({ pid: 79, comm: ')', startTime: '9' }))?.comm).toBe(')');
  });

  it('reads real lines: a comm renamed with spaces and ")" (prctl PR_SET_NAME), and PID 1 with CPU times', () => {
    // Captured from this machine's /proc: python3 after prctl(PR_SET_NAME, "my srv) S 1 (x").
    const renamed =
      '17175 (my srv) S 1 (x) R 17173 17173 13508 0 -1 4194304 917 0 2 0 1 0 0 0 20 0 1 0 1010281 14508032 2172 ' +
      '18446744073709551615 4321280 7148169 140735734818320 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0 9723336 11027064 ' +
      '68403200 140735734819547 140735734819566 140735734819566 140735734820839 0\n';
    expect(parseProcStat(renamed)).toEqual({
      pid: 17175, comm: 'my srv) S 1 (x', state: 'R', ppid: 17173, pgid: 17173, sid: 13508, ttyNr: 0, utime: 1, stime: 0, threads: 1, startTime: '1010281',
    });
    // PID 1: its parent, group and session are 0 (outside the namespace); fields 14/15 are utime/stime.
    const init =
      '1 (process_api) S 0 0 0 0 -1 4194560 80787 121592592 0 2033 286 515 1043691 209893 10 -10 12 0 14 35909632 2032 ' +
      '18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
    expect(parseProcStat(init)).toEqual({
      pid: 1, comm: 'process_api', state: 'S', ppid: 0, pgid: 0, sid: 0, ttyNr: 0, utime: 286, stime: 515, threads: 12, startTime: '14',
    });
  });

  it('hasExited: a zombie (or dead) process with no other thread left; not while threads are still exiting', () => {
    const stat = (state: string, threads: number) => parseProcStat(statLine({ pid: 9, state, threads })) as NonNullable<ReturnType<typeof parseProcStat>>;
    expect(hasExited(stat('Z', 1))).toBe(true);
    expect(hasExited(stat('X', 0))).toBe(true);
    expect(hasExited(stat('Z', 0))).toBe(true);
    expect(hasExited(stat('Z', 4))).toBe(false);
    expect(hasExited(stat('S', 1))).toBe(false);
    expect(hasExited(stat('R', 12))).toBe(false);
  });

  it('hasExited under ptrace: threads > 1 that are all zombies (not reaped by the tracer yet) count as exited', () => {
    const proc = createFakeProc();
    try {
      proc.add({ pid: 700, state: 'Z', threads: 3 });
      const leader = readProcStat(700, proc.root) as NonNullable<ReturnType<typeof readProcStat>>;
      // No task directory to look into: not known to be exited.
      expect(hasExited(leader, proc.root)).toBe(false);
      const task = (tid: number, state: string): void => {
        mkdirSync(join(proc.root, '700', 'task', String(tid)), { recursive: true });
        writeFileSync(join(proc.root, '700', 'task', String(tid), 'stat'), statLine({ pid: tid, state }));
      };
      task(700, 'Z');
      task(701, 'Z');
      task(702, 'R'); // one thread still running: it may hold the files
      expect(hasExited(leader, proc.root)).toBe(false);
      task(702, 'Z');
      expect(hasExited(leader, proc.root)).toBe(true);
    } finally {
      proc.cleanup();
    }
  });

  it('keeps a start time above 2^53 exact (as a string)', () => {
    expect(parseProcStat(statLine({ pid: 5, startTime: '18446744073709551615' }))?.startTime).toBe('18446744073709551615');
  });

  it('returns null for text that is not a stat line', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('garbage')).toBeNull();
    expect(parseProcStat('12 (x) S 1 2')).toBeNull(); // too few fields
    expect(parseProcStat('x (node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55')).toBeNull(); // pid not a number
    expect(parseProcStat('0 (node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55')).toBeNull(); // pid 0 names no process
    expect(parseProcStat('12 (node) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55')).toBeNull(); // state is one letter
    expect(parseProcStat('12 (node) S 1 1 1 0 -1 0 0 0 0 0 x 0 0 0 20 0 1 0 55')).toBeNull(); // utime not a number
    expect(parseProcStat('12 node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55')).toBeNull(); // no "("
  });
});

/** /proc/PID/status as the kernel wrote it for the renamed python3 above (abridged after VmSwap). */
const REAL_STATUS =
  'Name:\tmy srv) S 1 (x\nUmask:\t0022\nState:\tR (running)\nTgid:\t17175\nNgid:\t0\nPid:\t17175\nPPid:\t17173\n' +
  'TracerPid:\t0\nUid:\t1001\t1001\t1001\t1001\nGid:\t0\t0\t0\t0\nFDSize:\t256\nGroups:\t \nNStgid:\t17175\nNSpid:\t17175\n' +
  'NSpgid:\t17173\nNSsid:\t13508\nKthread:\t0\nVmPeak:\t   14168 kB\nVmSize:\t   14168 kB\nVmLck:\t       0 kB\n' +
  'VmPin:\t       0 kB\nVmHWM:\t    8824 kB\nVmRSS:\t    8824 kB\nRssAnon:\t    3020 kB\nRssFile:\t    5804 kB\n' +
  'RssShmem:\t       0 kB\nVmData:\t    4812 kB\nVmStk:\t     132 kB\nVmExe:\t    2764 kB\nVmLib:\t    2272 kB\n' +
  'VmPTE:\t      64 kB\nVmSwap:\t       0 kB\nThreads:\t1\n';
/** A kernel thread's status (kthreadd): no Vm* lines at all. */
const KTHREAD_STATUS = 'Name:\tkthreadd\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t2\nNgid:\t0\nPid:\t2\nPPid:\t0\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\n';

describe('parseVmRss', () => {
  it('reads VmRSS (kB = KiB) and not the VmHWM/RssAnon lines around it', () => {
    expect(parseVmRss(REAL_STATUS)).toBe(8824 * 1024);
  });

  it('is null where there is no VmRSS line (kernel threads, zombies)', () => {
    expect(parseVmRss(KTHREAD_STATUS)).toBeNull();
    expect(parseVmRss('')).toBeNull();
  });
});

describe('/proc readers on a fake proc root', () => {
  let proc: FakeProc;
  beforeEach(() => {
    proc = createFakeProc('boot-A');
  });
  afterEach(() => proc.cleanup());

  it('reads stat, cmdline, uid and boot id', () => {
    proc.add({ pid: 300, comm: 'uvicorn (main)', ppid: 1, pgid: 300, startTime: '4242', cmdline: ['python3', '-m', 'uvicorn', 'app:app'], uid: 1001 });
    expect(readProcStat(300, proc.root)).toMatchObject({ pid: 300, comm: 'uvicorn (main)', pgid: 300, startTime: '4242' });
    expect(readCmdline(300, proc.root)).toEqual(['python3', '-m', 'uvicorn', 'app:app']);
    expect(readUid(300, proc.root)).toBe(1001);
    expect(readBootId(proc.root)).toBe('boot-A');
    expect(processIdentity(300, { proc: createProc(proc.root) })).toEqual({
      pid: 300, pgid: 300, startTime: '4242', bootId: 'boot-A', cmdline: ['python3', '-m', 'uvicorn', 'app:app'],
    });
  });

  it('answers null / [] for a pid that does not exist or is not a pid', () => {
    expect(readProcStat(999, proc.root)).toBeNull();
    expect(readCmdline(999, proc.root)).toEqual([]);
    expect(readUid(999, proc.root)).toBeNull();
    expect(processIdentity(999, { proc: createProc(proc.root) })).toBeNull();
    expect(readProcStat(-1, proc.root)).toBeNull();
    expect(readProcStat(0, proc.root)).toBeNull();
  });

  it('reads real status and cmdline text: uid, VmRSS, NUL-terminated argv', () => {
    proc.add({ pid: 310, comm: 'my srv) S 1 (x' });
    writeFileSync(join(proc.root, '310', 'status'), REAL_STATUS);
    writeFileSync(join(proc.root, '310', 'cmdline'), '/usr/bin/python3\0-\0');
    expect(readUid(310, proc.root)).toBe(1001);
    expect(readVmRss(310, proc.root)).toBe(8824 * 1024);
    expect(readCmdline(310, proc.root)).toEqual(['/usr/bin/python3', '-']);
    proc.add({ pid: 2, comm: 'kthreadd', cmdline: [] });
    writeFileSync(join(proc.root, '2', 'status'), KTHREAD_STATUS);
    expect(readVmRss(2, proc.root)).toBeNull();
    expect(readUid(2, proc.root)).toBe(0);
    expect(readCmdline(2, proc.root)).toEqual([]);
    expect(readVmRss(999, proc.root)).toBeNull();
    expect(readVmRss(0, proc.root)).toBeNull();
  });

  it('reads seconds since boot from /proc/uptime; null when missing or not positive', () => {
    expect(readUptimeSeconds(proc.root)).toBeNull();
    writeFileSync(join(proc.root, 'uptime'), '10102.85 7207.12\n');
    expect(readUptimeSeconds(proc.root)).toBe(10102.85);
    writeFileSync(join(proc.root, 'uptime'), 'garbage\n');
    expect(readUptimeSeconds(proc.root)).toBeNull();
    writeFileSync(join(proc.root, 'uptime'), '0.00 0.00\n');
    expect(readUptimeSeconds(proc.root)).toBeNull();
  });

  it('reads the boot id trimmed, and null when the file is missing or empty', () => {
    writeFileSync(join(proc.root, 'sys', 'kernel', 'random', 'boot_id'), '567365f7-22a2-476c-b2c3-c1c392d8d446\n');
    expect(readBootId(proc.root)).toBe('567365f7-22a2-476c-b2c3-c1c392d8d446');
    writeFileSync(join(proc.root, 'sys', 'kernel', 'random', 'boot_id'), '\n');
    expect(readBootId(proc.root)).toBeNull();
    const bare = join(proc.root, 'bare');
    mkdirSync(bare);
    expect(readBootId(bare)).toBeNull();
  });

  it('gives [] as the cmdline of a zombie', () => {
    proc.add({ pid: 301, state: 'Z', cmdline: ['ignored'] });
    expect(readCmdline(301, proc.root)).toEqual([]);
  });

  it('isSameProcess: same, reused (start time), reused (boot id), gone, zombie', () => {
    proc.add({ pid: 400, startTime: '5000' });
    const expected = { pid: 400, startTime: '5000', bootId: 'boot-A' };
    expect(isSameProcess(expected, { proc: createProc(proc.root) })).toBe('same');
    expect(isSameProcess({ ...expected, startTime: '5001' }, { proc: createProc(proc.root) })).toBe('reused');
    expect(isSameProcess({ ...expected, bootId: 'boot-OLD' }, { proc: createProc(proc.root) })).toBe('reused');
    // An unknown boot id is not a mismatch: the start time alone decides.
    expect(isSameProcess({ ...expected, bootId: null }, { proc: createProc(proc.root) })).toBe('same');
    // Killed, main thread gone, two threads still exiting: still the same process (it holds its files).
    proc.update(400, { state: 'Z', threads: 3 });
    expect(isSameProcess(expected, { proc: createProc(proc.root) })).toBe('same');
    proc.update(400, { state: 'Z', threads: 1 });
    expect(isSameProcess(expected, { proc: createProc(proc.root) })).toBe('zombie');
    proc.remove(400);
    expect(isSameProcess(expected, { proc: createProc(proc.root) })).toBe('gone');
  });

  it('isSameProcess after a reboot: same pid and start time, another boot id, is another process', () => {
    // Start times count from boot, so a process of a new boot can match pid AND start time.
    proc.add({ pid: 401, startTime: '777' });
    const recorded = { pid: 401, startTime: '777', bootId: 'boot-A' };
    expect(isSameProcess(recorded, { proc: createProc(proc.root) })).toBe('same');
    proc.setBootId('boot-B');
    expect(isSameProcess(recorded, { proc: createProc(proc.root) })).toBe('reused');
    // A zombie of the new boot is still not ours: reused, never zombie.
    proc.update(401, { state: 'Z', threads: 1 });
    expect(isSameProcess(recorded, { proc: createProc(proc.root) })).toBe('reused');
    expect(isSameProcess({ ...recorded, bootId: 'boot-B' }, { proc: createProc(proc.root) })).toBe('zombie');
  });

  it('isSameProcess when the current boot id cannot be read: the start time alone decides', () => {
    proc.add({ pid: 402, startTime: '888' });
    rmSync(join(proc.root, 'sys', 'kernel', 'random', 'boot_id'));
    expect(readBootId(proc.root)).toBeNull();
    expect(isSameProcess({ pid: 402, startTime: '888', bootId: 'boot-A' }, { proc: createProc(proc.root) })).toBe('same');
    expect(isSameProcess({ pid: 402, startTime: '889', bootId: 'boot-A' }, { proc: createProc(proc.root) })).toBe('reused');
  });
});

describe('identity of real processes', () => {
  afterEach(() => {
    killAllTracked();
  });

  it('records a real child and tells same / reused / gone apart', async () => {
    const server = await startFixture('healthy-server.mjs');
    const identity = processIdentity(server.pid);
    expect(identity).not.toBeNull();
    expect(identity?.pgid).toBe(server.pid);
    expect(identity?.bootId).toBe(readBootId());
    expect(identity?.cmdline).toEqual([process.execPath, fixture('healthy-server.mjs')]);
    expect(readUid(server.pid)).toBe(process.getuid?.());
    expect(server.child.identity()).toEqual(identity);

    const expected = { pid: server.pid, startTime: identity?.startTime ?? '', bootId: identity?.bootId ?? null };
    expect(isSameProcess(expected)).toBe('same');
    expect(isSameProcess({ ...expected, startTime: String(BigInt(expected.startTime) + 1n) })).toBe('reused');

    await server.stop();
    await waitFor(() => isSameProcess(expected) === 'gone', { message: 'the stopped server still has its pid' });
    await assertAllGone([server.pid]);
  });

  it('reports a real unreaped child as a zombie, which is not alive', async () => {
    // sh starts `sleep 0.05` in the background, then becomes `sleep 30` by exec; the new program
    // never waits for its child, so the short sleep stays a zombie until the group is stopped.
    const handle = spawnInstance({ command: ['sh', '-c', 'sleep 0.05 & exec sleep 30'], cwd: '/', env: childEnv() });
    trackChild(handle);
    const parent = handle.pid as number;
    const zombie = await waitFor(
      () => listProcesses().find((stat) => stat.ppid === parent && stat.state === 'Z'),
      { message: 'no zombie child appeared' },
    );
    const stat = readProcStat(zombie.pid);
    expect(stat?.state).toBe('Z');
    expect(readCmdline(zombie.pid)).toEqual([]);
    expect(isSameProcess({ pid: zombie.pid, startTime: zombie.startTime, bootId: readBootId() })).toBe('zombie');

    const target = handle.groupTarget();
    expect(target).not.toBeNull();
    if (target === null) return;
    const result = await terminateGroup(target, { timeout: 5000 });
    expect(result.outcome).toBe('exited');
    await handle.waitForExit();
    await assertAllGone([parent, zombie.pid]);
  });

  it('counts a SIGKILLed node server as exited only once its listening socket is closed', async () => {
    // Node's main thread often exits first: /proc/PID/stat says "Z" while the other threads (and with
    // them the open files) are still going away. Taken as gone then, the port looked held by nobody.
    // Polled without yielding, so Node cannot reap the child while the loop watches it.
    for (let round = 0; round < 8; round += 1) {
      const server = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
      const port = server.port as number;
      process.kill(server.pid, 'SIGKILL');
      const deadline = Date.now() + 5000;
      let exited = false;
      for (let step = 0; step < 1_000_000 && !exited && Date.now() < deadline; step += 1) {
        const stat = readProcStat(server.pid);
        exited = stat === null || hasExited(stat);
      }
      expect(exited, `pid ${server.pid} did not exit within 5 s of SIGKILL`).toBe(true);
      const listening = parseProcNetTcpForPort(readProcNetTable('/proc/net/tcp') ?? '', 4, port).filter((row) => row.state === 'LISTEN');
      expect(listening, `port ${port} still listening after hasExited(pid ${server.pid})`).toEqual([]);
      await server.child.waitForExit();
      await assertAllGone([server.pid]);
    }
  });
});
