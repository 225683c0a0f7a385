/**
 * Environment parsing for the example server. (Where it listens, LISTEN_FDS / LISTEN_PID, is
 * naija-sup/node's job: test/node/listen.test.ts at the repository root.)
 */

import { describe, expect, it } from 'vitest';
import { ConfigError, parseFlag, readConfig } from '../src/config.js';

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
