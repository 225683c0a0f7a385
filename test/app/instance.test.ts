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
import { FIXTURES_DIR, assertAllGone, childEnv, fixtureCommand, killAllTracked, track, trackedPids } from '../helpers/processes.js';
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
