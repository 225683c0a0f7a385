/**
 * The HTTP reload proxy's response timeout (limits.responseTimeout, `proxy.responseTimeout`): an
 * instance that takes a request and never answers gets it answered 504 with a JSON body, and never
 * sent again (it may still be working on it); a response that has started (an SSE stream) may go
 * quiet for longer. Real servers and clients on 127.0.0.1; waits poll with deadlines.
 */

import { createServer as createHttpServer, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createHttpProxy } from '../../src/reload/http-proxy.js';
import type { HttpReloadProxy } from '../../src/reload/http-proxy.js';
import { harness } from './http-proxy-harness.js';

const { proxies, listening } = harness();
const QUIET_MS = 200;

async function proxyTo(port: number): Promise<HttpReloadProxy> {
  const proxy = await createHttpProxy({ host: '127.0.0.1', port: 0, target: { port, id: 'a' }, limits: { responseTimeout: QUIET_MS } });
  proxies.push(proxy);
  return proxy;
}

/** One GET through the proxy on a fresh connection: status, body, and when its last byte came. */
function get(port: number): Promise<{ status: number; body: string; chunks: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      let chunks = 0;
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
        chunks += 1;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, chunks }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the response timeout', () => {
  it('answers 504 (JSON) for an instance that never answers, and does not send the GET again', async () => {
    let seen = 0;
    const port = await listening(createHttpServer(() => {
      seen += 1; // and never answers
    }));
    const proxy = await proxyTo(port);
    const res = await get(proxy.port);
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'gateway_timeout', cause: 'ETIMEDOUT', instance: 'a' });
    expect(JSON.parse(res.body).message).toMatch(/proxy\.responseTimeout/);
    expect(seen).toBe(1);
    expect(proxy.inFlight()).toBe(0);
    const counted = proxy.stats().targets.find((t) => t.id === 'a');
    expect(counted).toMatchObject({ upstreamErrors: 1, retries: 0 });
  });

  it('lets an SSE stream that has started go quiet for longer than the timeout', async () => {
    const port = await listening(createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\n'), 3 * QUIET_MS);
    }));
    const proxy = await proxyTo(port);
    const res = await get(proxy.port);
    expect(res.status).toBe(200);
    expect(res.body).toBe('data: one\n\ndata: two\n\n');
  });
});
