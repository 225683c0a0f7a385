/**
 * The small doctor checks over a fake /proc and hand-built contexts: pid-file's verdicts for a
 * zombie instance, a reused pid, a running one and PID files that say something else; isOurs for
 * workers of the recorded group; the config check's verdicts; the words for a probe that gave no
 * report. port-pid.test.ts covers the same checks against real processes and files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeRecord, type InstanceRecord } from '../../src/control/record.js';
import { NaijaSupError } from '../../src/errors.js';
import { configCheck } from '../../src/doctor/checks/config.js';
import { healthCheck } from '../../src/doctor/checks/health.js';
import { isOurs, readInstanceState } from '../../src/doctor/checks/instance-state.js';
import { pidFileCheck } from '../../src/doctor/checks/pid-file.js';
import { describeProbeFailure, probeFailureOutcome } from '../../src/doctor/checks/probe-failure.js';
import type { DoctorContext } from '../../src/doctor/types.js';
import type { PortOwner } from '../../src/ports/owners.js';
import { createProc, type Proc } from '../../src/process/proc-read.js';
import { sampleRecord } from '../helpers/fake-records.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const BOOT = 'boot-dddd';

let fake: FakeProc;
let proc: Proc;
let runDir: string;

beforeEach(() => {
  fake = createFakeProc(BOOT);
  proc = createProc(fake.root);
  runDir = mkdtempSync(join(tmpdir(), 'naija-sup-doctor-unit-'));
});

afterEach(() => {
  fake.cleanup();
  rmSync(runDir, { recursive: true, force: true });
});

function record(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return sampleRecord(BOOT, { startedAt: Date.UTC(2026, 0, 2), ...overrides });
}

function ctx(config: Record<string, unknown> | null, extra: Partial<DoctorContext> = {}): DoctorContext {
  return {
    cwd: '/srv/app',
    env: {},
    loaded: config === null ? null : { config: { name: 'api', pidFile: null, ...config }, filepath: '/srv/app/naija-sup.config.json' },
    configError: null,
    app: { name: 'api', cwd: '/srv/app', command: [], env: {} },
    runDir,
    proc,
    rootDir: '/',
    probeTimeoutMs: 1000,
    signal: new AbortController().signal,
    nodeProbe: async () => ({ kind: 'canceled', durationMs: 0 }),
    ...extra,
  } as DoctorContext;
}

const run = (c: DoctorContext) => pidFileCheck.run(c) as ReturnType<typeof pidFileCheck.run> & { status: string; summary: string; details?: string[] };

describe('pid-file', () => {
  it('skips without a valid config (health too)', async () => {
    expect(run(ctx(null))).toEqual({ status: 'skip', summary: 'needs a valid config (see the config check)' });
    expect(await healthCheck.run(ctx(null))).toEqual({ status: 'skip', summary: 'needs a valid config (see the config check)' });
  });

  it('a zombie instance: warn naming the parent that has to reap it', () => {
    fake.add({ pid: 600, startTime: '2000', state: 'Z', ppid: 590 });
    writeRecord(runDir, record());
    const out = run(ctx({}));
    expect(out).toMatchObject({
      status: 'warn',
      summary: 'instance pid 600 is a zombie: it exited and waits for its parent (pid 590) to reap it; it holds no port',
      fix: 'Nothing to kill (a zombie is already dead); if its parent never reaps it, stop the parent (pid 590).',
    });
  });

  it('a reused pid with no command line is named by its comm', () => {
    fake.add({ pid: 600, startTime: '9999', comm: 'kworker/1:0', cmdline: [] });
    writeRecord(runDir, record());
    expect(run(ctx({})).details).toContain('pid 600 now runs: kworker/1:0');
  });

  it('a running instance whose PID file agrees: ok, the running summary', () => {
    fake.add({ pid: 590, startTime: '1900' });
    fake.add({ pid: 600, startTime: '2000' });
    writeRecord(runDir, record());
    const pidFile = join(runDir, 'api.pid');
    writeFileSync(pidFile, '600\n');
    const out = run(ctx({ pidFile }));
    expect(out).toMatchObject({ status: 'ok', summary: 'api is running: instance pid 600, supervisor pid 590' });
    expect(out.details).toEqual([
      `record: ${join(runDir, 'api.json')}`,
      'instance pid 600 (pgid 600), started 2026-01-02T00:00:00.000Z: node server.js',
      'supervisor pid 590: running',
      `PID file ${pidFile}: 600`,
    ]);
  });

  it('a configured PID file that does not exist yet, and no record: ok, both absences listed', () => {
    const pidFile = join(runDir, 'api.pid');
    const out = run(ctx({ pidFile }));
    expect(out).toMatchObject({ status: 'ok', summary: 'no instance of api is recorded; nothing stale' });
    expect(out.details).toEqual([`no instance record (${join(runDir, 'api.json')})`, `no PID file (${pidFile})`]);
  });

  it('a PID file that holds no PID, or names a zombie: warn, remove it', () => {
    const pidFile = join(runDir, 'api.pid');
    writeFileSync(pidFile, 'eight thousand');
    expect(run(ctx({ pidFile }))).toMatchObject({ status: 'warn', summary: `the PID file ${pidFile} does not hold a PID` });
    expect(run(ctx({ pidFile })).details).toContain(`PID file ${pidFile}: "eight thousand"`);
    fake.add({ pid: 650, state: 'Z' });
    writeFileSync(pidFile, '650');
    expect(run(ctx({ pidFile }))).toMatchObject({ status: 'warn', summary: `stale PID file: ${pidFile} names pid 650, which is a zombie` });
  });

  it('a PID file naming a live pid the record does not: warn, the pid named by comm when it has no command line', () => {
    fake.add({ pid: 651, comm: 'python3', cmdline: [] });
    const pidFile = join(runDir, 'api.pid');
    writeFileSync(pidFile, '651');
    const out = run(ctx({ pidFile }));
    expect(out.summary).toBe("the PID file names pid 651 (python3), which naija-sup cannot confirm is its instance (no matching record: PID reuse, or another tool's file)");
    expect(out.details).toContain('pid 651 runs: python3');
  });
});

describe('isOurs', () => {
  const owner = (o: Partial<PortOwner>): PortOwner =>
    ({ pid: 601, pgid: 600, ppid: 600, uid: 1000, user: 'alice', startTime: 2001, startedAt: 0, cmdline: [], command: '', cwd: null, addresses: [], inodes: [], ...o }) as PortOwner;

  it('no record: nothing is ours; a worker of the recorded group started after it is', () => {
    expect(isOurs(owner({}), readInstanceState({ runDir, proc }, 'api'), { proc })).toBe(false);
    writeRecord(runDir, record());
    const state = readInstanceState({ runDir, proc }, 'api');
    expect(isOurs(owner({}), state, { proc })).toBe(true);
    expect(isOurs(owner({ startTime: 1999 }), state, { proc })).toBe(false);
    expect(isOurs(owner({ startTime: undefined }), state, { proc })).toBe(false);
    expect(isOurs(owner({ pgid: 700 }), state, { proc })).toBe(false);
  });

  it('a record from another boot owns no worker; one without a boot id still does', () => {
    writeRecord(runDir, record({ bootId: 'boot-earlier' }));
    expect(isOurs(owner({}), readInstanceState({ runDir, proc }, 'api'), { proc })).toBe(false);
    writeRecord(runDir, record({ bootId: '' }));
    const state = readInstanceState({ runDir, proc }, 'api');
    expect(state.instance).toBe('gone');
    expect(isOurs(owner({}), state, { proc })).toBe(true);
  });
});

describe('config check', () => {
  const loaded = (config: Record<string, unknown>, filepath: string | null = '/srv/app/naija-sup.config.json') =>
    ctx(null, {
      loaded: {
        config: { name: 'api', command: ['node', 'server.js'], cwd: '/srv/app', host: '127.0.0.1', port: 8000, health: { type: 'auto' }, ...config },
        filepath,
      } as unknown as DoctorContext['loaded'],
    });

  it('a config error without a fix, and a non-NaijaSupError, are fails', () => {
    const noFix = configCheck.run(ctx(null, { configError: new NaijaSupError('E_CONFIG_INVALID', 'port: must be 1-65535', { details: ['at port'] }) }));
    expect(noFix).toEqual({ status: 'fail', summary: 'port: must be 1-65535 (E_CONFIG_INVALID)', details: ['at port'] });
    expect(configCheck.run(ctx(null, { configError: new Error('EACCES: permission denied') }))).toMatchObject({
      status: 'fail',
      summary: 'the config could not be loaded: EACCES: permission denied',
    });
    expect(configCheck.run(ctx(null, { configError: 'odd' }))).toMatchObject({ summary: 'the config could not be loaded: odd' });
  });

  it('no file: warn, defaults apply; a file without a command: warn; health shown by type', () => {
    const none = configCheck.run(loaded({ command: [] }, null)) as { status: string; summary: string; details: string[] };
    expect(none).toMatchObject({ status: 'warn', summary: 'no config file found: defaults apply' });
    expect(none.details).toEqual(['name: api', 'command: (none)', 'cwd: /srv/app', 'listens on: 127.0.0.1:8000', 'health: auto']);
    const noCommand = configCheck.run(loaded({ command: [], health: { type: 'http', path: '/healthz' } })) as { summary: string; details: string[]; fix: string };
    expect(noCommand.summary).toBe('naija-sup.config.json loads, but names no command');
    expect(noCommand.fix).toBe('Add "command" to naija-sup.config.json, or pass one to start: `naija-sup start -- node server.js`.');
    expect(noCommand.details).toContain('health: GET /healthz');
  });
});

describe('probe failure words', () => {
  it('a permission problem, a cancel, a crash by signal or with no exit code', () => {
    expect(describeProbeFailure({ kind: 'spawn-error', code: 'EACCES', message: 'spawn EACCES', durationMs: 1 }, 'the app\'s node')).toEqual({
      summary: "the app's node cannot be started: EACCES",
      details: ['spawn EACCES'],
      fix: 'Check its permissions (`ls -l`, `chmod +x`).',
    });
    expect(describeProbeFailure({ kind: 'canceled', durationMs: 1 }, 'python3')).toEqual({ summary: 'python3: the probe was canceled', details: [], fix: 'Run doctor again.' });
    const crash = { kind: 'no-report' as const, stdout: '', durationMs: 1 };
    expect(describeProbeFailure({ ...crash, exitCode: null, signal: 'SIGSEGV', stderr: 'Segmentation fault\n' }, 'python3')).toEqual({
      summary: 'python3 crashed before reporting (signal SIGSEGV)',
      details: ['stderr: Segmentation fault'],
      fix: 'Read the stderr lines above; run the runtime by hand in the app directory to reproduce.',
    });
    expect(describeProbeFailure({ ...crash, exitCode: null, signal: null, stderr: '' }, 'python3').summary).toBe('python3 crashed before reporting (exit code unknown)');
  });

  it('a crash whose stderr names a known failure carries its id and fix', () => {
    const stderr = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'bcrypt'\n";
    const out = probeFailureOutcome({ kind: 'no-report', exitCode: 1, signal: null, stdout: '', stderr, durationMs: 1 }, 'python3');
    expect(out.status).toBe('fail');
    expect(out.failureId).toBe('module-not-found-python');
    expect(out.summary).toMatch(/^python3 crashed before reporting \(exit code 1\): /);
    expect(out.fix).toContain('bcrypt');
  });
});
