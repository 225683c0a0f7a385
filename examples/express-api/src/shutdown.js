/**
 * Graceful shutdown on SIGTERM and SIGINT: stop accepting, report not-ready, let in-flight requests
 * finish, close idle keep-alive connections, exit 0 — or, past the deadline, destroy what is left and
 * exit 1. A second signal exits at once with 128 + the signal number (130 for SIGINT, 143 for
 * SIGTERM), the way a shell reports it: the operator asked twice.
 *
 * @module shutdown
 */

import { Server as NetServer } from 'node:net';
import { constants } from 'node:os';

/**
 * @typedef {import('./app.js').Logger} Logger
 * @typedef {import('./state.js').AppState} AppState
 */

/**
 * @typedef {object} ShutdownOptions
 * @property {import('node:http').Server} server
 * @property {Pick<AppState, 'beginShutdown' | 'inFlight'>} state
 * @property {number} timeoutMs          GRACEFUL_TIMEOUT in ms
 * @property {Logger} log
 * @property {(code: number) => void} exit  process.exit in the server; a spy in tests
 * @property {Pick<NodeJS.EventEmitter, 'on' | 'off'>} [signals]  where signals arrive, default process
 * @property {NodeJS.Signals[]} [handled]   default ['SIGTERM', 'SIGINT']
 */

/**
 * Installs the signal handlers.
 *
 * @param {ShutdownOptions} options
 * @returns {{shutdown: (signal: NodeJS.Signals) => void, dispose: () => void}}
 *   `shutdown` does what a signal does; `dispose` removes the handlers
 */
/** How long an idle keep-alive connection may stay open after shutdown starts, ms. */
const IDLE_GRACE_MS = 1000;

export function installGracefulShutdown({
  server,
  state,
  timeoutMs,
  log,
  exit,
  signals = process,
  handled = ['SIGTERM', 'SIGINT'],
}) {
  let stopping = false;
  // exit is called once: after the deadline destroys the connections, server.close()'s callback
  // fires as well, and must not turn the timeout's 1 into a 0 (matters where exit does not end the process).
  let finished = false;
  /** @param {number} code */
  const finish = (code) => {
    if (finished) return;
    finished = true;
    exit(code);
  };
  const seconds = `${timeoutMs / 1000}s`;

  /** @param {NodeJS.Signals} signal */
  const shutdown = (signal) => {
    if (stopping) {
      const code = 128 + (constants.signals[signal] ?? 0);
      log.warn(`received ${signal} again during shutdown: exiting now with code ${code}, without waiting`);
      finish(code);
      return;
    }
    stopping = true;
    log.info(`received ${signal}: shutting down gracefully (timeout ${seconds}); /ready now answers 503`);
    state.beginShutdown();

    const deadline = setTimeout(() => {
      log.error(
        `graceful shutdown timed out after ${seconds} with ${state.inFlight()} request(s) still in flight: ` +
          'destroying the remaining connections and exiting with code 1',
      );
      server.closeAllConnections();
      finish(1);
    }, timeoutMs);

    // net.Server's close, not http.Server's: since Node 19 the latter also closes idle keep-alive
    // connections at once, racing a request a client is just sending on one (a zero-downtime reload
    // would see ECONNRESET). Responses now carry "Connection: close" (state.js), so busy
    // connections end after their response; idle ones are closed after a short grace below.
    NetServer.prototype.close.call(server, (error) => {
      clearTimeout(deadline);
      // Not listening yet (a signal during start-up) is not a failure: there is nothing to drain.
      const code = /** @type {{code?: string} | undefined} */ (error)?.code;
      if (error !== undefined && code !== 'ERR_SERVER_NOT_RUNNING') {
        log.error(`error while closing the server: ${error.message}; exiting with code 1`);
        finish(1);
        return;
      }
      if (finished) return;
      log.info('all requests finished and all connections closed: exiting with code 0');
      finish(0);
    });
    // close() only stops the listener; idle keep-alive connections would hold it open until their
    // keepAliveTimeout. Give a client that is mid-request on one a moment, then close the idle ones.
    const idleGrace = setTimeout(() => server.closeIdleConnections(), Math.min(IDLE_GRACE_MS, timeoutMs / 2));
    idleGrace.unref();
    log.info(`stopped accepting new connections; waiting for ${state.inFlight()} in-flight request(s)`);
  };

  /** @type {Array<[NodeJS.Signals, () => void]>} */
  const installed = handled.map((signal) => [signal, () => shutdown(signal)]);
  for (const [signal, handler] of installed) signals.on(signal, handler);

  return {
    shutdown,
    dispose() {
      for (const [signal, handler] of installed) signals.off(signal, handler);
    },
  };
}
