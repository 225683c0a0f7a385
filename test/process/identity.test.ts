import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listProcesses } from '../../src/process/group.js';
import {
  isSameProcess,
  parseProcStat,
  processIdentity,
  readBootId,
  readCmdline,
  readProcStat,
  readUid,
} from '../../src/process/identity.js';
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
      pid: 4265, comm: 'cat', state: 'R', ppid: 4261, pgid: 4261, sid: 2711, startTime: '27965',
    });
  });

  it('splits after the LAST ")" so a comm with spaces and parentheses cannot shift the fields', () => {
    const stat = parseProcStat(statLine({ pid: 77, comm: 'a) S 1 1 (b', state: 'R', ppid: 5, pgid: 6, sid: 7, startTime: '123' }));
    expect(stat).toEqual({ pid: 77, comm: 'a) S 1 1 (b', state: 'R', ppid: 5, pgid: 6, sid: 7, startTime: '123' });
    expect(parseProcStat(statLine({ pid: 78, comm: 'my server', startTime: '9' }))?.comm).toBe('my server');
    expect(parseProcStat(statLine({ pid: 79, comm: ')', startTime: '9' }))?.comm).toBe(')');
  });

  it('keeps a start time above 2^53 exact (as a string)', () => {
    expect(parseProcStat(statLine({ pid: 5, startTime: '18446744073709551615' }))?.startTime).toBe('18446744073709551615');
  });

  it('returns null for text that is not a stat line', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('garbage')).toBeNull();
    expect(parseProcStat('12 (x) S 1 2')).toBeNull(); // too few fields
    expect(parseProcStat('x (node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55')).toBeNull(); // pid not a number
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
    expect(processIdentity(300, proc.root)).toEqual({
      pid: 300, pgid: 300, startTime: '4242', bootId: 'boot-A', cmdline: ['python3', '-m', 'uvicorn', 'app:app'],
    });
  });

  it('answers null / [] for a pid that does not exist or is not a pid', () => {
    expect(readProcStat(999, proc.root)).toBeNull();
    expect(readCmdline(999, proc.root)).toEqual([]);
    expect(readUid(999, proc.root)).toBeNull();
    expect(processIdentity(999, proc.root)).toBeNull();
    expect(readProcStat(-1, proc.root)).toBeNull();
    expect(readProcStat(0, proc.root)).toBeNull();
  });

  it('gives [] as the cmdline of a zombie', () => {
    proc.add({ pid: 301, state: 'Z', cmdline: ['ignored'] });
    expect(readCmdline(301, proc.root)).toEqual([]);
  });

  it('isSameProcess: same, reused (start time), reused (boot id), gone, zombie', () => {
    proc.add({ pid: 400, startTime: '5000' });
    const expected = { pid: 400, startTime: '5000', bootId: 'boot-A' };
    expect(isSameProcess(expected, proc.root)).toBe('same');
    expect(isSameProcess({ ...expected, startTime: '5001' }, proc.root)).toBe('reused');
    expect(isSameProcess({ ...expected, bootId: 'boot-OLD' }, proc.root)).toBe('reused');
    // An unknown boot id is not a mismatch: the start time alone decides.
    expect(isSameProcess({ ...expected, bootId: null }, proc.root)).toBe('same');
    proc.update(400, { state: 'Z' });
    expect(isSameProcess(expected, proc.root)).toBe('zombie');
    proc.remove(400);
    expect(isSameProcess(expected, proc.root)).toBe('gone');
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
});
