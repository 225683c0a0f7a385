/**
 * The bcrypt loader: native first; bcryptjs only with BCRYPT_FALLBACK, and then loudly; otherwise a
 * refusal that carries the native error and the fix. Also the 72-byte guard and the self-test.
 */

import { describe, expect, it } from 'vitest';
import {
  BcryptLoadError,
  MAX_PASSWORD_BYTES,
  PasswordTooLongError,
  isBcryptBreakRequested,
  loadPasswordHasher,
  passwordByteLength,
  runSelfTest,
  simulatedDlopenError,
} from '../src/password.js';

const failingNative = () => Promise.reject(simulatedDlopenError());

describe('loadPasswordHasher', () => {
  it('loads the native bcrypt when it works', async () => {
    const hasher = await loadPasswordHasher({ env: { BCRYPT_FALLBACK: 'true' } });
    expect(hasher).toMatchObject({ implementation: 'bcrypt', native: true, fallback: false, warning: undefined });
    const hash = await hasher.hash('pw', 4);
    expect(hash).toMatch(/^\$2b\$04\$/);
    expect(await hasher.compare('pw', hash)).toBe(true);
    expect(await hasher.compare('pW', hash)).toBe(false);
  });

  it.each(['true', 'TRUE', '1', 'yes'])(
    'falls back to bcryptjs with BCRYPT_FALLBACK=%s and carries the native error in the warning',
    async (flag) => {
      const hasher = await loadPasswordHasher({ env: { BCRYPT_FALLBACK: flag }, importNative: failingNative });
      expect(hasher).toMatchObject({ implementation: 'bcryptjs', native: false, fallback: true });
      expect(hasher.warning).toMatch(/^native bcrypt failed to load \(.*bcrypt\.glibc\.node: invalid ELF header/);
      expect(hasher.warning).toContain('npm rebuild bcrypt');
      expect(hasher.nativeError).toMatch(/invalid ELF header \(ERR_DLOPEN_FAILED\)$/);
      const hash = await hasher.hash('pw', 4);
      expect(await hasher.compare('pw', hash)).toBe(true);
      expect(await hasher.compare('pw!', hash)).toBe(false);
    },
  );

  it.each([{}, { BCRYPT_FALLBACK: 'false' }, { BCRYPT_FALLBACK: '0' }, { BCRYPT_FALLBACK: 'sure' }])(
    'refuses without the fallback (env %o): the error names the native failure and the fix',
    async (env) => {
      const error = await loadPasswordHasher({ env, importNative: failingNative }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).toBeInstanceOf(BcryptLoadError);
      expect(error.code).toBe('E_BCRYPT_LOAD');
      expect(error.message).toMatch(/^cannot load the native bcrypt module: .*bcrypt\.glibc\.node: invalid ELF header/);
      expect(error.fix).toContain('npm rebuild bcrypt');
      expect(error.fix).toContain('BCRYPT_FALLBACK=true');
      expect(error.cause).toMatchObject({ code: 'ERR_DLOPEN_FAILED' });
    },
  );

  it('treats a native module without hash()/compare() as a load failure', async () => {
    await expect(loadPasswordHasher({ env: {}, importNative: async () => ({ default: {} }) })).rejects.toThrow(
      /cannot load the native bcrypt module: module "bcrypt" loaded but has no hash\(\)\/compare\(\) functions/,
    );
  });

  it('reports both failures when the fallback cannot load either', async () => {
    const error = await loadPasswordHasher({
      env: { BCRYPT_FALLBACK: 'yes' },
      importNative: failingNative,
      importFallback: () => Promise.reject(new Error("Cannot find module 'bcryptjs'")),
    }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(BcryptLoadError);
    expect(error.message).toMatch(/invalid ELF header.*bcryptjs fallback failed too: Cannot find module 'bcryptjs'/);
  });

  it('EXAMPLE_BREAK_BCRYPT makes the default native import fail like a foreign binary', async () => {
    expect(isBcryptBreakRequested({ EXAMPLE_BREAK_BCRYPT: '1' })).toBe(true);
    expect(isBcryptBreakRequested({})).toBe(false);
    const error = await loadPasswordHasher({ env: { EXAMPLE_BREAK_BCRYPT: '1' } }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeInstanceOf(BcryptLoadError);
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause.code).toBe('ERR_DLOPEN_FAILED');
    expect(error.cause.message).toMatch(/node_modules\/bcrypt\/prebuilds\/[a-z0-9]+-[a-z0-9]+\/bcrypt\.glibc\.node: invalid ELF header$/);
  });

  it('produces hashes the other implementation verifies', async () => {
    const native = await loadPasswordHasher({ env: {} });
    const js = await loadPasswordHasher({ env: { BCRYPT_FALLBACK: '1' }, importNative: failingNative });
    const password = 'ñandú 😀 naija';
    expect(await js.compare(password, await native.hash(password, 4))).toBe(true);
    expect(await native.compare(password, await js.hash(password, 4))).toBe(true);
  });
});

describe('the 72-byte guard', () => {
  it('counts UTF-8 bytes, not characters', () => {
    expect(MAX_PASSWORD_BYTES).toBe(72);
    expect(passwordByteLength('abc')).toBe(3);
    expect(passwordByteLength('é')).toBe(2);
    expect(passwordByteLength('😀')).toBe(4);
  });

  it.each([
    ['native', () => loadPasswordHasher({ env: {} })],
    ['bcryptjs', () => loadPasswordHasher({ env: { BCRYPT_FALLBACK: '1' }, importNative: failingNative })],
  ])('%s: hash() and compare() reject over 72 bytes instead of truncating', async (_name, load) => {
    const hasher = await load();
    const long = `${'é'.repeat(36)}x`; // 73 bytes, 37 characters
    await expect(hasher.hash(long, 4)).rejects.toBeInstanceOf(PasswordTooLongError);
    const hash = await hasher.hash('é'.repeat(36), 4);
    await expect(hasher.compare(long, hash)).rejects.toThrow(/73 bytes long in UTF-8; the limit is 72 bytes/);
  });
});

describe('runSelfTest', () => {
  it('passes on the native hasher and reports its duration', async () => {
    const result = await runSelfTest(await loadPasswordHasher({ env: {} }));
    expect(result.ok).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('fails when a wrong password verifies, when the prefix is wrong, and when hashing throws', async () => {
    const native = await loadPasswordHasher({ env: {} });
    expect(await runSelfTest({ ...native, compare: async () => true })).toMatchObject({
      ok: false,
      error: 'a wrong password verified',
    });
    expect(await runSelfTest({ ...native, compare: async () => false })).toMatchObject({
      ok: false,
      error: 'the right password did not verify',
    });
    expect(await runSelfTest({ ...native, hash: async () => '$2y$04$abc' })).toMatchObject({
      ok: false,
      error: 'hash has an unexpected prefix: "$2y$04$"',
    });
    expect(
      await runSelfTest({
        ...native,
        hash: async () => {
          throw new Error('binding exploded');
        },
      }),
    ).toMatchObject({ ok: false, error: 'binding exploded' });
  });
});
