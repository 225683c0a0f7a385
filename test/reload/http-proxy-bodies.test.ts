/**
 * Request bodies and pooled connections through the HTTP reload proxy's own upstream client, at
 * the moments a review found them fragile: a Connection header naming the body's framing
 * (smuggling), an instance that resets during an upload (an unhandled stream error would take the
 * supervisor down), a retry whose body arrives while it waits, and a connection paused for a slow
 * client going back to the pool. Real sockets on 127.0.0.1; waits poll with deadlines.
 */

import { createServer as createHttpServer, request } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpProxy } from '../../src/reload/http-proxy.js';
import { harness } from './http-proxy-harness.js';
import type { HttpProxyEvent, HttpReloadProxy } from '../../src/reload/http-proxy.js';
import { waitFor } from '../helpers/processes.js';

const { proxies, sockets, listening } = harness();

async function proxyTo(port: number, events: string[] = []): Promise<HttpReloadProxy> {
  const onEvent = (e: HttpProxyEvent): void => {
    events.push(`${e.type}:${'code' in e ? e.code : 'reason' in e ? e.reason : ''}`);
  };
  const proxy = await createHttpProxy({ host: '127.0.0.1', port: 0, target: { port, id: 'a' }, onEvent });
  proxies.push(proxy);
  return proxy;
}

/** A raw client connection to the proxy; `text()` is everything received so far. */
async function client(port: number): Promise<{ socket: Socket; text: () => string }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, text: () => text };
}

/** A node:http instance that records each request with its body. */
async function recordingInstance(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const port = await listening(
    createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${JSON.stringify(body)}`);
        res.end('B');
      });
    }),
  );
  return { port, seen };
}

describe('request bodies', () => {
  it('keeps the body framed when the client names Content-Length in Connection (no smuggled request)', async () => {
    const instance = await recordingInstance();
    const proxy = await proxyTo(instance.port);
    const smuggled = 'GET /admin HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n';
    const c = await client(proxy.port);
    c.socket.write(`POST /upload HTTP/1.1\r\nHost: p\r\nConnection: content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    await waitFor(() => c.text().endsWith('B'));
    expect(instance.seen).toEqual([`POST /upload ${JSON.stringify(smuggled)}`]);
  });

  it('fails an upload the instance resets, not the proxy: inFlight back to 0, the next request served', async () => {
    const port = await listening(
      createTcpServer((socket) => {
        let bytes = 0;
        socket.on('data', (chunk: Buffer) => {
          if (chunk.toString('latin1').startsWith('GET ')) {
            socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
            return;
          }
          bytes += chunk.length;
          if (bytes > 200_000) socket.resetAndDestroy();
        });
      }),
    );
    const proxy = await proxyTo(port);
    for (const framing of ['length', 'chunked']) {
      const outcome = await new Promise<string>((resolve) => {
        const headers = framing === 'length' ? { 'content-length': String(20 * 1024 * 1024) } : { 'transfer-encoding': 'chunked' };
        const req = request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path: '/upload', agent: false, headers }, (res) => {
          res.resume();
          resolve(`status ${res.statusCode}`);
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
        const piece = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const pump = (): void => {
          while (sent < 320 && req.write(piece)) sent += 1;
          if (sent < 320) req.once('drain', () => ((sent += 1), pump()));
          else req.end();
        };
        pump();
      });
      expect(outcome, framing).toMatch(/^(status 502|error (ECONNRESET|EPIPE))$/);
      await waitFor(() => proxy.inFlight() === 0);
    }
    const c = await client(proxy.port);
    c.socket.write('GET / HTTP/1.1\r\nHost: p\r\n\r\n');
    await waitFor(() => c.text().endsWith('ok'));
  });

  it('keeps the body of a retried PUT that arrives while the retry waits, and sends all of it', async () => {
    for (const framing of ['length', 'chunked']) {
      const dying = createTcpServer((socket) => {
        socket.on('data', (chunk: Buffer) => {
          if (chunk.toString('latin1').startsWith('GET /warm')) {
            socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          } else {
            dying.close(); // it dies as the PUT arrives: reset, then refused
            socket.resetAndDestroy();
          }
        });
      });
      const events: string[] = [];
      const proxy = await proxyTo(await listening(dying), events);
      const next = await recordingInstance();
      const c = await client(proxy.port);
      c.socket.write('GET /warm HTTP/1.1\r\nHost: p\r\n\r\n');
      await waitFor(() => c.text().endsWith('ok'));
      c.socket.write(framing === 'length' ? 'PUT /x HTTP/1.1\r\nHost: p\r\nContent-Length: 10\r\n\r\n' : 'PUT /x HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n');
      await waitFor(() => events.includes('queued:target-refused'));
      c.socket.write(framing === 'length' ? '0123456789' : 'a\r\n0123456789\r\n0\r\n\r\n');
      await waitFor(() => c.socket.bytesWritten > 0 && c.socket.writableLength === 0);
      proxy.setTarget({ port: next.port, id: 'next' });
      await waitFor(() => c.text().endsWith('B'));
      expect(next.seen, framing).toEqual(['PUT /x "0123456789"']);
      expect(events.filter((e) => e.startsWith('retry:'))).toEqual(['retry:ECONNRESET', 'retry:ECONNREFUSED']);
    }
  });
});

describe('pooled connections', () => {
  it('reuses a connection that was paused for a slow client: the next request does not hang', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 120);
    let connections = 0;
    const app = createHttpServer((req, res) => {
      if (req.url === '/big') res.setHeader('content-length', big.length).end(big);
      else res.end('small');
    });
    app.on('connection', () => (connections += 1));
    const proxy = await proxyTo(await listening(app));
    const get = (path: string, slow: boolean): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxy.port, path, agent: false }, (res) => {
          let n = 0;
          res.on('data', (chunk: Buffer) => {
            n += chunk.length;
            if (!slow) return;
            res.pause();
            setImmediate(() => res.resume());
          });
          res.on('end', () => resolve(n));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/big', true)).toBe(big.length);
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('hung for 3 s on a paused pooled connection'), 3000);
    });
    expect(await Promise.race([get('/small', false), hung])).toBe(5);
    clearTimeout(timer);
    expect(connections).toBe(1);
  });
});
