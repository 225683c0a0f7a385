import { getEventListeners, once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHostPort, probeTcp } from '../../src/health/index.js';

// Real servers on loopback, ephemeral ports; every one (and every connection it accepted) is
// closed in afterEach.
const open: Server[] = [];
const sockets = new Set<Socket>();

interface Tracked {
  port: number;
  conns: { opened: number; closed: number };
}

async function tcpServer(host = '127.0.0.1'): Promise<Tracked> {
  const tracked: Tracked = { port: 0, conns: { opened: 0, closed: 0 } };
  const server = createServer((socket) => {
    tracked.conns.opened += 1;
    sockets.add(socket);
    // Read (and discard): an unread socket never notices the peer's FIN.
    socket.resume();
    socket.on('close', () => {
      tracked.conns.closed += 1;
      sockets.delete(socket);
    });
  });
  open.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  tracked.port = (server.address() as AddressInfo).port;
  return tracked;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(
    open.splice(0).map(async (server) => {
      server.close();
      await once(server, 'close');
    }),
  );
});

describe('probeTcp against real servers', () => {
  it('connects, reports ok, and closes the connection', async () => {
    const srv = await tcpServer();
    const result = await probeTcp({ host: '127.0.0.1', port: srv.port, timeout: 2_000 });

    expect(result).toMatchObject({ ok: true });
    expect(result.error).toBeUndefined();
    expect(result.status).toBeUndefined();
    expect(result.detail).toMatch(new RegExp(`^connected to 127\\.0\\.0\\.1:${srv.port} in (<1|\\d+) ms$`));
    expect(srv.conns.opened).toBe(1);
    await waitFor('the server to see the probe socket closed', () => srv.conns.closed === 1);
  });

  it('connects to ::1', async () => {
    const srv = await tcpServer('::1');
    const result = await probeTcp({ host: '::1', port: srv.port, timeout: 2_000 });

    expect(result.ok).toBe(true);
    expect(result.detail).toContain(`[::1]:${srv.port}`);
    await waitFor('the server to see the probe socket closed', () => srv.conns.closed === 1);
  });

  it('a closed port is ECONNREFUSED', async () => {
    const port = await closedPort();
    const result = await probeTcp({ host: '127.0.0.1', port, timeout: 2_000 });

    expect(result).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(result.detail).toBe(`connection refused (nothing is listening on 127.0.0.1:${port})`);
  });

  it('an already aborted signal resolves with ABORTED', async () => {
    const srv = await tcpServer();
    const result = await probeTcp({ host: '127.0.0.1', port: srv.port, timeout: 2_000, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ ok: false, error: 'ABORTED', detail: 'aborted' });
  });

  it('removes its abort listener after each probe', async () => {
    const srv = await tcpServer();
    const controller = new AbortController();
    for (let i = 0; i < 20; i += 1) {
      const result = await probeTcp({ host: '127.0.0.1', port: srv.port, timeout: 2_000, signal: controller.signal });
      expect(result.ok).toBe(true);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await waitFor('the server to see every probe socket closed', () => srv.conns.closed === 20);
  });

  it('an invalid port resolves with EINVAL instead of throwing', async () => {
    const result = await probeTcp({ host: '127.0.0.1', port: -1, timeout: 1_000 });
    expect(result).toMatchObject({ ok: false, error: 'EINVAL' });
  });
});

describe('formatHostPort', () => {
  it.each([
    ['127.0.0.1', 8000, '127.0.0.1:8000'],
    ['::1', 8000, '[::1]:8000'],
    ['[::1]', 8000, '[::1]:8000'],
    ['::', 3000, '[::]:3000'],
    ['api.internal', 80, 'api.internal:80'],
    ['fe80::1%eth0', 80, '[fe80::1%eth0]:80'],
    ['::ffff:127.0.0.1', 80, '[::ffff:127.0.0.1]:80'],
    // A mistaken host holding a port is not taken for an IPv6 literal.
    ['localhost:8000', 80, 'localhost:8000:80'],
  ])('%s + %i → %s', (host, port, expected) => {
    expect(formatHostPort(host, port)).toBe(expected);
  });
});
