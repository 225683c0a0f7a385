/**
 * The HTTP reload proxy (issue 13) against real servers on 127.0.0.1: in-process node:http and raw
 * TCP servers, so each test can make an instance misbehave at an exact moment (reset a connection
 * while a request is on it, hold a response, stream slowly). No sleeps: waits poll with deadlines.
 */

import { createHash } from 'node:crypto';
import { Agent, createServer as createHttpServer, request } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpProxy } from '../../src/reload/http-proxy.js';
import type { HttpProxyOptions, HttpReloadProxy } from '../../src/reload/http-proxy.js';
import { waitFor } from '../helpers/processes.js';

const proxies: HttpReloadProxy[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close({ timeout: 1000 })));
  await Promise.all(
    servers.splice(0).map((server) => {
      (server as HttpServer).closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

async function proxyFor(options: Partial<HttpProxyOptions> = {}): Promise<HttpReloadProxy> {
  const proxy = await createHttpProxy({ host: '127.0.0.1', port: 0, ...options });
  proxies.push(proxy);
  return proxy;
}

async function listening<S extends Server>(server: S): Promise<S & { port: number }> {
  servers.push(server);
  server.on('connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

/** An instance named `name`: answers its name, counts what it saw per method and path. */
async function instance(name: string, handler?: (req: IncomingMessage, res: ServerResponse) => boolean) {
  const seen = new Map<string, number>();
  const server = await listening(
    createHttpServer((req, res) => {
      const key = `${req.method} ${req.url}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (handler?.(req, res)) return;
      req.resume();
      req.on('end', () => res.end(name));
    }),
  );
  return { name, server, port: server.port, target: { port: server.port, id: name }, seen: (key: string) => seen.get(key) ?? 0 };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, options: { method?: string; path?: string; agent?: Agent; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', agent: options.agent ?? false, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function keepAliveAgent(maxSockets: number): Agent & { opened: () => number } {
  let opened = 0;
  const agent = new Agent({ keepAlive: true, maxSockets });
  const create = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
  (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (...args) => {
    opened += 1;
    return create(...args);
  };
  agents.push(agent);
  return Object.assign(agent, { opened: () => opened });
}

function rawConnect(port: number): Socket {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  return socket;
}

/** Everything the socket receives until it closes. */
function readToClose(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(text));
  });
}

describe('createHttpProxy: switching instances', () => {
  it('keeps keep-alive client connections across a switch: 0 errors, in-flight requests on blue finish, blue then drains', async () => {
    let releaseSlow: (() => void) | undefined;
    const blue = await instance('blue', (req, res) => {
      if (req.url !== '/slow') return false;
      releaseSlow = () => res.end('blue-slow');
      return true;
    });
    const green = await instance('green');
    const proxy = await proxyFor({ target: blue.target });
    const agent = keepAliveAgent(4);

    const slow = send(proxy.port, { path: '/slow', agent: keepAliveAgent(1) });
    await waitFor(() => releaseSlow !== undefined, { message: 'blue never saw /slow' });

    const answers: Answer[] = [];
    const errors: unknown[] = [];
    const batch = async (): Promise<void> => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => send(proxy.port, { agent })));
      for (const r of results) {
        if (r.status === 'fulfilled') answers.push(r.value);
        else errors.push(r.reason);
      }
    };
    await batch();
    const inFlight = batch();
    proxy.setTarget(green.target);
    // Node's plain close(): blue stops accepting and resets its idle keep-alive connections.
    blue.server.close();
    await inFlight;
    await batch();

    expect(errors).toEqual([]);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.at(-1)?.body).toBe('green');
    expect(agent.opened()).toBeLessThanOrEqual(4); // the clients' connections survived the switch
    expect(await proxy.waitForDrain(blue.port, 20)).toBe(false); // /slow is still on blue
    releaseSlow?.();
    expect(await slow).toMatchObject({ status: 200, body: 'blue-slow' });
    expect(await proxy.waitForDrain(blue.port, 5000)).toBe(true);

    const stats = proxy.stats();
    const [cur, old] = [stats.targets.find((t) => t.id === 'green'), stats.targets.find((t) => t.id === 'blue')];
    expect(cur).toMatchObject({ current: true, inFlight: 0 });
    expect(old).toMatchObject({ current: false, inFlight: 0 });
    expect((cur?.requests ?? 0) + (old?.requests ?? 0)).toBe(25);
    expect((cur?.responses['2xx'] ?? 0) + (old?.responses['2xx'] ?? 0)).toBe(25);
    expect(cur?.duration.count).toBe(cur?.requests);
    expect(cur?.duration.counts.at(-1)).toBe(cur?.requests); // cumulative: +Inf holds them all
  });

  it('retries a GET that the retiring instance reset before answering, on the current one', async () => {
    const green = await instance('green');
    const late: { proxy?: HttpReloadProxy } = {};
    let blueSaw = 0;
    // Blue accepts the request, then — as a server closing a connection it thought idle — resets it.
    const blue = await listening(
      createTcpServer((socket) => {
        socket.once('data', () => {
          blueSaw += 1;
          late.proxy?.setTarget(green.target);
          socket.resetAndDestroy();
        });
      }),
    );
    const proxy = (late.proxy = await proxyFor({ target: { port: blue.port, id: 'blue' } }));
    expect(await send(proxy.port, { path: '/thing' })).toMatchObject({ status: 200, body: 'green' });
    expect(blueSaw).toBe(1);
    expect(green.seen('GET /thing')).toBe(1);
    const stats = proxy.stats().targets.find((t) => t.id === 'blue');
    expect(stats).toMatchObject({ retries: 1, upstreamErrors: 1 });
  });

  it('never sends a POST again: the instance saw it once, the client gets a 502 naming the cause', async () => {
    const green = await instance('green');
    const late: { proxy?: HttpReloadProxy } = {};
    const blue = await instance('blue', (req) => {
      // Dies with the request in hand: switch away, then drop the connection without answering.
      late.proxy?.setTarget(green.target);
      req.socket.resetAndDestroy();
      return true;
    });
    const proxy = (late.proxy = await proxyFor({ target: blue.target }));
    const answer = await send(proxy.port, { method: 'POST', path: '/charge', headers: { 'content-type': 'application/json' }, body: '{"amount":5}' });
    expect(answer.status).toBe(502);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'bad_gateway', cause: 'ECONNRESET', instance: 'blue' });
    expect(blue.seen('POST /charge')).toBe(1);
    expect(green.seen('POST /charge')).toBe(0);
    expect(proxy.stats().targets.find((t) => t.id === 'blue')).toMatchObject({ retries: 0, upstreamErrors: 1, responses: { '5xx': 1 } });
  });

  it('sends a request refused by a crashed instance (nothing reached it, even a POST) once the next one is set', async () => {
    const gone = await listening(createTcpServer());
    const gonePort = gone.port;
    await new Promise((resolve) => gone.close(resolve));
    const proxy = await proxyFor({ target: { port: gonePort, id: 'crashed' } });
    const answer = send(proxy.port, { method: 'POST', path: '/order', body: 'x' });
    await waitFor(() => proxy.queued() === 1, { message: 'the refused request did not wait' });
    const green = await instance('green');
    proxy.setTarget(green.target);
    expect(await answer).toMatchObject({ status: 200, body: 'green' });
    expect(green.seen('POST /order')).toBe(1);
  });
});

describe('createHttpProxy: what a reload waits for before it signals the old instance', () => {
  it('waitForAnswers holds while a request sent to blue awaits its answer, and not for a stream blue already answers', async () => {
    const held: ServerResponse[] = [];
    const blue = await instance('blue', (req, res) => {
      if (req.url === '/slow') {
        held.push(res);
        return true;
      }
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: open\n\n');
        held.push(res);
        return true;
      }
      return false;
    });
    const green = await instance('green');
    const proxy = await proxyFor({ target: blue.target });
    // An SSE stream blue answered (its head is relayed), then a request blue holds unanswered.
    const events = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port: proxy.port, path: '/events', agent: false }, resolve).on('error', reject).end();
    });
    expect(events.statusCode).toBe(200);
    const slow = send(proxy.port, { path: '/slow' });
    await waitFor(() => blue.seen('GET /slow') === 1, { timeout: 5000, message: 'blue never got /slow' });
    proxy.setTargetAt(0, green.target);
    expect(proxy.inFlight(blue.port)).toBe(2);

    let answered: boolean | null = null;
    const waiting = proxy.waitForAnswers(blue.port, 10_000).then((result) => (answered = result));
    // New requests go to green meanwhile, and the wait still holds for blue's unanswered one.
    expect((await send(proxy.port)).body).toBe('green');
    expect(answered).toBeNull();
    held.find((res) => !res.headersSent)?.end('slow done');
    expect((await slow).body).toBe('slow done');
    expect(await waiting).toBe(true);
    // The stream blue answered is still in flight: it does not hold the reload, the drain counts it.
    expect(proxy.inFlight(blue.port)).toBe(1);
    expect(await proxy.waitForAnswers(blue.port, 1)).toBe(true);
    expect(await proxy.waitForDrain(blue.port, 1)).toBe(false);
    events.destroy();
  });

  it('waitForAnswers gives up (false) after its timeout when blue never answers', async () => {
    const blue = await instance('blue', () => true);
    const proxy = await proxyFor({ target: blue.target });
    const never = send(proxy.port, { path: '/never' }).catch((error: unknown) => error);
    await waitFor(() => blue.seen('GET /never') === 1, { timeout: 5000, message: 'blue never got the request' });
    expect(await proxy.waitForAnswers(blue.port, 50)).toBe(false);
    await proxy.close({ timeout: 1 });
    await never;
  });
});

describe('createHttpProxy: no instance', () => {
  it('holds requests until a target is set', async () => {
    const proxy = await proxyFor();
    const answer = send(proxy.port, { path: '/wait' });
    await waitFor(() => proxy.queued() === 1, { message: 'the request did not wait' });
    const blue = await instance('blue');
    proxy.setTarget(blue.target);
    expect(await answer).toMatchObject({ status: 200, body: 'blue' });
    expect(proxy.queued()).toBe(0);
  });

  it('answers 503 (JSON) once queueTimeoutMs has passed', async () => {
    const events: string[] = [];
    const proxy = await proxyFor({ queueTimeoutMs: 100, onEvent: (e) => events.push(e.type) });
    const answer = await send(proxy.port, { path: '/wait' });
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'no_instance' });
    expect(proxy.stats()).toMatchObject({ queuedTotal: 1, queueTimeouts: 1, queued: 0 });
    expect(events).toEqual(['queued', 'queue-timeout']);
  });
});

describe('createHttpProxy: pass-through', () => {
  it('tunnels a WebSocket upgrade both ways', async () => {
    const backend = await listening(createHttpServer((_req, res) => res.end('plain')));
    backend.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      const key = String(req.headers['sec-websocket-key']);
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', (chunk: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), chunk])));
      socket.on('end', () => socket.end());
    });
    const proxy = await proxyFor({ target: { port: backend.port, id: 'ws' } });
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const { res, socket } = await new Promise<{ res: IncomingMessage; socket: Socket }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: proxy.port,
        path: '/ws',
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
      });
      req.on('upgrade', (upgraded: IncomingMessage, s: Socket) => resolve({ res: upgraded, socket: s }));
      req.on('error', reject);
      req.end();
    });
    sockets.push(socket);
    expect(res.statusCode).toBe(101);
    expect(res.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const echoed = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    socket.write('hello');
    expect(await echoed).toBe('echo:hello');
    expect(proxy.inFlight(backend.port)).toBe(1);
    socket.destroy();
    expect(await proxy.waitForDrain(backend.port, 5000)).toBe(true);
  });

  it('streams a chunked (SSE) response as it is written, without buffering', async () => {
    let next: (() => void) | undefined;
    const backend = await instance('sse', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      next = () => res.end('data: two\n\n');
      return true;
    });
    const proxy = await proxyFor({ target: backend.target });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port: proxy.port, path: '/events', agent: false }, resolve).on('error', reject).end();
    });
    expect(res.headers['content-type']).toBe('text/event-stream');
    res.setEncoding('utf8');
    // The first event arrives while the second has not been written yet.
    const first = await new Promise<string>((resolve) => res.once('data', resolve));
    expect(first).toBe('data: one\n\n');
    let rest = '';
    res.on('data', (chunk: string) => (rest += chunk));
    const ended = new Promise((resolve) => res.once('end', resolve));
    next?.();
    await ended;
    expect(rest).toBe('data: two\n\n');
  });

  it('relays a 64 MiB response to a client that stops reading for a while: intact, in order, complete', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 64 * 1024 * 1024; // far more than the loopback socket buffers on both hops hold
    const sent = createHash('sha256');
    const state = { written: 0, blocked: false, finished: false };
    const backend = await instance('big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
      const pump = (): void => {
        state.blocked = false;
        while (state.written < TOTAL) {
          const chunk = Buffer.alloc(CHUNK, (state.written / CHUNK) % 251);
          sent.update(chunk);
          state.written += CHUNK;
          if (state.written === TOTAL) break;
          if (!res.write(chunk)) {
            state.blocked = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end(Buffer.alloc(CHUNK, (TOTAL / CHUNK - 1) % 251), () => (state.finished = true));
      };
      pump();
      return true;
    });
    const proxy = await proxyFor({ target: backend.target });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port: proxy.port, path: '/big', agent: false }, resolve).on('error', reject).end();
    });
    res.pause();
    // The client reads nothing until the instance has had to wait for 'drain': by then the client's
    // socket is full and the proxy has paused the instance's response (http-proxy-respond.ts).
    await waitFor(() => state.blocked, { timeout: 10_000 });
    const got = createHash('sha256');
    let bytes = 0;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      got.update(chunk);
    });
    const ended = new Promise((resolve) => res.once('end', resolve));
    res.resume(); // after an explicit pause(), a 'data' listener alone does not
    await ended;
    expect(bytes).toBe(TOTAL);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    await waitFor(() => state.finished);
  });

  it('adds X-Forwarded-For/-Proto/-Host and drops hop-by-hop headers', async () => {
    const backend = await instance('echo', (req, res) => {
      res.end(JSON.stringify(req.headers));
      return true;
    });
    const proxy = await proxyFor({ target: backend.target });
    const answer = await send(proxy.port, { headers: { 'X-Forwarded-For': '10.1.1.1', Connection: 'keep-alive, X-Secret', 'X-Secret': 's', 'X-App': 'a' } });
    const seen = JSON.parse(answer.body) as Record<string, string>;
    expect(seen['x-forwarded-for']).toBe('10.1.1.1, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(`127.0.0.1:${proxy.port}`);
    expect(seen['host']).toBe(`127.0.0.1:${proxy.port}`);
    expect(seen['x-app']).toBe('a');
    expect(seen['x-secret']).toBeUndefined();
  });

  it('leaves X-Forwarded-* alone when forwardedHeaders is off', async () => {
    const backend = await instance('echo', (req, res) => {
      res.end(JSON.stringify(req.headers));
      return true;
    });
    const proxy = await proxyFor({ target: backend.target, forwardedHeaders: false });
    const seen = JSON.parse((await send(proxy.port, { headers: { 'X-Forwarded-Proto': 'https' } })).body) as Record<string, string>;
    expect(seen['x-forwarded-for']).toBeUndefined();
    expect(seen['x-forwarded-host']).toBeUndefined();
    expect(seen['x-forwarded-proto']).toBe('https');
  });
});

describe('createHttpProxy: limits', () => {
  it('answers 431 to a request head over maxHeaderSize, without bothering the instance', async () => {
    const backend = await instance('blue');
    const proxy = await proxyFor({ target: backend.target, limits: { maxHeaderSize: 1024 } });
    const socket = rawConnect(proxy.port);
    const reply = readToClose(socket);
    socket.write(`GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`);
    expect(await reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(backend.seen('GET /big')).toBe(0);
    expect(proxy.stats().clientErrors).toBe(1);
  });

  it('answers 413 to a body over maxBodySize', async () => {
    const backend = await instance('blue');
    const proxy = await proxyFor({ target: backend.target, limits: { maxBodySize: 10 } });
    const answer = await send(proxy.port, { method: 'PUT', path: '/file', body: 'x'.repeat(100) });
    expect(answer.status).toBe(413);
    expect(backend.seen('PUT /file')).toBe(0);
  });

  it('closes a connection whose head never ends (slowloris) after headersTimeout', async () => {
    const backend = await instance('blue');
    const proxy = await proxyFor({ target: backend.target, limits: { headersTimeout: 200, requestTimeout: 400 } });
    const socket = rawConnect(proxy.port);
    const reply = readToClose(socket);
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n');
    expect(await reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(backend.seen('GET /slow')).toBe(0);
  });

  it('close() answers waiting requests 503, closes idle client connections and resolves', async () => {
    const backend = await instance('blue');
    const proxy = await proxyFor({ target: backend.target });
    const agent = keepAliveAgent(1);
    expect(await send(proxy.port, { agent })).toMatchObject({ status: 200 });
    const idle = Object.values(agent.freeSockets).flat()[0] as Socket;
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    proxy.setTarget(null);
    const waiting = send(proxy.port);
    await waitFor(() => proxy.queued() === 1, { message: 'the request did not wait' });
    await proxy.close();
    expect((await waiting).status).toBe(503);
    await idleClosed;
  });
});
