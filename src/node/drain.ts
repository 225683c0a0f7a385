/**
 * Graceful shutdown of an `http.Server` that never resets a connection it accepted.
 *
 * Why not `server.close()`: since Node 19, `http.Server#close()` also calls
 * `closeIdleConnections()`, which destroys at once every connection that is between two requests
 * (an idle keep-alive connection), including one on which the client has just sent its next
 * request: that request is lost and the client sees `ECONNRESET: socket hang up`. Most clients
 * keep connections alive (Node's http.Agent asks for keep-alive even with `keepAlive: false` when
 * `maxSockets` is finite, and reuses a socket for a queued request), and under socket handoff the
 * retiring instance serves until its last moment, so every reload resets a few requests: measured
 * in docs/handoff.md, reproduced by test/reload/handoff-drain.test.ts.
 * (A connection accepted whose first byte has not arrived is NOT idle for Node 20: its headers
 * timer starts at accept. `close()` keeps it, and so does this module, for `idleGraceMs`.)
 *
 * What this does instead, on the first signal:
 * 1. stop accepting: `net.Server#close` closes this process's listening handle only (other
 *    processes that share the socket keep accepting) and does not touch connections;
 * 2. every response from now on, and every in-flight one whose headers are not sent yet, carries
 *    `Connection: close`, so each connection ends right after its next response;
 * 3. a connection with no request in progress (never sent one, or idle keep-alive) gets
 *    `idleGraceMs` to send one; if no byte arrived by then it is closed (no unread data: FIN, not RST);
 * 4. when the last connection is gone: `beforeExit`, then exit 0. Past `timeoutMs`: destroy what is
 *    left, exit 1. A second signal exits at once with 128 + its number, as a shell reports it.
 *
 * Node built-ins only: this file runs inside the user's server process (`naija-sup/node`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { constants } from 'node:os';

export interface DrainOptions {
  /** Signals that start the drain; default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** The whole drain's budget, ms; default 10,000. Keep it below the supervisor's stop timeout (naija-sup's shutdown.timeout, 30 s by default). */
  timeoutMs?: number;
  /** How long a connection with no request in progress may stay once the drain started, ms; default 1000. */
  idleGraceMs?: number;
  /** Called when the drain starts (mark the app not-ready, stop background jobs, close WebSockets). */
  onShutdown?: (signal: NodeJS.Signals) => void;
  /** Awaited once every connection is closed, before exit 0 (close database pools…); within `timeoutMs`. */
  beforeExit?: () => void | Promise<void>;
  /** One line per step, with its level; default: stderr with a `naija-sup/node:` prefix. `false`: silent. */
  log?: Logger | false;
  /** Default process.exit. */
  exit?: (code: number) => void;
  /** Where signals arrive; default process. */
  emitter?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

export interface Drain {
  /** Whether the drain has started. */
  readonly draining: boolean;
  /** Starts the drain as a signal would; resolves with the exit code once `exit` was called. */
  shutdown(signal?: NodeJS.Signals): Promise<number>;
  /** Removes the signal handlers (the connection tracking stays). */
  dispose(): void;
}

interface Connection {
  /** Responses in progress on it (more than one only with pipelining). */
  active: number;
  /** The idle-grace timer, while one runs. */
  idleTimer: NodeJS.Timeout | null;
}

/** `level` is `error` for a drain that failed (exit 1), `warn` for a second signal, else `info`. */
export type Logger = (line: string, level: 'info' | 'warn' | 'error') => void;

/** The default logger: every level to stderr, which naija-sup shows with the server's output. */
export const stderrLogger: Logger = (line) => {
  process.stderr.write(`naija-sup/node: ${line}\n`);
};

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Tracks `server`'s connections from now on and drains it on the first of `options.signals`.
 * Call it before the server listens (`serve` does), so that every connection is seen.
 */
export function drainOnSignal(server: Server, options: DrainOptions = {}): Drain {
  const drain = new ServerDrain(server, options);
  const handlers = (options.signals ?? DEFAULT_SIGNALS).map((signal) => [signal, () => void drain.shutdown(signal)] as const);
  const emitter = options.emitter ?? process;
  for (const [signal, handler] of handlers) emitter.on(signal, handler);
  return {
    get draining() {
      return drain.draining;
    },
    shutdown: (signal) => drain.shutdown(signal),
    dispose() {
      for (const [signal, handler] of handlers) emitter.off(signal, handler);
    },
  };
}

/** The connections of one server, and its drain once a signal came. */
class ServerDrain {
  private readonly timeoutMs: number;
  private readonly idleGraceMs: number;
  private readonly log: Logger;
  private readonly exit: (code: number) => void;
  private readonly connections = new Map<Socket, Connection>();
  private readonly responses = new Set<ServerResponse>();
  draining = false;
  private exited: number | null = null;
  private resolveExit: (code: number) => void = () => {};
  private readonly exitCode = new Promise<number>((resolve) => (this.resolveExit = resolve));

  constructor(
    private readonly server: Server,
    private readonly options: DrainOptions,
  ) {
    this.timeoutMs = checkMs('timeoutMs', options.timeoutMs ?? 10_000);
    this.idleGraceMs = checkMs('idleGraceMs', options.idleGraceMs ?? 1000);
    this.log = options.log === false ? () => {} : (options.log ?? stderrLogger);
    // This module runs inside the user's server (not naija-sup's core), where exiting is its job.
    // eslint-disable-next-line no-restricted-properties
    this.exit = options.exit ?? ((code: number) => process.exit(code));
    // Prepended, so the header is set before the app's handler writes anything.
    server.prependListener('connection', (socket: Socket) => void this.track(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
  }

  shutdown(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (!this.draining) {
      this.startDrain(signal);
    } else if (this.exited === null) {
      const code = 128 + (constants.signals[signal] ?? 0);
      this.log(`received ${signal} again while draining: exiting now with code ${code}, without waiting`, 'warn');
      this.finish(code);
    }
    return this.exitCode;
  }

  private finish(code: number): void {
    if (this.exited !== null) return;
    this.exited = code;
    this.resolveExit(code);
    this.exit(code);
  }

  /**
   * Idle: no request in progress. Closed only if not one byte arrived during the grace: a request
   * being sent (or read from the kernel's buffer) is let through and answered with Connection: close.
   */
  private scheduleIdleClose(socket: Socket, conn: Connection): void {
    if (conn.idleTimer !== null || socket.destroyed) return;
    const mark = socket.bytesRead;
    conn.idleTimer = setTimeout(() => {
      conn.idleTimer = null;
      if (conn.active === 0 && socket.bytesRead === mark) socket.destroy();
    }, this.idleGraceMs);
  }

  private track(socket: Socket): Connection {
    let conn = this.connections.get(socket);
    if (conn !== undefined) return conn;
    conn = { active: 0, idleTimer: null };
    this.connections.set(socket, conn);
    const tracked = conn;
    socket.once('close', () => {
      if (tracked.idleTimer !== null) clearTimeout(tracked.idleTimer);
      this.connections.delete(socket);
    });
    if (this.draining) this.scheduleIdleClose(socket, conn);
    return conn;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const conn = this.track(socket);
    conn.active += 1;
    if (conn.idleTimer !== null) {
      clearTimeout(conn.idleTimer);
      conn.idleTimer = null;
    }
    this.responses.add(res);
    if (this.draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      this.responses.delete(res);
      conn.active -= 1;
      // Headers sent before the drain said keep-alive: the client may send one more request.
      if (this.draining && conn.active === 0) this.scheduleIdleClose(socket, conn);
    });
  }

  private startDrain(signal: NodeJS.Signals): void {
    this.draining = true;
    const deadline = setTimeout(() => {
      this.log(`drain timed out after ${this.timeoutMs / 1000} s with ${this.responses.size} request(s) still in flight: destroying the remaining connections and exiting with code 1`, 'error');
      for (const socket of this.connections.keys()) socket.destroy();
      this.server.closeAllConnections();
      this.finish(1);
    }, this.timeoutMs);
    // First of all, so that nothing said below is ahead of the fact. net.Server's close, not
    // http.Server's (see the top of this file): it stops accepting (this process's copy of a shared
    // socket only) and calls back once every connection has closed.
    const closed = (error?: Error): void => this.closed(deadline, error);
    if (this.server.listening) NetServer.prototype.close.call(this.server, closed);
    else whenEmpty(this.connections, closed);

    this.log(`received ${signal}: stopped accepting new connections; draining ${this.responses.size} request(s) in flight and ${this.connections.size} open connection(s) (timeout ${this.timeoutMs / 1000} s)`, 'info');
    try {
      this.options.onShutdown?.(signal);
    } catch (error) {
      this.log(`onShutdown threw (draining anyway): ${describe(error)}`, 'error');
    }
    for (const res of this.responses) if (!res.headersSent) res.setHeader('Connection', 'close');
    for (const [socket, conn] of this.connections) if (conn.active === 0) this.scheduleIdleClose(socket, conn);
  }

  /** Every connection has closed (or closing the listener failed): beforeExit, then exit. */
  private closed(deadline: NodeJS.Timeout, error?: Error): void {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (error !== undefined && code !== 'ERR_SERVER_NOT_RUNNING') {
      clearTimeout(deadline);
      this.log(`closing the server failed: ${error.message}; exiting with code 1`, 'error');
      this.finish(1);
      return;
    }
    void runBeforeExit(this.options.beforeExit, this.log).then((ok) => {
      clearTimeout(deadline);
      if (this.exited !== null) return;
      if (ok) this.log('all requests finished and all connections closed: exiting with code 0', 'info');
      else this.log('beforeExit failed: exiting with code 1', 'error');
      this.finish(ok ? 0 : 1);
    });
  }
}

/**
 * For a server that is not listening (a signal during start-up): done when the tracked sockets are.
 * Never synchronously: the drain's own line and onShutdown come first, beforeExit after them.
 */
function whenEmpty(connections: Map<Socket, Connection>, done: () => void): void {
  const check = (): void => {
    if (connections.size === 0) done();
    else setTimeout(check, 50);
  };
  queueMicrotask(check);
}

async function runBeforeExit(beforeExit: DrainOptions['beforeExit'], log: Logger): Promise<boolean> {
  if (beforeExit === undefined) return true;
  try {
    await beforeExit();
    return true;
  } catch (error) {
    log(`beforeExit threw: ${describe(error)}`, 'error');
    return false;
  }
}

function checkMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`naija-sup/node: options.${name} must be a number of ms ≥ 0, got ${String(value)}`);
  return value;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
