/**
 * Issue 15, point 2: the control socket cannot be locked out. Another local user cannot reach it at
 * all (0600 socket in a 0700 run dir); a runaway client of the same user can, so: 200 idle
 * connections do not keep `status`, `restart` or `stop` out, a client pipelining 20,000 requests
 * does not hold another client's `status` until all of them are answered, and `stop --force` works
 * even when every slot is held by connections that are not idle (it falls back to the record).
 * Needs `npm run build` (the CLI loads dist/) and root (see ./attacker.ts).
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { assertAllGone, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { createAttacker, hostileApp, processesIn, rootOnly, type Attacker, type HostileApp } from './attacker.js';

/** Opens `count` connections to `path`; `subscribe` makes each one an events stream (never idle). */
async function openMany(path: string, count: number, subscribe = false): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += 1) {
    const socket = await new Promise<Socket | null>((resolve) => {
      const s = connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(null));
    });
    if (socket === null) continue;
    socket.on('error', () => undefined);
    if (subscribe) {
      // Wait for the stream's acknowledgement: from then on the connection is not idle.
      const acked = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write('{"v":1,"id":1,"type":"events"}\n');
      await acked;
    }
    socket.resume();
    sockets.push(socket);
  }
  return sockets;
}

describe.skipIf(rootOnly !== null)('the control socket cannot be locked out (issue 15)', () => {
  let attacker: Attacker | null = null;
  const apps: HostileApp[] = [];
  const sockets: Socket[] = [];
  beforeAll(() => { attacker = createAttacker(); });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    try {
      await assertAllGone([...trackedPids.keys()], 20_000);
      for (const app of apps) {
        let left: number[] = [];
        await waitFor(() => (left = processesIn(app.cwd)).length === 0, { timeout: 15_000, message: () => `still running in ${app.cwd}: ${left.join(', ')}` });
      }
    } finally {
      for (const app of apps) for (const pid of processesIn(app.cwd)) track(pid);
      killAllTracked();
      for (const app of apps.splice(0)) app.cleanup();
    }
  });
  afterAll(() => attacker?.remove());

  async function startApp(name: string): Promise<{ app: HostileApp; status: StatusSnapshot; socket: string }> {
    const app = await hostileApp(name);
    apps.push(app);
    const started = await app.cli(['start', '-d']);
    expect(started.status, started.stdout + started.stderr).toBe(0);
    const status = JSON.parse((await app.cli(['status', '--json'])).stdout) as StatusSnapshot;
    track(status.supervisorPid);
    if (status.instancePid !== null) track(status.instancePid);
    return { app, status, socket: join(app.runDir, `${name}.sock`) };
  }

  it('another user can neither connect to the control socket nor create the start lock', async () => {
    const { app, socket } = await startApp('private');
    const intrusion = (attacker as Attacker).run('intrude.mjs', [socket, join(app.runDir, 'private.lock')]);
    await intrusion.exited;
    expect(intrusion.output()).toMatch(/^CONNECT EACCES$/m);
    expect(intrusion.output()).toMatch(/^CREATE EACCES$/m);
    expect((await app.cli(['stop'])).status).toBe(0);
  });

  it('200 idle connections of the same user keep neither status, restart nor stop out', async () => {
    const { app, status, socket } = await startApp('idle-flood');
    sockets.push(...await openMany(socket, 200));
    expect(sockets.length).toBe(200);
    const s = await app.cli(['status', '--json']);
    expect(s.status, s.stderr).toBe(0);
    const restarted = await app.cli(['restart']);
    expect(restarted.status, restarted.stdout + restarted.stderr).toBe(0);
    const now = JSON.parse((await app.cli(['status', '--json'])).stdout) as StatusSnapshot;
    expect(now.instancePid).not.toBe(status.instancePid);
    track(now.instancePid as number);
    // The idle ones are cut: pushed out by newcomers, or after the idle timeout.
    await waitFor(() => sockets.every((c) => c.destroyed || c.readableEnded), { timeout: 20_000, message: 'idle connections still open' });
    const stopped = await app.cli(['stop']);
    expect(stopped.status, stopped.stdout + stopped.stderr).toBe(0);
  });

  it('a client pipelining 20,000 requests does not hold another client\'s status until all are answered', async () => {
    const { app, socket } = await startApp('pipelined');
    let replies = 0;
    let tail = '';
    const flood = connect(socket);
    sockets.push(flood);
    flood.setEncoding('utf8');
    flood.on('data', (chunk: string) => {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      replies += lines.length;
    });
    await new Promise<void>((resolve) => flood.once('connect', () => resolve()));
    flood.write(Array.from({ length: 20_000 }, (_, i) => `{"v":1,"id":${i},"type":"status"}\n`).join(''));
    await waitFor(() => replies > 0, { timeout: 10_000, message: 'the pipelining client got no reply' });
    const s = await app.cli(['status', '--json']);
    expect(s.status, s.stderr).toBe(0);
    // Served in turn: the other client's answer came while most of the 20,000 were still queued.
    expect(replies).toBeLessThan(20_000);
    // And the pipelining client is still being served (its requests are queued, not dropped).
    const seen = replies;
    await waitFor(() => replies > seen, { timeout: 10_000, message: 'the pipelining client is no longer served' });
    flood.destroy();
    expect((await app.cli(['stop'])).status).toBe(0);
  }, 60_000);

  it('stop --force works when every slot is held by event streams (the socket refuses even status)', async () => {
    const { app, status, socket } = await startApp('saturated');
    sockets.push(...await openMany(socket, 64, true));
    expect(sockets.length).toBe(64);
    // A 65th connection finds no idle one to push out: it is refused.
    const refused = await app.cli(['status', '--json']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/closed the connection before answering/);
    const stopped = await app.cli(['stop', '--force']);
    expect(stopped.status, stopped.stdout + stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(new RegExp(`killed \\(its supervisor pid ${status.supervisorPid} did not answer`));
    expect((await app.cli(['status'])).status).toBe(3);
  });
});
