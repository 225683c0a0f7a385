/**
 * drainOnSignal's less common paths (src/node/drain.ts): a signal before the server listens (or
 * after the app closed it itself), hooks that throw things that are not Errors, a silenced logger,
 * and a timeout that fires after a second signal already exited. Real HTTP servers on 127.0.0.1,
 * signals from an EventEmitter, `exit` as a spy.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drainOnSignal, type DrainOptions } from '../../src/node/drain.js';
import { waitFor } from '../helpers/processes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Setup {
  server: Server;
  signals: EventEmitter;
  exit: ReturnType<typeof vi.fn>;
  lines: string[];
  held: Set<ServerResponse>;
}

function setup(options: DrainOptions = {}): Setup {
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url === '/hold') held.add(res);
    else res.end('ok');
  });
  const signals = new EventEmitter();
  const exit = vi.fn();
  const lines: string[] = [];
  const handle = drainOnSignal(server, { emitter: signals, exit, log: (line, level) => lines.push(`${level}: ${line}`), ...options });
  cleanups.push(async () => {
    handle.dispose();
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  });
  return { server, signals, exit, lines, held };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('drainOnSignal, edges', () => {
  it('exits 0 on a signal that arrives before the server listens, after onShutdown and beforeExit, in that order', async () => {
    const calls: string[] = [];
    const { signals, exit, lines } = setup({ onShutdown: () => calls.push('onShutdown'), beforeExit: () => void calls.push('beforeExit') });
    signals.emit('SIGTERM');
    await waitFor(() => exit.mock.calls.length > 0);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
    expect(calls).toEqual(['onShutdown', 'beforeExit']);
    expect(lines).toEqual([
      'info: received SIGTERM: stopped accepting new connections; draining 0 request(s) in flight and 0 open connection(s) (timeout 10 s)',
      'info: all requests finished and all connections closed: exiting with code 0',
    ]);
  });

  it('still waits for the requests in flight when the app had closed the server itself', async () => {
    const { server, signals, exit, held } = setup();
    const port = await listen(server);
    const client = connect(port, '127.0.0.1');
    cleanups.push(() => void client.destroy());
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => held.size === 1);
    // The app stopped listening on its own (the connection in flight stays open).
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      queueMicrotask(resolve);
    });
    expect(server.listening).toBe(false);

    signals.emit('SIGTERM');
    expect(exit).not.toHaveBeenCalled();
    for (const res of held) res.end('done');
    await clientClosed;
    expect(received).toMatch(/\r\nConnection: close\r\n/i);
    await waitFor(() => exit.mock.calls.length > 0);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('exits 1 and says what beforeExit threw, even when it is not an Error', async () => {
    const { signals, exit, lines } = setup({
      beforeExit: () => {
        throw 'the pool would not close';
      },
    });
    signals.emit('SIGTERM');
    await waitFor(() => exit.mock.calls.length > 0);
    expect(exit).toHaveBeenCalledExactlyOnceWith(1);
    expect(lines.slice(1)).toEqual(['error: beforeExit threw: the pool would not close', 'error: beforeExit failed: exiting with code 1']);
  });

  it('drains anyway when onShutdown throws, naming the error by its message when it has no stack', async () => {
    const error = new Error('metrics flush failed');
    error.stack = undefined;
    const { signals, exit, lines } = setup({
      onShutdown: () => {
        throw error;
      },
    });
    signals.emit('SIGINT');
    expect(lines[1]).toBe('error: onShutdown threw (draining anyway): metrics flush failed');
    await waitFor(() => exit.mock.calls.length > 0);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('writes nothing with log: false', async () => {
    const write = vi.spyOn(process.stderr, 'write');
    const signals = new EventEmitter();
    const exit = vi.fn();
    const server = createServer();
    const handle = drainOnSignal(server, { emitter: signals, exit, log: false });
    cleanups.push(() => handle.dispose());
    signals.emit('SIGTERM');
    await waitFor(() => exit.mock.calls.length > 0);
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
    expect(write.mock.calls.filter(([text]) => String(text).includes('naija-sup/node'))).toEqual([]);
  });

  it('exits only once: a timeout after a second signal does not exit again', async () => {
    const { server, signals, exit, held } = setup({ timeoutMs: 1000 });
    const port = await listen(server);
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    cleanups.push(() => void client.destroy());
    client.write('GET /hold HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => held.size === 1);

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    signals.emit('SIGTERM');
    signals.emit('SIGTERM');
    expect(exit).toHaveBeenCalledExactlyOnceWith(143);
    vi.advanceTimersByTime(1000);
    expect(exit).toHaveBeenCalledTimes(1);
  });
});
