/**
 * Issue 14, "SIGKILL during a reload": the record names every instance the supervisor owns at that
 * moment — blue and green during a swap, each proxy instance on its own private port — so after a
 * SIGKILL of the supervisor mid-reload, the next `start` or `stop` finds and stops all of them.
 *
 * The green is held unready (NEVER_READY=1 on the reload: its /health answers 503), so the swap is
 * surely in its "starting green" step when the supervisor is killed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../../src/control/record.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { cliApp, endCliApps, processesIn, type CliApp } from '../helpers/cli-app.js';
import { fixture, isRunning, track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

const config = (mode: 'handoff' | 'proxy') => ({
  command: [process.execPath, fixture('reload/fd-server.mjs')],
  mode,
  health: { path: '/health', interval: '25ms', startupTimeout: '60s' },
  shutdown: { timeout: '3s' },
});

/** Starts the app, begins a reload whose green never gets ready, and SIGKILLs the supervisor in it. */
async function killMidReload(a: CliApp, mode: 'handoff' | 'proxy'): Promise<{ blue: number; green: number }> {
  const started = await a.cli(['start', '-d']);
  expect(started.status, started.stderr).toBe(0);
  const before = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
  track(before.supervisorPid);
  const blue = before.instancePid as number;
  track(blue);
  // The reloaded config: same server, but its /health answers 503, so green stays "starting".
  const rc = join(a.cwd, '.naija-suprc.json');
  const file = JSON.parse(readFileSync(rc, 'utf8')) as Record<string, unknown>;
  writeFileSync(rc, JSON.stringify({ ...file, env: { NEVER_READY: '1' } }));
  void a.cli(['reload'], 90_000);
  const status = await waitFor(async () => {
    const s = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot & { reloading?: { pid: number | null } };
    return s.reloading?.pid ? s : null;
  }, { timeout: 20_000, message: 'the reload never started a green' });
  const green = status.reloading?.pid as number;
  track(green);
  // The record names both, whatever the mode.
  const record = JSON.parse(readFileSync(join(a.runDir, 'cli-app.json'), 'utf8')) as InstanceRecord;
  expect([record.pid, ...(record.others ?? []).map((o) => o.pid)].sort()).toEqual([blue, green].sort());
  if (mode === 'proxy') expect(new Set([record.port, ...(record.others ?? []).map((o) => o.port)]).size).toBe(2);
  process.kill(before.supervisorPid, 'SIGKILL');
  await waitFor(() => !isRunning(before.supervisorPid), { timeout: 5000, message: 'the supervisor survived SIGKILL' });
  // Both instances outlive their supervisor: that is what the next command must clean up.
  expect(isRunning(blue) && isRunning(green)).toBe(true);
  return { blue, green };
}

describe.each(['handoff', 'proxy'] as const)('%s mode: the supervisor SIGKILLed mid-reload', (mode) => {
  it('`stop` stops blue and green', async () => {
    const a = await cliApp(config(mode));
    const { blue, green } = await killMidReload(a, mode);
    const stopped = await a.cli(['stop']);
    expect(stopped.status, stopped.stderr).toBe(0);
    await waitFor(() => !isRunning(blue) && !isRunning(green), { timeout: 15_000, message: `left running: blue ${blue} ${isRunning(blue)}, green ${green} ${isRunning(green)}` });
    expect(processesIn(a.cwd)).toEqual([]);
  }, 90_000);

  it('the next `start` stops blue and green first, then serves', async () => {
    const a = await cliApp(config(mode));
    const { blue, green } = await killMidReload(a, mode);
    // The reloaded config would never get ready: start with the original one.
    const rc = join(a.cwd, '.naija-suprc.json');
    writeFileSync(rc, JSON.stringify({ ...JSON.parse(readFileSync(rc, 'utf8')) as Record<string, unknown>, env: {} }));
    const restarted = await a.cli(['start', '-d']);
    expect(restarted.status, restarted.stderr).toBe(0);
    expect(isRunning(blue) || isRunning(green)).toBe(false);
    const now = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    track(now.supervisorPid);
    track(now.instancePid as number);
    expect([blue, green]).not.toContain(now.instancePid);
    expect((await a.cli(['stop'])).status).toBe(0);
  }, 90_000);
});
