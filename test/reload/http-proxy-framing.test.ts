/**
 * HTTP framing through the HTTP reload proxy and its own upstream client (issue 13): what node's
 * client used to take care of — HEAD, 204/304, chunked and large request bodies, Expect:
 * 100-continue, informational responses, close-delimited bodies, HTTP/1.0 clients without Host,
 * and responses the proxy must refuse to pass on. Real node:http servers and raw TCP ones on
 * 127.0.0.1; no sleeps.
 */

import { createHash } from 'node:crypto';
import { createServer as createHttpServer, request } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpProxy } from '../../src/reload/http-proxy.js';
import { harness } from './http-proxy-harness.js';
import type { HttpReloadProxy } from '../../src/reload/http-proxy.js';

const { proxies, sockets, listening } = harness();

/** A proxy in front of a node:http server running `handler`. */
async function proxied(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const port = await listening(createHttpServer(handler));
  const proxy = await createHttpProxy({ host: '127.0.0.1', port: 0, target: { port, id: 'app' } });
  proxies.push(proxy);
  return proxy.port;
}

/** A proxy in front of a raw TCP server that answers every complete request head with `reply`. */
async function proxiedRaw(reply: (head: string) => string, end = false): Promise<{ port: number; proxy: HttpReloadProxy }> {
  const port = await listening(
    createTcpServer((socket) => {
      let text = '';
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const at = text.indexOf('\r\n\r\n');
        if (at === -1) return;
        const head = text.slice(0, at);
        text = text.slice(at + 4);
        if (end) socket.end(reply(head));
        else socket.write(reply(head));
      });
    }),
  );
  const proxy = await createHttpProxy({ host: '127.0.0.1', port: 0, target: { port, id: 'raw' } });
  proxies.push(proxy);
  return { port: proxy.port, proxy };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  informational: number[];
}

function send(port: number, options: { method?: string; headers?: Record<string, string>; body?: (string | Buffer)[]; waitForContinue?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const informational: number[] = [];
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: '/', agent: false, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, informational }));
      res.on('error', reject);
    });
    req.on('information', (info: { statusCode: number }) => informational.push(info.statusCode));
    req.on('error', reject);
    const writeBody = (): void => {
      for (const part of options.body ?? []) req.write(part);
      req.end();
    };
    if (options.waitForContinue === true) req.on('continue', writeBody);
    else writeBody();
  });
}

/** What an instance saw of a request: method, headers, body and its digest. */
function echoRequest(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, te: req.headers['transfer-encoding'] ?? null, length: req.headers['content-length'] ?? null, host: req.headers.host ?? null, bytes, sha256: hash.digest('hex') }));
  });
}

describe('request bodies through the proxy', () => {
  it('re-chunks a chunked body and passes a 3 MiB Content-Length body intact', async () => {
    const port = await proxied(echoRequest);
    const parts = ['first,', 'second,', 'third'];
    const chunked = JSON.parse((await send(port, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: parts })).body);
    expect(chunked).toMatchObject({ method: 'POST', te: 'chunked', length: null, bytes: 18, sha256: createHash('sha256').update(parts.join('')).digest('hex') });

    const big = Buffer.alloc(3 * 1024 * 1024, 'naija-sup ');
    const slices = Array.from({ length: 48 }, (_, i) => big.subarray(i * 65_536, (i + 1) * 65_536));
    const length = JSON.parse((await send(port, { method: 'PUT', headers: { 'content-length': String(big.length) }, body: slices })).body);
    expect(length).toMatchObject({ method: 'PUT', te: null, length: String(big.length), bytes: big.length, sha256: createHash('sha256').update(big).digest('hex') });
  });

  it('passes Expect: 100-continue on: the client gets its 100, the instance the body', async () => {
    const port = await proxied(echoRequest);
    const answer = await send(port, { method: 'POST', headers: { expect: '100-continue', 'content-length': '5' }, body: ['hello'], waitForContinue: true });
    expect(answer.status).toBe(200);
    expect(answer.informational).toEqual([100]);
    expect(JSON.parse(answer.body)).toMatchObject({ bytes: 5 });
  });

  it('gives an HTTP/1.0 request without Host one naming the instance', async () => {
    const port = await proxied(echoRequest);
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.write('GET / HTTP/1.0\r\n\r\n');
    const text = await new Promise<string>((resolve) => {
      let all = '';
      socket.on('data', (chunk: Buffer) => (all += chunk.toString('latin1')));
      socket.on('close', () => resolve(all));
    });
    expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).host).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe('responses through the proxy', () => {
  it('answers HEAD, 204 and 304 without a body, and keeps the client connection usable', async () => {
    const port = await proxied((req, res) => {
      if (req.url === '/' && req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' }).end();
      } else if (req.method === 'DELETE') {
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' }).end(req.method === 'HEAD' ? undefined : 'hello world');
      }
    });
    const head = await send(port, { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('11');
    expect(await send(port, { method: 'DELETE' })).toMatchObject({ status: 204, body: '' });
    expect(await send(port, { headers: { 'if-none-match': '"v1"' } })).toMatchObject({ status: 304, body: '' });
    expect(await send(port)).toMatchObject({ status: 200, body: 'hello world' });
  });

  it('does not pass on 103 Early Hints, and relays the final answer', async () => {
    const { port } = await proxiedRaw(() => 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(await send(port)).toMatchObject({ status: 200, body: 'ok', informational: [] });
  });

  it('relays a body that runs to the end of the connection, then opens a new connection for the next request', async () => {
    const { port, proxy } = await proxiedRaw(() => 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end', true);
    expect(await send(port)).toMatchObject({ status: 200, body: 'until the end' });
    expect(await send(port)).toMatchObject({ status: 200, body: 'until the end' });
    expect(proxy.stats().targets[0]).toMatchObject({ upstreamErrors: 0, responses: { '2xx': 2 } });
  });

  it('answers 502 with the parser code to a malformed response (bare LF line ends: at once, not waiting for a CRLF), and to a header node will not send', async () => {
    const { port, proxy } = await proxiedRaw((head) =>
      head.includes('/bad-char') ? 'HTTP/1.1 200 OK\r\nX-Evil: a\x01b\r\nContent-Length: 0\r\n\r\n' : 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
    );
    const malformed = await send(port);
    expect(malformed.status).toBe(502);
    expect(JSON.parse(malformed.body)).toMatchObject({ error: 'bad_gateway', cause: 'HPE_CR_EXPECTED', instance: 'raw' });
    const badChar = await new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/bad-char', agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, informational: [] }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(badChar.status).toBe(502);
    expect(badChar.headers['x-evil']).toBeUndefined();
    expect(JSON.parse(badChar.body)).toMatchObject({ cause: 'HPE_INVALID_HEADER_TOKEN' });
    expect(proxy.stats().targets[0]).toMatchObject({ upstreamErrors: 2, retries: 0 });
  });
});
