/**
 * free-port and start --kill-existing never hit a client that shares the owner's process group:
 * `setsid bash -c 'server & client & wait'` puts the launching shell, the server (the port's owner)
 * and a client of it in one group. kill(-pgid) would end all three; only the server (and what it
 * started) may be signalled, by pid, and --dry-run lists exactly that. Real processes on
 * 127.0.0.1; every one started is gone at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.js';
import { run } from '../../src/cli/main.js';
import type { FreePortResult } from '../../src/ports/free-port.js';
import { spawnInstance, type ChildHandle } from '../../src/process/spawn.js';
import { terminateGroup } from '../../src/process/terminate.js';
import { cliApp, endCliApps, processesIn } from '../helpers/cli-app.js';
import { assertAllGone, childEnv, fixture, isRunning, killAllTracked, track, trackChild, waitForLine } from '../helpers/processes.js';
import { freePort as unusedPort } from '../helpers/supervise.js';

interface SameGroup {
  handle: ChildHandle;
  shell: number;
  server: number;
  client: number;
  port: number;
}

/** bash (group and session leader) → hold-port.mjs (owner) and port-client.mjs (its client), one group. */
async function startSameGroup(port: number): Promise<SameGroup> {
  const node = JSON.stringify(process.execPath);
  const script = `${node} ${JSON.stringify(fixture('hold-port.mjs'))} & ${node} ${JSON.stringify(fixture('port-client.mjs'))} & wait`;
  const handle = spawnInstance({ command: ['/bin/bash', '-c', script], cwd: tmpdir(), env: childEnv({ PORT: String(port), HOST: '127.0.0.1' }) });
  trackChild(handle);
  const ready = waitForLine(handle, /READY port=\d+ pid=(\d+)/, 10_000);
  const connected = waitForLine(handle, /CONNECTED pid=(\d+)/, 10_000);
  const server = Number((await ready)[1]);
  const client = Number((await connected)[1]);
  track(server);
  track(client);
  return { handle, shell: handle.pid as number, server, client, port };
}

async function endSameGroup(group: SameGroup): Promise<void> {
  const target = group.handle.groupTarget();
  if (target !== null) await terminateGroup(target, { timeout: 2000 });
  await assertAllGone([group.shell, group.server, group.client]);
}

describe('free-port with a client in the owner\'s process group', () => {
  let runDir: string;
  let out = '';
  let io: CliIO;
  beforeEach(() => {
    runDir = mkdtempSync(join(tmpdir(), 'naija-sup-same-group-'));
    out = '';
    io = { stdout: (t) => { out += t; }, stderr: () => undefined, env: { NAIJA_SUP_RUN_DIR: runDir, NO_COLOR: '1' }, cwd: process.cwd(), isTTY: false };
  });
  afterEach(() => {
    const leftovers = killAllTracked();
    rmSync(runDir, { recursive: true, force: true });
    expect(leftovers, 'processes a test left running').toEqual([]);
  });

  it('--dry-run lists exactly the owner (by pid); the real run stops only it', async () => {
    const group = await startSameGroup(await unusedPort());
    const portArg = String(group.port);

    expect(await run(['free-port', portArg, '--dry-run', '--json'], io)).toBe(1);
    const dry = JSON.parse(out) as FreePortResult;
    expect(dry.wouldSignal?.map((t) => [t.pid, t.scope])).toEqual([[group.server, 'process']]);

    out = '';
    expect(await run(['free-port', portArg, '--dry-run'], io)).toBe(1);
    expect(out).toContain('would signal 1 process:');
    expect(out).toContain(`pid ${group.server} (by pid)`);
    for (const pid of [group.shell, group.server, group.client]) expect(isRunning(pid)).toBe(true);

    out = '';
    expect(await run(['free-port', portArg, '--timeout', '3s', '--json'], io)).toBe(0);
    const done = JSON.parse(out) as FreePortResult;
    expect(done.stopped.map((s) => [s.scope, s.pids])).toEqual([['process', [group.server]]]);
    expect(done.stopped[0]?.detail).toContain(`also holds pid ${group.shell}`);
    expect(isRunning(group.server)).toBe(false);
    expect(isRunning(group.shell)).toBe(true);
    expect(isRunning(group.client)).toBe(true);
    await endSameGroup(group);
  });
});

describe('start --kill-existing with a client in the owner\'s process group', () => {
  afterEach(endCliApps);

  it('stops only the stale server, then starts; the shell and the client live on', async () => {
    const app = await cliApp();
    const group = await startSameGroup(app.port);
    const started = await app.cli(['start', '-d', '--kill-existing']);
    expect(started.status, started.stdout + started.stderr).toBe(0);
    for (const pid of processesIn(app.cwd)) track(pid);
    expect(isRunning(group.server)).toBe(false);
    expect(isRunning(group.shell)).toBe(true);
    expect(isRunning(group.client)).toBe(true);
    await endSameGroup(group);
    const stop = await app.cli(['stop']);
    expect(stop.status, stop.stderr).toBe(0);
  }, 60_000);
});
