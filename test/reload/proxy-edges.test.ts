/**
 * The TCP reload proxy's less travelled paths (src/reload/proxy.ts): why it cannot listen, a
 * bracketed IPv6 host, no target at all, several instances in turn, draining with nothing in
 * flight, and close() waiting for every piped connection.
 */

import { EventEmitter } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NaijaSupError } from '../../src/errors.js';
import { createProxy, listen, type ProxyEvent, type ReloadProxy } from '../../src/reload/proxy.js';
import { waitFor } from '../helpers/processes.js';

const proxies: ReloadProxy[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close({ timeout: 100 })));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A server that answers every connection with `name` and keeps it open until the client ends. */
async function namedServer(name: string): Promise<{ port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    accepted.push(socket);
    socket.write(name);
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Connects to the proxy and resolves with the first bytes the instance behind it sent. */
function firstWords(host: string, port: number): Promise<{ socket: Socket; words: string }> {
  const socket = connect({ host, port, allowHalfOpen: true });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('data', (chunk: Buffer) => resolve({ socket, words: chunk.toString() }));
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

describe('why the proxy cannot listen', () => {
  /** A server whose listen() fails with `code`, as the kernel (or DNS) would report it. */
  function failingServer(code: string | undefined): Server {
    const fake = new EventEmitter() as EventEmitter & { listen: () => void };
    fake.listen = () => {
      const error = Object.assign(new Error(`listen failed: ${code ?? 'no code'}`), code === undefined ? {} : { code });
      queueMicrotask(() => fake.emit('error', error));
    };
    return fake as unknown as Server;
  }

  async function failure(code: string | undefined, host = '127.0.0.1'): Promise<NaijaSupError> {
    const server = failingServer(code);
    const error = await listen(server, host, 8000).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NaijaSupError);
    // A failed listen leaves no 'listening' handler behind (a later listen must not resolve it).
    expect(server.listenerCount('listening')).toBe(0);
    return error as NaijaSupError;
  }

  it('names a port in use, and says how to find its holder (an IPv6 address in brackets)', async () => {
    const error = await failure('EADDRINUSE', '::1');
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.message).toBe('The reload proxy cannot listen on [::1]:8000: the port is in use (EADDRINUSE).');
    expect(error.fix).toContain("ss -ltnp 'sport = :8000'");
  });

  it('says a privileged port needs privileges', async () => {
    const error = await failure('EACCES');
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toBe('The reload proxy cannot listen on 127.0.0.1:8000: permission denied (EACCES).');
    expect(error.fix).toBe('Ports below 1024 need privileges: choose a port from 1024 up.');
  });

  it.each(['EADDRNOTAVAIL', 'ENOTFOUND'])('says a host that is not this machine (%s) is not one of its addresses', async (code) => {
    const error = await failure(code, '10.255.255.1');
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toBe(`The reload proxy cannot listen on 10.255.255.1:8000: 10.255.255.1 is not an address of this machine (${code}).`);
    expect(error.fix).toBe('Use 127.0.0.1, ::1, 0.0.0.0 or ::.');
  });

  it('passes any other failure on by its code, or its message when it has none', async () => {
    expect((await failure('EMFILE')).message).toBe('The reload proxy cannot listen on 127.0.0.1:8000: EMFILE.');
    expect((await failure(undefined)).message).toBe('The reload proxy cannot listen on 127.0.0.1:8000: listen failed: no code.');
  });
});

describe('createProxy', () => {
  it('accepts a bracketed IPv6 host, as written in a URL, and listens on it', async () => {
    const instance = await namedServer('blue');
    const proxy = await createProxy({ host: '[::1]', port: 0, target: instance.port });
    proxies.push(proxy);
    expect(proxy.host).toBe('::1');
    expect((await firstWords('::1', proxy.port)).words).toBe('blue');
  });

  it('holds connections while there is no target, and reports it once per connection', async () => {
    const events: ProxyEvent[] = [];
    const instance = await namedServer('green');
    const proxy = await createProxy({ host: '127.0.0.1', port: 0, target: instance.port, onEvent: (e) => events.push(e) });
    proxies.push(proxy);
    proxy.setTarget(null);
    expect(proxy.target()).toBeNull();

    const answer = firstWords('127.0.0.1', proxy.port);
    await waitFor(() => proxy.held() === 1);
    expect(events).toEqual([{ type: 'held', reason: 'no-target', target: null }]);
    expect(proxy.stats().heldTotal).toBe(1);

    proxy.setTarget(instance.port);
    expect((await answer).words).toBe('green');
    expect(proxy.held()).toBe(0);
  });

  it('hands new connections to several instances in turn and counts them per instance', async () => {
    const a = await namedServer('a');
    const b = await namedServer('b');
    const proxy = await createProxy({ host: '127.0.0.1', port: 0, target: a.port });
    proxies.push(proxy);
    proxy.setTargetAt(1, b.port);

    const words: string[] = [];
    for (let i = 0; i < 4; i += 1) words.push((await firstWords('127.0.0.1', proxy.port)).words);
    expect(words.toSorted()).toEqual(['a', 'a', 'b', 'b']);
    expect(proxy.connections()).toBe(4);
    expect(proxy.connections(a.port)).toBe(2);
    expect(proxy.connections(b.port)).toBe(2);
    // Slot 0 is what target() names, whatever slot 1 holds.
    expect(proxy.target()).toBe(a.port);
  });

  it('says at once that an instance with nothing in flight is drained, and waits for one that has', async () => {
    const instance = await namedServer('x');
    const proxy = await createProxy({ host: '127.0.0.1', port: 0, target: instance.port });
    proxies.push(proxy);
    await expect(proxy.waitForDrain(instance.port, 60_000)).resolves.toBe(true);

    const { socket } = await firstWords('127.0.0.1', proxy.port);
    const drained = proxy.waitForDrain(instance.port, 60_000);
    await expect(proxy.waitForDrain(instance.port, 1)).resolves.toBe(false);
    socket.end();
    await expect(drained).resolves.toBe(true);
    expect(proxy.connections(instance.port)).toBe(0);
  });

  it('close() waits until every piped connection has ended, not only the first', async () => {
    const instance = await namedServer('x');
    const proxy = await createProxy({ host: '127.0.0.1', port: 0, target: instance.port });
    proxies.push(proxy);
    const first = await firstWords('127.0.0.1', proxy.port);
    const second = await firstWords('127.0.0.1', proxy.port);

    let done = false;
    const closing = proxy.close({ timeout: 60_000 }).then(() => (done = true));
    first.socket.end();
    await closed(first.socket);
    await waitFor(() => proxy.connections() === 1);
    expect(done).toBe(false);
    second.socket.end();
    await closing;
    expect(proxy.connections()).toBe(0);
  });
});
