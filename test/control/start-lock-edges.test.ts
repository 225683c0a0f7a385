/**
 * The start lock when something other than a live naija-sup is at its name: a plain file, a
 * listener that a SIGKILLed holder left behind, and holders whose answers cannot be believed. What
 * `start` and `stop` tell the user depends on each (E_RUN_DIR with a fix, a takeover, or a refusal
 * that names no pid it could not verify).
 */
import { once } from 'node:events';
import { linkSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireStartLock, holdsListener, lockPathFor, peerIsOurs, probeListener, verifiedHolder } from '../../src/control/start-lock.js';
import { createProc } from '../../src/process/proc-read.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

let dir = '';
const servers: Server[] = [];
let fake: FakeProc | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-lock-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  fake?.cleanup();
  fake = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A listener at `path` that answers each connection with `answer` and closes. */
async function holder(path: string, answer: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(answer);
  });
  servers.push(server);
  server.listen(path);
  await once(server, 'listening');
  return server;
}

describe('lockPathFor', () => {
  it('puts <name>.lock beside <name>.sock, and appends .lock to any other name', () => {
    expect(lockPathFor('/run/u/api.sock')).toBe('/run/u/api.lock');
    expect(lockPathFor('/run/u/api')).toBe('/run/u/api.lock');
  });
});

describe('acquireStartLock', () => {
  it('a null path always succeeds (servers hosted side by side on purpose)', async () => {
    const attempt = await acquireStartLock(null);
    expect(attempt.acquired).toBe(true);
    if (attempt.acquired) await attempt.lock.release();
  });

  it('refuses a lock path that is a plain file, and says to remove it', async () => {
    const lockPath = join(dir, 'api.lock');
    writeFileSync(lockPath, '');
    await expect(acquireStartLock(lockPath)).rejects.toMatchObject({
      code: 'E_RUN_DIR', message: `${lockPath} exists and is not a socket`, fix: `remove ${lockPath} (naija-sup only ever puts its start lock there)`,
    });
  });

  it('says the run directory is unusable when the lock cannot even be bound there', async () => {
    await expect(acquireStartLock(join(dir, 'missing', 'api.lock'))).rejects.toMatchObject({
      code: 'E_RUN_DIR', message: expect.stringContaining(`cannot take the start lock in ${join(dir, 'missing')}:`) as unknown,
    });
  });

  it('takes over a lock whose holder died (a socket file nobody listens on)', async () => {
    const lockPath = join(dir, 'api.lock');
    const dead = await holder(join(dir, 'dead.sock'), '');
    linkSync(join(dir, 'dead.sock'), lockPath); // survives the listener, as after a SIGKILL
    await new Promise((resolve) => dead.close(resolve));
    servers.splice(servers.indexOf(dead), 1);
    const staleIno = lstatSync(lockPath).ino;
    expect(await probeListener(lockPath)).toBe('refused');
    const attempt = await acquireStartLock(lockPath);
    expect(attempt.acquired).toBe(true);
    expect(lstatSync(lockPath).ino).not.toBe(staleIno);
    expect(await probeListener(lockPath)).toBe('live');
    if (attempt.acquired) await attempt.lock.release();
    expect(await probeListener(lockPath)).toBe('absent');
  });

  it('names the holder only when /proc confirms it holds the lock: an honest one is named', async () => {
    const lockPath = join(dir, 'api.lock');
    const bound = join(dir, '.hold1');
    await holder(bound, JSON.stringify({ pid: process.pid, boundAs: bound }));
    linkSync(bound, lockPath);
    expect(await acquireStartLock(lockPath)).toEqual({ acquired: false, holderPid: process.pid });
  });

  it.each([
    ['a pid that is not a number', JSON.stringify({ pid: '1', boundAs: '/x/.a' })],
    ['no JSON at all', 'hello'],
    ['an endless answer', 'x'.repeat(300)],
  ])('a holder answering %s is held but not named', async (_what, answer) => {
    const lockPath = join(dir, 'api.lock');
    await holder(lockPath, answer);
    expect(await acquireStartLock(lockPath)).toEqual({ acquired: false, holderPid: null });
  });

  it('a holder claiming a listener outside the lock\'s directory is not believed', async () => {
    const lockPath = join(dir, 'api.lock');
    await holder(lockPath, JSON.stringify({ pid: process.pid, boundAs: '/tmp/elsewhere.sock' }));
    expect(await verifiedHolder(lockPath)).toBeNull();
  });
});

describe('holdsListener and peerIsOurs', () => {
  it('a process of another uid is never ours, whatever it holds or claims', () => {
    fake = createFakeProc();
    const uid = process.getuid?.() ?? 0;
    fake.add({ pid: 500, uid: uid + 1, startTime: '777' });
    fake.add({ pid: 501, uid, startTime: '888' });
    const proc = createProc(fake.root);
    expect(holdsListener(500, join(dir, 'api.lock'), { proc })).toBe(false);
    expect(peerIsOurs(500, '777', { proc })).toBe(false);
    expect(peerIsOurs(501, '888', { proc })).toBe(true);
    expect(peerIsOurs(501, '999', { proc })).toBe(false);
    expect(peerIsOurs(501, '', { proc })).toBe(true);
  });
});
