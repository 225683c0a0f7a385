/**
 * The HTTP proxy's upstream client (src/reload/http-upstream.ts) against raw TCP servers on
 * 127.0.0.1 that answer byte for byte what each test needs: reuse, the keep-alive rules, the error
 * codes and the moment of each failure, one release per request, the request body's framing, and
 * the response timeout.
 * No sleeps: waits poll with deadlines.
 */

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResponseHead } from '../../src/reload/http-response-parser.js';
import { UpstreamPool, type UpstreamHandler } from '../../src/reload/http-upstream.js';
import { waitFor } from '../helpers/processes.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
const pools: UpstreamPool<string, string>[] = [];

afterEach(async () => {
  for (const pool of pools.splice(0)) pool.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A raw server: `answer` gets each request's bytes as they come and the socket to answer on. */
async function rawServer(answer: (socket: Socket, received: string) => void): Promise<{ port: number; connections: () => number; received: string[] }> {
  const received: string[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.push(socket);
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      received.push(text);
      answer(socket, text);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, received };
}

/** A handler that records what the pool reports for each request (named by its exchange). */
function recorder() {
  const log: string[] = [];
  const bodies = new Map<string, string>();
  const heads = new Map<string, ResponseHead>();
  const handler: UpstreamHandler<string, string> = {
    head: (ex, head) => {
      heads.set(ex, head);
      log.push(`${ex} head ${head.status}`);
    },
    data: (ex, chunk) => {
      bodies.set(ex, (bodies.get(ex) ?? '') + chunk.toString('latin1'));
      return true;
    },
    end: (ex) => log.push(`${ex} end`),
    error: (ex, code, started) => log.push(`${ex} error ${code} ${started ? 'after head' : 'before head'}`),
    release: (ex, owner) => log.push(`${ex} release ${owner}`),
  };
  return { log, bodies, heads, handler };
}

function pool(port: number, handler: UpstreamHandler<string, string>, responseTimeoutMs = 60_000): UpstreamPool<string, string> {
  const p = new UpstreamPool<string, string>('127.0.0.1', port, 'owner', handler, 16 * 1024, responseTimeoutMs);
  pools.push(p);
  return p;
}

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
const OK = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

/**
 * A raw server that answers each complete GET head with `reply(n)` (n: GETs seen on that
 * connection so far), ending the connection after it when `end`; a recorder and a pool on it, and
 * `send(ex, fresh)`, which sends a GET as `ex` and waits until it is released.
 */
async function answering(reply: (n: number) => string, end = false) {
  const server = await rawServer((socket, text) => {
    if (!text.endsWith('\r\n\r\n')) return;
    const answer = reply(text.split('GET').length - 1);
    if (end) socket.end(answer);
    else socket.write(answer);
  });
  const r = recorder();
  const p = pool(server.port, r.handler);
  const send = async (ex: string, fresh = false): Promise<void> => {
    p.request(ex, GET, 'none', false, fresh);
    await waitFor(() => r.log.includes(`${ex} release owner`));
  };
  return { server, r, p, send };
}

describe('reuse', () => {
  it('sends one request after another on one connection, and a fresh one when asked', async () => {
    const { server, r, send } = await answering((n) => OK(`#${n}`));
    await send('a');
    await send('b');
    expect(server.connections()).toBe(1);
    expect(r.bodies.get('b')).toBe('#2');
    await send('c', true);
    expect(server.connections()).toBe(2);
    expect(r.log).toEqual(['a head 200', 'a end', 'a release owner', 'b head 200', 'b end', 'b release owner', 'c head 200', 'c end', 'c release owner']);
  });

  it('does not reuse a connection the server closes, or one past its announced keep-alive timeout less a second', async () => {
    for (const extra of ['Connection: close\r\n', 'Keep-Alive: timeout=1\r\n']) {
      const { server, r, send } = await answering(() => OK('x', extra));
      await send('a');
      await send('b');
      expect(server.connections(), extra).toBe(2);
      expect(r.log.filter((line) => line.includes('error'))).toEqual([]);
    }
  });

  it('drops an idle connection the server closed, and opens a new one for the next request', async () => {
    const { server, r, p, send } = await answering(() => OK('x'), true);
    await send('a');
    await waitFor(() => p.size === 0);
    await send('b');
    expect(r.log).toEqual(['a head 200', 'a end', 'a release owner', 'b head 200', 'b end', 'b release owner']);
    expect(server.connections()).toBe(2);
  });
});

describe('failures, each reported once and released once', () => {
  it('reports a refused connection as ECONNREFUSED before any head', async () => {
    const server = await rawServer(() => undefined);
    const port = server.port;
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const r = recorder();
    pool(port, r.handler).request('a', GET, 'none', false, false);
    await waitFor(() => r.log.includes('a release owner'));
    expect(r.log).toEqual(['a error ECONNREFUSED before head', 'a release owner']);
  });

  it('reports a connection closed before the head as ECONNRESET, and one cut mid-body after the head', async () => {
    const server = await rawServer((socket, text) => {
      if (!text.endsWith('\r\n\r\n')) return;
      if (text.includes('/cut')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      else socket.destroy();
    });
    const r = recorder();
    const p = pool(server.port, r.handler);
    p.request('a', GET, 'none', false, false);
    p.request('b', 'GET /cut HTTP/1.1\r\nHost: x\r\n\r\n', 'none', false, false);
    await waitFor(() => r.log.includes('a release owner') && r.log.includes('b release owner'));
    expect(r.log.filter((line) => line.startsWith('a'))).toEqual(['a error ECONNRESET before head', 'a release owner']);
    expect(r.log.filter((line) => line.startsWith('b'))).toEqual(['b head 200', 'b error ECONNRESET after head', 'b release owner']);
    expect(r.bodies.get('b')).toBe('abc');
  });

  /** One request 'a' answered by `reply`; done when released and the pool is empty (the connection dropped). */
  async function oneRequest(reply: string, end: boolean) {
    const { r, p, send } = await answering(() => reply, end);
    await send('a');
    await waitFor(() => p.size === 0);
    return r;
  }

  it("reports a malformed response with the parser's code and drops the connection", async () => {
    const r = await oneRequest('HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n', false);
    expect(r.log).toEqual(['a error HPE_INVALID_CONTENT_LENGTH before head', 'a release owner']);
  });

  it('ends a body that runs to the connection end as complete, and does not reuse that connection', async () => {
    const r = await oneRequest('HTTP/1.1 200 OK\r\n\r\nall of it', true);
    expect(r.log).toEqual(['a head 200', 'a end', 'a release owner']);
    expect(r.bodies.get('a')).toBe('all of it');
  });

  /** A request 'a' the server has received and will never answer. */
  async function unanswered() {
    const server = await rawServer(() => undefined);
    const r = recorder();
    const p = pool(server.port, r.handler);
    const upstream = p.request('a', GET, 'none', false, false);
    await waitFor(() => server.received.length > 0);
    return { r, p, upstream };
  }

  it('releases an aborted request without an error and closes its connection', async () => {
    const { r, p, upstream } = await unanswered();
    upstream.abort('a');
    upstream.abort('a');
    await waitFor(() => p.size === 0);
    expect(r.log).toEqual(['a release owner']);
  });

  it('fails the busy requests of a destroyed pool', async () => {
    const { r, p } = await unanswered();
    p.destroy();
    await waitFor(() => r.log.includes('a release owner'));
    expect(r.log).toEqual(['a error ECONNRESET before head', 'a release owner']);
  });
});

describe('request bodies', () => {
  it('chunk-encodes a chunked body and passes a Content-Length body as it is', async () => {
    const server = await rawServer((socket, text) => {
      if (text.endsWith('0\r\n\r\n') || text.endsWith('hello')) socket.write(OK('ok'));
    });
    const r = recorder();
    const p = pool(server.port, r.handler);
    const chunked = p.request('a', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', 'chunked', false, false);
    const written: string[] = [];
    chunked.writeBody('a', Buffer.from('hello, '), () => written.push('1'));
    chunked.writeBody('a', Buffer.from('world'), () => written.push('2'));
    chunked.endBody('a');
    await waitFor(() => r.log.includes('a release owner'));
    expect(server.received.at(-1)).toBe('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nhello, \r\n5\r\nworld\r\n0\r\n\r\n');
    expect(written).toEqual(['1', '2']);
    const length = p.request('b', 'PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\n', 'length', false, false);
    length.writeBody('b', Buffer.from('hello'), () => undefined);
    length.endBody('b');
    await waitFor(() => r.log.includes('b release owner'));
    expect(server.received.at(-1)?.endsWith('PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello')).toBe(true);
    expect(server.connections()).toBe(1);
  });

  it('does not reuse a connection answered before its request body was all sent', async () => {
    const server = await rawServer((socket, text) => {
      if (text.endsWith('\r\n\r\n')) socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n');
    });
    const r = recorder();
    const p = pool(server.port, r.handler);
    const upstream = p.request('a', 'POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n', 'length', false, false);
    await waitFor(() => r.log.includes('a release owner'));
    let late = false;
    upstream.writeBody('a', Buffer.from('late'), () => {
      late = true;
    });
    upstream.endBody('a');
    expect(late).toBe(true);
    await waitFor(() => p.size === 0);
    expect(r.log).toEqual(['a head 413', 'a end', 'a release owner']);
  });
});

describe('response timeout', () => {
  const QUIET_MS = 150;

  it('fails a request sent in full that gets no answer with ETIMEDOUT, once, and closes its connection', async () => {
    let closed = 0;
    const server = await rawServer((socket) => {
      socket.on('close', () => { closed += 1; });
    });
    const r = recorder();
    const p = pool(server.port, r.handler, QUIET_MS);
    const sentAt = performance.now();
    p.request('a', GET, 'none', false, false);
    await waitFor(() => r.log.includes('a release owner'));
    // A lower bound, not a speed figure: the timer must not fire before the quiet period is over
    // (5 ms of slack for the timer's own rounding). A slow machine only makes it later.
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(QUIET_MS - 5);
    expect(r.log).toEqual(['a error ETIMEDOUT before head', 'a release owner']);
    await waitFor(() => closed === 1);
    expect(p.size).toBe(0);
  });

  it('lets a response that has started go quiet for longer (an SSE stream)', async () => {
    const server = await rawServer((socket, text) => {
      if (!text.endsWith('\r\n\r\n')) return;
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n');
      // The stream's next event comes three quiet periods later.
      setTimeout(() => socket.write('1\r\nb\r\n0\r\n\r\n'), 3 * QUIET_MS);
    });
    const r = recorder();
    const p = pool(server.port, r.handler, QUIET_MS);
    p.request('a', GET, 'none', false, false);
    await waitFor(() => r.log.includes('a release owner'));
    expect(r.log).toEqual(['a head 200', 'a end', 'a release owner']);
    expect(r.bodies.get('a')).toBe('ab');
  });

  it('does not count while the request body is still being sent; from its end, it does', async () => {
    const server = await rawServer(() => undefined);
    const r = recorder();
    const p = pool(server.port, r.handler, QUIET_MS);
    const upstream = p.request('a', 'POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n', 'length', false, false);
    // A slow uploader: the body comes three quiet periods after the head.
    setTimeout(() => {
      upstream.writeBody('a', Buffer.from('late'), () => r.log.push('a body written'));
      upstream.endBody('a');
    }, 3 * QUIET_MS);
    await waitFor(() => r.log.includes('a release owner'));
    expect(r.log).toEqual(['a body written', 'a error ETIMEDOUT before head', 'a release owner']);
    expect(server.received.at(-1)?.endsWith('\r\n\r\nlate')).toBe(true);
  });

  it('sets no timer at all when there is no response timeout (Infinity: proxy.responseTimeout 0)', async () => {
    const server = await rawServer(() => undefined);
    const r = recorder();
    const bounded = pool(server.port, r.handler, QUIET_MS).request('a', GET, 'none', false, false);
    const unbounded = pool(server.port, r.handler, Infinity).request('b', GET, 'none', false, false);
    expect(bounded.socket.timeout).toBe(QUIET_MS);
    expect(unbounded.socket.timeout).toBeUndefined();
    expect(unbounded.socket.listenerCount('timeout')).toBe(0);
  });

  it('closes an idle pooled connection once it has been quiet that long', async () => {
    let closed = false;
    const server = await rawServer((socket, text) => {
      socket.on('close', () => { closed = true; });
      if (text.endsWith('\r\n\r\n')) socket.write(OK('x'));
    });
    const r = recorder();
    const p = pool(server.port, r.handler, QUIET_MS);
    p.request('a', GET, 'none', false, false);
    await waitFor(() => r.log.includes('a release owner'));
    expect(p.size).toBe(1);
    await waitFor(() => closed && p.size === 0);
    expect(r.log).toEqual(['a head 200', 'a end', 'a release owner']);
  });
});
