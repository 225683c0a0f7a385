/**
 * The control client against a hand-written supervisor on a real Unix socket: what it does with
 * lines a real supervisor never sends, with a supervisor that closes or floods the connection, and
 * how failures reach the user (the commands render these errors as they are).
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectControl, ControlRequestError, describeExit, fetchStatus, inspectStale, locateApp, requestFailure, stillRunning, waitForReady,
  type ControlConnection, type StreamedExit,
} from '../../src/control/client.js';
import { controlPaths } from '../../src/control/paths.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { NaijaSupError } from '../../src/errors.js';

let dir = '';
let server: Server | null = null;
const sockets = new Set<Socket>();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-client-'));
});
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  if (server !== null) await new Promise((resolve) => server?.close(resolve));
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A fake supervisor: `onRequest` gets each request line and the socket to answer on. */
async function fakeSupervisor(onRequest: (request: { id: number; type: string }, socket: Socket) => void): Promise<string> {
  const path = join(dir, 'app.sock');
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        onRequest(JSON.parse(buffered.slice(0, nl)) as { id: number; type: string }, socket);
        buffered = buffered.slice(nl + 1);
      }
    });
  });
  server.listen(path);
  await once(server, 'listening');
  return path;
}

async function connected(path: string): Promise<ControlConnection> {
  const outcome = await connectControl(path);
  if (outcome.kind !== 'live') throw new Error(`expected a live supervisor, got ${outcome.kind}`);
  return outcome.connection;
}

const STATUS = { name: 'api', state: 'running' } as unknown as StatusSnapshot;
const line = (message: unknown): string => `${JSON.stringify(message)}\n`;

describe('ControlConnection', () => {
  it('skips blank lines, garbage and replies to nobody, and still delivers events and the real reply', async () => {
    const path = await fakeSupervisor((req, socket) => {
      socket.write('\n   \nnot json\n');
      socket.write(line({ v: 2, id: req.id, ok: true }));
      socket.write(line({ v: 1, id: 999, ok: true }));
      socket.write(line({ v: 1, event: { type: 'warning', message: 'disk almost full' } }));
      socket.write(line({ v: 1, id: req.id, ok: true, status: STATUS }));
    });
    const conn = await connected(path);
    const events: unknown[] = [];
    const status = await conn.subscribe((e) => events.push(e));
    expect(status).toEqual(STATUS);
    expect(events).toEqual([{ type: 'warning', message: 'disk almost full' }]);
    conn.close();
    await conn.closed;
    expect(conn.isOpen).toBe(false);
  });

  it('an error the supervisor could not tie to a request answers the oldest one', async () => {
    const path = await fakeSupervisor((_req, socket) => {
      socket.write(line({ v: 1, ok: false, error: { code: 'E_BAD_REQUEST', message: 'unreadable request', details: ['line 1'] } }));
    });
    const conn = await connected(path);
    const error = await conn.request({ type: 'status' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlRequestError);
    expect(error).toMatchObject({ code: 'E_BAD_REQUEST', message: 'unreadable request', details: ['line 1'] });
    conn.close();
  });

  it('rejects pending requests when the supervisor closes, and new ones once closed', async () => {
    const path = await fakeSupervisor((_req, socket) => socket.end());
    const conn = await connected(path);
    await expect(conn.request({ type: 'status' })).rejects.toMatchObject({ code: 'E_CLOSED', message: 'the supervisor closed the connection before answering' });
    await conn.closed;
    await expect(conn.request({ type: 'status' })).rejects.toMatchObject({ code: 'E_CLOSED', message: 'the connection is closed' });
  });

  it('drops a connection whose reply grows past the limit without a newline', async () => {
    const path = await fakeSupervisor((_req, socket) => socket.write('x'.repeat(1024 * 1024 + 10)));
    const conn = await connected(path);
    await expect(conn.request({ type: 'status' }, 20_000)).rejects.toMatchObject({ code: 'E_CLOSED' });
  });

  it('times out a request the supervisor never answers', async () => {
    const path = await fakeSupervisor(() => undefined);
    const conn = await connected(path);
    await expect(conn.request({ type: 'status' }, 30)).rejects.toMatchObject({ code: 'E_TIMEOUT', message: 'no answer within 30 ms' });
    conn.close();
  });

  it('refuses an events reply without a status', async () => {
    const path = await fakeSupervisor((req, socket) => socket.write(line({ v: 1, id: req.id, ok: true })));
    const conn = await connected(path);
    await expect(conn.subscribe(() => undefined)).rejects.toMatchObject({ code: 'E_INTERNAL', message: 'the events reply carried no status' });
    conn.close();
  });
});

describe('connectControl and fetchStatus', () => {
  it('fetchStatus is null when nothing listens, or when the reply carries no status', async () => {
    expect(await fetchStatus(join(dir, 'absent.sock'))).toBeNull();
    const path = await fakeSupervisor((req, socket) => socket.write(line({ v: 1, id: req.id, ok: true })));
    expect(await fetchStatus(path)).toBeNull();
  });

  it('a plain file where the socket should be is a stale socket, not an error', async () => {
    writeFileSync(join(dir, 'file.sock'), '');
    expect(await connectControl(join(dir, 'file.sock'))).toEqual({ kind: 'stale' });
  });

  it('any other failure names the socket and the reason', async () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const error = await connectControl(join(dir, 'not-a-dir', 'app.sock')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NaijaSupError);
    expect((error as NaijaSupError).message).toMatch(/^cannot connect to the control socket .*not-a-dir\/app\.sock: .*ENOTDIR/);
  });
});

describe('waitForReady', () => {
  const never = { closed: new Promise<void>(() => undefined) } as ControlConnection;
  const crash: StreamedExit = { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: 'read stderr', stderrTail: ['boom'] };

  it('ignores the ready of the instance being replaced and gives up with the last crash when the supervisor does', async () => {
    const waiter = waitForReady(never, { notPid: 10, timeoutMs: 10_000 });
    waiter.onEvent({ type: 'ready', pid: 10, url: 'http://127.0.0.1:1' });
    waiter.onEvent({ type: 'exited', exit: crash });
    waiter.onEvent({ type: 'exited' });
    waiter.onEvent({ type: 'probe' });
    waiter.onEvent({ type: 'fatal' });
    expect(await waiter.result).toEqual({ kind: 'fatal', reason: 'gave up', exit: crash, exitStatus: 1 });
  });

  it('reports a ready without a URL as an empty one, and only the first decisive event', async () => {
    const waiter = waitForReady(never, { notPid: null, timeoutMs: 10_000 });
    waiter.onEvent({ type: 'ready', pid: 11 });
    waiter.onEvent({ type: 'stopped' });
    expect(await waiter.result).toEqual({ kind: 'ready', pid: 11, url: '' });
  });
});

describe('describeExit and requestFailure', () => {
  it('has nothing to say without an exit, and keeps the last 20 stderr lines', () => {
    expect(describeExit(null)).toEqual([]);
    const tail = Array.from({ length: 25 }, (_, i) => `l${i}`);
    const lines = describeExit({ code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: '', stderrTail: tail });
    expect(lines.slice(0, 3)).toEqual(['cause: exit-code (exited with code 1)', 'last stderr lines:', '  l5']);
    expect(lines).toHaveLength(22);
  });

  it('maps each failure to a message that names the app', () => {
    const own = new NaijaSupError('E_USAGE', 'bad');
    expect(requestFailure(own, 'api')).toBe(own);
    const version = requestFailure(new ControlRequestError('E_VERSION', 'protocol 2 is not 1'), 'api');
    expect(version.message).toBe('the supervisor of "api" refused the request: protocol 2 is not 1 (E_VERSION)');
    expect(version.fix).toBe('use the same naija-sup version as the running supervisor');
    expect(requestFailure(new ControlRequestError('E_UNKNOWN_TYPE', 'unknown request type "scale"'), 'api').fix).toBeUndefined();
    expect(requestFailure(new Error('EPIPE'), 'api').message).toBe('talking to the supervisor of "api" failed: EPIPE');
    expect(requestFailure('odd', 'api').message).toBe('talking to the supervisor of "api" failed: odd');
  });
});

describe('locateApp with --name', () => {
  it('normalises a name the way the config does, and refuses one with nothing left', async () => {
    const env = { NAIJA_SUP_RUN_DIR: join(dir, 'absent-run-dir') };
    expect(await locateApp({ cwd: dir, env, name: 'My API' })).toMatchObject({ name: 'my-api', paths: null, named: true });
    const error = await locateApp({ cwd: dir, env, name: '!!!' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_USAGE', message: '"!!!" is not an app name' });
  });
});

describe('after a supervisor died: PID files and records without start times', () => {
  /** The pid of a process that has exited (and been reaped). */
  const deadPid = (): number => spawnSync('/bin/true').pid as number;

  it('a pid without a start time is running while any process has it', async () => {
    expect(await stillRunning(process.pid, '', '')).toBe(true);
    expect(await stillRunning(deadPid(), '', '')).toBe(false);
  });

  it('removes a PID file whose process is gone, and keeps one it cannot read as a pid', async () => {
    const runDir = join(dir, 'run');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(runDir, { mode: 0o700 });
    const paths = controlPaths(runDir, 'api');
    const pidFile = join(dir, 'api.pid');
    writeFileSync(pidFile, `${deadPid()}\n`);
    expect(await inspectStale(paths, { pidFile })).toMatchObject({ staleRecordRemoved: true, record: null, busy: null });
    expect(readdirSync(dir)).not.toContain('api.pid');
    writeFileSync(pidFile, 'not a pid\n');
    expect((await inspectStale(paths, { pidFile })).staleRecordRemoved).toBe(false);
    expect(readdirSync(dir)).toContain('api.pid');
    rmSync(pidFile);
    expect((await inspectStale(paths, { pidFile })).staleRecordRemoved).toBe(false);
  });
});
