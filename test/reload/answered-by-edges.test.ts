/**
 * probeHttpAnsweredBy's answers when things go wrong or look odd (src/reload/answered-by.ts):
 * in-process servers on 127.0.0.1 / ::1 (this test process accepts, so its own pid is the
 * instance), and a /proc whose tables say what the case needs.
 */

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc, type Proc } from '../../src/process/proc-read.js';
import { probeHttpAnsweredBy } from '../../src/reload/answered-by.js';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A raw server on `host`: `onRequest` gets each connection once its request head is complete. */
async function rawServer(onRequest: (socket: Socket, head: string) => void, host = '127.0.0.1'): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    let head = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) onRequest(socket, head);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

const REAL = createProc();

/** This machine's /proc with its TCP tables replaced. */
function procWithTables(tcp: (name: 'tcp' | 'tcp6') => string | null): Proc {
  return { ...REAL, netTable: (name) => (name === 'unix' ? REAL.netTable(name) : tcp(name)) };
}

describe('probeHttpAnsweredBy', () => {
  it('probes a bracketed IPv6 host, adds the missing leading slash, and names this process as the one that answered', async () => {
    const heads: string[] = [];
    const port = await rawServer((socket, head) => {
      heads.push(head);
      socket.end('HTTP/1.1 204 No Content\r\n\r\n');
    }, '::1');
    const result = await probeHttpAnsweredBy({ host: '[::1]', port, path: 'health', timeout: 5000, pids: [process.pid] });
    expect(result).toMatchObject({ ok: true, status: 204, answeredBy: process.pid, acceptedBy: process.pid });
    expect(result.detail).toMatch(new RegExp(`^204 for /health from .*${process.pid}.* in [\\d.]+ ms$`));
    expect(heads[0]).toMatch(/^GET \/health HTTP\/1\.1\r\nHost: \[::1\]:\d+\r\n/);
  });

  it('rejects a timeout that is not a positive number without connecting', async () => {
    for (const timeout of [0, -1, Number.NaN]) {
      const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port: 8000, path: '/', timeout, pids: [] });
      expect(result).toMatchObject({ ok: false, error: 'EINVAL', detail: `invalid timeout ${String(timeout)}` });
    }
  });

  it('says which phase timed out: waiting for the response from the instance that accepted', async () => {
    const port = await rawServer(() => undefined); // accepts, reads, never answers
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 300, pids: [process.pid] });
    expect(result).toMatchObject({ ok: false, error: 'ETIMEDOUT', answeredBy: null });
    expect(result.detail).toBe(`no answer from 127.0.0.1:${port} within 300 ms (waiting for the response)`);
  });

  it('says which phase timed out: waiting for an instance to accept, while the connection sits in the backlog', async () => {
    const port = await rawServer(() => undefined);
    // The kernel's table shows the connection with no socket inode: queued, not accept()ed.
    const proc = procWithTables((name) => {
      const real = REAL.netTable(name);
      if (real === null) return null;
      return real
        .split('\n')
        .map((line, i) => (i === 0 ? line : zeroInode(line)))
        .join('\n');
    });
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 300, pids: [process.pid], proc });
    expect(result).toMatchObject({ ok: false, error: 'ETIMEDOUT', answeredBy: null });
    expect(result.detail).toBe(
      `no answer from 127.0.0.1:${port} within 300 ms (waiting for an instance to accept the connection); the connection waits in the backlog (no instance accepted it)`,
    );
  });

  it('says the connection was not found when /proc/net/tcp has no row for it', async () => {
    const port = await rawServer(() => undefined);
    const header = (REAL.netTable('tcp') ?? '').split('\n')[0] ?? '';
    const proc = procWithTables(() => header);
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 300, pids: [process.pid], proc });
    expect(result.detail).toBe(
      `no answer from 127.0.0.1:${port} within 300 ms (waiting for an instance to accept the connection); the connection was not found in /proc/net/tcp`,
    );
  });

  it('names the error code of a connection reset while waiting for the answer', async () => {
    const port = await rawServer((socket) => socket.resetAndDestroy());
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 5000, pids: [process.pid] });
    expect(result).toMatchObject({ ok: false, error: 'ECONNRESET', detail: `ECONNRESET from 127.0.0.1:${port}` });
  });

  it('answers without knowing who accepted when /proc/net/tcp cannot be read, and says so', async () => {
    const port = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const proc = procWithTables(() => null);
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 5000, pids: [process.pid], proc });
    expect(result).toMatchObject({ ok: true, status: 200, answeredBy: null, acceptedBy: null, lookupUnavailable: true });
    expect(result.detail).toContain(`an unknown process (${REAL.root}/net/tcp cannot be read)`);
  });

  it('says the connection went to none of the pids asked about (and that none were given)', async () => {
    const port = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\n'));
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 5000, pids: [] });
    expect(result).toMatchObject({ ok: true, status: 200, answeredBy: null, acceptedBy: null });
    expect(result.detail).toMatch(/is held by none of pids \(none\) or their process groups/);
  });

  it('gives up on a response whose head never ends', async () => {
    const port = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Pad: ${'x'.repeat(70 * 1024)}`));
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 5000, pids: [process.pid] });
    expect(result).toMatchObject({ ok: false, error: 'EPROTO', detail: 'no end of the response headers within 65536 bytes' });
  });

  it('says what came back when it is not HTTP', async () => {
    const port = await rawServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 5000, pids: [process.pid] });
    expect(result).toMatchObject({ ok: false, error: 'EPROTO', detail: 'not an HTTP response: "SSH-2.0-OpenSSH_9.6"' });
  });

  it('reports a connection closed before any answer, with what the owner lookup found', async () => {
    const port = await rawServer((socket) => socket.destroy());
    const result = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: '/', timeout: 5000, pids: [] });
    expect(result).toMatchObject({ ok: false, error: 'ECONNRESET', acceptedElsewhere: true });
    expect(result.detail).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} closed the connection before answering; socket:\\[\\d+\\] is held by none of pids`));
  });
});

/** A /proc/net/tcp row with its inode (field 10) set to 0, as for a connection not yet accepted. */
function zeroInode(row: string): string {
  const fields = row.trim().split(/\s+/);
  if (fields.length < 10) return row;
  fields[9] = '0';
  return fields.join(' ');
}
