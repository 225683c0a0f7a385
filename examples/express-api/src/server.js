/**
 * Entry point of the example API: reads the environment, loads bcrypt (or refuses to start, see
 * password.js), builds the app, and hands it to naija-sup/node's serve(), which listens on HOST:PORT
 * or on an inherited fd 3 and drains gracefully on SIGTERM/SIGINT.
 *
 * stdout gets progress lines; stderr gets warnings and errors. Lines supervisors match:
 *   listening on http://HOST:PORT (pid N)      or      listening on inherited fd 3 (pid N)
 *   ready: …                                   (warm-up and bcrypt self-test done)
 *
 * Environment: PORT (8000), HOST (127.0.0.1), BCRYPT_COST (10), BCRYPT_FALLBACK (false),
 * GRACEFUL_TIMEOUT (30 s), WARMUP_MS (200), LISTEN_FDS / LISTEN_PID (socket handoff), and
 * EXAMPLE_BREAK_BCRYPT (tests and demos only: pretend the native bcrypt binding is broken).
 *
 * @module server
 */

import http from 'node:http';
import { expressServerOptions, serve } from 'naija-sup/node';
import { createApp } from './app.js';
import { ConfigError, readConfig } from './config.js';
import { BcryptLoadError, isBcryptBreakRequested, loadPasswordHasher } from './password.js';

/** @type {import('./app.js').Logger} */
const log = {
  info: (line) => console.log(line),
  warn: (line) => console.error(line),
  error: (line) => console.error(line),
};

/** naija-sup/node's drain log: info to stdout, warnings and errors to stderr. */
/** @type {import('naija-sup/node').Logger} */
const drainLog = (line, level) => log[level](line);

/**
 * @returns {Promise<number | undefined>} an exit code when start-up failed, undefined when serving
 */
async function main() {
  let config;
  try {
    config = readConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) log.error(`error: ${problem}`);
    return 1;
  }

  if (isBcryptBreakRequested(process.env)) {
    log.warn('EXAMPLE_BREAK_BCRYPT is set: simulating a native bcrypt binding that cannot load (for tests and demos)');
  }
  let hasher;
  try {
    hasher = await loadPasswordHasher({ env: process.env });
  } catch (error) {
    if (!(error instanceof BcryptLoadError)) throw error;
    log.error(`error: ${error.message}`);
    log.error(`fix: ${error.fix}`);
    return 1;
  }
  if (hasher.fallback) log.warn(`WARNING: ${hasher.warning}`);
  else log.info(`password hashing: native bcrypt, cost ${config.bcryptCost}`);

  const { app, state } = createApp({ hasher, bcryptCost: config.bcryptCost, warmupMs: config.warmupMs, log });
  // Requests and responses built with Express's own prototypes: Express then has no prototype to
  // change on each one, which on Node 20 costs a GC pause of 3–7 ms every ~100 ms under load
  // (naija-sup/node's expressServerOptions says why).
  const server = http.createServer(expressServerOptions(app), app);
  server.on('error', (error) => log.error(`server error: ${error.message}`));

  // naija-sup/node listens on the socket naija-sup hands over (LISTEN_FDS=1, fd 3) or on HOST:PORT,
  // and on SIGTERM/SIGINT drains without resetting any connection it accepted (docs/handoff.md).
  let serving;
  try {
    serving = await serve(server, {
      port: config.port,
      host: config.host,
      timeoutMs: config.gracefulTimeoutMs,
      log: drainLog,
      onShutdown: (signal) => {
        state.beginShutdown();
        log.info(`${signal}: /ready now answers 503`);
      },
    });
  } catch (error) {
    const e = /** @type {Error & {fix?: string}} */ (error);
    log.error(`error: ${e.message}`);
    if (e.fix !== undefined) log.error(`fix: ${e.fix}`);
    return 1;
  }
  const { address, fd } = serving;
  if (fd === null) {
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    log.info(`listening on http://${host}:${address.port} (pid ${process.pid})`);
  } else {
    log.info(`listening on inherited fd ${fd} (pid ${process.pid})`);
    log.info(`inherited fd ${fd} is bound to ${address.address}:${address.port}`);
  }

  void state.warm.then(() => {
    const warmup = state.warmup();
    if (warmup.selfTest === 'ok') {
      log.info(`ready: warm-up of ${warmup.warmupMs} ms done, bcrypt self-test passed in ${warmup.selfTestMs} ms`);
    } else {
      log.error(`not ready: the bcrypt self-test failed (${warmup.error}); /ready will answer 503`);
    }
  });
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error) => {
    log.error(`fatal: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
