/**
 * Password hashing for the example API: the native `bcrypt` package, with an opt-in, loudly reported
 * fallback to the pure-JavaScript `bcryptjs` when the native binding cannot load.
 *
 * Why the ceremony: a native binding built for another platform or Node (node_modules copied from a
 * Mac into Docker, an install with --ignore-scripts, …) fails only when the module is first loaded,
 * with messages such as `…/bcrypt.glibc.node: invalid ELF header` (ERR_DLOPEN_FAILED). Silently
 * switching implementations hides that; crashing without a hint wastes an afternoon. So: refuse to
 * start with the error and the fix, unless BCRYPT_FALLBACK is set, and then say so in the log and in
 * /health. (Facts: /work/shared/research/failures-and-ports.md §1b.)
 *
 * bcrypt reads only the first 72 BYTES of a password (UTF-8 bytes, not characters) and both Node
 * libraries truncate the rest silently. Every password that reaches this module is checked first.
 *
 * @module password
 */

import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseFlag } from './config.js';

/** bcrypt's input limit, in UTF-8 bytes. */
export const MAX_PASSWORD_BYTES = 72;

/** The password the start-up self-test hashes (at cost 4, so it takes milliseconds). */
const SELF_TEST_PASSWORD = 'naija-sup-selftest';

/**
 * @typedef {object} BcryptLike  the part of the `bcrypt` / `bcryptjs` API this module uses
 * @property {(password: string, saltOrRounds: number) => Promise<string>} hash
 * @property {(password: string, hash: string) => Promise<boolean>} compare
 */

/**
 * @typedef {object} PasswordHasher
 * @property {'bcrypt' | 'bcryptjs'} implementation  which library hashes
 * @property {boolean} native      true when the native binding is in use
 * @property {boolean} fallback    true when bcryptjs stands in for a native bcrypt that failed to load
 * @property {string | undefined} warning      one line for logs and /health when running on the fallback
 * @property {string | undefined} nativeError  the native load error's message, when it failed
 * @property {(password: string, cost: number) => Promise<string>} hash
 *   hashes; rejects with {@link PasswordTooLongError} over 72 bytes instead of truncating
 * @property {(password: string, hash: string) => Promise<boolean>} compare
 *   verifies; rejects with {@link PasswordTooLongError} over 72 bytes
 */

/**
 * @typedef {object} LoadOptions
 * @property {Record<string, string | undefined>} env  reads BCRYPT_FALLBACK and EXAMPLE_BREAK_BCRYPT
 * @property {() => Promise<unknown>} [importNative]    loads `bcrypt`; tests inject a failing one
 * @property {() => Promise<unknown>} [importFallback]  loads `bcryptjs`
 */

/** A password longer than bcrypt can use. The API answers 400 with `message`. */
export class PasswordTooLongError extends Error {
  /** @param {number} bytes the password's length in UTF-8 bytes */
  constructor(bytes) {
    super(
      `password is ${bytes} bytes long in UTF-8; the limit is ${MAX_PASSWORD_BYTES} bytes, because bcrypt ` +
        `ignores everything after byte ${MAX_PASSWORD_BYTES} and this API rejects such passwords instead of ` +
        'truncating them silently (accented letters take 2 bytes, most emoji 4)',
    );
    this.name = 'PasswordTooLongError';
    this.code = 'E_PASSWORD_TOO_LONG';
    this.bytes = bytes;
  }
}

/** The native bcrypt binding cannot load and the fallback is off (or failed as well). */
export class BcryptLoadError extends Error {
  /**
   * @param {string} message
   * @param {{cause: unknown, fix: string}} details
   */
  constructor(message, { cause, fix }) {
    super(message, { cause });
    this.name = 'BcryptLoadError';
    this.code = 'E_BCRYPT_LOAD';
    /** What to do about it, one sentence. */
    this.fix = fix;
  }
}

/**
 * @param {string} password
 * @returns {number} the password's length in UTF-8 bytes (what bcrypt counts)
 */
export function passwordByteLength(password) {
  return Buffer.byteLength(password, 'utf8');
}

/**
 * @param {string} password
 * @throws {PasswordTooLongError} when the password is over {@link MAX_PASSWORD_BYTES} UTF-8 bytes
 */
export function assertPasswordFits(password) {
  const bytes = passwordByteLength(password);
  if (bytes > MAX_PASSWORD_BYTES) throw new PasswordTooLongError(bytes);
}

/**
 * Is the test/demo hook EXAMPLE_BREAK_BCRYPT on? When it is, the default native import throws an
 * imitation of the error a foreign binary gives (ERR_DLOPEN_FAILED, "invalid ELF header"), so the
 * refusal and the fallback can be shown and tested without breaking node_modules.
 *
 * @param {Record<string, string | undefined>} env
 * @returns {boolean}
 */
export function isBcryptBreakRequested(env) {
  return parseFlag(env.EXAMPLE_BREAK_BCRYPT) === true;
}

/**
 * Where bcrypt 6 keeps the prebuilt binding for this platform: the file a real ERR_DLOPEN_FAILED names.
 *
 * @returns {string}
 */
function nativeBindingPath() {
  const file = path.join('prebuilds', `${process.platform}-${process.arch}`, 'bcrypt.glibc.node');
  try {
    const entry = createRequire(import.meta.url).resolve('bcrypt');
    return path.join(path.dirname(entry), file);
  } catch {
    return path.join('node_modules', 'bcrypt', file);
  }
}

/**
 * Builds the error EXAMPLE_BREAK_BCRYPT=1 throws: the same message shape and code as Node's when it
 * dlopens a Mach-O or PE file on Linux.
 *
 * @returns {Error & {code: string}}
 */
export function simulatedDlopenError() {
  const error = /** @type {Error & {code: string}} */ (new Error(`${nativeBindingPath()}: invalid ELF header`));
  error.code = 'ERR_DLOPEN_FAILED';
  return error;
}

/**
 * @param {unknown} mod what `import()` returned (bcrypt is CommonJS: its API is on `default`)
 * @param {string} name for the error message
 * @returns {BcryptLike}
 */
function asBcryptLike(mod, name) {
  const candidate = /** @type {{default?: unknown}} */ (mod)?.default ?? mod;
  const api = /** @type {Partial<BcryptLike> | undefined} */ (candidate);
  if (typeof api?.hash !== 'function' || typeof api?.compare !== 'function') {
    throw new TypeError(`module "${name}" loaded but has no hash()/compare() functions`);
  }
  return /** @type {BcryptLike} */ (api);
}

/**
 * @param {unknown} error
 * @returns {string} `message` plus the code when there is one, for one log line
 */
function describeError(error) {
  if (error instanceof Error) {
    const code = /** @type {{code?: unknown}} */ (error).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/**
 * Wraps a library so that hash/compare never see a password bcrypt would truncate.
 *
 * @param {BcryptLike} lib
 * @param {Omit<PasswordHasher, 'hash' | 'compare'>} facts
 * @returns {PasswordHasher}
 */
function makeHasher(lib, facts) {
  return {
    ...facts,
    async hash(password, cost) {
      assertPasswordFits(password);
      return lib.hash(password, cost);
    },
    async compare(password, hash) {
      assertPasswordFits(password);
      return lib.compare(password, hash);
    },
  };
}

/**
 * Loads the password hasher: native `bcrypt`, or — only when `env.BCRYPT_FALLBACK` is true/1/yes —
 * `bcryptjs` with a warning. Prints nothing: the caller logs `hasher.warning` (the server does, on
 * stderr).
 *
 * @param {LoadOptions} options
 * @returns {Promise<PasswordHasher>}
 * @throws {BcryptLoadError} when native bcrypt fails and the fallback is off or fails too; the
 *   message contains the native error's message, `fix` says what to run
 */
export async function loadPasswordHasher({ env, importNative, importFallback }) {
  const loadNative =
    importNative ??
    (async () => {
      if (isBcryptBreakRequested(env)) throw simulatedDlopenError();
      return import('bcrypt');
    });
  const loadFallback = importFallback ?? (() => import('bcryptjs'));

  let nativeFailure;
  try {
    const lib = asBcryptLike(await loadNative(), 'bcrypt');
    return makeHasher(lib, {
      implementation: 'bcrypt',
      native: true,
      fallback: false,
      warning: undefined,
      nativeError: undefined,
    });
  } catch (error) {
    nativeFailure = error;
  }

  const nativeMessage = describeError(nativeFailure);
  const rebuild = `run \`npm rebuild bcrypt\` with the node that runs this server (${process.execPath}, ${process.version})`;
  if (parseFlag(env.BCRYPT_FALLBACK) !== true) {
    throw new BcryptLoadError(`cannot load the native bcrypt module: ${nativeMessage}`, {
      cause: nativeFailure,
      fix: `${rebuild}, or set BCRYPT_FALLBACK=true to run on the slower pure-JavaScript bcryptjs meanwhile`,
    });
  }

  let lib;
  try {
    lib = asBcryptLike(await loadFallback(), 'bcryptjs');
  } catch (error) {
    throw new BcryptLoadError(
      `cannot load the native bcrypt module (${nativeMessage}), and the bcryptjs fallback failed too: ${describeError(error)}`,
      { cause: error, fix: `${rebuild}, and check that bcryptjs is installed (npm ls bcryptjs)` },
    );
  }
  return makeHasher(lib, {
    implementation: 'bcryptjs',
    native: false,
    fallback: true,
    warning:
      `native bcrypt failed to load (${nativeMessage}); BCRYPT_FALLBACK is on, so passwords are hashed by ` +
      `bcryptjs (pure JavaScript: compatible hashes, but slower and on the main thread). To fix: ${rebuild}`,
    nativeError: nativeMessage,
  });
}

/**
 * @typedef {object} SelfTestResult
 * @property {boolean} ok
 * @property {number} durationMs
 * @property {string} [error]  what went wrong, when not ok
 */

/**
 * Hashes a fixed password at cost 4 and verifies it (right and wrong password): proves the binding
 * really works, not just that it loaded. Never throws.
 *
 * @param {PasswordHasher} hasher
 * @returns {Promise<SelfTestResult>}
 */
export async function runSelfTest(hasher) {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    const hash = await hasher.hash(SELF_TEST_PASSWORD, 4);
    if (!hash.startsWith('$2b$04$')) {
      return { ok: false, durationMs: elapsed(), error: `hash has an unexpected prefix: "${hash.slice(0, 7)}"` };
    }
    if (!(await hasher.compare(SELF_TEST_PASSWORD, hash))) {
      return { ok: false, durationMs: elapsed(), error: 'the right password did not verify' };
    }
    if (await hasher.compare(`${SELF_TEST_PASSWORD}!`, hash)) {
      return { ok: false, durationMs: elapsed(), error: 'a wrong password verified' };
    }
    return { ok: true, durationMs: elapsed() };
  } catch (error) {
    return { ok: false, durationMs: elapsed(), error: describeError(error) };
  }
}
