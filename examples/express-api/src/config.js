/**
 * Reads the example API's settings from the environment, checks every one of them, and reports all
 * problems at once (the same rule naija-sup follows for its own config), so a typo in two variables
 * costs one restart, not two.
 *
 * @module config
 */

/** Values that switch a boolean flag on; anything else (including unset) is off. */
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
/** Values that are recognised as "off"; other words are reported instead of being read as false. */
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off']);

/** bcrypt cost limits. Below 4 bcrypt refuses; above 15 one hash takes seconds on a small machine. */
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 15;

/**
 * @typedef {object} AppConfig
 * @property {string} host             HOST, default 127.0.0.1 (loopback: an example must not listen on the world by default)
 * @property {number} port             PORT, default 8000; 0 asks the kernel for a free port
 * @property {number} bcryptCost       BCRYPT_COST, default 10, an integer from 4 to 15
 * @property {boolean} bcryptFallback  BCRYPT_FALLBACK, default false: may bcryptjs stand in for a broken native bcrypt?
 * @property {number} gracefulTimeoutMs GRACEFUL_TIMEOUT: seconds (fractions allowed) or "10s"/"500ms"/"1m", default 30 s
 * @property {number} warmupMs         WARMUP_MS, default 200: how long /ready stays 503 after start
 */

/**
 * Thrown by {@link readConfig} when one or more variables are invalid.
 * `problems` holds one sentence per variable.
 */
export class ConfigError extends Error {
  /** @param {string[]} problems */
  constructor(problems) {
    super(`invalid environment: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.code = 'E_CONFIG';
    /** @type {string[]} */
    this.problems = problems;
  }
}

/**
 * Parses a yes/no flag such as BCRYPT_FALLBACK. Accepts 1/true/yes/on and 0/false/no/off (any case).
 *
 * @param {string | undefined} value
 * @returns {boolean | undefined} the flag, or undefined when the word is not recognised
 */
export function parseFlag(value) {
  const word = (value ?? '').trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/**
 * @param {string | undefined} raw
 * @returns {boolean}
 */
function isUnset(raw) {
  return raw === undefined || raw.trim() === '';
}

/**
 * Reads and validates the settings. Never reads `process.env` itself: pass it in.
 *
 * @param {Record<string, string | undefined>} env
 * @returns {AppConfig}
 * @throws {ConfigError} listing every invalid variable
 */
export function readConfig(env) {
  /** @type {string[]} */
  const problems = [];

  const host = isUnset(env.HOST) ? '127.0.0.1' : /** @type {string} */ (env.HOST).trim();

  let port = 8000;
  if (!isUnset(env.PORT)) {
    const raw = /** @type {string} */ (env.PORT).trim();
    port = Number(raw);
    if (!/^\d+$/.test(raw) || port > 65535) {
      problems.push(`PORT: expected an integer from 0 to 65535, got "${env.PORT}"`);
    }
  }

  let bcryptCost = 10;
  if (!isUnset(env.BCRYPT_COST)) {
    const raw = /** @type {string} */ (env.BCRYPT_COST).trim();
    bcryptCost = Number(raw);
    if (!/^\d+$/.test(raw) || bcryptCost < MIN_BCRYPT_COST || bcryptCost > MAX_BCRYPT_COST) {
      problems.push(
        `BCRYPT_COST: expected an integer from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}, got "${env.BCRYPT_COST}"`,
      );
    }
  }

  const fallback = parseFlag(env.BCRYPT_FALLBACK);
  if (fallback === undefined) {
    problems.push(`BCRYPT_FALLBACK: expected true/false (or 1/0, yes/no), got "${env.BCRYPT_FALLBACK}"`);
  }

  let gracefulTimeoutMs = 30_000;
  if (!isUnset(env.GRACEFUL_TIMEOUT)) {
    // Plain seconds ("30", "0.5"), or a duration with a unit ("10s", "500ms", "1m"): naija-sup reads
    // the same variable, and a child inherits whatever form the user gave it.
    const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(/** @type {string} */ (env.GRACEFUL_TIMEOUT).trim());
    const unitMs = { ms: 1, s: 1000, m: 60_000 }[match?.[2] ?? 's'] ?? 1000;
    gracefulTimeoutMs = Math.round(Number(match?.[1]) * unitMs);
    if (match === null || gracefulTimeoutMs <= 0 || gracefulTimeoutMs > 3_600_000) {
      problems.push(
        `GRACEFUL_TIMEOUT: expected seconds (like "30" or "0.5") or a duration (like "10s", "500ms"), more than 0 and at most 1 hour, got "${env.GRACEFUL_TIMEOUT}"`,
      );
    }
  }

  let warmupMs = 200;
  if (!isUnset(env.WARMUP_MS)) {
    const raw = /** @type {string} */ (env.WARMUP_MS).trim();
    warmupMs = Number(raw);
    if (!/^\d+$/.test(raw) || warmupMs > 600_000) {
      problems.push(`WARMUP_MS: expected an integer number of milliseconds from 0 to 600000, got "${env.WARMUP_MS}"`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { host, port, bcryptCost, bcryptFallback: fallback === true, gracefulTimeoutMs, warmupMs };
}
