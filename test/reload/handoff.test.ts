import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NaijaSupError } from '../../src/errors.js';
import { checkHandoffSupport, createHandoffListener, handoffEnv, type HandoffListener } from '../../src/reload/handoff.js';
import { assertAllGone, killAllTracked } from '../helpers/processes.js';
import { httpGet, startFdServer } from './helpers.js';

const listeners: HandoffListener[] = [];
const servers: Server[] = [];

function listener(): HandoffListener {
  const created = createHandoffListener({ host: '127.0.0.1', port: 0 });
  listeners.push(created);
  return created;
}

afterEach(async () => {
  killAllTracked();
  for (const created of listeners.splice(0)) created.close();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Resolves with the error code of a plain connect, or 'connected'. */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const client = connect({ host: '127.0.0.1', port });
    client.once('connect', () => {
      client.destroy();
      resolve('connected');
    });
    client.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
  });
}

describe('the Node internal behind socket handoff', () => {
  it('still exists in this Node with the shape we rely on (if this fails, a Node upgrade changed net._createServerHandle: use mode "proxy" and rewrite src/reload/handoff.ts)', () => {
    expect(checkHandoffSupport()).toEqual({ ok: true });
    const created = listener();
    expect(Number.isInteger(created.fd) && created.fd > 2).toBe(true);
    expect(created.port).toBeGreaterThan(0);
    expect(created.family).toBe(4);
  });
});

describe('createHandoffListener', () => {
  it('binds without listening: connections are refused until a child listens, and close() frees the port', async () => {
    const created = listener();
    expect(await connectOutcome(created.port)).toBe('ECONNREFUSED');
    created.close();
    created.close(); // twice is fine
    expect(created.closed).toBe(true);
  });

  it('binds IPv6 and the dual-stack address', () => {
    const loopback6 = createHandoffListener({ host: '[::1]', port: 0 });
    listeners.push(loopback6);
    expect(loopback6).toMatchObject({ host: '::1', family: 6 });
    const any6 = createHandoffListener({ host: '::', port: 0 });
    listeners.push(any6);
    expect(any6.family).toBe(6);
    expect(any6.port).toBeGreaterThan(0);
  });

  it('reports a port another process listens on as E_PORT_IN_USE (libuv defers that bind error; getsockname reveals it)', async () => {
    const holder = createServer();
    servers.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    let caught: unknown;
    try {
      createHandoffListener({ host: '127.0.0.1', port });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NaijaSupError);
    expect(caught).toMatchObject({ code: 'E_PORT_IN_USE' });
    expect((caught as NaijaSupError).message).toContain(`127.0.0.1:${port}`);
    expect((caught as NaijaSupError).fix).toContain('naija-sup doctor');
  });

  it('refuses host names and bad ports with E_USAGE', () => {
    expect(() => createHandoffListener({ host: 'localhost', port: 0 })).toThrow(/needs an IP address/);
    expect(() => createHandoffListener({ host: '127.0.0.1', port: 70_000 })).toThrow(NaijaSupError);
    expect(() => createHandoffListener({ host: '192.0.2.1', port: 0 })).toThrow(/EADDRNOTAVAIL/);
  });

  it('handoffEnv sets LISTEN_FDS=1 and no LISTEN_PID (unknowable before spawn)', () => {
    expect(handoffEnv()).toEqual({ LISTEN_FDS: '1' });
  });
});

describe('two children in turn on one handed-over socket', () => {
  it('blue answers; green starts on the same fd and answers; blue stops; with no child a connection waits and the next child answers it', async () => {
    const shared = listener();
    const blue = await startFdServer('node', { fd: shared.fd });
    expect(blue.fd).toBe('3');
    expect(blue.port).toBe(shared.port);
    expect(await httpGet(shared.port, '/pid')).toEqual({ status: 200, body: String(blue.pid) });

    const green = await startFdServer('node', { fd: shared.fd });
    expect(green.port).toBe(shared.port);
    const blueStop = await blue.stop();
    expect(blueStop.exit).toEqual({ code: 0, signal: null });
    // Only green holds the socket now: every answer is green's.
    for (let i = 0; i < 5; i += 1) expect(await httpGet(shared.port, '/pid')).toEqual({ status: 200, body: String(green.pid) });

    const greenStop = await green.stop();
    expect(greenStop.exit).toEqual({ code: 0, signal: null });
    await assertAllGone([blue.pid, green.pid]);

    // No child runs. The socket stays listening (we hold it): the connection is accepted by the
    // kernel and waits in the backlog instead of being refused…
    const pending = httpGet(shared.port, '/pid', { timeout: 15_000 });
    const outcome = await connectOutcome(shared.port);
    expect(outcome).toBe('connected');
    // …until the next child accepts it.
    const next = await startFdServer('node', { fd: shared.fd });
    expect(await pending).toEqual({ status: 200, body: String(next.pid) });

    await next.stop();
    await assertAllGone([blue.pid, green.pid, next.pid]);
  });

  it('works with the Python fixture (socket.socket(fileno=3)) as well', async () => {
    const shared = listener();
    const blue = await startFdServer('python', { fd: shared.fd });
    expect(blue.port).toBe(shared.port);
    expect(await httpGet(shared.port, '/pid')).toEqual({ status: 200, body: String(blue.pid) });
    const green = await startFdServer('python', { fd: shared.fd });
    expect((await blue.stop()).exit).toEqual({ code: 0, signal: null });
    expect(await httpGet(shared.port, '/pid')).toEqual({ status: 200, body: String(green.pid) });
    await assertAllGone([blue.pid]);

    expect((await green.stop()).exit).toEqual({ code: 0, signal: null });
    const pending = httpGet(shared.port, '/pid', { timeout: 15_000 });
    const next = await startFdServer('python', { fd: shared.fd });
    expect(await pending).toEqual({ status: 200, body: String(next.pid) });
    await next.stop();
    await assertAllGone([blue.pid, green.pid, next.pid]);
  });

  it('the fixtures still bind PORT themselves without LISTEN_FDS', async () => {
    const plain = await startFdServer('node');
    expect(plain.fd).toBe('none');
    expect(await httpGet(plain.port, '/pid')).toEqual({ status: 200, body: String(plain.pid) });
    const py = await startFdServer('python');
    expect(await httpGet(py.port, '/pid')).toEqual({ status: 200, body: String(py.pid) });
    await plain.stop();
    await py.stop();
    await assertAllGone([plain.pid, py.pid]);
  });
});
