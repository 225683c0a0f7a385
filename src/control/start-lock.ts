/**
 * The start lock: one supervisor per control socket, race-free. An abstract-namespace socket (Linux)
 * that the kernel releases when its holder dies, however it dies; why a lock at all, and why this
 * one, is in server.ts's header ("One supervisor per name, race-free").
 *
 * A module of its own because both sides take it: the server (startControlServer) before it binds
 * the control socket, and the client (inspectStale) before it cleans up after a dead supervisor.
 */
import { createServer, connect } from 'node:net';
import { NaijaSupError } from '../errors.js';
import { lockNameFor } from './paths.js';

export interface NameLock {
  release(): Promise<void>;
}

export type LockAttempt =
  | { acquired: true; lock: NameLock }
  /** `holderPid` is what the holder says about itself (null when it did not answer). */
  | { acquired: false; holderPid: number | null };

/** The default lock name for a socket path: abstract sockets exist on Linux only. */
export function defaultLockName(socketPath: string): string | null {
  return process.platform === 'linux' ? lockNameFor(socketPath) : null;
}

/**
 * Takes the start lock `lockName` (an abstract socket name), or reports who holds it. A null name
 * is a lock that always succeeds (platforms without abstract sockets).
 */
export async function acquireNameLock(lockName: string | null): Promise<LockAttempt> {
  if (lockName === null) return { acquired: true, lock: { release: async () => undefined } };
  const server = createServer((socket) => {
    // Anyone may ask who holds the lock: the answer is a pid, nothing more.
    socket.on('error', () => undefined);
    socket.end(`${JSON.stringify({ pid: process.pid })}\n`);
  });
  const bound = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen(lockName, () => resolve(null));
  });
  if (bound === null) {
    server.unref();
    let released = false;
    return {
      acquired: true,
      lock: {
        release: () => new Promise<void>((resolve) => {
          if (released) {
            resolve();
            return;
          }
          released = true;
          server.close(() => resolve());
        }),
      },
    };
  }
  if (bound.code !== 'EADDRINUSE') {
    throw new NaijaSupError('E_RUN_DIR', `cannot take the start lock: ${bound.message}`, { cause: bound });
  }
  return { acquired: false, holderPid: await askLockHolder(lockName) };
}

function askLockHolder(lockName: string, timeoutMs = 500): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = connect(lockName);
    let text = '';
    const finish = (pid: number | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 256) finish(null);
    });
    socket.on('end', () => {
      try {
        const pid = (JSON.parse(text) as { pid?: unknown }).pid;
        finish(typeof pid === 'number' && Number.isInteger(pid) ? pid : null);
      } catch {
        finish(null);
      }
    });
    socket.on('error', () => finish(null));
  });
}
