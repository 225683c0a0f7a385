/**
 * Environment parsing for the example server, and where it listens (LISTEN_FDS / LISTEN_PID).
 */

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseFlag, readConfig } from '../src/config.js';
import { clearListenEnv, listeningLine, resolveListenTarget } from '../src/listen.js';

describe('readConfig', () => {
  it('has the documented defaults', () => {
    expect(readConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8000,
      bcryptCost: 10,
      bcryptFallback: false,
      gracefulTimeoutMs: 30_000,
      warmupMs: 200,
    });
  });

  it('reads every variable', () => {
    expect(
      readConfig({
        HOST: '::1',
        PORT: '0',
        BCRYPT_COST: '4',
        BCRYPT_FALLBACK: 'yes',
        GRACEFUL_TIMEOUT: '0.5',
        WARMUP_MS: '0',
      }),
    ).toEqual({ host: '::1', port: 0, bcryptCost: 4, bcryptFallback: true, gracefulTimeoutMs: 500, warmupMs: 0 });
    expect(readConfig({ BCRYPT_COST: '15' }).bcryptCost).toBe(15);
  });

  it('reports every invalid variable at once', () => {
    let error;
    try {
      readConfig({
        PORT: '65536',
        BCRYPT_COST: '16',
        BCRYPT_FALLBACK: 'maybe',
        GRACEFUL_TIMEOUT: '-1',
        WARMUP_MS: '1.5',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = /** @type {ConfigError} */ (error).problems;
    expect(problems).toEqual([
      'PORT: expected an integer from 0 to 65535, got "65536"',
      'BCRYPT_COST: expected an integer from 4 to 15, got "16"',
      'BCRYPT_FALLBACK: expected true/false (or 1/0, yes/no), got "maybe"',
      'GRACEFUL_TIMEOUT: expected seconds (like "30" or "0.5") or a duration (like "10s", "500ms"), more than 0 and at most 1 hour, got "-1"',
      'WARMUP_MS: expected an integer number of milliseconds from 0 to 600000, got "1.5"',
    ]);
  });

  it.each([
    ['10', 10_000],
    ['0.5', 500],
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['500ms', 500],
    ['1m', 60_000],
  ])('reads GRACEFUL_TIMEOUT=%s as %i ms', (value, ms) => {
    expect(readConfig({ GRACEFUL_TIMEOUT: value }).gracefulTimeoutMs).toBe(ms);
  });

  it.each(['0', '0s', '2h', '61m', 'soon', '10 s'])('rejects GRACEFUL_TIMEOUT=%s', (value) => {
    expect(() => readConfig({ GRACEFUL_TIMEOUT: value })).toThrow(/^invalid environment: GRACEFUL_TIMEOUT: expected/);
  });

  it.each(['3', '4.5', 'ten', '-4'])('rejects BCRYPT_COST=%s', (cost) => {
    expect(() => readConfig({ BCRYPT_COST: cost })).toThrow(/BCRYPT_COST: expected an integer from 4 to 15/);
  });

  it('parses flags', () => {
    for (const word of ['1', 'true', 'TRUE', 'yes', 'on', ' Yes ']) expect(parseFlag(word)).toBe(true);
    for (const word of [undefined, '', '0', 'false', 'no', 'off']) expect(parseFlag(word)).toBe(false);
    expect(parseFlag('sure')).toBeUndefined();
  });
});

describe('resolveListenTarget', () => {
  const base = { pid: 4242, host: '127.0.0.1', port: 8000 };

  it('binds HOST:PORT without LISTEN_FDS (or with LISTEN_FDS=0)', () => {
    expect(resolveListenTarget({ ...base, env: {} })).toEqual({
      target: { kind: 'tcp', host: '127.0.0.1', port: 8000 },
      notes: [],
    });
    expect(resolveListenTarget({ ...base, env: { LISTEN_FDS: '0' } }).target.kind).toBe('tcp');
  });

  it('uses fd 3 when LISTEN_PID is absent or names this process', () => {
    expect(resolveListenTarget({ ...base, env: { LISTEN_FDS: '1' } })).toEqual({
      target: { kind: 'fd', fd: 3 },
      notes: [],
    });
    expect(resolveListenTarget({ ...base, env: { LISTEN_FDS: '1', LISTEN_PID: '4242' } }).target).toEqual({
      kind: 'fd',
      fd: 3,
    });
  });

  it('ignores LISTEN_FDS meant for another process, and says so', () => {
    const { target, notes } = resolveListenTarget({ ...base, env: { LISTEN_FDS: '1', LISTEN_PID: '1' } });
    expect(target.kind).toBe('tcp');
    expect(notes).toEqual(['LISTEN_FDS ignored: LISTEN_PID=1 names another process (this is pid 4242); binding PORT']);
  });

  it('ignores a LISTEN_FDS that is not a number, and notes extra descriptors', () => {
    expect(resolveListenTarget({ ...base, env: { LISTEN_FDS: 'three' } }).target.kind).toBe('tcp');
    const many = resolveListenTarget({ ...base, env: { LISTEN_FDS: '2' } });
    expect(many.target).toEqual({ kind: 'fd', fd: 3 });
    expect(many.notes[0]).toMatch(/listening on fd 3 only/);
  });

  it('clears the socket-activation variables so that child processes do not inherit them', () => {
    /** @type {Record<string, string | undefined>} */
    const env = { LISTEN_FDS: '1', LISTEN_PID: '7', LISTEN_FDNAMES: 'http', PATH: '/bin' };
    clearListenEnv(env);
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('prints the real port in the listening line, and brackets IPv6 hosts', async () => {
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
    try {
      const address = /** @type {import('node:net').AddressInfo} */ (server.address());
      expect(listeningLine(server, { kind: 'tcp', host: '127.0.0.1', port: 0 }, 99)).toBe(
        `listening on http://127.0.0.1:${address.port} (pid 99)`,
      );
      expect(listeningLine(server, { kind: 'tcp', host: '::1', port: 0 }, 99)).toBe(
        `listening on http://[::1]:${address.port} (pid 99)`,
      );
      expect(listeningLine(server, { kind: 'fd', fd: 3 }, 99)).toBe('listening on inherited fd 3 (pid 99)');
    } finally {
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    }
  });
});
