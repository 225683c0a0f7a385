/**
 * forwardUpgrade / answerClientError / rawResponse (src/reload/http-proxy-upgrade.ts) on real
 * sockets on 127.0.0.1: a front HTTP server hands its 'upgrade' events to forwardUpgrade, an
 * instance server answers the handshake (101, a refusal, or nothing at all).
 */

import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerClientError, forwardUpgrade, rawResponse } from '../../src/reload/http-proxy-upgrade.js';
import { waitFor } from '../helpers/processes.js';

const servers: net.Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          if (s instanceof http.Server) s.closeAllConnections();
        }),
    ),
  );
});

async function listening<T extends net.Server>(server: T): Promise<number> {
  servers.push(server);
  // Upgraded connections leave the HTTP server's bookkeeping: track every one to close it.
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

interface Front {
  port: number;
  tunnels: Set<Socket>;
  statuses: number[];
  errors: string[];
  done: () => number;
}

/** A front server whose upgrades go to 127.0.0.1:`target` through forwardUpgrade. */
async function front(target: number, responseTimeoutMs = 60_000): Promise<Front> {
  const tunnels = new Set<Socket>();
  const statuses: number[] = [];
  const errors: string[] = [];
  let done = 0;
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    // As the HTTP proxy does: a client's socket error is handled where it matters, never thrown.
    socket.on('error', () => undefined);
    forwardUpgrade({
      req,
      socket,
      head,
      targetHost: '127.0.0.1',
      port: target,
      headers: req.rawHeaders,
      tunnels,
      onError: (code) => errors.push(code),
      onStatus: (status) => statuses.push(status),
      onDone: () => (done += 1),
      responseTimeoutMs,
    });
  });
  const port = await listening(server);
  return { port, tunnels, statuses, errors, done: () => done };
}

/** A raw client: sends `text`, collects what comes back until the proxy closes. */
function rawClient(port: number, text: string): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(text);
  return { socket, received: () => received, closed };
}

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';

describe('forwardUpgrade', () => {
  it('tunnels both ways after a 101, passing on the bytes the client sent with its head, and finishes once when both sides close', async () => {
    const upstreamSides: Socket[] = [];
    const instance = http.createServer();
    instance.on('upgrade', (_req, socket: Socket, head: Buffer) => {
      upstreamSides.push(socket);
      // The server's first frame travels in the same write as its 101 head.
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello-from-instance;`);
      if (head.length > 0) socket.write(`echo:${head.toString()};`);
      socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk.toString()};`));
    });
    const f = await front(await listening(instance));
    const client = rawClient(f.port, `${HANDSHAKE}early-frame`);

    await waitFor(() => client.received().includes('echo:early-frame;'), { message: () => client.received() });
    expect(client.received()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(client.received()).toContain('hello-from-instance;');
    expect(f.statuses).toEqual([101]);
    expect(f.tunnels.size).toBe(1);

    client.socket.write('ping');
    await waitFor(() => client.received().includes('echo:ping;'), { message: () => client.received() });

    upstreamSides[0]?.destroy();
    await client.closed;
    await waitFor(() => f.done() === 1 && f.tunnels.size === 0);
    expect(f.errors).toEqual([]);
  });

  it('passes a refusal on with Connection: close, dropping the hop-by-hop headers, then finishes', async () => {
    const instance = http.createServer((_req, res) => {
      res.writeHead(426, { 'Keep-Alive': 'timeout=5', 'X-Reason': 'upgrade-required' });
      res.end('use websockets properly');
    });
    const f = await front(await listening(instance));
    const client = rawClient(f.port, HANDSHAKE);

    await client.closed;
    const [head = '', body] = client.received().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
    expect(head).toContain('X-Reason: upgrade-required');
    expect(head).toContain('Connection: close');
    expect(head.toLowerCase()).not.toContain('keep-alive');
    expect(head.toLowerCase()).not.toContain('transfer-encoding');
    // The body arrives as the instance framed it (chunked), after the rewritten head.
    expect(body).toContain('use websockets properly');
    expect(f.statuses).toEqual([426]);
    await waitFor(() => f.done() === 1);
  });

  it('answers 502 with the cause when the instance cannot be reached', async () => {
    const closed = net.createServer();
    const deadPort = await listening(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    servers.splice(servers.indexOf(closed), 1);
    const f = await front(deadPort);
    const client = rawClient(f.port, HANDSHAKE);

    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    const body = JSON.parse(client.received().split('\r\n\r\n')[1] ?? '') as Record<string, string>;
    expect(body).toEqual({ error: 'bad_gateway', cause: 'ECONNREFUSED', message: 'The instance failed the upgrade (ECONNREFUSED).' });
    expect(f.errors).toEqual(['ECONNREFUSED']);
    expect(f.statuses).toEqual([502]);
    expect(f.done()).toBe(1);
  });

  it.each<[string, 'reset' | 'fin']>([
    ['resets', 'reset'],
    ['hangs up (FIN)', 'fin'],
  ])('gives up the handshake when the client %s before the instance answers', async (_how, how) => {
    const seen: Socket[] = [];
    const instanceClosed: Promise<void>[] = [];
    const instance = http.createServer();
    instance.on('upgrade', (_req, socket: Socket) => {
      // Never answers: only the client's departure ends the exchange.
      seen.push(socket);
      // The HTTP server allows half-open sockets: the proxy's hang-up shows as 'end'.
      instanceClosed.push(new Promise<void>((resolve) => socket.once('end', () => resolve())));
      socket.resume();
    });
    const f = await front(await listening(instance));
    const client = rawClient(f.port, HANDSHAKE);
    await waitFor(() => seen.length === 1);

    if (how === 'reset') client.socket.resetAndDestroy();
    else client.socket.end();
    await instanceClosed[0];
    await client.closed;
    expect(f.tunnels.size).toBe(0);
    // Nobody was answered, and the instance did nothing wrong: no status, no upstream error.
    expect(f.statuses).toEqual([]);
    expect(f.errors).toEqual([]);
    expect(f.done()).toBe(1);
  });

  it('answers 504 when the instance does not answer the handshake within the response timeout, and closes both sides', async () => {
    const instanceClosed: Promise<void>[] = [];
    const instance = http.createServer();
    instance.on('upgrade', (_req, socket: Socket) => {
      // Never answers. The HTTP server allows half-open sockets: the proxy's hang-up shows as 'end'.
      instanceClosed.push(new Promise<void>((resolve) => socket.once('end', () => resolve())));
      socket.on('error', () => undefined);
      socket.resume();
    });
    const f = await front(await listening(instance), 150);
    const client = rawClient(f.port, HANDSHAKE);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    const body = JSON.parse(client.received().split('\r\n\r\n')[1] ?? '') as Record<string, string>;
    expect(body).toMatchObject({ error: 'gateway_timeout', cause: 'ETIMEDOUT' });
    expect(f.errors).toEqual(['ETIMEDOUT']);
    expect(f.statuses).toEqual([504]);
    await instanceClosed[0];
    expect(f.done()).toBe(1);
  });

  it('keeps an open tunnel that is quiet for longer than the response timeout', async () => {
    const instance = http.createServer();
    instance.on('upgrade', (_req, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket); // echo
      // The tunnel's first message comes three response timeouts later.
      setTimeout(() => socket.write('late'), 300);
    });
    const f = await front(await listening(instance), 100);
    const client = rawClient(f.port, HANDSHAKE);
    await waitFor(() => client.received().endsWith('\r\n\r\nlate'));
    expect(f.statuses).toEqual([101]);
    client.socket.write('still-there');
    await waitFor(() => client.received().endsWith('still-there'));
    expect(f.tunnels.size).toBe(1);
  });

  it('passes on what the client sent while the instance had not answered yet', async () => {
    let answer: (() => void) | null = null;
    const got: string[] = [];
    const instance = http.createServer();
    instance.on('upgrade', (_req, socket: Socket) => {
      socket.on('data', (chunk: Buffer) => got.push(chunk.toString()));
      answer = () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    });
    const f = await front(await listening(instance));
    const client = rawClient(f.port, HANDSHAKE);
    const answerNow = await waitFor(() => answer);
    client.socket.write('sent-before-101');
    await waitFor(() => client.socket.bytesWritten > HANDSHAKE.length);
    // Held by the proxy until the instance has answered: nothing reaches the instance before.
    expect(got).toEqual([]);
    expect(f.statuses).toEqual([]);
    answerNow();
    await waitFor(() => got.join('') === 'sent-before-101', { message: () => JSON.stringify(got) });
    expect(f.statuses).toEqual([101]);
  });

  it('closes a half-closed tunnel whose other side never closes, after the linger time', async () => {
    let upstreamEnded!: () => void;
    const ended = new Promise<void>((resolve) => (upstreamEnded = resolve));
    const instance = http.createServer();
    instance.on('upgrade', (_req, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      // Sees the client's end, but keeps its own side open.
      socket.on('end', () => upstreamEnded());
      socket.on('error', () => undefined);
    });
    const f = await front(await listening(instance));
    const client = rawClient(f.port, HANDSHAKE);
    await waitFor(() => f.tunnels.size === 1 && client.received().includes(' 101 '));

    // Only the module's linger timer is faked (waitFor's polling would stall under fake timers).
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    client.socket.end();
    await ended;
    expect(f.done()).toBe(0);
    expect(f.tunnels.size).toBe(1);
    vi.advanceTimersByTime(5000);
    await client.closed;
    vi.useRealTimers();
    await waitFor(() => f.done() === 1 && f.tunnels.size === 0);
  });
});

/** The socket calls answerClientError makes, on a stand-in. */
function fakeSocket(overrides: { writable?: boolean; headersSent?: boolean } = {}): Socket & { calls: string[] } {
  const calls: string[] = [];
  const fake = {
    calls,
    writable: overrides.writable ?? true,
    ...(overrides.headersSent === undefined ? {} : { _httpMessage: { headersSent: overrides.headersSent } }),
    destroy: () => calls.push('destroy'),
    end: (text: string) => calls.push(`end ${text.split('\r\n')[0] ?? ''}`),
    setTimeout: (ms: number) => calls.push(`timeout ${ms}`),
  };
  return fake as unknown as Socket & { calls: string[] };
}

describe('answerClientError', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout'],
    ['HPE_INVALID_METHOD', 'HTTP/1.1 400 Bad Request'],
  ])('answers %s as Node would (%s), then closes within a second', (code, statusLine) => {
    const socket = fakeSocket();
    expect(answerClientError(code, socket)).toBe(true);
    expect(socket.calls).toEqual([`end ${statusLine}`, 'timeout 1000']);
  });

  it('only closes a connection the client reset, and does not count it', () => {
    for (const code of ['ECONNRESET', 'EPIPE']) {
      const socket = fakeSocket();
      expect(answerClientError(code, socket)).toBe(false);
      expect(socket.calls).toEqual(['destroy']);
    }
    const gone = fakeSocket({ writable: false });
    expect(answerClientError('HPE_INVALID_METHOD', gone)).toBe(false);
    expect(gone.calls).toEqual(['destroy']);
  });

  it('only closes (but counts) a connection whose response is already under way', () => {
    const socket = fakeSocket({ headersSent: true });
    expect(answerClientError('HPE_INVALID_METHOD', socket)).toBe(true);
    expect(socket.calls).toEqual(['destroy']);
  });
});

describe('rawResponse', () => {
  it('destroys a socket that can no longer be written instead of writing to it', () => {
    const socket = fakeSocket({ writable: false });
    rawResponse(socket, 502, { error: 'bad_gateway' });
    expect(socket.calls).toEqual(['destroy']);
  });

  it('writes a complete JSON response with its length, even for a status Node has no text for', () => {
    const written: string[] = [];
    const socket = { writable: true, end: (text: string) => written.push(text) } as unknown as Socket;
    rawResponse(socket, 599, { error: 'odd' });
    expect(written).toEqual(['HTTP/1.1 599 \r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{"error":"odd"}']);
  });
});
