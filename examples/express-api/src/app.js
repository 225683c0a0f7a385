/**
 * The example API as an Express 5 application, built without listening so tests can mount it on an
 * ephemeral port. `src/server.js` is the process entry that listens and shuts down.
 *
 * Routes (all JSON):
 *   GET  /api/v1/public/health   200 {status: ok|degraded, version, uptime, pid, checks}
 *   GET  /api/v1/public/ready    503 until warm and self-tested, 200 when ready, 503 again while stopping
 *   GET  /api/v1/public/alive    200 whenever the event loop can answer
 *   GET  /api/v1/public/slow     ?ms=N (0–10000): answers after N ms; for drain tests and demos
 *   POST /api/v1/auth/register   {username, password} → 201 {username} | 400 | 409
 *   POST /api/v1/auth/login      {username, password} → 200 {ok: true} | 400 | 401
 *
 * @module app
 */

import { readFileSync } from 'node:fs';
import express from 'express';
import { MAX_PASSWORD_BYTES, PasswordTooLongError, passwordByteLength } from './password.js';
import { createAppState } from './state.js';

/**
 * @typedef {import('./password.js').PasswordHasher} PasswordHasher
 * @typedef {import('./state.js').AppState} AppState
 * @typedef {import('express').Request} Request
 * @typedef {import('express').Response} Response
 * @typedef {import('express').NextFunction} NextFunction
 */

/**
 * @typedef {object} Logger  one line per call; the server wires info to stdout and warn/error to stderr
 * @property {(line: string) => void} info
 * @property {(line: string) => void} warn
 * @property {(line: string) => void} error
 */

/**
 * @typedef {object} AppOptions
 * @property {PasswordHasher} hasher  from loadPasswordHasher()
 * @property {number} [bcryptCost]    cost for new password hashes, default 10 (validated by readConfig)
 * @property {number} [warmupMs]      how long /ready stays 503 after creation, default 200
 * @property {string} [version]       reported by /health, default: this example's package.json version
 * @property {() => number} [now]     clock in epoch ms, default Date.now
 * @property {Logger} [log]           default: console (info → stdout, warn/error → stderr)
 */

/** The longest delay /slow accepts, in ms. */
export const MAX_SLOW_MS = 10_000;

/** Usernames: 1–64 of letters, digits, dot, underscore, hyphen. */
const USERNAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const PACKAGE_VERSION = /** @type {{version: string}} */ (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
).version;

/** @type {Logger} */
const consoleLogger = {
  info: (line) => console.log(line),
  warn: (line) => console.error(line),
  error: (line) => console.error(line),
};

/**
 * @param {Response} res
 * @param {number} status
 * @param {string} error    a stable, machine-readable code
 * @param {string} message  for humans
 */
function sendError(res, status, error, message) {
  res.status(status).json({ error, message });
}

/**
 * Checks a register/login body. Returns the credentials or the 400 message.
 *
 * @param {unknown} body
 * @returns {{ok: true, username: string, password: string} | {ok: false, error: string, message: string}}
 */
function readCredentials(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      error: 'invalid_request',
      message: 'expected a JSON object body {"username", "password"} with Content-Type: application/json',
    };
  }
  const { username, password } = /** @type {Record<string, unknown>} */ (body);
  /** @type {string[]} */
  const problems = [];
  if (typeof username !== 'string') {
    problems.push('username is required and must be a string');
  } else if (!USERNAME_PATTERN.test(username)) {
    problems.push('username must be 1–64 characters from A–Z, a–z, 0–9, ".", "_" and "-"');
  }
  if (typeof password !== 'string' || password.length === 0) {
    problems.push('password is required and must be a non-empty string');
  }
  if (problems.length > 0) return { ok: false, error: 'invalid_request', message: problems.join('; ') };

  const pw = /** @type {string} */ (password);
  const bytes = passwordByteLength(pw);
  if (bytes > MAX_PASSWORD_BYTES) {
    return { ok: false, error: 'password_too_long', message: new PasswordTooLongError(bytes).message };
  }
  return { ok: true, username: /** @type {string} */ (username), password: pw };
}

/**
 * Builds the application and its state. Starts the warm-up (a timer and the bcrypt self-test) but
 * does not listen.
 *
 * @param {AppOptions} options
 * @returns {{app: import('express').Express, state: AppState}}
 */
export function createApp(options) {
  const { hasher, bcryptCost = 10, warmupMs = 200, version = PACKAGE_VERSION, now = Date.now, log = consoleLogger } =
    options ?? {};
  if (hasher === undefined || typeof hasher.hash !== 'function') {
    throw new TypeError('createApp: options.hasher is required (get one from loadPasswordHasher())');
  }

  const state = createAppState({ hasher, warmupMs, now });
  /** Users by name → bcrypt hash; `null` while a registration is hashing (reserves the name). */
  /** @type {Map<string, string | null>} */
  const users = new Map();

  /**
   * A hash to compare against when the user does not exist, so that "no such user" takes as long as
   * "wrong password" and response times do not reveal which usernames are registered.
   * @type {Promise<string> | undefined}
   */
  let dummyHash;
  const getDummyHash = () => (dummyHash ??= hasher.hash('naija-sup-no-such-user', bcryptCost));

  const app = express();
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    state.track(res);
    if (state.isShuttingDown()) res.setHeader('Connection', 'close');
    next();
  });
  app.use(express.json({ limit: '16kb' }));

  const api = express.Router();

  api.get('/public/health', (_req, res) => {
    /** @type {Record<string, unknown>} */
    const bcrypt = { implementation: hasher.implementation, native: hasher.native, fallback: hasher.fallback };
    if (hasher.warning !== undefined) bcrypt.warning = hasher.warning;
    const warmup = state.warmup();
    const degraded = hasher.fallback || warmup.selfTest === 'failed';
    res.set('Cache-Control', 'no-store').json({
      status: degraded ? 'degraded' : 'ok',
      version,
      uptime: Math.max(0, now() - state.startedAt) / 1000,
      pid: process.pid,
      checks: { bcrypt, warmup },
    });
  });

  api.get('/public/ready', (_req, res) => {
    res.set('Cache-Control', 'no-store');
    const phase = state.phase();
    if (phase === 'ready') {
      res.json({ status: 'ready', ready: true });
      return;
    }
    const reason = {
      starting: 'warming up',
      failed: `bcrypt self-test failed: ${state.warmup().error ?? 'unknown error'}`,
      stopping: 'shutting down',
    }[phase];
    res.status(503).json({ status: phase, ready: false, reason });
  });

  api.get('/public/alive', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'alive', pid: process.pid });
  });

  api.get('/public/slow', (req, res) => {
    const raw = req.query.ms;
    const ms = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (!(ms <= MAX_SLOW_MS)) {
      sendError(res, 400, 'invalid_request', `ms must be an integer from 0 to ${MAX_SLOW_MS}`);
      return;
    }
    // Announced so tests and demos can act (send SIGTERM) once the request is really in flight.
    log.info(`slow request accepted: answering in ${ms} ms`);
    const timer = setTimeout(() => res.json({ status: 'ok', sleptMs: ms }), ms);
    res.once('close', () => clearTimeout(timer));
  });

  api.post('/auth/register', async (req, res) => {
    const creds = readCredentials(req.body);
    if (!creds.ok) {
      sendError(res, 400, creds.error, creds.message);
      return;
    }
    if (users.has(creds.username)) {
      sendError(res, 409, 'username_taken', `username "${creds.username}" is already registered`);
      return;
    }
    // Reserve the name before the (slow) hash, so two concurrent registrations cannot both win.
    users.set(creds.username, null);
    try {
      users.set(creds.username, await hasher.hash(creds.password, bcryptCost));
    } catch (error) {
      users.delete(creds.username);
      throw error;
    }
    res.status(201).json({ username: creds.username });
  });

  api.post('/auth/login', async (req, res) => {
    const creds = readCredentials(req.body);
    if (!creds.ok) {
      sendError(res, 400, creds.error, creds.message);
      return;
    }
    const hash = users.get(creds.username);
    let matches = false;
    if (typeof hash === 'string') {
      matches = await hasher.compare(creds.password, hash);
    } else {
      await hasher.compare(creds.password, await getDummyHash()); // same work as a real check; result unused
    }
    if (!matches) {
      sendError(res, 401, 'invalid_credentials', 'wrong username or password');
      return;
    }
    res.json({ ok: true });
  });

  app.use('/api/v1', api);

  app.use((req, res) => {
    sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`);
  });

  app.use(
    /**
     * @param {unknown} err
     * @param {Request} req
     * @param {Response} res
     * @param {NextFunction} next
     */
    (err, req, res, next) => {
      if (res.headersSent) {
        next(err); // Express's own handler closes the connection; nothing else can be sent now
        return;
      }
      if (err instanceof PasswordTooLongError) {
        sendError(res, 400, 'password_too_long', err.message);
        return;
      }
      const e = /** @type {{type?: unknown, status?: unknown, expose?: unknown, message?: unknown}} */ (err ?? {});
      if (e.type === 'entity.parse.failed') {
        sendError(res, 400, 'invalid_json', `request body is not valid JSON: ${String(e.message)}`);
        return;
      }
      if (e.type === 'entity.too.large') {
        sendError(res, 413, 'payload_too_large', 'request body is larger than 16 kB');
        return;
      }
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true) {
        sendError(res, e.status, 'bad_request', String(e.message));
        return;
      }
      // The stack goes to the server's log, never to the client.
      log.error(`error in ${req.method} ${req.originalUrl}: ${err instanceof Error ? err.stack : String(err)}`);
      sendError(res, 500, 'internal_error', 'internal server error');
    },
  );

  return { app, state };
}
