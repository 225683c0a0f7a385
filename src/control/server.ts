/**
 * The control socket, owned by the running supervisor (issue 5; overmind's command center):
 * `stop`, `status`, `restart`, `reload` and `logs` are small clients of it (src/control/client.ts).
 *
 * ## One supervisor per name, race-free
 *
 * Binding the socket path alone cannot arbitrate: after a supervisor is SIGKILLed its socket file
 * stays behind, and two starts that both find it stale would both unlink and re-bind, the second
 * one deleting the first one's live socket. So `startControlServer`:
 *
 * 1. takes the start lock `<name>.lock` in the same 0700 directory (src/control/start-lock.ts:
 *    atomic, stale-safe, and out of other users' reach); held → `E_ALREADY_RUNNING`, naming the
 *    holder only once /proc confirmed who it is;
 * 2. holding it, checks the socket file: a listener answers → `E_ALREADY_RUNNING` (a supervisor in
 *    another network namespace sharing the run dir); ECONNREFUSED → stale: unlink it (reported);
 * 3. binds the socket under umask 0177 and chmods it 0600 (the run dir is 0700 as well).
 *
 * ## Never crash the supervisor, never be locked out (issue 15)
 *
 * Each connection reads newline-delimited JSON through a bounded buffer: malformed JSON, a wrong
 * version or an unknown type get an error reply on the same connection; a line over 64 KiB gets
 * `E_TOO_LARGE` and the connection is closed. A slow `events` subscriber that lets 1 MiB pile up is
 * dropped. A throwing target becomes `E_INTERNAL`.
 *
 * Only our uid can connect (0600 socket, 0700 directory), but a runaway script of ours must not
 * lock the operator out either. Requests are queued per connection and served round-robin, a few
 * per connection per event-loop turn, so one client pipelining 20,000 requests delays another's
 * `status` by a turn, not by all of them; a connection stops being read while
 * {@link MAX_QUEUED_REQUESTS} wait or its replies are not being read. A connection that sends
 * nothing for {@link IDLE_TIMEOUT_MS} and waits for nothing is closed, and when all
 * `maxConnections` are taken a new one pushes out the oldest idle one, so idle connections cannot
 * keep `status`, `restart` or `stop` out. (`stop --force` also works without the socket: it falls
 * back to the instance record and signals.)
 *
 * What each request means is request-handlers.ts; the status snapshot, the event hub and the target
 * for a foreground Supervisor are status-tracker.ts, event-hub.ts and supervisor-target.ts.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { NaijaSupError } from '../errors.js';
import { ConnectionPool, IDLE_TIMEOUT_MS, type Connection } from './connections.js';
import { encodeMessage, errorReply, MAX_REQUEST_BYTES, type ControlMessage, type StatusSnapshot } from './protocol.js';
import { createLineHandler } from './request-handlers.js';
import { ensurePrivateDir } from './run-dir.js';
import { acquireStartLock, lockPathFor, peerIsOurs, probeListener, type NameLock } from './start-lock.js';
import type { ControlTarget } from './target.js';

// What the server serves and the pieces a supervisor plugs into it live beside it (target.ts,
// event-hub.ts, status-tracker.ts, supervisor-target.ts); they are exported from here too, because
// the composition root (src/app/supervise.ts), the App's control target and the control tests'
// host supervisor (test/control/fixtures/host-supervisor.mjs) take them from the server.
export type { ControlTarget, ReloadOptions, ReloadOutcome } from './target.js';
export { createEventHub, type EventHub } from './event-hub.js';
export { StatusTracker, type StatusTrackerOptions, type SupervisorView } from './status-tracker.js';
export { createSupervisorTarget, type SupervisorTargetOptions } from './supervisor-target.js';

export interface ControlServerOptions {
  socketPath: string;
  target: ControlTarget;
  /** The app's name, for messages. */
  name: string;
  /** The start lock's path. Default: `<name>.lock` beside the socket (lockPathFor); null: no lock (tests only). */
  lockPath?: string | null;
  /**
   * Simultaneous connections. Default 64. When all are taken, a new one pushes out the oldest idle
   * one; only when none is idle is it refused.
   */
  maxConnections?: number;
  /** A connection that sends nothing and waits for nothing this long is closed. Default 10 s. */
  idleTimeoutMs?: number;
}

export interface ControlServer {
  readonly socketPath: string;
  /** A socket file left by a supervisor that died without cleaning up was found and removed. */
  readonly staleSocketRemoved: boolean;
  /** Stops listening, ends every connection (pending replies are flushed), removes the socket, releases the lock. */
  close(): Promise<void>;
}

/** A slow events subscriber is dropped when this much output is waiting for it. */
const MAX_PENDING_WRITE_BYTES = 1024 * 1024;
/** How long close() lets connections flush before destroying them. */
const CLOSE_GRACE_MS = 500;

// ── The server ──────────────────────────────────────────────────────────────────────────────────

async function alreadyRunning(socketPath: string, name: string, holderPid: number | null): Promise<NaijaSupError> {
  // The winner binds its socket right after taking the lock; give it a moment to answer.
  const { fetchStatus } = await import('./client.js');
  let status: StatusSnapshot | null = null;
  const deadline = Date.now() + 1500;
  for (let attempt = 0; attempt < 30 && status === null && Date.now() < deadline; attempt += 1) {
    status = await fetchStatus(socketPath, 500).catch(() => null);
    if (status === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // What the socket's peer says about itself is shown only once /proc confirms it (our uid, the
  // same start time): nobody is ever advised to kill a pid a peer merely named.
  if (status !== null && !peerIsOurs(status.supervisorPid, status.supervisorStartTime)) status = null;
  const pid = status?.supervisorPid ?? holderPid;
  const who = pid === null
    ? 'another naija-sup is starting it'
    : `supervisor pid ${pid}${status?.instancePid ? `, instance pid ${status.instancePid}` : ''}${status ? `, ${status.state}` : ''}`;
  return new NaijaSupError('E_ALREADY_RUNNING', `"${name}" is already running (${who})`, {
    fix: `stop it first ("naija-sup stop --name ${name}"), or give this app another name (the "name" setting)`,
    details: [`control socket: ${socketPath}`],
  });
}

/** Removes a stale socket at `path`; false when there was none. Throws when a supervisor answers there. */
async function removeStaleSocket(path: string, name: string): Promise<boolean> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return false;
  }
  if (!isSocket) {
    throw new NaijaSupError('E_RUN_DIR', `${path} exists and is not a socket`, {
      fix: `remove ${path} (naija-sup only ever puts its control socket there)`,
    });
  }
  const probe = await probeListener(path);
  if (probe === 'live') throw await alreadyRunning(path, name, null);
  if (probe === 'absent') return false;
  unlinkSync(path);
  return true;
}

function listenPrivate(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(error);
    server.once('error', onError);
    // The bind happens inside listen(), synchronously: a umask of 0177 makes the socket 0600 from
    // the first instant (the chmod below is for platforms that ignore the umask for sockets).
    let previous: number | null = null;
    try {
      previous = process.umask(0o177);
    } catch {
      // Worker threads cannot change the umask; the 0700 run dir still protects the socket.
    }
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
}

/** The socket, bound and ours: the start lock taken, a stale socket cleared, then listening (0600). */
async function claimSocket(
  options: ControlServerOptions,
): Promise<{ server: Server; lock: NameLock; staleSocketRemoved: boolean; ino: number }> {
  const { socketPath, name } = options;
  // The run dir, or the short fallback directory for long paths (src/control/paths.ts): 0700, ours.
  ensurePrivateDir(dirname(socketPath), 'socket directory');
  const lockPath = options.lockPath === undefined ? lockPathFor(socketPath) : options.lockPath;
  const attempt = await acquireStartLock(lockPath);
  if (!attempt.acquired) throw await alreadyRunning(socketPath, name, attempt.holderPid);
  const lock = attempt.lock;

  const server = createServer({ allowHalfOpen: false });
  let staleSocketRemoved: boolean;
  let ino: number;
  try {
    staleSocketRemoved = await removeStaleSocket(socketPath, name);
    await listenPrivate(server, socketPath);
    chmodSync(socketPath, 0o600);
    ino = lstatSync(socketPath).ino;
  } catch (error) {
    server.close();
    await lock.release();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw await alreadyRunning(socketPath, name, null);
    if (error instanceof NaijaSupError) throw error;
    throw new NaijaSupError('E_RUN_DIR', `cannot listen on the control socket ${socketPath}: ${(error as Error).message}`, {
      fix: 'check the run directory (NAIJA_SUP_RUN_DIR): it must be a directory you own with mode 700',
      cause: error,
    });
  }
  return { server, lock, staleSocketRemoved, ino };
}

/**
 * Starts the control server for one app: takes the start lock, clears a stale socket, listens on
 * `socketPath` (0600). Throws `E_ALREADY_RUNNING` when a supervisor for this socket runs.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { socketPath, target } = options;
  const { server, lock, staleSocketRemoved, ino } = await claimSocket(options);
  // The supervisor's lifetime is its instance's; the control socket must never keep it alive.
  server.unref();
  server.on('error', () => undefined);

  const send = (conn: Connection, message: ControlMessage): void => {
    if (conn.done || conn.socket.destroyed) return;
    conn.socket.write(encodeMessage(message));
    if (conn.socket.writableLength > MAX_PENDING_WRITE_BYTES) finish(conn, true);
  };

  const finish = (conn: Connection, destroy: boolean): void => {
    conn.unsubscribe?.();
    conn.unsubscribe = null;
    if (destroy) conn.socket.destroy();
    else if (!conn.done) conn.socket.end();
    conn.done = true;
  };

  const pool = new ConnectionPool({
    maxConnections: options.maxConnections ?? 64,
    idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    onLine: createLineHandler(target, send),
    onOverflow(conn) {
      send(conn, errorReply(null, 'E_TOO_LARGE', `request line longer than ${MAX_REQUEST_BYTES} bytes; closing the connection`));
      conn.socket.pause();
      finish(conn, false);
      // A client that keeps the connection open after our FIN is cut off.
      setTimeout(() => conn.socket.destroy(), CLOSE_GRACE_MS).unref();
    },
  });
  const connections = pool.connections;
  server.on('connection', (socket: Socket) => {
    socket.unref();
    pool.add(socket);
  });

  let closing: Promise<void> | null = null;
  return {
    socketPath,
    staleSocketRemoved,
    close() {
      closing ??= (async () => {
        // Unlink first, so new clients see "not running" rather than a closing server.
        try {
          if (lstatSync(socketPath).ino === ino) unlinkSync(socketPath);
        } catch {
          // Already gone.
        }
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const conn of connections) finish(conn, false);
        // Not unref'd: while close() is awaited (the supervisor's last step) this bounded timer is
        // what keeps the process alive until the last client is cut off. Unref'd, a client that
        // keeps its connection open (the `stop` command waiting for us to go) left the event loop
        // empty with close() unsettled, and Node exited 13 ("unsettled top-level await").
        const grace = setTimeout(() => {
          for (const conn of connections) conn.socket.destroy();
        }, CLOSE_GRACE_MS);
        await closed;
        clearTimeout(grace);
        await lock.release();
      })();
      return closing;
    },
  };
}
