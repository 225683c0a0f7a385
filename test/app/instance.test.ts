/**
 * One instance of an app in direct mode, with real deps and real fixture servers on 127.0.0.1:
 * what reload, rollback, forward and waitReady answer before it started, after a stop that came
 * first, for a reload that would change the mode, and for a reload whose new process does not come
 * up (and the rollback after it). Every process started here is gone at the end of each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Instance } from '../../src/app/instance.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { openDirectMode } from '../../src/reload/direct-mode.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { FIXTURES_DIR, assertAllGone, childEnv, fixtureCommand, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { runnerConfig } from '../helpers/runner-config.js';
import { freePort } from '../helpers/supervise.js';

const dirs: string[] = [];
afterEach(async () => {
  try {
    await assertAllGone([...trackedPids.keys()], 10_000);
  } finally {
    killAllTracked();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
});

async function healthyConfig(over: Partial<ResolvedConfig> = {}): Promise<ResolvedConfig> {
  return runnerConfig({
    command: fixtureCommand('healthy-server.mjs'), cwd: FIXTURES_DIR, port: await freePort(),
    health: { ...runnerConfig().health, interval: 25, startupTimeout: 10_000 },
    ...over,
  });
}

function instance(config: ResolvedConfig): { inst: Instance; events: SupervisorEvent[]; spawns: () => number } {
  const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-inst-'));
  dirs.push(runDir);
  const events: SupervisorEvent[] = [];
  let spawns = 0;
  const inst = new Instance({
    config,
    mode: openDirectMode(),
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'spawned') track(event.pid);
    },
    makeDeps: (wiring, onEvent) => {
      spawns += 1;
      return realDeps({ runDir, baseEnv: childEnv(), onEvent, ...(wiring.extraEnv ? { extraEnv: wiring.extraEnv } : {}) });
    },
  });
  return { inst, events, spawns: () => spawns };
}

describe('Instance before and after its start', () => {
  it('before it started: nothing to reload, roll back or forward to', async () => {
    const { inst } = instance(runnerConfig());
    expect(await inst.reload(runnerConfig({ port: 9 }))).toEqual({ ok: false, outcome: 'not-running', pid: null });
    expect(await inst.rollback()).toEqual({ ok: false, outcome: 'failed', cause: 'no earlier configuration to go back to (no reload changed it)', pid: null });
    expect(inst.forward('SIGUSR2')).toBeNull();
    expect(inst.index).toBe(0);
  });

  it('a stop that came before the start starts nothing and ends with status 0', async () => {
    const { inst, spawns } = instance(runnerConfig());
    inst.stop();
    expect(await inst.start()).toBe(0);
    expect(await inst.waitReady()).toBe(false);
    expect(spawns()).toBe(0);
  });
});

describe('Instance reloads in direct mode', () => {
  it('refuses a reload that would change the mode, and the running process keeps serving', async () => {
    const config = await healthyConfig();
    const { inst, events } = instance(config);
    const done = inst.start();
    expect(await inst.waitReady()).toBe(true);
    const pid = inst.supervisor?.instancePid ?? null;
    const result = await inst.reload({ ...config, mode: 'handoff' });
    expect(result).toEqual({
      ok: false, outcome: 'failed', pid,
      cause: 'mode cannot change on reload (direct → handoff); stop and start the supervisor to change it',
    });
    expect(events.filter((e) => e.type === 'reload-finished')).toEqual([expect.objectContaining({ outcome: 'failed', pid })]);
    expect(inst.supervisor?.instancePid).toBe(pid);
    inst.stop();
    expect(await done).toBe(0);
  });

  it('a reload whose new process exits says why, and a rollback brings the previous configuration back', async () => {
    const config = await healthyConfig();
    const { inst, events } = instance(config);
    const done = inst.start();
    expect(await inst.waitReady()).toBe(true);
    const broken = { ...config, command: fixtureCommand('exit-with.mjs'), env: { EXIT_CODE: '3' } };
    expect(await inst.reload(broken)).toEqual({ ok: false, outcome: 'failed', cause: 'exited with code 3', pid: null });
    expect(inst.previousConfig?.command).toEqual(config.command);
    const back = await inst.rollback();
    expect(back).toMatchObject({ ok: true, outcome: 'restarted' });
    expect(inst.currentConfig.command).toEqual(config.command);
    expect(events.filter((e) => e.type === 'reload-finished').map((e) => (e as { outcome: string }).outcome)).toEqual(['failed', 'restarted']);
    inst.stop();
    expect(await done).toBe(0);
  });
});

/** Direct mode posing as a zero-downtime one whose private-port choice for the next process the test settles. */
interface Pending { resolve(config: ResolvedConfig): void; reject(error: Error): void }

function blueGreenMode(): { mode: ReturnType<typeof openDirectMode>; settle: { next: Pending | null }; warn: { on: boolean } } {
  const base = openDirectMode();
  const settle: { next: Pending | null } = { next: null };
  const warn = { on: false };
  let calls = 0;
  const mode = {
    ...base,
    zeroDowntime: true,
    instanceConfig: (config: ResolvedConfig): Promise<ResolvedConfig> => {
      calls += 1;
      if (calls === 1) return Promise.resolve(config);
      return new Promise<ResolvedConfig>((resolve, reject) => { settle.next = { resolve, reject }; });
    },
    adoptReload: (_current: ResolvedConfig, next: ResolvedConfig) => (warn.on
      ? { config: next, warning: { message: 'the listener keeps port 8000', fix: 'stop and start to move it' } }
      : { config: next }),
  };
  return { mode, settle, warn };
}

function blueGreenInstance(config: ResolvedConfig): { inst: Instance; events: SupervisorEvent[]; settle: { next: Pending | null }; warn: { on: boolean } } {
  const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-inst-'));
  dirs.push(runDir);
  const events: SupervisorEvent[] = [];
  const { mode, settle, warn } = blueGreenMode();
  const inst = new Instance({
    config,
    mode,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'spawned') track(event.pid);
    },
    makeDeps: (_wiring, onEvent) => realDeps({ runDir, baseEnv: childEnv(), onEvent }),
  });
  return { inst, events, settle, warn };
}

describe('Instance blue/green reloads that never get a new process', () => {
  it('a second reload while one is under way is busy; a new process without a private port is a rollback', async () => {
    const config = await healthyConfig();
    const { inst, events, settle, warn } = blueGreenInstance(config);
    const done = inst.start();
    expect(await inst.waitReady()).toBe(true);
    const pid = inst.supervisor?.instancePid ?? null;
    warn.on = true;
    const first = inst.reload(config);
    await waitFor(() => settle.next !== null);
    expect(inst.reloading).toBe(true);
    expect(await inst.reload(config)).toEqual({ ok: false, outcome: 'busy', cause: 'a reload is already in progress', pid });
    settle.next?.reject(new Error('no free port in 40000-40010'));
    expect(await first).toEqual({ ok: false, outcome: 'rolled-back', cause: 'no private port for the new instance: no free port in 40000-40010', pid });
    expect(events).toContainEqual({ type: 'warning', message: 'the listener keeps port 8000', fix: 'stop and start to move it' });
    expect(inst.supervisor?.instancePid).toBe(pid);
    inst.stop();
    expect(await done).toBe(0);
  });

  it('a blue/green reload keeps the app\'s history: the restarts and last exit of the instance it replaced', async () => {
    const config = await healthyConfig({ restart: { ...runnerConfig().restart, minUptime: 0, initialDelay: 10, maxDelay: 10 } });
    const { inst, settle } = blueGreenInstance(config);
    const done = inst.start();
    try {
      expect(await inst.waitReady()).toBe(true);
      const blue = inst.supervisor?.instancePid as number;
      process.kill(blue, 'SIGKILL');
      await waitFor(() => inst.supervisor?.state.tag === 'ready' && inst.supervisor.instancePid !== blue, { timeout: 10_000, message: 'the killed instance was not restarted' });
      expect(inst.supervisor?.context).toMatchObject({ restarts: 1, lastExit: { cause: 'killed', signal: 'SIGKILL' } });
      const restarted = inst.supervisor?.instancePid;
      // Green on a port of its own (direct mode posing as blue/green), then promoted.
      const reloaded = inst.reload(config);
      await waitFor(() => settle.next !== null);
      settle.next?.resolve({ ...config, port: await freePort() });
      expect(await reloaded).toMatchObject({ ok: true, outcome: 'reloaded' });
      expect(inst.supervisor?.instancePid).not.toBe(restarted);
      expect(inst.supervisor?.context).toMatchObject({ restarts: 1, lastExit: { cause: 'killed', signal: 'SIGKILL' } });
    } finally {
      // Also when an assertion failed: the in-process supervisor would otherwise restart what
      // afterEach kills, after it looked, and leave that process behind when the worker exits.
      inst.stop();
      expect(await done).toBe(0);
    }
  });

  it('a stop while the new process\'s port is being chosen starts no new process', async () => {
    const config = await healthyConfig();
    const { inst, events, settle } = blueGreenInstance(config);
    const done = inst.start();
    expect(await inst.waitReady()).toBe(true);
    const reload = inst.reload(config);
    await waitFor(() => settle.next !== null);
    inst.stop();
    settle.next?.resolve(config);
    expect(await reload).toMatchObject({ ok: false, outcome: 'rolled-back', cause: 'the supervisor is stopping' });
    expect(await done).toBe(0);
    expect(events.filter((e) => e.type === 'spawned')).toHaveLength(1);
  });

  it('a mode that cannot give the first process its config ends the instance with that error', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-inst-'));
    dirs.push(runDir);
    const failure = new Error('cannot bind 127.0.0.1:8000');
    const inst = new Instance({
      config: runnerConfig(),
      mode: { ...openDirectMode(), instanceConfig: () => Promise.reject(failure) },
      onEvent: () => undefined,
      makeDeps: (_wiring, onEvent) => realDeps({ runDir, baseEnv: childEnv(), onEvent }),
    });
    await expect(inst.start()).rejects.toBe(failure);
    expect(await inst.waitReady()).toBe(false);
  });
});
