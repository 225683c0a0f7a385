import { once } from 'node:events';
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHostFor, probeOnce } from '../../src/health/index.js';

describe('probeHostFor', () => {
  it.each([
    ['0.0.0.0', ['127.0.0.1']],
    ['::', ['127.0.0.1', '::1']],
    ['[::]', ['127.0.0.1', '::1']],
    ['0:0:0:0:0:0:0:0', ['127.0.0.1', '::1']],
    ['', ['127.0.0.1', '::1']],
    ['127.0.0.1', ['127.0.0.1']],
    ['::1', ['::1']],
    ['[::1]', ['::1']],
    ['localhost', ['127.0.0.1', '::1']],
    ['LocalHost', ['127.0.0.1', '::1']],
    ['192.168.1.20', ['192.168.1.20']],
    ['fd00::20', ['fd00::20']],
    ['api.internal', ['api.internal']],
  ])('%j → %j', (bindHost, expected) => {
    expect(probeHostFor(bindHost)).toEqual(expected);
  });

  it('never returns "localhost"', () => {
    for (const host of ['localhost', 'LOCALHOST', ' localhost ']) {
      expect(probeHostFor(host)).not.toContain('localhost');
    }
  });
});

// Real servers on loopback, ephemeral ports; every one (and every connection it accepted) is
// closed in afterEach.
const open: Array<Server | NetServer> = [];
const sockets = new Set<Socket>();

async function listen(server: Server | NetServer, host: string, port = 0): Promise<number> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  open.push(server);
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function close(server: Server | NetServer): Promise<void> {
  const index = open.indexOf(server);
  if (index !== -1) open.splice(index, 1);
  server.close();
  await once(server, 'close');
}

/**
 * Starts `make()` on ::1 only, at a port where nothing listens on 127.0.0.1: the two families'
 * ports are independent, so we check the IPv4 side by binding it once ourselves. Bounded retries.
 */
async function listenOnIPv6Only(make: () => Server | NetServer): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const server = make();
    const port = await listen(server, '::1');
    const check = createNetServer();
    const free = await new Promise<boolean>((resolve) => {
      check.once('error', () => resolve(false));
      check.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      check.close();
      await once(check, 'close');
      return port;
    }
    await close(server);
  }
  throw new Error('could not find a port free on both 127.0.0.1 and ::1 in 5 attempts');
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(open.splice(0).map(async (server) => {
    server.close();
    await once(server, 'close');
  }));
});

const reply = (status: number): RequestListener => (_req, res) => {
  res.writeHead(status).end();
};

describe('probeOnce against real servers', () => {
  it('finds an IPv6-only server on ::1 through probeHostFor("::")', async () => {
    const port = await listenOnIPv6Only(() => createServer(reply(200)));
    const result = await probeOnce({ type: 'http', hosts: probeHostFor('::'), port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: true, status: 200, host: '::1' });
    expect(result.attempts.map((a) => [a.host, a.ok, a.error])).toEqual([
      ['127.0.0.1', false, 'ECONNREFUSED'],
      ['::1', true, undefined],
    ]);
  });

  it('finds it over TCP too', async () => {
    const port = await listenOnIPv6Only(() => createNetServer((socket) => socket.resume()));
    const result = await probeOnce({ type: 'tcp', hosts: probeHostFor('::'), port, timeout: 2_000 });
    expect(result).toMatchObject({ ok: true, host: '::1' });
    expect(result.attempts).toHaveLength(2);
  });

  it('stops at the first ok host', async () => {
    const port = await listen(createServer(reply(204)), '127.0.0.1');
    const result = await probeOnce({ type: 'http', hosts: ['127.0.0.1', '::1'], port, path: '/', timeout: 2_000 });
    expect(result).toMatchObject({ ok: true, status: 204, host: '127.0.0.1' });
    expect(result.attempts).toHaveLength(1);
  });

  it('an HTTP status beats a refusal, whatever the order', async () => {
    const port = await listenOnIPv6Only(() => createServer(reply(404)));
    for (const hosts of [['127.0.0.1', '::1'], ['::1', '127.0.0.1']]) {
      const result = await probeOnce({ type: 'http', hosts, port, path: '/wrong', timeout: 2_000 });
      expect(result).toMatchObject({ ok: false, status: 404, host: '::1' });
      expect(result.detail).toContain('the server is up but has no such route');
      expect(result.attempts).toHaveLength(2);
    }
  });

  describe('type "auto" (the default without a health.path): any answer below 500, or a TCP accept', () => {
    it.each([200, 301, 401, 404])('HTTP %i on / is up, and says what it answered', async (status) => {
      const port = await listen(createServer(reply(status)), '127.0.0.1');
      const result = await probeOnce({ type: 'auto', hosts: ['127.0.0.1'], port, path: '/', timeout: 2_000 });
      expect(result).toMatchObject({ ok: true, status, answered: 'http', detail: `answers HTTP ${status} on /` });
    });

    it.each([500, 503])('HTTP %i is not up yet: the server says it is not well', async (status) => {
      const port = await listen(createServer(reply(status)), '127.0.0.1');
      const result = await probeOnce({ type: 'auto', hosts: ['127.0.0.1'], port, path: '/', timeout: 2_000 });
      expect(result).toMatchObject({ ok: false, status });
      expect(result.answered).toBeUndefined();
    });

    it('a server that answers with something other than HTTP is up as a TCP server', async () => {
      const port = await listen(createNetServer((socket) => socket.end('-ERR unknown command\r\n')), '127.0.0.1');
      const result = await probeOnce({ type: 'auto', hosts: ['127.0.0.1'], port, path: '/', timeout: 2_000 });
      expect(result).toMatchObject({ ok: true, answered: 'tcp', detail: 'accepts TCP connections but does not answer HTTP' });
    });

    it('a server that accepts and stays silent is up as a TCP server once the probe times out', async () => {
      const port = await listen(createNetServer((socket) => socket.resume()), '127.0.0.1');
      const result = await probeOnce({ type: 'auto', hosts: ['127.0.0.1'], port, path: '/', timeout: 200 });
      expect(result).toMatchObject({ ok: true, answered: 'tcp', error: 'ETIMEDOUT' });
    });

    it('nothing listening is not up', async () => {
      const server = createNetServer();
      const port = await listen(server, '127.0.0.1');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const result = await probeOnce({ type: 'auto', hosts: ['127.0.0.1'], port, path: '/', timeout: 2_000 });
      expect(result).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    });
  });

  it('a refusal beats a timeout, even when the timeout came first', async () => {
    const port = await listenOnIPv6Only(() => createNetServer((socket) => socket.resume()));
    const result = await probeOnce({ type: 'http', hosts: ['::1', '127.0.0.1'], port, path: '/health', timeout: 300 });

    expect(result).toMatchObject({ ok: false, error: 'ECONNREFUSED', host: '127.0.0.1' });
    expect(result.attempts.map((a) => a.error)).toEqual(['ETIMEDOUT', 'ECONNREFUSED']);
  });

  it('an abort stops at once', async () => {
    const controller = new AbortController();
    const port = await listenOnIPv6Only(() =>
      createNetServer((socket) => {
        socket.resume();
        controller.abort();
      }),
    );
    const result = await probeOnce({ type: 'http', hosts: ['::1', '127.0.0.1'], port, path: '/', timeout: 20_000, signal: controller.signal });

    expect(result).toMatchObject({ ok: false, error: 'ABORTED', host: '::1' });
    expect(result.attempts).toHaveLength(1);
  });

  it('no hosts resolves with EINVAL instead of throwing', async () => {
    const result = await probeOnce({ type: 'tcp', hosts: [], port: 8000, timeout: 1_000 });
    expect(result).toMatchObject({ ok: false, error: 'EINVAL' });
  });
});
