/**
 * src/server.js as a real process: PORT=0, real signals, the bcrypt refusal and fallback, and socket
 * handoff on fd 3. Every spawned server must be gone at the end of its test.
 */

import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createBoundSocket,
  reapServers,
  request,
  startServer,
  tryConnect,
  waitForListening,
  waitForPidGone,
} from './helpers.js';

afterEach(async () => {
  await reapServers();
});

describe('server.js start-up', () => {
  it('listens on PORT=0, prints the real port and its pid, then says ready', async () => {
    const server = startServer();
    const { port, pid, base } = await waitForListening(server);
    expect(pid).toBe(server.pid);
    expect(port).toBeGreaterThan(0);
    await server.waitForLine(/^ready: warm-up of 0 ms done, bcrypt self-test passed in [\d.]+ ms$/);
    const ready = await request(`${base}/api/v1/public/ready`);
    expect(ready.status).toBe(200);
    const health = await request(`${base}/api/v1/public/health`);
    expect(health.json).toMatchObject({ status: 'ok', pid: server.pid, checks: { bcrypt: { implementation: 'bcrypt' } } });

    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await waitForPidGone(server.pid);
  });

  it('refuses to start on invalid settings and lists every problem', async () => {
    const server = startServer({ env: { BCRYPT_COST: '99', PORT: 'eighty' } });
    expect(await server.exited).toEqual({ code: 1, signal: null });
    await server.waitForLine(/^error: BCRYPT_COST: expected an integer from 4 to 15, got "99"$/, { stream: 'stderr' });
    await server.waitForLine(/^error: PORT: expected an integer from 0 to 65535, got "eighty"$/, { stream: 'stderr' });
    await waitForPidGone(server.pid);
  });

  it('exits 1 with the EADDRINUSE error and a hint when the port is taken', async () => {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, '127.0.0.1', () => resolve(undefined)));
    try {
      const port = /** @type {import('node:net').AddressInfo} */ (holder.address()).port;
      const server = startServer({ env: { PORT: String(port) } });
      expect(await server.exited).toEqual({ code: 1, signal: null });
      await server.waitForLine(
        new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}$`),
        { stream: 'stderr' },
      );
      await server.waitForLine(/^fix: another process holds port \d+/, { stream: 'stderr' });
      await waitForPidGone(server.pid);
    } finally {
      await new Promise((resolve) => holder.close(() => resolve(undefined)));
    }
  });
});

describe('server.js graceful shutdown', () => {
  it('finishes an in-flight request after SIGTERM, refuses new connections, exits 0', async () => {
    const server = startServer({ env: { GRACEFUL_TIMEOUT: '20' } });
    const { port, base } = await waitForListening(server);
    // A keep-alive agent: the server itself must close the connection after the last response.
    const agent = new http.Agent({ keepAlive: true });
    try {
      const slow = request(`${base}/api/v1/public/slow?ms=800`, { agent });
      await server.waitForLine(/^slow request accepted: answering in 800 ms$/);

      server.child.kill('SIGTERM');
      await server.waitForLine(/^received SIGTERM: stopped accepting new connections; draining 1 request\(s\) in flight and 1 open connection\(s\) \(timeout 20 s\)$/);
      await server.waitForLine(/^SIGTERM: \/ready now answers 503$/);
      expect(await tryConnect(port)).toBe('ECONNREFUSED');

      const response = await slow;
      expect(response.status).toBe(200);
      expect(response.json).toEqual({ status: 'ok', sleptMs: 800 });
      expect(response.headers.connection).toBe('close');

      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.stdout).toContain('all requests finished and all connections closed: exiting with code 0');
      await waitForPidGone(server.pid);
      expect(await tryConnect(port)).toBe('ECONNREFUSED');
    } finally {
      agent.destroy();
    }
  });

  it('closes idle keep-alive connections instead of waiting for them', async () => {
    // The graceful deadline (3 s) comes before Node's keepAliveTimeout (5 s) would end the idle
    // connection: a server that waited for it would hit the deadline and exit 1. Closing idle
    // connections (after a 1 s grace, a timer of the same process) exits 0. No clock in the test.
    const server = startServer({ env: { GRACEFUL_TIMEOUT: '3' } });
    const { base } = await waitForListening(server);
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      const alive = await request(`${base}/api/v1/public/alive`, { agent });
      expect(alive.status).toBe(200);
      expect(alive.headers.connection).toBe('keep-alive');
      // The agent now parks one idle connection to the server.
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.stdout).toContain('all requests finished and all connections closed: exiting with code 0');
      expect(server.stderr.join('\n')).not.toMatch(/destroying the remaining connections/);
      await waitForPidGone(server.pid);
    } finally {
      agent.destroy();
    }
  });

  it('shuts down gracefully on SIGINT as well', async () => {
    const server = startServer();
    await waitForListening(server);
    server.child.kill('SIGINT');
    await server.waitForLine(/^received SIGINT: stopped accepting new connections; .* \(timeout 30 s\)$/);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await waitForPidGone(server.pid);
  });

  it('destroys the connections and exits 1 when GRACEFUL_TIMEOUT passes', async () => {
    const server = startServer({ env: { GRACEFUL_TIMEOUT: '0.5' } });
    const { base } = await waitForListening(server);
    const slow = request(`${base}/api/v1/public/slow?ms=10000`).then(
      (res) => `answered ${res.status}`,
      (error) => error.code,
    );
    await server.waitForLine(/^slow request accepted/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    await server.waitForLine(
      /^drain timed out after 0\.5 s with 1 request\(s\) still in flight: destroying the remaining connections and exiting with code 1$/,
      { stream: 'stderr' },
    );
    expect(await slow).toBe('ECONNRESET');
    await waitForPidGone(server.pid);
  });

  it('exits at once with 143 on a second SIGTERM', async () => {
    const server = startServer({ env: { GRACEFUL_TIMEOUT: '20' } });
    const { base } = await waitForListening(server);
    const slow = request(`${base}/api/v1/public/slow?ms=10000`).catch((error) => error);
    await server.waitForLine(/^slow request accepted/);
    server.child.kill('SIGTERM');
    await server.waitForLine(/^received SIGTERM: stopped accepting new connections/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 143, signal: null });
    await server.waitForLine(/^received SIGTERM again while draining: exiting now with code 143, without waiting$/, { stream: 'stderr' });
    await slow;
    await waitForPidGone(server.pid);
  });
});

describe('server.js and a broken native bcrypt (EXAMPLE_BREAK_BCRYPT=1)', () => {
  it('refuses to start without the fallback: exit 1, the binding error and the fix on stderr', async () => {
    const server = startServer({ env: { EXAMPLE_BREAK_BCRYPT: '1' } });
    expect(await server.exited).toEqual({ code: 1, signal: null });
    await server.waitForLine(
      /^error: cannot load the native bcrypt module: \/.*\/bcrypt\.glibc\.node: invalid ELF header \(ERR_DLOPEN_FAILED\)$/,
      { stream: 'stderr' },
    );
    await server.waitForLine(/^fix: run `npm rebuild bcrypt` with the node that runs this server .*BCRYPT_FALLBACK=true/, {
      stream: 'stderr',
    });
    expect(server.stdout.some((line) => line.startsWith('listening on'))).toBe(false);
    await waitForPidGone(server.pid);
  });

  it('starts on bcryptjs with BCRYPT_FALLBACK=true, warns loudly, and /health says degraded', async () => {
    const server = startServer({ env: { EXAMPLE_BREAK_BCRYPT: '1', BCRYPT_FALLBACK: 'true' } });
    await server.waitForLine(/^WARNING: native bcrypt failed to load \(.*invalid ELF header.*\); BCRYPT_FALLBACK is on/, {
      stream: 'stderr',
    });
    const { base } = await waitForListening(server);
    const health = await request(`${base}/api/v1/public/health`);
    expect(health.status).toBe(200);
    expect(health.json.status).toBe('degraded');
    expect(health.json.checks.bcrypt).toMatchObject({ implementation: 'bcryptjs', native: false, fallback: true });
    expect(health.json.checks.bcrypt.warning).toMatch(/invalid ELF header/);

    const credentials = { username: 'fallback', password: 'still works' };
    const registered = await request(`${base}/api/v1/auth/register`, { method: 'POST', json: credentials });
    expect(registered.status).toBe(201);
    const login = await request(`${base}/api/v1/auth/login`, { method: 'POST', json: credentials });
    expect(login.status).toBe(200);

    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await waitForPidGone(server.pid);
  });
});

describe('server.js socket handoff (LISTEN_FDS=1, fd 3)', () => {
  it('serves on the inherited socket instead of binding PORT', async () => {
    // PORT points at a port someone else holds: binding it would fail, so answering proves fd 3 is used.
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, '127.0.0.1', () => resolve(undefined)));
    const heldPort = /** @type {import('node:net').AddressInfo} */ (holder.address()).port;
    const socket = createBoundSocket();
    try {
      const server = startServer({ env: { LISTEN_FDS: '1', PORT: String(heldPort) }, fd3: socket.fd });
      // The child has its own copy of the descriptor now; ours must not keep the port open.
      socket.close();
      await server.waitForLine(new RegExp(`^listening on inherited fd 3 \\(pid ${server.pid}\\)$`));
      await server.waitForLine(new RegExp(`^inherited fd 3 is bound to 127\\.0\\.0\\.1:${socket.port}$`));
      const alive = await request(`http://127.0.0.1:${socket.port}/api/v1/public/alive`);
      expect(alive.status).toBe(200);
      expect(alive.json).toEqual({ status: 'alive', pid: server.pid });

      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      await waitForPidGone(server.pid);
      expect(await tryConnect(socket.port)).toBe('ECONNREFUSED');
    } finally {
      socket.close();
      await new Promise((resolve) => holder.close(() => resolve(undefined)));
    }
  });

  it('ignores LISTEN_FDS when LISTEN_PID names another process, and binds PORT', async () => {
    const server = startServer({ env: { LISTEN_FDS: '1', LISTEN_PID: '1' } });
    await server.waitForLine(/^LISTEN_FDS ignored: LISTEN_PID=1 names another process/, { stream: 'stderr' });
    const { base } = await waitForListening(server);
    expect((await request(`${base}/api/v1/public/alive`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await waitForPidGone(server.pid);
  });
});
