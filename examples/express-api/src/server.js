/**
 * Entry point of the example API: reads the environment, loads bcrypt (or refuses to start, see
 * password.js), builds the app, listens on HOST:PORT or on an inherited fd 3, and shuts down
 * gracefully on SIGTERM/SIGINT.
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
import { createApp } from './app.js';
import { ConfigError, readConfig } from './config.js';
import { clearListenEnv, listenOn, listeningLine, resolveListenTarget } from './listen.js';
import { BcryptLoadError, isBcryptBreakRequested, loadPasswordHasher } from './password.js';
import { installGracefulShutdown } from './shutdown.js';

/** @type {import('./app.js').Logger} */
const log = {
  info: (line) => console.log(line),
  warn: (line) => console.error(line),
  error: (line) => console.error(line),
};

/**
 * A hint for a failed listen, keyed by the error code.
 *
 * @param {string | undefined} code
 * @param {import('./listen.js').ListenTarget} target
 * @returns {string | undefined}
 */
function listenHint(code, target) {
  if (target.kind === 'fd') {
    return `fd ${target.fd} must be a bound TCP socket handed over by the supervisor (LISTEN_FDS=1); unset LISTEN_FDS to bind PORT instead`;
  }
  switch (code) {
    case 'EADDRINUSE':
      return `another process holds port ${target.port}: find it with \`naija-sup doctor\` or \`ss -ltnp 'sport = :${target.port}'\`, stop it, or choose another PORT`;
    case 'EACCES':
      return 'ports below 1024 need privileges: choose a PORT from 1024 up';
    case 'EADDRNOTAVAIL':
      return `HOST=${target.host} is not an address of this machine: use 127.0.0.1, ::1 or 0.0.0.0`;
    default:
      return undefined;
  }
}

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
  const server = http.createServer(app);
  server.on('error', (error) => log.error(`server error: ${error.message}`));

  const { target, notes } = resolveListenTarget({
    env: process.env,
    pid: process.pid,
    host: config.host,
    port: config.port,
  });
  clearListenEnv(process.env);
  for (const note of notes) log.warn(note);

  installGracefulShutdown({
    server,
    state,
    timeoutMs: config.gracefulTimeoutMs,
    log,
    exit: (code) => process.exit(code),
  });

  try {
    await listenOn(server, target);
  } catch (error) {
    const where = target.kind === 'fd' ? `inherited fd ${target.fd}` : `${target.host}:${target.port}`;
    log.error(`error: cannot listen on ${where}: ${String(error)}`);
    const hint = listenHint(/** @type {{code?: string}} */ (error).code, target);
    if (hint !== undefined) log.error(`fix: ${hint}`);
    return 1;
  }
  log.info(listeningLine(server, target, process.pid));
  if (target.kind === 'fd') {
    const address = server.address();
    if (typeof address === 'object' && address !== null) {
      log.info(`inherited fd ${target.fd} is bound to ${address.address}:${address.port}`);
    }
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
