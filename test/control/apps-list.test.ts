/**
 * What `naija-sup ls` finds in a run dir beyond healthy supervisors: a socket its supervisor left
 * when it died, a supervisor that answers without a status, one from before status had `cwd`, and a
 * stale last-run beside an app that runs again. Hand-written supervisors on real Unix sockets.
 */
import { once } from 'node:events';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listApps } from '../../src/control/apps.js';
import { controlPaths } from '../../src/control/paths.js';
import type { LastRun } from '../../src/control/record.js';

let dir = '';
let runDir = '';
let env: NodeJS.ProcessEnv = {};
const servers: Server[] = [];
const sockets = new Set<Socket>();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-apps-'));
  runDir = join(dir, 'run');
  mkdirSync(runDir, { mode: 0o700 });
  env = { NAIJA_SUP_RUN_DIR: runDir };
});
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

/** A supervisor at `name`'s socket that answers each status request with `reply(id)`. */
async function supervisor(name: string, reply: (id: number) => unknown): Promise<string> {
  const path = controlPaths(runDir, name).socket;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        socket.write(`${JSON.stringify(reply((JSON.parse(line) as { id: number }).id))}\n`);
      }
    });
  });
  servers.push(server);
  server.listen(path);
  await once(server, 'listening');
  return path;
}

const status = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name, state: 'running', instancePid: 4321, port: 8000, instanceUptimeMs: 1000, restarts: 0, supervisorPid: 4320, url: 'http://127.0.0.1:8000', ...extra,
});

const lastRun = (name: string): LastRun => ({
  version: 1, name, state: 'fatal', reason: 'the server exited 3 times before it was ready', at: '2025-01-01T00:00:00.000Z', exitStatus: 1,
  restarts: 2, lastExit: null, port: 8000, host: '127.0.0.1', cwd: '/srv/api', supervisorPid: 1,
});

describe('listApps', () => {
  it('skips a socket its supervisor left behind when it died', async () => {
    const dead = createServer();
    dead.listen(join(dir, 'dead.sock'));
    await once(dead, 'listening');
    linkSync(join(dir, 'dead.sock'), controlPaths(runDir, 'ghost').socket); // outlives its listener, as after SIGKILL
    await new Promise((resolve) => dead.close(resolve));
    expect(await listApps(env)).toEqual([]);
  });

  it('lists a supervisor that answers without a status as not answering, with what its record says or nothing', async () => {
    await supervisor('mute', (id) => ({ v: 1, id, ok: true }));
    await supervisor('quiet', (id) => ({ v: 1, id, ok: true }));
    writeFileSync(join(runDir, 'quiet.json'), JSON.stringify({
      version: 1, name: 'quiet', pid: 777, pgid: 777, startTime: '1', bootId: 'b', cmdline: ['node'], port: 8100, host: '127.0.0.1',
      supervisorPid: 776, supervisorStartTime: '1', startedAt: 0, cwd: '/srv/quiet',
    }));
    const apps = await listApps(env, { runningOnly: true });
    expect(apps).toEqual([
      { name: 'mute', state: 'not-answering', running: true, pid: null, port: null, uptimeMs: null, restarts: null, cwd: null, supervisorPid: null, url: null, gaveUp: null },
      { name: 'quiet', state: 'not-answering', running: true, pid: 777, port: 8100, uptimeMs: null, restarts: null, cwd: '/srv/quiet', supervisorPid: 776, url: null, gaveUp: null },
    ]);
  });

  it('shows a supervisor from before status carried cwd with no folder, and ignores its stale last-run', async () => {
    await supervisor('api', (id) => ({ v: 1, id, ok: true, status: status('api') }));
    writeFileSync(join(runDir, 'api.last-run'), JSON.stringify(lastRun('api')));
    writeFileSync(join(runDir, 'gone.last-run'), JSON.stringify(lastRun('gone')));
    const apps = await listApps(env);
    expect(apps.map((a) => [a.name, a.state, a.cwd])).toEqual([['api', 'running', null], ['gone', 'gave-up', '/srv/api']]);
    expect(apps[0]).toMatchObject({ running: true, pid: 4321, supervisorPid: 4320, gaveUp: null });
    expect(apps[1]?.gaveUp).toEqual({ at: '2025-01-01T00:00:00.000Z', reason: 'the server exited 3 times before it was ready' });
  });

  it('does not list a socket whose supervisor answers for another app', async () => {
    await supervisor('alias', (id) => ({ v: 1, id, ok: true, status: status('other') }));
    expect(await listApps(env)).toEqual([]);
  });
});
