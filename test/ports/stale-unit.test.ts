/**
 * Step 1 of the preflight (cleanStaleInstance) and the record look-ups free-port uses
 * (recordOfOwner, listRecords, supervisorAlive), over a fake /proc with an injected kill and clock:
 * an orphan stopped gracefully, killed, or surviving (then its record and PID file are kept), the
 * green of an interrupted reload stopped beside the blue, E_ALREADY_RUNNING's text, a PID file that
 * no record vouches for. No process is signalled for real.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeRecord, type InstanceRecord } from '../../src/control/record.js';
import { NaijaSupError } from '../../src/errors.js';
import { cleanStaleInstance, inspectRecord, listRecords, recordOfOwner, supervisorAlive, type StaleDeps } from '../../src/ports/stale.js';
import { createProc, readProcStat, type Proc } from '../../src/process/proc-read.js';
import { sampleRecord } from '../helpers/fake-records.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const BOOT = 'boot-cccc';

let fake: FakeProc;
let proc: Proc;
let runDir: string;

beforeEach(() => {
  fake = createFakeProc(BOOT);
  proc = createProc(fake.root);
  runDir = mkdtempSync(join(tmpdir(), 'naija-sup-stale-unit-'));
});

afterEach(() => {
  fake.cleanup();
  rmSync(runDir, { recursive: true, force: true });
});

function record(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return sampleRecord(BOOT, { startedAt: Date.UTC(2026, 0, 2, 3, 4, 5), ...overrides });
}

/** Deps over the fake /proc; `onKill` decides what a signal does to the fake processes. */
function deps(onKill: (pid: number, signal: NodeJS.Signals | 0) => void = () => undefined) {
  let now = 0;
  const kill = vi.fn(onKill);
  const resolved: StaleDeps = {
    proc,
    self: { pid: 4000, pgid: 3990, ancestors: [3990] },
    kill,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    pollInterval: 10,
    killTimeout: 100,
  };
  return { deps: resolved, kill };
}

/** A kill that ends every fake process of the group (or the pid) on `deadly`, but one in uninterruptible sleep (D). */
const diesOn = (deadly: NodeJS.Signals[]) => (target: number, signal: NodeJS.Signals | 0) => {
  if (signal === 0 || !deadly.includes(signal)) return;
  const pgid = -target;
  for (const pid of readdirSync(fake.root).filter((e) => /^\d+$/.test(e)).map(Number)) {
    const stat = readProcStat(pid, fake.root);
    if (stat?.state === 'D') continue;
    if (pid === target || (target < 0 && stat?.pgid === pgid)) fake.remove(pid);
  }
};

const clean = (d: StaleDeps, pidFile: string | null = null) =>
  cleanStaleInstance({ runDir, name: 'api', pidFile, signal: 'SIGTERM', timeout: 50, deps: d });

describe('cleanStaleInstance', () => {
  it('no record and no PID file: nothing to do', async () => {
    expect(await clean(deps().deps)).toEqual({ state: null, findings: [], stopped: [], recordRemoved: false, pidFileRemoved: false });
  });

  it('a live supervisor: E_ALREADY_RUNNING naming it, even while its instance restarts', async () => {
    fake.add({ pid: 590, startTime: '1900', cmdline: ['node', 'naija-sup', 'start'] });
    writeRecord(runDir, record());
    const error = await clean(deps().deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NaijaSupError);
    expect(error).toMatchObject({
      code: 'E_ALREADY_RUNNING',
      message: '"api" is already supervised by naija-sup pid 590 (its instance is not running right now (restarting?), port 8000)',
      fix: 'stop it first with `naija-sup stop -n api`, or give this one another name (--name or "name" in the config)',
      details: ['supervisor: pid 590 (node naija-sup start)', 'instance: pid 600, group 600: node server.js', 'started 2026-01-02T03:04:05.000Z in /srv/app'],
    });
    fake.add({ pid: 600, startTime: '2000' });
    expect(((await clean(deps().deps).catch((e: unknown) => e)) as NaijaSupError).message).toContain('(instance pid 600, port 8000)');
  });

  it('an orphan that exits on SIGTERM: stopped, the record and its PID file removed', async () => {
    fake.add({ pid: 600, startTime: '2000' });
    writeRecord(runDir, record());
    const pidFile = join(runDir, 'api.pid');
    writeFileSync(pidFile, '600\n');
    const { deps: d, kill } = deps(diesOn(['SIGTERM']));
    const result = await clean(d, pidFile);
    expect(kill).toHaveBeenCalledWith(-600, 'SIGTERM');
    expect(result).toMatchObject({ recordRemoved: true, pidFileRemoved: true });
    expect(result.stopped).toEqual([expect.objectContaining({ pid: 600, pgid: 600, scope: 'group', reason: 'stale-instance', outcome: 'exited', pids: [600] })]);
    expect(result.findings).toEqual([
      { level: 'warn', message: 'stopped the orphaned instance of "api" (pid 600, group 600; its supervisor pid 590 is gone): stopped with SIGTERM' },
    ]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('an orphan that ignores SIGTERM is killed; the green of an interrupted reload is stopped too', async () => {
    fake.add({ pid: 600, startTime: '2000' });
    fake.add({ pid: 610, startTime: '2100' });
    writeRecord(runDir, record({ others: [{ pid: 610, pgid: 610, startTime: '2100', cmdline: ['node', 'server.js'], port: 8001, host: '127.0.0.1', startedAt: 0 }] }));
    const { deps: d, kill } = deps(diesOn(['SIGKILL']));
    const result = await clean(d);
    expect(kill.mock.calls).toEqual(expect.arrayContaining([[-600, 'SIGTERM'], [-600, 'SIGKILL'], [-610, 'SIGTERM'], [-610, 'SIGKILL']]));
    expect(result.findings.map((f) => f.message)).toEqual([
      'stopped the orphaned instance of "api" (pid 600, group 600; its supervisor pid 590 is gone): killed after SIGTERM timed out',
      'stopped the orphaned instance of "api" (pid 610, group 610; its supervisor pid 590 is gone): killed after SIGTERM timed out',
    ]);
    expect(result.recordRemoved).toBe(true);
  });

  it('an orphan that survives SIGKILL keeps its record and the PID file that names it, and says so', async () => {
    fake.add({ pid: 600, startTime: '2000', state: 'D' });
    writeRecord(runDir, record());
    const pidFile = join(runDir, 'api.pid');
    writeFileSync(pidFile, '600\n');
    const result = await clean(deps().deps, pidFile);
    expect(result).toMatchObject({ recordRemoved: false, pidFileRemoved: false });
    expect(result.findings[0]?.level).toBe('warn');
    expect(result.findings[0]?.message).toMatch(/^could not stop the orphaned instance of "api" \(pid 600, group 600; its supervisor pid 590 is gone\): /);
    expect(listRecords(runDir).filter((r) => r.cwd === '/srv/app').map((r) => r.pid)).toEqual([600]);
    expect(existsSync(pidFile)).toBe(true);
  });

  it('a green that survives beside a stopped blue keeps the record (the primary stopped: no PID file is vouched for)', async () => {
    fake.add({ pid: 600, startTime: '2000' });
    fake.add({ pid: 610, startTime: '2100', state: 'D' });
    writeRecord(runDir, record({ bootId: '', others: [{ pid: 610, pgid: 610, startTime: '2100', cmdline: ['node', 'server.js'], port: 8001, host: '127.0.0.1', startedAt: 0 }] }));
    const pidFile = join(runDir, 'api.pid');
    writeFileSync(pidFile, '600\n');
    const result = await clean(deps(diesOn(['SIGTERM'])).deps, pidFile);
    expect(result.findings.map((f) => f.level)).toEqual(['warn', 'warn', 'info']);
    expect(result.findings[1]?.message).toMatch(/^could not stop the orphaned instance of "api" \(pid 610, group 610;/);
    expect(result.recordRemoved).toBe(false);
    // The PID file names the blue, which is gone and no longer vouched for.
    expect(result.findings[2]?.message).toBe(`stale PID file ${pidFile} removed (pid 600: not running)`);
    expect(result.pidFileRemoved).toBe(true);
  });

  it("the leader gone, its workers left: their group is stopped and the finding names them", async () => {
    fake.add({ pid: 601, pgid: 600, startTime: '2005' });
    fake.add({ pid: 602, pgid: 600, startTime: '2006' });
    writeRecord(runDir, record());
    const result = await clean(deps(diesOn(['SIGTERM'])).deps);
    expect(result.findings[0]?.message).toBe(
      'stopped the orphaned instance of "api" (pid 600, group 600, leader exited, members 601 602; its supervisor pid 590 is gone): stopped with SIGTERM',
    );
  });

  it('a PID file that no record vouches for is removed; the process under that number is left alone', async () => {
    fake.add({ pid: 700, startTime: '5', cmdline: ['vim', 'notes.txt'] });
    const pidFile = join(runDir, 'app.pid');
    writeFileSync(pidFile, '700\n');
    const { deps: d, kill } = deps();
    const alive = await clean(d, pidFile);
    expect(kill).not.toHaveBeenCalled();
    expect(alive.findings).toEqual([{ level: 'info', message: `stale PID file ${pidFile} removed (pid 700: now vim notes.txt, not ours: untouched)` }]);
    writeFileSync(pidFile, '701\n');
    expect((await clean(d, pidFile)).findings[0]?.message).toBe(`stale PID file ${pidFile} removed (pid 701: not running)`);
    // A kernel thread has no command line: it is named by its comm.
    fake.add({ pid: 702, comm: 'kworker/0:1', cmdline: [] });
    writeFileSync(pidFile, '702');
    expect((await clean(d, pidFile)).findings[0]?.message).toBe(`stale PID file ${pidFile} removed (pid 702: now [kworker/0:1], not ours: untouched)`);
  });

  it('a PID file that holds no bare number is not ours to delete', async () => {
    const pidFile = join(runDir, 'app.pid');
    writeFileSync(pidFile, 'port=8000\n');
    expect(await clean(deps().deps, pidFile)).toMatchObject({ pidFileRemoved: false, findings: [] });
    expect(existsSync(pidFile)).toBe(true);
  });

  it('a stale record is removed, and the finding says nothing was signalled', async () => {
    writeRecord(runDir, record({ bootId: 'boot-earlier' }));
    const { deps: d, kill } = deps();
    const result = await clean(d);
    expect(kill).not.toHaveBeenCalled();
    expect(result.findings).toEqual([{ level: 'info', message: 'stale record removed: it was written before the machine last booted; nothing was signalled' }]);
  });
});

describe('inspectRecord', () => {
  it('a record without a boot id or with an unreadable start time: the leader gone means stale', () => {
    fake.add({ pid: 601, pgid: 600, startTime: '2005' });
    expect(inspectRecord(record({ bootId: '', startTime: 'x' }), { proc })).toEqual({ kind: 'stale', record: record({ bootId: '', startTime: 'x' }), why: 'instance pid 600 has exited' });
  });
});

describe('inspectRecord against the real /proc', () => {
  it('an instance pid that has exited, under a supervisor that has too, is stale', () => {
    const gone = record({ bootId: '', pid: 2 ** 22 + 1, pgid: 2 ** 22 + 1, supervisorPid: 2 ** 22 + 2 });
    expect(inspectRecord(gone)).toMatchObject({ kind: 'stale', why: `instance pid ${2 ** 22 + 1} has exited` });
  });
});

describe('supervisorAlive', () => {
  it('pid 0 or 1 is never a supervisor; without a boot id the start time decides', () => {
    fake.add({ pid: 1, startTime: '1' });
    expect(supervisorAlive(record({ supervisorPid: 1, supervisorStartTime: '1' }), { proc })).toBe(false);
    expect(supervisorAlive(record({ supervisorPid: 0 }), { proc })).toBe(false);
    fake.add({ pid: 590, startTime: '1900' });
    expect(supervisorAlive(record({ bootId: '' }), { proc })).toBe(true);
  });

  it('against the real /proc: this test process is alive under its own start time only', () => {
    const startTime = readProcStat(process.pid)?.startTime ?? '';
    expect(supervisorAlive(record({ bootId: '', supervisorPid: process.pid, supervisorStartTime: startTime }))).toBe(true);
    expect(supervisorAlive(record({ bootId: '', supervisorPid: process.pid, supervisorStartTime: `${startTime}1` }))).toBe(false);
  });
});

describe('recordOfOwner', () => {
  const owner = (o: Partial<{ pid: number; pgid: number | undefined; ppid: number; startTime: number | undefined }> = {}) => ({ pid: 600, pgid: 600, startTime: 2000, ...o });

  it('the instance, the supervisor itself, a worker of the live group; never an owner without a start time', () => {
    fake.add({ pid: 590, startTime: '1900' });
    fake.add({ pid: 600, startTime: '2000' });
    const records = [record()];
    expect(recordOfOwner(owner(), records, { proc })?.name).toBe('api');
    expect(recordOfOwner(owner({ pid: 590, pgid: 590, startTime: 1900 }), records, { proc })?.name).toBe('api');
    expect(recordOfOwner(owner({ pid: 605, startTime: 2050 }), records, { proc })?.name).toBe('api');
    expect(recordOfOwner(owner({ startTime: undefined }), records, { proc })).toBeUndefined();
    expect(recordOfOwner(owner({ pid: 605, pgid: undefined }), records, { proc })).toBeUndefined();
    expect(recordOfOwner(owner({ pid: 605, pgid: 777 }), records, { proc })).toBeUndefined();
    expect(recordOfOwner(owner({ pid: 605 }), [record({ startTime: 'garbage' })], { proc })).toBeUndefined();
  });

  it('a worker of an orphaned group is ours when it started after the recorded leader', () => {
    fake.add({ pid: 600, startTime: '2000' });
    expect(recordOfOwner(owner({ pid: 605, startTime: 2050 }), [record()], { proc })?.name).toBe('api');
    expect(recordOfOwner(owner({ pid: 605, startTime: 1500 }), [record()], { proc })).toBeUndefined();
  });

  it('a record from another boot names nobody; without procfs the boot cannot be compared', () => {
    fake.add({ pid: 600, startTime: '2000' });
    expect(recordOfOwner(owner(), [record({ bootId: 'boot-earlier' })], { proc })).toBeUndefined();
    const noProcFs: Proc = { ...createProc(fake.root), available: () => false };
    expect(recordOfOwner(owner(), [record({ bootId: 'boot-earlier' })], { proc: noProcFs })?.name).toBe('api');
  });

  it('against the real /proc: a child of this live "supervisor" is its', () => {
    const startTime = readProcStat(process.pid)?.startTime ?? '';
    const mine = record({ bootId: '', supervisorPid: process.pid, supervisorStartTime: startTime });
    expect(recordOfOwner({ pid: 999_999, pgid: 999_999, ppid: process.pid, startTime: 1 }, [mine])?.name).toBe('api');
  });
});

describe('listRecords', () => {
  it('reads every record in the run dir, skipping broken, hidden and non-JSON files', () => {
    writeRecord(runDir, record());
    writeRecord(runDir, record({ name: 'web', pid: 700 }));
    writeFileSync(join(runDir, 'broken.json'), '{ not json');
    writeFileSync(join(runDir, '.hidden.json'), JSON.stringify(record({ name: '.hidden', pid: 800 })));
    writeFileSync(join(runDir, 'api.pid'), '600');
    const mine = listRecords(runDir).filter((r) => r.cwd === '/srv/app');
    expect(mine.map((r) => [r.name, r.pid]).sort()).toEqual([
      ['api', 600],
      ['web', 700],
    ]);
  });

  it('a run dir that does not exist has no records of its own', () => {
    expect(listRecords(join(runDir, 'missing')).filter((r) => r.cwd === '/srv/app')).toEqual([]);
  });
});
