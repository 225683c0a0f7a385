/**
 * installGracefulShutdown in-process: signals come from an EventEmitter and `exit` is a spy, over a
 * real HTTP server on 127.0.0.1:0. (test/server.test.js covers the same with real signals.)
 */

import { EventEmitter } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installGracefulShutdown } from '../src/shutdown.js';
import { createAppState } from '../src/state.js';
import { loadPasswordHasher } from '../src/password.js';
import { request, tryConnect, waitFor } from './helpers.js';

/** @type {Array<() => Promise<void>>} */
const cleanups = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup({ timeoutMs = 5_000 } = {}) {
  const state = createAppState({ hasher: await loadPasswordHasher({ env: {} }), warmupMs: 0 });
  await state.warm;
  /** @type {Set<import('node:http').ServerResponse>} */
  const held = new Set();
  const server = http.createServer((req, res) => {
    state.track(res);
    if (req.url === '/hold') held.add(res);
    else res.end('ok');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  const signals = new EventEmitter();
  const exit = vi.fn();
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const handle = installGracefulShutdown({ server, state, timeoutMs, log, exit, signals });
  cleanups.push(async () => {
    handle.dispose();
    state.dispose();
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return { state, server, port, signals, exit, log, held, handle };
}

describe('installGracefulShutdown', () => {
  it('drains an in-flight request, marks not-ready, refuses new connections, then exits 0', async () => {
    const { state, port, signals, exit, log, held } = await setup();
    const pending = request(`http://127.0.0.1:${port}/hold`);
    await waitFor(() => (held.size === 1 ? true : undefined), { what: 'the request to be held' });

    signals.emit('SIGTERM');
    expect(state.isReady()).toBe(false);
    expect(state.phase()).toBe('stopping');
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(exit).not.toHaveBeenCalled();
    expect(log.info).toHaveBeenCalledWith('stopped accepting new connections; waiting for 1 in-flight request(s)');

    for (const res of held) res.end('done');
    const response = await pending;
    expect(response.text).toBe('done');
    expect(response.headers.connection).toBe('close');
    await waitFor(() => (exit.mock.calls.length > 0 ? true : undefined), { what: 'exit to be called' });
    expect(exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('exits at once with 130 on a second SIGINT', async () => {
    const { port, signals, exit, log, held } = await setup();
    const pending = request(`http://127.0.0.1:${port}/hold`).catch((error) => error);
    await waitFor(() => (held.size === 1 ? true : undefined), { what: 'the request to be held' });
    signals.emit('SIGINT');
    expect(exit).not.toHaveBeenCalled();
    signals.emit('SIGINT');
    expect(exit).toHaveBeenCalledExactlyOnceWith(130);
    expect(log.warn).toHaveBeenCalledWith(
      'received SIGINT again during shutdown: exiting now with code 130, without waiting',
    );
    for (const res of held) res.destroy();
    await pending;
  });

  it('destroys what is left and exits 1 when the timeout passes', async () => {
    const { port, signals, exit, log, held } = await setup({ timeoutMs: 100 });
    const pending = request(`http://127.0.0.1:${port}/hold`).then(
      () => 'answered',
      (error) => error.code,
    );
    await waitFor(() => (held.size === 1 ? true : undefined), { what: 'the request to be held' });
    signals.emit('SIGTERM');
    await waitFor(() => (exit.mock.calls.length > 0 ? true : undefined), { what: 'exit to be called' });
    expect(exit).toHaveBeenCalledExactlyOnceWith(1);
    expect(log.error.mock.calls[0]?.[0]).toMatch(/^graceful shutdown timed out after 0\.1s with 1 request\(s\) still in flight/);
    expect(await pending).toBe('ECONNRESET');
  });

  it('removes its handlers on dispose', async () => {
    const { signals, handle } = await setup();
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    handle.dispose();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});
