/**
 * The preflight's port steps and cleanup.match over a fake /proc with injected lookup, probe,
 * get-port, kill and clock (preflight-unit.test.ts has the rest): --kill-existing that frees the
 * port, is refused, or leaves it held; a bind that fails with nobody visible; TIME_WAIT that does
 * not block or fails otherwise; the fallback below 1024, when get-port fails, or picks a port that
 * cannot be bound; cleanup.match without /proc, with other users' matches and with nothing to stop.
 * No process is started and no port bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeRecord } from '../../src/control/record.js';
import { NaijaSupError } from '../../src/errors.js';
import type { CanBindResult } from '../../src/ports/availability.js';
import type { PortOwner, PortOwnersAnswer } from '../../src/ports/owners.js';
import { runPreflight, type PreflightConfig, type PreflightDeps } from '../../src/ports/preflight.js';
import { createProc, type Proc } from '../../src/process/proc-read.js';
import type { SelfInfo } from '../../src/process/terminate.js';
import { sampleOwner, ownersAnswer } from '../helpers/fake-records.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const BOOT = 'boot-eeee';
const SELF: SelfInfo = { pid: 4000, pgid: 3990, ancestors: [3990, 3000] };
const UID = 1000;

let fake: FakeProc;
let runDir: string;

beforeEach(() => {
  fake = createFakeProc(BOOT);
  runDir = mkdtempSync(join(tmpdir(), 'naija-sup-preflight-claim-'));
});

afterEach(() => {
  fake.cleanup();
  rmSync(runDir, { recursive: true, force: true });
});

function owner(overrides: Partial<PortOwner> = {}): PortOwner {
  return sampleOwner({ uid: UID, cwd: undefined, ...overrides });
}

const free = (): PortOwnersAnswer => ownersAnswer.free();
const { held } = ownersAnswer;
const timeWait = (): PortOwnersAnswer => ownersAnswer.timeWait(1);

function config(overrides: Partial<PreflightConfig> = {}): PreflightConfig {
  return {
    name: 'api',
    port: 8000,
    host: '127.0.0.1',
    pidFile: null,
    portFallback: false,
    shutdown: { signal: 'SIGTERM', timeout: 100 },
    cleanup: { killExisting: false, match: [] },
    ...overrides,
  };
}

function deps(lookups: PortOwnersAnswer[], probe: (port: number) => CanBindResult, extra: PreflightDeps = {}) {
  let now = 0;
  return {
    proc: createProc(fake.root) as Proc,
    self: SELF,
    uid: UID,
    lookup: vi.fn(async () => (lookups.length > 1 ? (lookups.shift() as PortOwnersAnswer) : (lookups[0] as PortOwnersAnswer))),
    probe: vi.fn(async (_host: string | undefined, port: number) => probe(port)),
    getPort: vi.fn(async () => 8001),
    kill: vi.fn(),
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    pollInterval: 10,
    killTimeout: 50,
    portFreeTimeout: 50,
    ...extra,
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

describe('--kill-existing on a held port', () => {
  it('stops the owner, and the port is free: both said, the stop recorded', async () => {
    fake.add({ pid: 500, startTime: '1000' });
    const d = deps([held([owner()]), free()], () => true, { kill: vi.fn((pid: number) => fake.remove(Math.abs(pid))) });
    const result = await runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d });
    expect(d.kill).toHaveBeenCalledWith(-500, 'SIGTERM');
    expect(result.stopped).toEqual([expect.objectContaining({ pid: 500, outcome: 'exited' })]);
    expect(result.findings).toEqual([
      expect.stringMatching(/^stopped process group 500 \(pids 500: node server\.js\): exited after SIGTERM in \d+ ms, which held port 8000$/),
      expect.stringMatching(/^port 8000 is free \(\d+ ms to stop its owners and confirm with a bind\)$/),
    ]);
  });

  it('a "free" whose bind fails is looked up again: a listener that appeared since (after the tables read ahead) is named and stopped', async () => {
    fake.add({ pid: 500, startTime: '1000' });
    let bound = false;
    const d = deps([free(), held([owner()]), free()], () => bound, { kill: vi.fn((pid: number) => { fake.remove(Math.abs(pid)); bound = true; }) });
    const result = await runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d });
    expect(d.lookup).toHaveBeenCalledTimes(3);
    expect(d.kill).toHaveBeenCalledWith(-500, 'SIGTERM');
    expect(result.stopped).toEqual([expect.objectContaining({ pid: 500, outcome: 'exited' })]);
  });

  it("another user's owner: nothing is stopped, E_PORT_IN_USE says --kill-existing cannot", async () => {
    const d = deps([held([owner({ uid: 33, user: 'www-data', cwd: '/srv/other' })])], () => false);
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d }));
    expect(d.kill).not.toHaveBeenCalled();
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.fix).toMatch(/^--kill-existing cannot stop it \(it belongs to user www-data \(uid 33\)/);
    expect(error.details[0]).toContain('[cannot be stopped: it belongs to user www-data (uid 33)');
    expect(error.details[0]).toContain('; cwd /srv/other]');
  });

  it('stopped, but the port stays held: E_PORT_NOT_FREED with what was stopped', async () => {
    fake.add({ pid: 500, startTime: '1000' });
    const stranger = owner({ pid: 900, pgid: 900, command: 'python -m http.server' });
    const d = deps([held([owner()]), held([stranger])], () => false, { kill: vi.fn((pid: number) => fake.remove(Math.abs(pid))) });
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: true, force: false, deps: d }));
    expect(error.code).toBe('E_PORT_NOT_FREED');
    expect(error.message).toBe('port 8000 (127.0.0.1) is still in use after stopping its owners');
    expect(error.details[0]).toMatch(/^still held after stopping its owners: port 8000 is held by pid 900/);
    expect(error.details[1]).toMatch(/^stopped process group 500/);
  });
});

describe('E_PORT_IN_USE without --kill-existing', () => {
  it('several owners, a supervised one and a cleanup.match hit are tagged; the lookup note is kept', async () => {
    fake.add({ pid: 590, startTime: '900' });
    fake.add({ pid: 500, startTime: '1000', cmdline: ['node', 'server.js'] });
    writeRecord(runDir, {
      version: 1, name: 'web', pid: 500, pgid: 500, startTime: '1000', bootId: BOOT, cmdline: ['node', 'server.js'],
      port: 8000, host: '127.0.0.1', supervisorPid: 590, supervisorStartTime: '900', startedAt: 0, cwd: '/srv/web',
    });
    const d = deps([held([owner(), owner({ pid: 501, startTime: 1001 })], 'SO_REUSEPORT group')], () => false);
    const error = await thrown(runPreflight({ config: config({ cleanup: { killExisting: false, match: ['server.js'] } }), runDir, killExisting: false, force: false, deps: d }));
    expect(error.message).toBe('port 8000 (127.0.0.1) is in use by pid 500 (user alice): node server.js — listening on 127.0.0.1:8000 and 1 more process(es) sharing the socket');
    expect(error.details[0]).toContain('[naija-sup instance of "web"; matches cleanup.match; cannot be stopped: it is supervised by naija-sup');
    expect(error.details.at(-1)).toBe('SO_REUSEPORT group');
  });

  it('no suggestion for a port at the top of the range, nor when get-port fails', async () => {
    const top = await thrown(runPreflight({ config: config({ port: 65535 }), runDir, killExisting: false, force: false, deps: deps([held([owner()])], () => false) }));
    expect(top.fix).toMatch(/use another port with --port N, or let naija-sup pick one with --port-fallback$/);
    const failing = deps([held([owner()])], () => false, { getPort: vi.fn(async () => Promise.reject(new Error('no port'))) });
    const error = await thrown(runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: failing }));
    expect(error.fix).toMatch(/use another port with --port N, or let naija-sup pick one with --port-fallback$/);
  });
});

describe('a free or TIME_WAIT port whose bind does not work', () => {
  it('nothing visible but EADDRINUSE: E_PORT_IN_USE, another namespace, for root and for a user', async () => {
    const asRoot = await thrown(runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: deps([free()], () => false, { uid: 0 }) }));
    expect(asRoot.message).toBe('port 8000 (127.0.0.1) is in use by no process of this PID namespace: no socket on it is visible either (another network namespace or container?)');
    const asUser = await thrown(runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: deps([free()], () => false) }));
    expect(asUser.message).toBe('port 8000 (127.0.0.1) is in use, but its owner is not visible to this user: no socket on it is visible either (another network namespace or container?)');
  });

  it('nothing holds it but the bind fails otherwise (EACCES): a warning, and the child tries', async () => {
    const result = await runPreflight({ config: config({ port: 80 }), runDir, killExisting: false, force: false, deps: deps([{ ...free(), port: 80 }], () => ({ error: 'EACCES' }) as unknown as CanBindResult) });
    expect(result.port).toBe(80);
    expect(result.findings).toEqual(['nothing holds 127.0.0.1:80, but binding it fails here with EACCES']);
  });

  it('TIME_WAIT that does not block the bind, and TIME_WAIT with another bind error: no wait', async () => {
    const fine = await runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: deps([timeWait()], () => true) });
    expect(fine.findings).toEqual(['1 connection(s) in TIME_WAIT left by a previous server on port 8000: no owner, and binding works anyway (SO_REUSEADDR)']);
    const other = await runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: deps([timeWait()], () => ({ error: 'EACCES' }) as unknown as CanBindResult) });
    expect(other.findings).toEqual(['1 connection(s) in TIME_WAIT left by a previous server on port 8000; binding 127.0.0.1:8000 fails with EACCES']);
  });

  it('TIME_WAIT whose bind turns into another error while waiting: the wait ends, the child tries', async () => {
    const binds: CanBindResult[] = [false, false, { error: 'EACCES' } as unknown as CanBindResult];
    const d = deps([timeWait()], () => binds.shift() ?? true, { timeWaitTimeout: 10_000, timeWaitInterval: 100 });
    const result = await runPreflight({ config: config(), runDir, killExisting: false, force: false, deps: d });
    expect(result.port).toBe(8000);
    expect(d.probe).toHaveBeenCalledTimes(3);
  });

  it('TIME_WAIT with portFallback: no minute of waiting, another port at once', async () => {
    const d = deps([timeWait()], (port) => port !== 8000);
    const result = await runPreflight({ config: config({ portFallback: true }), runDir, killExisting: false, force: false, deps: d });
    expect(result).toMatchObject({ port: 8001, portChanged: true });
    expect(d.probe).toHaveBeenCalledTimes(2);
  });
});

describe('portFallback', () => {
  it('below 1024 the range is a plain list; a pick outside it is said to be random', async () => {
    const getPort = vi.fn(async () => 40_000);
    const d = deps([{ ...held([owner()]), port: 80 }], (port) => port !== 80, { getPort });
    const result = await runPreflight({ config: config({ port: 80, portFallback: true }), runDir, killExisting: false, force: false, deps: d });
    expect(result.port).toBe(40_000);
    const asked = [...(getPort.mock.calls[0] as unknown as [{ port: Iterable<number> }])[0].port];
    expect([asked[0], asked.at(-1), asked.length]).toEqual([81, 180, 100]);
    expect(result.findings.at(-1)).toMatch(/; using port 40000 instead \(nothing in 81–180 was free; get-port chose one at random\) because portFallback is on$/);
  });

  it('get-port failing or picking a port that cannot be bound: the original error, saying so', async () => {
    const failing = deps([held([owner()])], () => false, { getPort: vi.fn(async () => Promise.reject(new Error('EMFILE'))) });
    const error = await thrown(runPreflight({ config: config({ portFallback: true }), runDir, killExisting: false, force: false, deps: failing }));
    expect(error.code).toBe('E_PORT_IN_USE');
    expect((error.cause as Error).message).toBe('EMFILE');
    const unbindable = await thrown(runPreflight({ config: config({ portFallback: true }), runDir, killExisting: false, force: false, deps: deps([held([owner()])], () => false) }));
    expect(unbindable.message).toMatch(/; the fallback port 8001 cannot be bound either$/);
  });
});

describe('cleanup.match', () => {
  const run = (d: PreflightDeps, killExisting = false) =>
    runPreflight({ config: config({ cleanup: { killExisting, match: ['worker.py'] } }), runDir, killExisting, force: false, deps: d });

  it('without /proc it is skipped, with a warning', async () => {
    const noProc: Proc = { ...createProc(fake.root), available: () => false };
    const result = await run({ ...deps([free()], () => true), proc: noProc });
    expect(result.findings).toContain('cleanup.match needs /proc (Linux); skipped');
  });

  it("other users' matches are counted and left alone; no match of ours says so", async () => {
    fake.add({ pid: 700, uid: 0, cmdline: ['python', 'worker.py'] });
    const result = await run(deps([free()], () => true));
    expect(result.findings).toEqual([
      "1 process(es) of other users match cleanup.match: never touched",
      'no process matches cleanup.match (worker.py)',
    ]);
  });

  it('matches not stopped without --kill-existing; with it, refusals named and the rest stopped', async () => {
    fake.add({ pid: 700, startTime: '10', cmdline: ['python', 'worker.py'] });
    const listed = await run(deps([free()], () => true));
    expect(listed.findings[0]).toBe('1 process(es) match cleanup.match, not stopped (use --kill-existing): pid 700 (pgid 700): python worker.py');
    fake.add({ pid: 590, startTime: '5' });
    fake.add({ pid: 701, startTime: '11', cmdline: ['python', 'worker.py', '--supervised'] });
    writeRecord(runDir, {
      version: 1, name: 'jobs', pid: 701, pgid: 701, startTime: '11', bootId: BOOT, cmdline: ['python', 'worker.py'],
      port: 9000, host: '127.0.0.1', supervisorPid: 590, supervisorStartTime: '5', startedAt: 0, cwd: '/srv/jobs',
    });
    const d = deps([free()], () => true, { kill: vi.fn((pid: number) => fake.remove(Math.abs(pid))) });
    const stopped = await run(d, true);
    expect(stopped.findings[0]).toMatch(/^not stopping pid 701 \(python worker\.py --supervised\): it is supervised by naija-sup \(app "jobs"/);
    expect(stopped.findings[1]).toMatch(/^stopped process group 700 \(pids 700: python worker\.py\): exited after SIGTERM in \d+ ms \(matches cleanup\.match\)$/);
    expect(d.kill).toHaveBeenCalledWith(-700, 'SIGTERM');
    expect(d.kill).not.toHaveBeenCalledWith(-701, expect.anything());
  });
});
