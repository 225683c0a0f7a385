import { execFile } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_PROBE_BODY_CAP, probeHttp } from '../../src/health/index.js';

// Real servers on loopback, ephemeral ports; every one (and every connection it accepted) is
// closed in afterEach.
const open: Array<Server | NetServer> = [];
const sockets = new Set<Socket>();

interface Tracked {
  port: number;
  /** Connections the server accepted, and how many of them have closed since. */
  conns: { opened: number; closed: number };
  requests: IncomingMessage[];
}

async function listen(server: Server | NetServer, host: string): Promise<Tracked> {
  const tracked: Tracked = { port: 0, conns: { opened: 0, closed: 0 }, requests: [] };
  server.on('connection', (socket: Socket) => {
    tracked.conns.opened += 1;
    sockets.add(socket);
    socket.on('close', () => {
      tracked.conns.closed += 1;
      sockets.delete(socket);
    });
  });
  server.on('request', (req: IncomingMessage) => tracked.requests.push(req));
  open.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  tracked.port = (server.address() as AddressInfo).port;
  return tracked;
}

function httpServer(handler: RequestListener, host = '127.0.0.1'): Promise<Tracked> {
  return listen(createServer(handler), host);
}

/** A port that was bound on 127.0.0.1 and released: nothing listens there now. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls with a deadline instead of sleeping. */
async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  const servers = open.splice(0);
  await Promise.all(
    servers.map(async (server) => {
      if (server.listening) {
        server.close();
        await once(server, 'close');
      }
    }),
  );
});

const reply = (status: number, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, headers);
  res.end(`status ${status}`);
};

describe('probeHttp against real servers', () => {
  it('200 is ok, on a fresh connection that is closed afterwards', async () => {
    const srv = await httpServer(reply(200));
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.error).toBeUndefined();
    expect(result.detail).toMatch(/^200 OK in (<1|\d+) ms$/);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(srv.requests).toHaveLength(1);
    const req = srv.requests[0];
    expect(req?.method).toBe('GET');
    expect(req?.url).toBe('/health');
    expect(req?.headers.connection).toBe('close');
    expect(req?.headers.host).toBe(`127.0.0.1:${srv.port}`);
    await waitFor('the server to see the connection closed', () => srv.conns.closed === 1);
  });

  it('adds a missing leading slash to the path', async () => {
    const srv = await httpServer(reply(200));
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: 'ready?full=1', timeout: 2_000 });
    expect(result.ok).toBe(true);
    expect(srv.requests[0]?.url).toBe('/ready?full=1');
  });

  it.each([301, 302])('%i counts as ok and is not followed', async (status) => {
    const srv = await httpServer((req, res) => {
      if (req.url === '/health') res.writeHead(status, { Location: '/elsewhere' }).end();
      else res.writeHead(500).end();
    });
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: true, status });
    expect(result.detail).toContain('redirect to /elsewhere, not followed');
    expect(srv.requests.map((r) => r.url)).toEqual(['/health']);
  });

  it('404 is not ok and says the server is up but the path is wrong', async () => {
    const srv = await httpServer(reply(404));
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/api/v1/public/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: false, status: 404 });
    expect(result.error).toBeUndefined();
    expect(result.detail).toBe('GET /api/v1/public/health → HTTP 404: the server is up but has no such route; set health.path to a route that answers 200 (while the server runs, `naija-sup doctor` lists the common ones that do), or leave health.path out: then any answer below 500 on / means ready');
    expect(result.failure).toEqual({
      answer: 'GET /api/v1/public/health → HTTP 404',
      meaning: 'the server is up but has no such route',
      fix: 'set health.path to a route that answers 200 (while the server runs, `naija-sup doctor` lists the common ones that do), or leave health.path out: then any answer below 500 on / means ready',
    });
  });

  it('500 is not ok and keeps the status', async () => {
    const srv = await httpServer(reply(500));
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: false, status: 500 });
    expect(result.detail).toMatch(/^GET \/health → HTTP 500 status 500: the server is up but reports an error/);
  });

  it('a failing answer carries the first 200 bytes of its body, whitespace folded', async () => {
    const body = `{"db":"down",\n  "detail":"${'x'.repeat(400)}"}`;
    const srv = await httpServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(body);
    });
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: false, status: 503 });
    // 200 bytes of the body (26 of them before the x's), then the newline and indent folded to one space.
    expect(result.bodyHead).toBe(`{"db":"down", "detail":"${'x'.repeat(200 - 26)}`);
    expect(result.failure?.answer).toBe(`GET /health → HTTP 503 ${result.bodyHead ?? ''}`);
    expect(result.failure?.meaning).toBe('the server is up but reports an error');
  });

  it('a closed port is ECONNREFUSED', async () => {
    const port = await closedPort();
    const result = await probeHttp({ host: '127.0.0.1', port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(result.status).toBeUndefined();
    expect(result.detail).toBe(`connection refused (nothing is listening on 127.0.0.1:${port})`);
  });

  it('a server that accepts and closes without answering is ECONNRESET', async () => {
    const server = createNetServer((socket) => socket.destroy());
    const srv = await listen(server, '127.0.0.1');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 2_000 });

    expect(result).toMatchObject({ ok: false, error: 'ECONNRESET' });
    expect(result.detail).toContain('without an HTTP response');
  });

  it('something that does not speak HTTP is reported as such', async () => {
    const server = createNetServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n'));
    const srv = await listen(server, '127.0.0.1');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 2_000 });

    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/^HPE_/);
    expect(result.detail).toContain('not with valid HTTP');
  });

  it('a server that accepts and never answers times out, and the socket is closed', async () => {
    // Accept, read and discard the request, never answer. (Reading matters: an unread socket
    // never notices the peer's FIN, so it would never report the close we assert.)
    const server = createNetServer((socket) => socket.resume());
    const srv = await listen(server, '127.0.0.1');
    const started = Date.now();
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 300 });

    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ ok: false, error: 'ETIMEDOUT' });
    expect(result.detail).toMatch(/^timed out after 300 ms waiting for a response/);
    expect(srv.conns.opened).toBe(1);
    await waitFor('the server to see the probe socket closed', () => srv.conns.closed === 1);
  });

  it('an abort signal resolves with ABORTED and closes the socket', async () => {
    const controller = new AbortController();
    const server = createNetServer((socket) => {
      socket.resume();
      controller.abort();
    });
    const srv = await listen(server, '127.0.0.1');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 20_000, signal: controller.signal });

    expect(result).toMatchObject({ ok: false, error: 'ABORTED', detail: 'aborted' });
    expect(result.latencyMs).toBeLessThan(10_000);
    await waitFor('the server to see the probe socket closed', () => srv.conns.closed === 1);
  });

  it('an already aborted signal resolves with ABORTED', async () => {
    const port = await closedPort();
    const result = await probeHttp({ host: '127.0.0.1', port, path: '/', timeout: 2_000, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ ok: false, error: 'ABORTED' });
  });

  it('removes its abort listener, so one long-lived signal can serve many probes', async () => {
    const srv = await httpServer(reply(200));
    const controller = new AbortController();
    for (let i = 0; i < 20; i += 1) {
      const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/', timeout: 2_000, signal: controller.signal });
      expect(result.ok).toBe(true);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it(`reads no more than about ${HTTP_PROBE_BODY_CAP} bytes of a huge body, then closes`, async () => {
    const total = 128 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const body = { handed: 0, finished: false, closed: false };
    const srv = await httpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) });
      res.on('close', () => {
        body.finished = res.writableFinished;
        body.closed = true;
      });
      // Write with backpressure: only what the client reads (plus kernel buffers) leaves here.
      const pump = (): void => {
        while (body.handed < total && !res.destroyed) {
          body.handed += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (body.handed >= total) res.end();
      };
      pump();
    });
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/download', timeout: 10_000 });

    expect(result).toMatchObject({ ok: true, status: 200 });
    await waitFor('the server to see the response closed', () => body.closed);
    expect(body.finished).toBe(false);
    expect(body.handed).toBeLessThan(total / 2);
  });

  it('a 200 with an endless slow body still reports the status at the deadline', async () => {
    const srv = await httpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('still going');
    });
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 300 });
    expect(result).toMatchObject({ ok: true, status: 200 });
    await waitFor('the server to see the probe socket closed', () => srv.conns.closed === 1);
  });

  it('probes an IPv6 literal, bracketed or not, with a bracketed Host header', async () => {
    const srv = await httpServer(reply(200), '::1');
    for (const host of ['::1', '[::1]']) {
      const result = await probeHttp({ host, port: srv.port, path: '/health', timeout: 2_000 });
      expect(result).toMatchObject({ ok: true, status: 200 });
    }
    expect(srv.requests.map((r) => r.headers.host)).toEqual([`[::1]:${srv.port}`, `[::1]:${srv.port}`]);
  });

  it('an IPv6 refusal names the bracketed address', async () => {
    const port = await closedPort();
    const result = await probeHttp({ host: '::1', port, path: '/', timeout: 2_000 });
    expect(result).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(result.detail).toBe(`connection refused (nothing is listening on [::1]:${port})`);
  });

  it.each([
    [{ port: 0, timeout: 1_000 }, /invalid probe port 0/],
    [{ port: 70_000, timeout: 1_000 }, /invalid probe port 70000/],
    [{ port: 8000, timeout: -5 }, /invalid probe timeout -5/],
    [{ port: 8000, timeout: Number.NaN }, /invalid probe timeout NaN/],
  ])('an invalid target %j resolves with EINVAL instead of throwing', async (target, detail) => {
    const result = await probeHttp({ host: '127.0.0.1', path: '/', ...target });
    expect(result).toMatchObject({ ok: false, error: 'EINVAL' });
    expect(result.detail).toMatch(detail);
  });

  it('a path with characters HTTP cannot carry resolves with an error instead of throwing', async () => {
    const port = await closedPort();
    const result = await probeHttp({ host: '127.0.0.1', port, path: '/he alth', timeout: 1_000 });
    expect(result.ok).toBe(false);
    expect(result.error).toBe('ERR_UNESCAPED_CHARACTERS');
  });
});

/** A server that answers every connection's first bytes with `answer` (raw), then ends it or, with `keepOpen`, does not. */
async function rawServer(answer: string, keepOpen = false): Promise<Tracked & { received: string[] }> {
  const received: string[] = [];
  const server = createNetServer((socket) => {
    socket.once('data', (data: Buffer) => {
      received.push(data.toString('latin1'));
      if (keepOpen) socket.write(answer);
      else socket.end(answer);
    });
  });
  return { ...(await listen(server, '127.0.0.1')), received };
}

describe('probeHttp reads answers as they come on the wire', () => {
  it('sends one GET with Host, Connection: close, Accept and its User-Agent, and nothing else', async () => {
    const srv = await rawServer('HTTP/1.1 204 No Content\r\n\r\n');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health?deep=1', timeout: 5_000 });
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect(srv.received).toEqual([`GET /health?deep=1 HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\nAccept: */*\r\nUser-Agent: naija-sup-health-probe\r\n\r\n`]);
  });

  it('skips a 100 Continue and reads a chunked failing body for its message', async () => {
    const srv = await rawServer('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{"db":1\r\n1\r\n}\r\n0\r\n\r\n');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 5_000 });
    expect(result).toMatchObject({ ok: false, status: 503, bodyHead: '{"db":1}' });
  });

  it('takes an HTTP/1.0 answer whose body runs to the end of the connection', async () => {
    const srv = await rawServer('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfine');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 5_000 });
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.detail).toMatch(/^200 OK in /);
  });

  it('reports the status of an answer cut short in its body', async () => {
    const srv = await rawServer('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\nboom');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 5_000 });
    expect(result).toMatchObject({ ok: false, status: 500, bodyHead: 'boom' });
  });

  it('fails something that is not HTTP at its first bytes, without waiting for the deadline', async () => {
    const srv = await rawServer('SSH-2.0-OpenSSH_9.2\r\n', true);
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 60_000 });
    expect(result).toMatchObject({ ok: false, error: 'HPE_INVALID_CONSTANT', connected: true });
    await waitFor('the probe to close its connection', () => srv.conns.closed === 1);
  });

  it('reports a 101 as a status that is not final, as node:http did', async () => {
    const srv = await rawServer('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', true);
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 60_000 });
    expect(result).toMatchObject({ ok: false, status: 101 });
    expect(result.detail).toContain('not a final status');
  });

  it('refuses a control character in a header value, as llhttp does', async () => {
    const srv = await rawServer('HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 0\r\n\r\n');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 5_000 });
    expect(result).toMatchObject({ ok: false, error: 'HPE_INVALID_HEADER_TOKEN', connected: true });
  });

  it('a head that ends early (the connection closes) is a reset, not a status', async () => {
    const srv = await rawServer('HTTP/1.1 200 OK\r\nContent-Le');
    const result = await probeHttp({ host: '127.0.0.1', port: srv.port, path: '/health', timeout: 5_000 });
    expect(result).toMatchObject({ ok: false, error: 'ECONNRESET', connected: true });
  });
});

describe('probeHttp never loads node:http', () => {
  it('neither a probe of a closed port nor one that gets an answer loads it', async () => {
    // A fresh process (this one has node:http loaded), running the built module as the CLI does.
    const module = new URL('../../dist/health/http.js', import.meta.url).href;
    const served = await httpServer(reply(200));
    const closed = await closedPort();
    const script = `
      const { probeHttp } = await import(${JSON.stringify(module)});
      const loaded = () => process.moduleLoadList.includes('NativeModule http');
      const refused = await probeHttp({ host: '127.0.0.1', port: ${closed}, path: '/health', timeout: 2000 });
      const before = loaded();
      const answered = await probeHttp({ host: '127.0.0.1', port: ${served.port}, path: '/health', timeout: 2000 });
      process.stdout.write(JSON.stringify({ refused: refused.error, before, ok: answered.ok, after: loaded() }));`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
    });
    expect(JSON.parse(out)).toEqual({ refused: 'ECONNREFUSED', before: false, ok: true, after: false });
  });
});
