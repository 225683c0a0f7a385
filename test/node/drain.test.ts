/**
 * drainOnSignal in-process: a real HTTP server on 127.0.0.1:0, raw TCP clients (to control exactly
 * when request bytes arrive), signals from an EventEmitter and `exit` as a spy. The point of the
 * module: plain `http.Server#close()` destroys idle keep-alive connections at once, so a request a
 * client is sending on one gets no answer; the helper answers it (with `Connection: close`).
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drainOnSignal, type DrainOptions } from '../../src/node/drain.js';
import { waitFor } from '../helpers/processes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Setup {
  server: Server;
  port: number;
  signals: EventEmitter;
  exit: ReturnType<typeof vi.fn>;
  lines: string[];
  held: Set<ServerResponse>;
  connections: () => number;
}

async function setup(options: DrainOptions = {}, drain = true): Promise<Setup> {
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url === '/hold') held.add(res);
    else res.end('ok');
  });
  let accepted = 0;
  server.on('connection', () => (accepted += 1));
  const signals = new EventEmitter();
  const exit = vi.fn();
  const lines: string[] = [];
  const handle = drain ? drainOnSignal(server, { emitter: signals, exit, log: (line, level) => lines.push(`${level}: ${line}`), ...options }) : null;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(async () => {
    handle?.dispose();
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  });
  return { server, port, signals, exit, lines, held, connections: () => accepted };
}

/** A raw TCP client: everything it receives, and how the connection ended. */
function rawClient(port: number): { socket: Socket; received: () => string; ended: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    socket.on('close', () => resolve('closed'));
  });
  cleanups.push(() => void socket.destroy());
  return { socket, received: () => data, ended };
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

function exited(exit: ReturnType<typeof vi.fn>): Promise<boolean> {
  return waitFor(() => exit.mock.calls.length > 0, { timeout: 10_000, message: 'exit was never called' });
}

describe('drainOnSignal', () => {
  it('finishes an in-flight request with Connection: close, refuses new connections, then exits 0', async () => {
    const { port, signals, exit, lines, held } = await setup();
    const client = rawClient(port);
    client.socket.write(GET('/hold'));
    await waitFor(() => held.size === 1, { message: 'the request was never held' });

    signals.emit('SIGTERM');
    expect(lines).toEqual(['info: received SIGTERM: stopped accepting new connections; draining 1 request(s) in flight and 1 open connection(s) (timeout 10 s)']);
    const refused = rawClient(port);
    expect(await refused.ended).toBe('ECONNREFUSED');
    expect(exit).not.toHaveBeenCalled();

    for (const res of held) res.end('done');
    expect(await client.ended).toBe('closed');
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.received()).toMatch(/\r\nConnection: close\r\n/i);
    expect(client.received()).toMatch(/\r\n\r\ndone$/);
    await exited(exit);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
    expect(lines.at(-1)).toBe('info: all requests finished and all connections closed: exiting with code 0');
  });

  it('answers a connection accepted before the signal whose request arrives after it', async () => {
    const { port, signals, exit, connections } = await setup({ idleGraceMs: 5000 });
    const client = rawClient(port);
    await waitFor(() => connections() === 1, { message: 'the server never accepted' });
    signals.emit('SIGTERM');
    client.socket.write(GET('/ok'));
    expect(await client.ended).toBe('closed');
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n(.*\r\n)*\r\nok$/i);
    await exited(exit);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it("plain http.Server#close() destroys an idle keep-alive connection at once: the client's next request on it gets no answer", async () => {
    // Node's own behaviour, which the helper exists to avoid (the next test shows the helper's).
    const plain = await setup({}, false);
    const client = rawClient(plain.port);
    client.socket.write(GET('/ok'));
    await waitFor(() => client.received().endsWith('ok'), { message: 'no first answer' });
    const first = client.received().length;
    plain.server.close();
    client.socket.write(GET('/ok'));
    expect(['closed', 'ECONNRESET', 'EPIPE']).toContain(await client.ended);
    expect(client.received().slice(first)).toBe('');
  });

  it('answers the next request on an idle keep-alive connection, with Connection: close', async () => {
    const { port, signals, exit } = await setup({ idleGraceMs: 5000 });
    const client = rawClient(port);
    client.socket.write(GET('/ok'));
    await waitFor(() => client.received().endsWith('ok'), { message: 'no first answer' });
    expect(client.received()).toMatch(/\r\nConnection: keep-alive\r\n/i);
    const first = client.received().length;

    signals.emit('SIGTERM');
    client.socket.write(GET('/ok'));
    expect(await client.ended).toBe('closed');
    expect(client.received().slice(first)).toMatch(/^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n/i);
    await exited(exit);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('closes a connection that sends nothing once idleGraceMs has passed, then exits 0', async () => {
    const { port, signals, exit, connections } = await setup({ idleGraceMs: 50 });
    const client = rawClient(port);
    await waitFor(() => connections() === 1, { message: 'the server never accepted' });
    signals.emit('SIGTERM');
    // Closed without unread data: a FIN, not a reset.
    expect(await client.ended).toBe('closed');
    expect(client.received()).toBe('');
    await exited(exit);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('lets a request that is still arriving through: a connection that received bytes is not idle', async () => {
    const { port, signals, exit, connections } = await setup({ idleGraceMs: 50 });
    const client = rawClient(port);
    await waitFor(() => connections() === 1, { message: 'the server never accepted' });
    signals.emit('SIGTERM');
    client.socket.write('GET /ok HTTP/1.1\r\n');
    // The rest comes after the idle grace: only the drain's timeout may end this one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.socket.write('Host: x\r\n\r\n');
    expect(await client.ended).toBe('closed');
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    await exited(exit);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('calls onShutdown at the start and awaits beforeExit before exiting', async () => {
    const events: string[] = [];
    const { signals, exit } = await setup({
      onShutdown: (signal) => events.push(`onShutdown ${signal}`),
      beforeExit: async () => {
        events.push('beforeExit');
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push('beforeExit done');
      },
      exit: (code) => events.push(`exit ${code}`),
    });
    signals.emit('SIGINT');
    await waitFor(() => events.length === 4, { message: () => `events: ${events.join(', ')}` });
    expect(events).toEqual(['onShutdown SIGINT', 'beforeExit', 'beforeExit done', 'exit 0']);
    expect(exit).not.toHaveBeenCalled();
  });

  it('destroys what is left and exits 1 when the timeout passes', async () => {
    const { port, signals, exit, lines, held } = await setup({ timeoutMs: 100 });
    const client = rawClient(port);
    client.socket.write(GET('/hold'));
    await waitFor(() => held.size === 1, { message: 'the request was never held' });
    signals.emit('SIGTERM');
    await exited(exit);
    expect(exit).toHaveBeenCalledExactlyOnceWith(1);
    expect(lines).toContain('error: drain timed out after 0.1 s with 1 request(s) still in flight: destroying the remaining connections and exiting with code 1');
    expect(await client.ended).not.toBe('ECONNREFUSED');
    expect(client.received()).toBe('');
  });

  it('exits at once with 128 + the signal number on a second signal', async () => {
    const { port, signals, exit, lines, held } = await setup();
    const client = rawClient(port);
    client.socket.write(GET('/hold'));
    await waitFor(() => held.size === 1, { message: 'the request was never held' });
    signals.emit('SIGINT');
    expect(exit).not.toHaveBeenCalled();
    signals.emit('SIGINT');
    expect(exit).toHaveBeenCalledExactlyOnceWith(130);
    expect(lines.at(-1)).toBe('warn: received SIGINT again while draining: exiting now with code 130, without waiting');
    signals.emit('SIGTERM');
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('removes its handlers on dispose, and refuses a negative timeout', async () => {
    const server = createServer();
    const signals = new EventEmitter();
    const handle = drainOnSignal(server, { emitter: signals, signals: ['SIGTERM', 'SIGHUP'] });
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGHUP')).toBe(1);
    handle.dispose();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGHUP')).toBe(0);
    expect(() => drainOnSignal(server, { timeoutMs: -1 })).toThrow('naija-sup/node: options.timeoutMs must be a number of ms ≥ 0, got -1');
  });
});
