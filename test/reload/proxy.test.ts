import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NaijaSupError } from '../../src/errors.js';
import { runLoad } from '../../src/reload/load.js';
import { createProxy, type ProxyEvent, type ReloadProxy } from '../../src/reload/proxy.js';
import { pickPrivatePort, privatePortCandidates } from '../../src/reload/private-port.js';
import { readEphemeralPortRange } from '../../src/process/proc-read.js';
import { assertAllGone, killAllTracked, waitFor } from '../helpers/processes.js';
import { httpGet, PidTally, startFdServer } from './helpers.js';

const proxies: ReloadProxy[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

async function proxyFor(options: Partial<Parameters<typeof createProxy>[0]> = {}): Promise<ReloadProxy> {
  const proxy = await createProxy({ host: '127.0.0.1', port: 0, ...options });
  proxies.push(proxy);
  return proxy;
}

/** An in-process TCP server on 127.0.0.1:0 for byte-level behaviour (half-close, resets, volume). */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function connectTo(port: number): Socket {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  sockets.push(socket);
  return socket;
}

/** Reads the socket to its end; resolves with the bytes, or rejects with the socket's error. */
function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close({ timeout: 1000 })));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  killAllTracked();
});

describe('createProxy: piping and targets', () => {
  it('pipes to the target; an open connection stays on its target after setTarget, new ones go to the new one', async () => {
    const blue = await startFdServer('node');
    const green = await startFdServer('node');
    const proxy = await proxyFor({ target: blue.port });
    expect(proxy.port).toBeGreaterThan(0);
    expect(proxy.target()).toBe(blue.port);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await httpGet(proxy.port, '/pid', { agent })).toEqual({ status: 200, body: String(blue.pid) });
      expect(proxy.connections(blue.port)).toBe(1);

      proxy.setTarget(green.port);
      expect(await httpGet(proxy.port, '/pid', { agent })).toEqual({ status: 200, body: String(blue.pid) });
      expect(await httpGet(proxy.port, '/pid')).toEqual({ status: 200, body: String(green.pid) });
      expect(proxy.connections(blue.port)).toBe(1);
      expect(await proxy.waitForDrain(blue.port, 50)).toBe(false);
    } finally {
      agent.destroy();
    }
    expect(await proxy.waitForDrain(blue.port, 5000)).toBe(true);
    expect(proxy.connections(blue.port)).toBe(0);
    await waitFor(() => proxy.connections() === 0, { message: 'connections through the proxy did not end' });

    await blue.stop();
    await green.stop();
    await assertAllGone([blue.pid, green.pid]);
  });

  it('switches targets 10 times under continuous load with 0 failed requests', async () => {
    const a = await startFdServer('node');
    const b = await startFdServer('node');
    const proxy = await proxyFor({ target: a.port });
    const freshTally = new PidTally();
    const controller = new AbortController();
    // New connection per request (follows the switches) and keep-alive (stays on its target).
    const fresh = runLoad({ port: proxy.port, path: '/pid', concurrency: 4, keepAlive: false, durationMs: 60_000, signal: controller.signal, onResponse: freshTally.record });
    const kept = runLoad({ port: proxy.port, path: '/pid', concurrency: 2, durationMs: 60_000, signal: controller.signal });
    try {
      const servers = [a, b];
      for (let i = 1; i <= 10; i += 1) {
        const next = servers[i % 2] ?? a;
        const before = freshTally.count(next.pid);
        proxy.setTarget(next.port);
        // Fresh connections follow each switch: 20 more answers from the new target.
        await waitFor(() => freshTally.count(next.pid) >= before + 20, { timeout: 10_000, message: `switch ${i}: no answers from pid ${next.pid}` });
      }
    } finally {
      controller.abort();
    }
    const [freshResult, keptResult] = await Promise.all([fresh, kept]);
    expect(freshResult.sampleErrors).toEqual([]);
    expect(freshResult.failed).toBe(0);
    expect(keptResult.sampleErrors).toEqual([]);
    expect(keptResult.failed).toBe(0);
    expect(keptResult.ok).toBeGreaterThan(0);

    await a.stop();
    await b.stop();
    await assertAllGone([a.pid, b.pid]);
  });

  it('refuses to listen on a port in use (E_PORT_IN_USE) and rejects bad options', async () => {
    const taken = await tcpServer(() => undefined);
    await expect(createProxy({ host: '127.0.0.1', port: taken })).rejects.toMatchObject({ code: 'E_PORT_IN_USE' });
    await expect(createProxy({ host: '127.0.0.1', port: 0, holdTimeout: 0 })).rejects.toThrow(/holdTimeout/);
    const proxy = await proxyFor();
    expect(() => proxy.setTarget(0)).toThrow(NaijaSupError);
  });

  it('pickPrivatePort returns a port that can be listened on at once', async () => {
    const port = await pickPrivatePort();
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    expect((server.address() as AddressInfo).port).toBe(port);
    // Outside the kernel's ephemeral range, where outgoing connections take their local ports.
    const range = readEphemeralPortRange();
    if (range !== null) expect(port < range.low || port > range.high, `${port} in ${range.low}–${range.high}`).toBe(true);
  });

  it('privatePortCandidates: below the ephemeral range from a random point, wrapping; above it when there is no room below; none without a range', () => {
    const below = privatePortCandidates({ low: 32768, high: 60999 }, () => 0.5);
    expect(below).toHaveLength(64);
    expect(below[0]).toBe(10_000 + Math.floor(0.5 * 22768));
    expect(below.every((p) => p >= 10_000 && p < 32768)).toBe(true);
    const wrapped = privatePortCandidates({ low: 32768, high: 60999 }, () => 0.9999999);
    expect(wrapped.slice(0, 2)).toEqual([32767, 10_000]);
    expect(privatePortCandidates({ low: 10_500, high: 60999 }, () => 0)).toEqual(Array.from({ length: 64 }, (_, i) => 61_000 + i));
    expect(privatePortCandidates({ low: 10_500, high: 65_000 }, () => 0)).toEqual([]);
    expect(privatePortCandidates(null, () => 0)).toEqual([]);
  });

  it('readEphemeralPortRange reads ip_local_port_range, and null when it is missing or malformed', () => {
    const root = mkdtempSync(join(tmpdir(), 'naija-sup-portrange-'));
    try {
      expect(readEphemeralPortRange(root)).toBeNull();
      mkdirSync(join(root, 'sys', 'net', 'ipv4'), { recursive: true });
      writeFileSync(join(root, 'sys', 'net', 'ipv4', 'ip_local_port_range'), '32768\t60999\n');
      expect(readEphemeralPortRange(root)).toEqual({ low: 32768, high: 60999 });
      writeFileSync(join(root, 'sys', 'net', 'ipv4', 'ip_local_port_range'), '60999 32768\n');
      expect(readEphemeralPortRange(root)).toBeNull();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('createProxy: clients wait instead of being refused', () => {
  it('holds a connection while no target is set and connects it when one is set 300 ms later', async () => {
    const server = await startFdServer('node');
    const events: ProxyEvent[] = [];
    const proxy = await proxyFor({ target: null, onEvent: (event) => events.push(event) });
    const started = Date.now();
    const pending = httpGet(proxy.port, '/pid');
    await waitFor(() => proxy.held() === 1, { message: 'the connection was not held' });
    const timer = setTimeout(() => proxy.setTarget(server.port), 300);
    try {
      expect(await pending).toEqual({ status: 200, body: String(server.pid) });
    } finally {
      clearTimeout(timer);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(proxy.held()).toBe(0);
    expect(proxy.stats()).toMatchObject({ accepted: 1, heldTotal: 1, piped: 1, holdTimeouts: 0 });
    expect(events).toEqual([{ type: 'held', reason: 'no-target', target: null }]);
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('holds a connection the target refuses (the instance crashed) and connects once a server listens there again', async () => {
    const port = await pickPrivatePort();
    const proxy = await proxyFor({ target: port });
    const pending = httpGet(proxy.port, '/pid');
    await waitFor(() => proxy.held() === 1 && proxy.stats().connectFailures >= 2, { message: 'the refused connection was not held and retried' });
    const server = await startFdServer('node', { env: { PORT: String(port) } });
    expect(server.port).toBe(port);
    expect(await pending).toEqual({ status: 200, body: String(server.pid) });
    expect(proxy.stats()).toMatchObject({ heldTotal: 1, holdTimeouts: 0 });
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('resets a connection held longer than holdTimeout, and drops new ones beyond maxHeld', async () => {
    const events: ProxyEvent[] = [];
    const proxy = await proxyFor({ target: null, holdTimeout: 200, maxHeld: 1, onEvent: (event) => events.push(event) });
    const started = Date.now();
    const first = httpGet(proxy.port, '/pid').then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code,
    );
    await waitFor(() => proxy.held() === 1);
    await expect(httpGet(proxy.port, '/pid')).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(await first).toBe('ECONNRESET');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(proxy.stats()).toMatchObject({ holdTimeouts: 1, dropped: 1 });
    expect(events.map((event) => event.type)).toEqual(['held', 'dropped', 'hold-timeout']);
  });

  it('close() resets held connections, stops listening and resolves', async () => {
    const proxy = await proxyFor({ target: null });
    const pending = httpGet(proxy.port, '/pid').then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code,
    );
    await waitFor(() => proxy.held() === 1);
    await proxy.close();
    expect(await pending).toBe('ECONNRESET');
    await expect(httpGet(proxy.port, '/pid')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.close(); // twice is fine
  });
});

describe('createProxy: bytes', () => {
  it('passes a half-close through: the client ends its side and still reads the whole answer', async () => {
    const target = await tcpServer((socket) => {
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      // Answers only after the client's FIN arrived: proves the FIN went through and the proxy
      // kept the other direction open.
      socket.on('end', () => socket.end(`got ${received} bytes`));
    });
    const proxy = await proxyFor({ target });
    const client = connectTo(proxy.port);
    const answer = readAll(client);
    client.end(Buffer.alloc(100_000, 1));
    expect((await answer).toString()).toBe('got 100000 bytes');
    await waitFor(() => proxy.connections() === 0, { message: 'the half-closed connection was not cleaned up' });
  });

  it('carries 64 MiB from a fast target to a slow client intact, stalling the target while the client does not read', async () => {
    const total = 64 * 1024 * 1024;
    const block = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    for (let i = 0; i < total / block.length; i += 1) expected.update(block);
    let written = 0;
    const target = await tcpServer((socket) => {
      socket.on('error', () => undefined);
      const pump = (): void => {
        while (written < total) {
          written += block.length;
          const more = written < total;
          if (!socket.write(block)) {
            if (more) socket.once('drain', pump);
            else socket.end();
            return;
          }
        }
        socket.end();
      };
      pump();
    });
    const proxy = await proxyFor({ target });
    const client = connectTo(proxy.port);
    client.pause();
    await new Promise<void>((resolve) => client.once('connect', resolve));
    // Not reading: the target must stall well before it wrote everything (kernel buffers plus the
    // proxy's stream buffers hold a bounded amount).
    let last = -1;
    await waitFor(
      () => {
        const stalled = written === last && written > 0;
        last = written;
        return stalled;
      },
      { timeout: 10_000, interval: 200, message: 'the target never stalled' },
    );
    expect(written).toBeLessThan(total / 2); // about 9 MiB on this machine

    const actual = createHash('sha256');
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      client.on('data', (chunk: Buffer) => {
        received += chunk.length;
        actual.update(chunk);
      });
      client.once('end', resolve);
      client.once('error', reject);
      client.resume();
    });
    expect(received).toBe(total);
    expect(actual.digest('hex')).toBe(expected.digest('hex'));
  });

  it('passes a target reset on to the client as ECONNRESET and keeps serving', async () => {
    const resetting = await tcpServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const echo = await tcpServer((socket) => socket.pipe(socket));
    const events: ProxyEvent[] = [];
    const proxy = await proxyFor({ target: resetting, onEvent: (event) => events.push(event) });

    const victim = connectTo(proxy.port);
    const outcome = readAll(victim).then(
      () => 'ended cleanly',
      (error: NodeJS.ErrnoException) => error.code,
    );
    victim.write('hello');
    expect(await outcome).toBe('ECONNRESET');
    expect(events).toContainEqual({ type: 'upstream-error', target: resetting, code: 'ECONNRESET' });

    proxy.setTarget(echo);
    const next = connectTo(proxy.port);
    const answer = readAll(next);
    next.end('still here');
    expect((await answer).toString()).toBe('still here');
    await waitFor(() => proxy.connections() === 0);
  });

  it('passes a client reset on to the target and keeps serving', async () => {
    let targetSaw: string | undefined;
    let received = '';
    const target = await tcpServer((socket) => {
      socket.on('error', (error: NodeJS.ErrnoException) => {
        targetSaw = error.code;
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
    });
    const proxy = await proxyFor({ target });
    const client = connectTo(proxy.port);
    client.write('partial request');
    // The reset must reach a proxy that has read everything before it. An RST that arrives behind
    // unread bytes is reported by libuv as a plain end of stream (see the note on reset in proxy.ts).
    await waitFor(() => received === 'partial request', { message: 'the bytes before the reset did not reach the target' });
    client.resetAndDestroy();
    await waitFor(() => targetSaw !== undefined, { message: 'the target did not see the reset' });
    expect(targetSaw).toBe('ECONNRESET');
    await waitFor(() => proxy.connections() === 0);
    expect(proxy.stats().socketErrors).toBeGreaterThanOrEqual(1);
  });
});
