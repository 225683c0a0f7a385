/**
 * The status server's guards (src/metrics/status-server.ts) over real HTTP on 127.0.0.1 / ::1:
 * the connection cap (an idle connection makes room, a busy one does not), a dashboard handler
 * that fails before or after it started answering, and the bind failures' messages.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NaijaSupError } from '../../src/errors.js';
import { PROC } from '../../src/process/proc-read.js';
import { startStatusServer, statusConnectionCap, type StatusServer, type StatusServerOptions } from '../../src/metrics/status-server.js';
import { waitFor } from '../helpers/processes.js';

const servers: StatusServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(over: Partial<StatusServerOptions> = {}): Promise<StatusServer> {
  const server = await startStatusServer({
    port: 0,
    snapshot: () => {
      throw new Error('not asked for in these tests');
    },
    isReady: () => true,
    metrics: { contentType: 'text/plain', metrics: () => Promise.resolve('# none\n') },
    fdLimit: null,
    ...over,
  });
  servers.push(server);
  return server;
}

/** A raw connection: what it received, and a promise of its close. */
function open(port: number, host = '127.0.0.1'): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, host);
  sockets.push(socket);
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('statusConnectionCap', () => {
  it('keeps the configured cap when the fd limit is unknown or unlimited, and never goes below 1', () => {
    expect(statusConnectionCap(64, null)).toBe(64);
    expect(statusConnectionCap(64, Number.POSITIVE_INFINITY)).toBe(64);
    expect(statusConnectionCap(0, null)).toBe(1);
  });
});

describe('the connection cap', () => {
  it('pushes out an idle connection to make room for a new one', async () => {
    const server = await start({ maxConnections: 1 });
    const idle = open(server.port);
    await new Promise<void>((resolve) => idle.socket.once('connect', () => resolve()));
    await waitFor(async () => (await get(`${server.url}/alive`)).status === 200);
    await idle.closed;
    expect(idle.received()).toBe('');
  });

  it('refuses a newcomer while every connection is in the middle of a request', async () => {
    let answer: ((text: string) => void) | null = null;
    const server = await start({ maxConnections: 1, metrics: { contentType: 'text/plain', metrics: () => new Promise((resolve) => (answer = resolve)) } });
    const busy = open(server.port);
    busy.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    const answerNow = await waitFor(() => answer);
    const newcomer = open(server.port);
    await newcomer.closed;
    expect(newcomer.received()).toBe('');
    answerNow('# late\n');
    await waitFor(() => busy.received().includes('# late'));
    expect(busy.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe('a dashboard handler that fails', () => {
  it('answers 500 with what it threw, when nothing was sent yet', async () => {
    const server = await start({
      // A handler may reject with anything, not only an Error.
      routes: () => Promise.reject('the history file is gone'),
    });
    expect(await get(`${server.url}/`)).toEqual({ status: 500, body: 'internal error: the history file is gone\n' });
  });

  it('cuts the connection when it had already started answering', async () => {
    const server = await start({
      routes: (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.write('<html>');
        return Promise.reject(new Error('template broke'));
      },
    });
    const client = open(server.port);
    client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.received()).not.toContain('internal error');
  });

  it('falls through to the built-in routes when it does not take the request', async () => {
    const server = await start({ routes: () => Promise.resolve(false) });
    expect(await get(`${server.url}/alive`)).toEqual({ status: 200, body: 'alive\n' });
  });
});

describe('where it listens', () => {
  it('names an IPv6 address in brackets in its URL', async () => {
    const server = await start({ host: '[::1]' });
    expect(server.url).toBe(`http://[::1]:${server.port}`);
    expect(await get(`${server.url}/alive`)).toEqual({ status: 200, body: 'alive\n' });
  });

  it('says an explicitly given address that is not this machine is not one of its addresses', async () => {
    const error = await start({ host: '10.255.255.1', explicitHost: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NaijaSupError);
    expect(error).toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/^the status server cannot listen on 10\.255\.255\.1:0: EADDRNOTAVAIL$/) as string });
    expect((error as NaijaSupError).fix).toBe('10.255.255.1 is not an address of this machine: check status.host');
  });

  it('reads the fd limit from /proc when none is given', async () => {
    const server = await start({ fdLimit: undefined, maxConnections: 1000 });
    expect(server.maxConnections).toBe(statusConnectionCap(1000, PROC.openFileLimit()?.soft ?? null));
  });
});
