/**
 * How a probe words a status line a hand-written server sends without a reason phrase, and what the
 * default readiness rule (no health.path) and the failure messages make of each kind of answer.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpStatusMeaning, judgeAnyAnswer, probeHttp } from '../../src/health/http.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server on 127.0.0.1 that answers every connection with `statusLine` and an empty body. */
async function rawServer(statusLine: string): Promise<number> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => socket.end(`${statusLine}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('probeHttp: status lines without a reason phrase', () => {
  it('fills in the standard reason', async () => {
    const port = await rawServer('HTTP/1.1 200 ');
    const result = await probeHttp({ host: '127.0.0.1', port, path: '/health', timeout: 5_000 });
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/^200 OK in /);
  });

  it('fills in every reason node:http knows (207 Multi-Status, 226 IM Used…)', async () => {
    const port = await rawServer('HTTP/1.1 226 ');
    const result = await probeHttp({ host: '127.0.0.1', port, path: '/health', timeout: 5_000 });
    expect(result.detail).toMatch(/^226 IM Used in /);
  });

  it('shows the bare code when the status has no standard reason', async () => {
    const port = await rawServer('HTTP/1.1 299 ');
    const result = await probeHttp({ host: '127.0.0.1', port, path: '/health', timeout: 5_000 });
    expect(result).toMatchObject({ ok: true, status: 299 });
    expect(result.detail).toMatch(/^299 in /);
  });
});

describe('judgeAnyAnswer', () => {
  it('takes an HTTP answer below 500 as up, and a 5xx as not yet', () => {
    expect(judgeAnyAnswer({ ok: false, latencyMs: 1, status: 404, detail: 'GET / → HTTP 404' }, '/')).toMatchObject({
      ok: true, answered: 'http', detail: 'answers HTTP 404 on /',
    });
    expect(judgeAnyAnswer({ ok: false, latencyMs: 1, status: 503, detail: 'x' }, '/')).toMatchObject({ ok: false, status: 503 });
  });

  it('takes an accepted connection that never speaks HTTP as a TCP server, but not a refusal', () => {
    for (const error of ['ETIMEDOUT', 'ECONNRESET', 'HPE_INVALID_CONSTANT']) {
      expect(judgeAnyAnswer({ ok: false, latencyMs: 1, error, connected: true, detail: 'x' }, '/')).toMatchObject({ ok: true, answered: 'tcp' });
    }
    expect(judgeAnyAnswer({ ok: false, latencyMs: 1, error: 'ETIMEDOUT', connected: false, detail: 'x' }, '/').ok).toBe(false);
    expect(judgeAnyAnswer({ ok: false, latencyMs: 1, connected: true, detail: 'x' }, '/').ok).toBe(false);
  });
});

describe('httpStatusMeaning', () => {
  it('tells an authentication refusal from a missing route and a server error', () => {
    expect(httpStatusMeaning(401).fix).toBe('point health.path at a route that answers 200 without authentication');
    expect(httpStatusMeaning(404).meaning).toBe('the server is up but has no such route');
    expect(httpStatusMeaning(502).meaning).toBe('the server is up but reports an error');
    expect(httpStatusMeaning(101)).toEqual({ meaning: 'not a final status', fix: 'point health.path at a route that answers 200' });
  });
});
