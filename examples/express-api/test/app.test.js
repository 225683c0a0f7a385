/**
 * In-process tests of every endpoint: createApp() mounted on a real HTTP server on 127.0.0.1:0, built
 * as src/server.js builds it (naija-sup/node's expressServerOptions).
 */

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { expressServerOptions } from 'naija-sup/node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/app.js';
import { loadPasswordHasher, simulatedDlopenError } from '../src/password.js';
import { request, waitFor } from './helpers.js';

const PACKAGE_VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

/** @type {Array<() => Promise<void>>} */
const cleanups = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const silentLog = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

/**
 * Builds the app with the native hasher (unless given one) and serves it on an ephemeral port.
 *
 * @param {Partial<import('../src/app.js').AppOptions>} [options]
 */
async function serve(options = {}) {
  const hasher = options.hasher ?? (await loadPasswordHasher({ env: {} }));
  const log = options.log ?? silentLog();
  const { app, state } = createApp({ bcryptCost: 4, warmupMs: 0, ...options, hasher, log });
  const server = http.createServer(expressServerOptions(app), app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  cleanups.push(async () => {
    state.dispose();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return { state, log, base: `http://127.0.0.1:${address.port}` };
}

describe('GET /api/v1/public/health', () => {
  it('reports status, version, uptime, pid and the bcrypt and warm-up checks', async () => {
    const { base, state } = await serve();
    await state.warm;
    const res = await request(`${base}/api/v1/public/health`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json;
    expect(body.status).toBe('ok');
    expect(body.version).toBe(PACKAGE_VERSION);
    expect(typeof body.uptime).toBe('number');
    expect(body.uptime).toBeGreaterThanOrEqual(0);
    expect(body.uptime).toBeLessThan(60);
    expect(body.pid).toBe(process.pid);
    expect(body.checks.bcrypt).toEqual({ implementation: 'bcrypt', native: true, fallback: false });
    expect(body.checks.warmup).toEqual({ done: true, warmupMs: 0, selfTest: 'ok', selfTestMs: expect.any(Number) });
  });

  it('reports uptime in seconds from the injected clock', async () => {
    let clock = 1_000_000;
    const { base } = await serve({ now: () => clock });
    clock += 2_500;
    const res = await request(`${base}/api/v1/public/health`);
    expect(res.json.uptime).toBe(2.5);
  });

  it('says degraded, with the native error, when running on the bcryptjs fallback', async () => {
    const hasher = await loadPasswordHasher({
      env: { BCRYPT_FALLBACK: 'true' },
      importNative: () => Promise.reject(simulatedDlopenError()),
    });
    const { base, state } = await serve({ hasher });
    await state.warm;
    const res = await request(`${base}/api/v1/public/health`);
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('degraded');
    expect(res.json.checks.bcrypt).toMatchObject({ implementation: 'bcryptjs', native: false, fallback: true });
    expect(res.json.checks.bcrypt.warning).toMatch(/invalid ELF header/);
    expect(res.json.checks.warmup.selfTest).toBe('ok');
  });

  it('says degraded when the bcrypt self-test fails, and /ready stays 503 with the reason', async () => {
    const native = await loadPasswordHasher({ env: {} });
    // A hasher that accepts every password: the self-test must catch it.
    const broken = { ...native, compare: async () => true };
    const { base, state } = await serve({ hasher: broken });
    await state.warm;
    const health = await request(`${base}/api/v1/public/health`);
    expect(health.json.status).toBe('degraded');
    expect(health.json.checks.warmup).toMatchObject({ done: true, selfTest: 'failed', error: 'a wrong password verified' });
    const ready = await request(`${base}/api/v1/public/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'failed', ready: false, reason: 'bcrypt self-test failed: a wrong password verified' });
  });
});

describe('GET /api/v1/public/ready', () => {
  it('answers 503 while warming up, 200 after WARMUP_MS, and 503 again once shutdown begins', async () => {
    const created = Date.now();
    const { base, state } = await serve({ warmupMs: 300 });
    const first = await request(`${base}/api/v1/public/ready`);
    expect(first.status).toBe(503);
    expect(first.json).toEqual({ status: 'starting', ready: false, reason: 'warming up' });
    expect(first.headers['cache-control']).toBe('no-store');

    const ready = await waitFor(
      async () => {
        const res = await request(`${base}/api/v1/public/ready`);
        return res.status === 200 ? res : undefined;
      },
      { timeoutMs: 10_000, what: '/ready to answer 200' },
    );
    // Timers may fire a millisecond early after rounding; anything near 300 ms shows the wait happened.
    expect(Date.now() - created).toBeGreaterThanOrEqual(290);
    expect(ready.json).toEqual({ status: 'ready', ready: true });

    state.beginShutdown();
    const stopping = await request(`${base}/api/v1/public/ready`);
    expect(stopping.status).toBe(503);
    expect(stopping.json).toEqual({ status: 'stopping', ready: false, reason: 'shutting down' });
    expect(stopping.headers.connection).toBe('close');
  });
});

describe('GET /api/v1/public/alive', () => {
  it('answers 200 even while warming up', async () => {
    const { base } = await serve({ warmupMs: 60_000 });
    const res = await request(`${base}/api/v1/public/alive`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'alive', pid: process.pid });
  });
});

describe('GET /api/v1/public/slow', () => {
  it('answers after the requested delay', async () => {
    const { base, log } = await serve();
    const started = Date.now();
    const res = await request(`${base}/api/v1/public/slow?ms=150`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', sleptMs: 150 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(log.info).toHaveBeenCalledWith('slow request accepted: answering in 150 ms');
  });

  it.each(['abc', '-1', '10001', '1.5', ''])('rejects ms=%s with 400', async (ms) => {
    const { base } = await serve();
    const res = await request(`${base}/api/v1/public/slow?ms=${ms}`);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_request');
  });
});

describe('POST /api/v1/auth/register and /login', () => {
  it('registers, logs in, rejects a wrong password and an unknown user, refuses a duplicate', async () => {
    const { base } = await serve();
    const register = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      json: { username: 'ada', password: 'correct horse' },
    });
    expect(register.status).toBe(201);
    expect(register.json).toEqual({ username: 'ada' });

    const login = await request(`${base}/api/v1/auth/login`, {
      method: 'POST',
      json: { username: 'ada', password: 'correct horse' },
    });
    expect(login.status).toBe(200);
    expect(login.json).toEqual({ ok: true });

    const wrong = await request(`${base}/api/v1/auth/login`, {
      method: 'POST',
      json: { username: 'ada', password: 'battery staple' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ error: 'invalid_credentials', message: 'wrong username or password' });

    const unknown = await request(`${base}/api/v1/auth/login`, {
      method: 'POST',
      json: { username: 'nobody', password: 'correct horse' },
    });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual(wrong.json);

    const again = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      json: { username: 'ada', password: 'another one' },
    });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('username_taken');
  });

  it('lets only one of two concurrent registrations of the same name win', async () => {
    const { base } = await serve();
    const attempt = () =>
      request(`${base}/api/v1/auth/register`, { method: 'POST', json: { username: 'twin', password: 'pw-one' } });
    const statuses = (await Promise.all([attempt(), attempt()])).map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409]);
  });

  it.each([
    ['a missing username', { password: 'x' }],
    ['a missing password', { username: 'bob' }],
    ['an empty password', { username: 'bob', password: '' }],
    ['a numeric password', { username: 'bob', password: 12345678 }],
    ['a username with spaces', { username: 'bob smith', password: 'x' }],
    ['a username over 64 characters', { username: 'b'.repeat(65), password: 'x' }],
    ['an array body', ['bob', 'x']],
    ['null fields', { username: null, password: null }],
  ])('answers 400 for %s', async (_label, json) => {
    const { base } = await serve();
    for (const path of ['register', 'login']) {
      const res = await request(`${base}/api/v1/auth/${path}`, { method: 'POST', json });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('invalid_request');
      expect(typeof res.json.message).toBe('string');
    }
  });

  it('answers 400 when the body is not sent as JSON', async () => {
    const { base } = await serve();
    const res = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      body: 'username=bob&password=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/application\/json/);
  });

  it('answers 400 with a JSON error for malformed JSON', async () => {
    const { base } = await serve();
    const res = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      body: '{"username": "bob", "password": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json.error).toBe('invalid_json');
    expect(res.json.message).toMatch(/^request body is not valid JSON/);
  });

  it('answers 413 for a body over 16 kB', async () => {
    const { base } = await serve();
    const res = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      json: { username: 'bob', password: 'x', padding: 'p'.repeat(20_000) },
    });
    expect(res.status).toBe(413);
    expect(res.json.error).toBe('payload_too_large');
  });
});

describe('the 72-byte bcrypt limit', () => {
  /**
   * @param {string} base
   * @param {string} path
   * @param {string} username
   * @param {string} password
   */
  const post = (base, path, username, password) =>
    request(`${base}/api/v1/auth/${path}`, { method: 'POST', json: { username, password } });

  it.each([
    ['73 ASCII characters', 'a'.repeat(73), 73],
    ['37 "é" (37 characters, 74 bytes)', 'é'.repeat(37), 74],
    ['19 emoji (38 UTF-16 units, 76 bytes)', '😀'.repeat(19), 76],
    ['71 ASCII + one "é" (72 characters, 73 bytes)', `${'a'.repeat(71)}é`, 73],
  ])('rejects %s with 400 on register and login, naming the byte count', async (_label, password, bytes) => {
    expect(Buffer.byteLength(password, 'utf8')).toBe(bytes);
    const { base } = await serve();
    for (const path of ['register', 'login']) {
      const res = await post(base, path, 'long', password);
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('password_too_long');
      expect(res.json.message).toContain(`${bytes} bytes`);
      expect(res.json.message).toContain('72 bytes');
    }
    // Nothing was stored: the name is still free.
    expect((await post(base, 'register', 'long', 'short')).status).toBe(201);
  });

  it.each([
    ['72 ASCII characters', 'a'.repeat(72)],
    ['36 "é" (72 bytes)', 'é'.repeat(36)],
    ['18 emoji (72 bytes)', '😀'.repeat(18)],
  ])('accepts exactly 72 bytes: %s', async (_label, password) => {
    expect(Buffer.byteLength(password, 'utf8')).toBe(72);
    const { base } = await serve();
    expect((await post(base, 'register', 'edge', password)).status).toBe(201);
    expect((await post(base, 'login', 'edge', password)).status).toBe(200);
  });

  it('tells two 72-byte passwords apart by their last byte', async () => {
    const { base } = await serve();
    expect((await post(base, 'register', 'tail', `${'a'.repeat(71)}b`)).status).toBe(201);
    expect((await post(base, 'login', 'tail', `${'a'.repeat(71)}c`)).status).toBe(401);
  });
});

describe('unknown routes and errors', () => {
  it('answers 404 with JSON for unknown paths and methods', async () => {
    const { base } = await serve();
    const missing = await request(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'not_found', message: 'no route for GET /nope' });
    const wrongMethod = await request(`${base}/api/v1/auth/login`);
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.json.error).toBe('not_found');
  });

  it('answers 500 with JSON and no stack when a handler fails, and logs the stack', async () => {
    const native = await loadPasswordHasher({ env: {} });
    let failHash = false;
    const flaky = {
      ...native,
      /** @type {typeof native.hash} */
      hash: async (password, cost) => {
        if (failHash) throw new Error('disk on fire (secret detail)');
        return native.hash(password, cost);
      },
    };
    const log = silentLog();
    const { base, state } = await serve({ hasher: flaky, log });
    await state.warm;
    failHash = true;
    const res = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      json: { username: 'carol', password: 'pw' },
    });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: 'internal_error', message: 'internal server error' });
    expect(res.text).not.toContain('secret detail');
    expect(res.text).not.toMatch(/\bat .*\.js/);
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error.mock.calls[0]?.[0]).toMatch(/POST \/api\/v1\/auth\/register: Error: disk on fire[\s\S]*at /);
    // The failed registration released the name.
    failHash = false;
    const retry = await request(`${base}/api/v1/auth/register`, {
      method: 'POST',
      json: { username: 'carol', password: 'pw' },
    });
    expect(retry.status).toBe(201);
  });
});

describe('createApp', () => {
  it('refuses to build without a hasher', () => {
    expect(() => createApp(/** @type {any} */ ({}))).toThrow(/options\.hasher is required/);
  });
});
