/**
 * The control server around a hand-written ControlTarget (no supervisor): the replies of scale,
 * reload and rollback when they fail or throw, a status that throws, long output lines in the event
 * stream, a plain file at the socket's name, and connections that are busy, full or slow readers.
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectControl, type ControlConnection } from '../../src/control/client.js';
import type { StatusSnapshot, StreamedEvent } from '../../src/control/protocol.js';
import { startControlServer, type ControlServer, type ControlTarget, type ReloadOutcome } from '../../src/control/server.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { waitFor } from '../helpers/processes.js';

let dir = '';
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-srv-'));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

interface Fake extends ControlTarget {
  emit(event: SupervisorEvent): void;
  next: { reload: () => Promise<ReloadOutcome>; rollback: () => Promise<ReloadOutcome>; scale?: (n: number) => Promise<ReloadOutcome>; status: () => StatusSnapshot };
}

const STATUS = { name: 'api', state: 'running', filler: '' } as unknown as StatusSnapshot;

function fakeTarget(withScale: boolean): Fake {
  const listeners = new Set<(event: SupervisorEvent) => void>();
  const next: Fake['next'] = {
    reload: () => Promise.resolve({ ok: true }),
    rollback: () => Promise.resolve({ ok: true }),
    status: () => STATUS,
    ...(withScale ? { scale: () => Promise.resolve({ ok: true }) } : {}),
  };
  return {
    next,
    status: () => next.status(),
    stop: () => undefined,
    restart: () => undefined,
    reload: () => next.reload(),
    rollback: () => next.rollback(),
    ...(withScale ? { scale: (n: number) => (next.scale as (n: number) => Promise<ReloadOutcome>)(n) } : {}),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (event) => { for (const l of listeners) l(event); },
  };
}

async function serve(target: ControlTarget, options: { maxConnections?: number; idleTimeoutMs?: number } = {}): Promise<ControlServer> {
  const server = await startControlServer({ socketPath: join(dir, 'run', 'api.sock'), target, name: 'api', lockPath: null, ...options });
  cleanups.push(() => server.close());
  return server;
}

async function client(server: ControlServer): Promise<ControlConnection> {
  const outcome = await connectControl(server.socketPath);
  if (outcome.kind !== 'live') throw new Error(outcome.kind);
  cleanups.push(() => outcome.connection.close());
  return outcome.connection;
}

describe('control server: failing operations', () => {
  it('a supervisor that cannot scale says so', async () => {
    const conn = await client(await serve(fakeTarget(false)));
    await expect(conn.request({ type: 'scale', instances: 3 })).rejects.toMatchObject({
      code: 'E_BAD_REQUEST', message: 'this supervisor cannot change its number of instances',
    });
  });

  it('scale answers with the new status, the reasons it did not take effect, or what broke', async () => {
    const target = fakeTarget(true);
    const conn = await client(await serve(target));
    expect((await conn.request({ type: 'scale', instances: 2 })).status).toEqual(STATUS);
    target.next.scale = () => Promise.resolve({ ok: false, errors: ['port 8001 is in use'] });
    await expect(conn.request({ type: 'scale', instances: 3 })).rejects.toMatchObject({
      code: 'E_BAD_REQUEST', message: 'scale to 3 did not take effect', details: ['port 8001 is in use'],
    });
    target.next.scale = () => Promise.reject(new Error('spawn EMFILE'));
    await expect(conn.request({ type: 'scale', instances: 4 })).rejects.toMatchObject({ code: 'E_INTERNAL', message: 'scale failed: spawn EMFILE' });
  });

  it('a rollback that does not take effect, and a reload that throws, are told apart', async () => {
    const target = fakeTarget(false);
    const conn = await client(await serve(target));
    target.next.rollback = () => Promise.resolve({ ok: false, kind: 'failed', errors: ['the old instance exited'] });
    await expect(conn.request({ type: 'rollback' })).rejects.toMatchObject({
      code: 'E_RELOAD_FAILED', message: 'the rollback did not take effect; the running instance keeps serving', details: ['the old instance exited'],
    });
    target.next.reload = () => Promise.reject(new Error('config file vanished'));
    await expect(conn.request({ type: 'reload' })).rejects.toMatchObject({ code: 'E_INTERNAL', message: 'reload failed: config file vanished' });
  });

  it('a status that throws is an E_INTERNAL reply, and the connection keeps serving', async () => {
    const target = fakeTarget(false);
    const conn = await client(await serve(target));
    target.next.status = () => { throw new Error('proc read failed'); };
    await expect(conn.request({ type: 'status' })).rejects.toMatchObject({ code: 'E_INTERNAL', message: 'the supervisor could not answer: proc read failed' });
    target.next.status = () => STATUS;
    expect((await conn.request({ type: 'status' })).status).toEqual(STATUS);
  });

  it('cuts an output line longer than 8 KiB in the event stream', async () => {
    const target = fakeTarget(false);
    const conn = await client(await serve(target));
    const events: StreamedEvent[] = [];
    await conn.subscribe((e) => events.push(e));
    target.emit({ type: 'output', instance: 1, stream: 'stdout', line: 'y'.repeat(20_000) });
    target.emit({ type: 'output', instance: 1, stream: 'stdout', line: 'short' });
    await waitFor(() => events.length === 2);
    expect(events[0]).toMatchObject({ type: 'output', line: `${'y'.repeat(8 * 1024)} …[truncated]` });
    expect(events[1]).toMatchObject({ line: 'short' });
  });
});

describe('control server: the socket path', () => {
  it('refuses to start over a plain file at the socket\'s name', async () => {
    writeFileSync(join(dir, 'run', 'api.sock'), 'not a socket');
    await expect(serve(fakeTarget(false))).rejects.toMatchObject({
      code: 'E_RUN_DIR', message: `${join(dir, 'run', 'api.sock')} exists and is not a socket`,
    });
  });
});

describe('control server: connections', () => {
  it('when every connection is busy, a new one is refused, not an old one dropped', async () => {
    const server = await serve(fakeTarget(false), { maxConnections: 1 });
    const streaming = await client(server);
    await streaming.subscribe(() => undefined);
    const refused = await client(server);
    await refused.closed;
    expect(streaming.isOpen).toBe(true);
    expect((await streaming.request({ type: 'status' })).status).toEqual(STATUS);
  });

  it('a streaming connection outlives the idle timeout; an idle one does not', async () => {
    const target = fakeTarget(false);
    const server = await serve(target, { idleTimeoutMs: 40 });
    const streaming = await client(server);
    const events: StreamedEvent[] = [];
    await streaming.subscribe((e) => events.push(e));
    const idle = await client(server);
    await idle.closed; // opened after the stream, so the stream has been idle-checked by now too
    expect(streaming.isOpen).toBe(true);
    target.emit({ type: 'warning', message: 'still here' });
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ message: 'still here' });
  });

  /** Sends `count` status requests in one write on a raw socket; resolves with the reply ids in order. */
  async function burst(server: ControlServer, count: number): Promise<number[]> {
    const socket: Socket = connect(server.socketPath);
    cleanups.push(() => socket.destroy());
    await once(socket, 'connect');
    const ids: number[] = [];
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        ids.push((JSON.parse(buffered.slice(0, nl)) as { id: number }).id);
        buffered = buffered.slice(nl + 1);
      }
    });
    socket.write(Array.from({ length: count }, (_, i) => `{"v":1,"id":${i + 1},"type":"status"}\n`).join(''));
    await waitFor(() => ids.length >= count, { timeout: 20_000, message: () => `${ids.length} of ${count} replies` });
    return ids;
  }

  it('answers every request of a client that sends faster than it reads big replies, in order', async () => {
    const target = fakeTarget(false);
    target.next.status = () => ({ ...STATUS, filler: 'z'.repeat(60_000) }) as unknown as StatusSnapshot;
    const ids = await burst(await serve(target), 40);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('answers a backlog of thousands of requests from one client, each once, in order', async () => {
    const ids = await burst(await serve(fakeTarget(false)), 2000);
    expect(ids).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
  });
});
