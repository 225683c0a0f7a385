import { afterEach, describe, expect, it } from 'vitest';
import type { ProcNetTcpRow } from '../../src/ports/proc-net.js';
import { findAcceptedInode, probeHttpAnsweredBy } from '../../src/reload/answered-by.js';
import { createHandoffListener, type HandoffListener } from '../../src/reload/handoff.js';
import { pickPrivatePort } from '../../src/reload/proxy.js';
import { assertAllGone, killAllTracked, startFixture, waitFor } from '../helpers/processes.js';
import { startFdServer } from './helpers.js';

const listeners: HandoffListener[] = [];

function sharedSocket(): HandoffListener {
  const created = createHandoffListener({ host: '127.0.0.1', port: 0 });
  listeners.push(created);
  return created;
}

afterEach(() => {
  killAllTracked();
  for (const created of listeners.splice(0)) created.close();
});

function row(overrides: Partial<ProcNetTcpRow>): ProcNetTcpRow {
  return {
    family: 4,
    localAddress: '127.0.0.1',
    localPort: 8000,
    remoteAddress: '127.0.0.1',
    remotePort: 50_000,
    state: 'ESTABLISHED',
    stateCode: 1,
    uid: 0,
    inode: 123,
    ...overrides,
  };
}

describe('findAcceptedInode', () => {
  it('finds the server side of our connection: inode once accepted, 0 while in the backlog', () => {
    const client = row({ localPort: 50_000, remotePort: 8000, inode: 999 }); // our own end: never matched
    expect(findAcceptedInode([client, row({})], 8000, 50_000)).toBe(123);
    expect(findAcceptedInode([client, row({ inode: 0 })], 8000, 50_000)).toBe(0);
    expect(findAcceptedInode([client], 8000, 50_000)).toBeUndefined();
  });

  it('ignores other states and other clients, and matches an IPv4-mapped peer', () => {
    expect(findAcceptedInode([row({ state: 'TIME_WAIT', stateCode: 6 })], 8000, 50_000)).toBeUndefined();
    expect(findAcceptedInode([row({ state: 'LISTEN', stateCode: 10, remotePort: 0 })], 8000, 0)).toBeUndefined();
    expect(findAcceptedInode([row({ state: 'CLOSE_WAIT', stateCode: 8 })], 8000, 50_000)).toBe(123);
    expect(findAcceptedInode([row({ remoteAddress: '10.0.0.9' })], 8000, 50_000, '127.0.0.1')).toBeUndefined();
    expect(findAcceptedInode([row({ family: 6, remoteAddress: '::ffff:127.0.0.1' })], 8000, 50_000, '127.0.0.1')).toBe(123);
  });
});

describe('probeHttpAnsweredBy', () => {
  it('tells which of two instances sharing one socket answered (Node fixture)', async () => {
    const shared = sharedSocket();
    const blue = await startFdServer('node', { fd: shared.fd });
    const probe = (pids: number[]) => probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 5000, pids });

    // Alone, blue answers every time.
    for (let i = 0; i < 5; i += 1) {
      const result = await probe([blue.pid]);
      expect(result).toMatchObject({ ok: true, status: 200, answeredBy: blue.pid, acceptedBy: blue.pid });
      expect(result.detail).toContain(`from pid ${blue.pid}`);
    }

    // Both accept: each answer is one of them, and green answers sooner or later.
    const green = await startFdServer('node', { fd: shared.fd });
    const seen = new Set<number | null>();
    await waitFor(
      async () => {
        const result = await probe([blue.pid, green.pid]);
        seen.add(result.answeredBy);
        return result.answeredBy === green.pid;
      },
      { timeout: 10_000, interval: 5, message: () => `green never answered; seen ${[...seen].join(', ')}` },
    );
    expect([...seen].every((pid) => pid === blue.pid || pid === green.pid)).toBe(true);

    // Blue gone: only green answers.
    await blue.stop();
    for (let i = 0; i < 5; i += 1) expect((await probe([blue.pid, green.pid])).answeredBy).toBe(green.pid);

    // The socket is held by none of the pids given: status, but no answer to "who".
    const unknown = await probe([blue.pid]);
    expect(unknown).toMatchObject({ ok: true, status: 200, answeredBy: null, acceptedBy: null });
    expect(unknown.detail).toContain('held by none of pids');

    await green.stop();
    await assertAllGone([blue.pid, green.pid]);
  });

  it('finds the Python instance too, although it closes each connection right after answering', async () => {
    const shared = sharedSocket();
    const blue = await startFdServer('python', { fd: shared.fd });
    const green = await startFdServer('python', { fd: shared.fd });
    const seen = new Set<number | null>();
    await waitFor(
      async () => {
        const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 5000, pids: [blue.pid, green.pid] });
        expect(result.status).toBe(200);
        seen.add(result.answeredBy);
        return seen.has(blue.pid) && seen.has(green.pid);
      },
      { timeout: 10_000, interval: 5, message: () => `not both seen: ${[...seen].join(', ')}` },
    );
    expect(seen.has(null)).toBe(false);
    await blue.stop();
    await green.stop();
    await assertAllGone([blue.pid, green.pid]);
  });

  it('names the instance when a worker in its process group accepted (pre-fork servers)', async () => {
    const server = await startFixture('forks-worker.mjs');
    if (server.port === null || server.workerPid === null) throw new Error(`forks-worker.mjs printed no port or worker: ${server.ready[0]}`);
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: server.port, path: '/health', timeout: 5000, pids: [server.pid] });
    expect(result).toMatchObject({ status: 200, answeredBy: server.pid, acceptedBy: server.workerPid });
    expect(result.detail).toContain(`in the group of pid ${server.pid}`);
    await server.stop();
    await assertAllGone([server.pid, server.workerPid]);
  });

  it('reports a connection waiting in the backlog (no instance accepts) as a timeout that says so', async () => {
    const shared = sharedSocket();
    const only = await startFdServer('node', { fd: shared.fd });
    await only.stop(); // the socket stays listening (we hold it); nobody accepts now
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 300, pids: [only.pid] });
    expect(result).toMatchObject({ ok: false, error: 'ETIMEDOUT', answeredBy: null });
    expect(result.detail).toContain('waits in the backlog');
    await assertAllGone([only.pid]);
  });

  it('reports a refused connection and invalid input without throwing', async () => {
    const port = await pickPrivatePort();
    expect(await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/health', timeout: 1000, pids: [] })).toMatchObject({
      ok: false,
      error: 'ECONNREFUSED',
      answeredBy: null,
    });
    expect(await probeHttpAnsweredBy({ host: '127.0.0.1', port: 0, path: '/', timeout: 1000, pids: [] })).toMatchObject({ error: 'EINVAL' });
    const controller = new AbortController();
    controller.abort();
    expect(await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 1000, pids: [], signal: controller.signal })).toMatchObject({
      error: 'ABORTED',
    });
  });
});
