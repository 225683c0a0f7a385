/**
 * The start lock: one supervisor per control socket, race-free (issue 5), and out of other users'
 * reach (issue 15).
 *
 * It used to be a Linux abstract socket named after the uid and the socket path. Abstract names
 * carry no permissions and that one was predictable, so any local user could bind it first: root's
 * `start` then failed with E_ALREADY_RUNNING naming the squatter's pid, and `stop` advised root to
 * kill it. The lock now lives where only its owner can create anything: a Unix socket file
 * `<name>.lock` beside the control socket, in the 0700 run dir (or the 0700 short socket directory).
 *
 * A socket file outlives a SIGKILLed holder, so taking it must tell a live lock from a stale one
 * without two racing starts both "cleaning up" and both winning:
 *
 * 1. bind a listener at a fresh private name in the same directory, then link(2) it to the lock
 *    path. link fails with EEXIST when the lock exists, so of racing starts exactly one creates it,
 *    and the lock answers connections from the instant it exists (the listener was bound first);
 * 2. on EEXIST, connect to the lock: a listener answers → held; ECONNREFUSED → its holder died:
 *    remove that file, but only if the path still names the inode that refused (a racer's fresh
 *    lock has another inode), and go back to 1.
 *
 * Whoever holds it answers a connection with its pid. That is only a claim: before it is shown to
 * anyone (or someone is told to `kill` it), /proc must confirm that the pid belongs to our uid and
 * holds the lock's listening socket itself ({@link verifiedHolder}).
 */
import { linkSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { NaijaSupError } from '../errors.js';
import { PROC, type ProcDeps } from '../process/proc-read.js';

export interface NameLock {
  release(): Promise<void>;
}

export type LockAttempt =
  | { acquired: true; lock: NameLock }
  /** `holderPid`: the holder's pid once /proc confirmed it is ours and holds the lock; else null. */
  | { acquired: false; holderPid: number | null };

/** Rounds of "exists → stale → removed → try again" before giving up (each one needs a dead holder). */
const MAX_ROUNDS = 20;

/**
 * The lock beside `socketPath`: `<name>.sock` → `<name>.lock`. The same length, so it fits
 * `sun_path` whenever the socket does (src/control/paths.ts picks socket paths that fit).
 */
export function lockPathFor(socketPath: string): string {
  const base = basename(socketPath);
  return join(dirname(socketPath), `${base.endsWith('.sock') ? base.slice(0, -5) : base}.lock`);
}

/**
 * A name for the listener before it is linked into place: a dot and 5 random characters, no longer
 * than the shortest socket name (`a.sock`), so it fits wherever the lock does.
 */
function tempName(dir: string): string {
  return join(dir, `.${Math.random().toString(36).slice(2, 7).padEnd(5, '0')}`);
}

function listen(server: Server, path: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException): void => resolve(error);
    server.once('error', onError);
    let previous: number | null = null;
    try {
      previous = process.umask(0o177);
    } catch {
      // Worker threads cannot change the umask; the 0700 directory still protects the file.
    }
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve(null);
      });
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
}

/** A listener bound at a fresh temporary name in `dir`; its inode is the one that becomes the lock. */
async function bindTemporary(dir: string): Promise<{ server: Server; path: string; ino: number }> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const path = tempName(dir);
    const server = createServer((socket) => {
      // Anyone who can reach the lock (our uid) may ask who holds it: our pid, and the name the
      // listener was bound with (what /proc/net/unix shows for it), nothing more.
      socket.on('error', () => undefined);
      socket.end(`${JSON.stringify({ pid: process.pid, boundAs: path })}\n`);
    });
    const error = await listen(server, path);
    if (error === null) return { server, path, ino: lstatSync(path).ino };
    server.close();
    if (error.code !== 'EADDRINUSE') {
      throw new NaijaSupError('E_RUN_DIR', `cannot take the start lock in ${dir}: ${error.message}`, {
        fix: 'check the run directory (NAIJA_SUP_RUN_DIR): it must be a directory you own with mode 700',
        cause: error,
      });
    }
  }
  throw new NaijaSupError('E_RUN_DIR', `cannot take the start lock in ${dir}: no free temporary name`, {
    fix: `remove the files starting with "." in ${dir} that no naija-sup is using`,
  });
}

/** 'live' when something accepts connections at `path`, 'refused' when nothing listens. */
export function probeListener(path: string, timeoutMs = 1000): Promise<'live' | 'refused' | 'absent'> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      // A listener that accepted nothing within the timeout is alive but busy.
      resolve('live');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('live');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // EAGAIN: a full accept queue, so someone listens.
      resolve(error.code === 'ENOENT' ? 'absent' : error.code === 'EAGAIN' ? 'live' : 'refused');
    });
  });
}

/**
 * Takes the start lock at `lockPath`, or reports who holds it. A null path is a lock that always
 * succeeds (tests that host several servers on purpose).
 */
export async function acquireStartLock(lockPath: string | null): Promise<LockAttempt> {
  if (lockPath === null) return { acquired: true, lock: { release: async () => undefined } };
  const own = await bindTemporary(dirname(lockPath));
  let outcome: LockAttempt | null = null;
  try {
    for (let round = 0; round < MAX_ROUNDS && outcome === null; round += 1) {
      try {
        linkSync(own.path, lockPath);
        outcome = { acquired: true, lock: holding(own.server, lockPath, own.ino) };
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw lockError(lockPath, error);
      }
      outcome = await inspectExisting(lockPath);
    }
  } finally {
    // The listener lives on under the lock's name; its temporary name goes either way.
    try { unlinkSync(own.path); } catch { /* already gone */ }
    if (outcome?.acquired !== true) own.server.close();
  }
  if (outcome === null) {
    throw new NaijaSupError('E_RUN_DIR', `cannot take the start lock ${lockPath}: it kept being replaced`, {
      fix: `another process is creating and removing ${lockPath}: find it, or set NAIJA_SUP_RUN_DIR to a fresh directory`,
    });
  }
  return outcome;
}

/** The lock exists: held (who holds it), or stale (removed: null, so the caller tries again). */
async function inspectExisting(lockPath: string): Promise<LockAttempt | null> {
  let ino: number;
  try {
    const st = lstatSync(lockPath);
    if (!st.isSocket()) {
      throw new NaijaSupError('E_RUN_DIR', `${lockPath} exists and is not a socket`, {
        fix: `remove ${lockPath} (naija-sup only ever puts its start lock there)`,
      });
    }
    ino = st.ino;
  } catch (error) {
    if (error instanceof NaijaSupError) throw error;
    return null; // removed meanwhile: try to link again
  }
  const probe = await probeListener(lockPath);
  if (probe === 'live') return { acquired: false, holderPid: await verifiedHolder(lockPath) };
  if (probe === 'refused') {
    // Its holder died. Remove exactly the file that refused, never a racer's fresh lock.
    try {
      if (lstatSync(lockPath).ino === ino) unlinkSync(lockPath);
    } catch {
      // Someone else removed it first.
    }
  }
  return null;
}

function holding(server: Server, lockPath: string, ino: number): NameLock {
  server.unref();
  let released: Promise<void> | null = null;
  return {
    release() {
      released ??= new Promise<void>((resolve) => {
        // Unlink first (only our own inode), so the next start links its lock at once.
        try {
          if (lstatSync(lockPath).ino === ino) unlinkSync(lockPath);
        } catch {
          // Already gone (the run dir was removed).
        }
        server.close(() => resolve());
      });
      return released;
    },
  };
}

function lockError(lockPath: string, error: unknown): NaijaSupError {
  return new NaijaSupError('E_RUN_DIR', `cannot take the start lock ${lockPath}: ${(error as Error).message}`, {
    fix: 'check the run directory (NAIJA_SUP_RUN_DIR): it must be a directory you own with mode 700',
    cause: error,
  });
}

interface HolderClaim {
  pid: number;
  boundAs: string;
}

/** What the holder says about itself; null when it does not answer in time or says nothing usable. */
function askHolder(lockPath: string, timeoutMs = 500): Promise<HolderClaim | null> {
  return new Promise((resolve) => {
    const socket = connect(lockPath);
    let text = '';
    const finish = (claim: HolderClaim | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(claim);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 256) finish(null);
    });
    socket.on('end', () => {
      try {
        const { pid, boundAs } = JSON.parse(text) as { pid?: unknown; boundAs?: unknown };
        finish(typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && typeof boundAs === 'string' ? { pid, boundAs } : null);
      } catch {
        finish(null);
      }
    });
    socket.on('error', () => finish(null));
  });
}

/**
 * The holder's pid, only when /proc confirms it: the process runs as our uid and holds a socket
 * listening under the name it claims, a name in the lock's own directory (the kernel reports a
 * socket by the path it was bound with, which for a lock is its temporary name). Anything else
 * (another user's process, a made-up pid) is null, so no message names a pid a peer merely claimed.
 */
export async function verifiedHolder(lockPath: string, deps: ProcDeps = {}): Promise<number | null> {
  const claim = await askHolder(lockPath);
  if (claim === null || dirname(claim.boundAs) !== dirname(lockPath)) return null;
  return holdsListener(claim.pid, claim.boundAs, deps) ? claim.pid : null;
}

/** Whether `pid` runs as our uid and holds a socket listening at `path` (per /proc/net/unix). */
export function holdsListener(pid: number, path: string, deps: ProcDeps = {}): boolean {
  const proc = deps.proc ?? PROC;
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  if (uid === null || proc.uid(pid) !== uid) return false;
  const listeners = proc.unixListenerInodes(path);
  const held = proc.socketInodes(pid);
  return held !== null && listeners.some((inode) => held.includes(inode));
}

/**
 * Whether `pid` is a process of our uid started at `startTime` (field 22 of its /proc stat): how a
 * pid that a socket peer reports about itself is checked before it is shown or signalled. Off
 * Linux (no /proc) only the uid cannot be checked, and the answer is false.
 */
export function peerIsOurs(pid: number, startTime: string, deps: ProcDeps = {}): boolean {
  const proc = deps.proc ?? PROC;
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  if (uid === null || proc.uid(pid) !== uid) return false;
  return startTime === '' || proc.stat(pid)?.startTime === startTime;
}
