/**
 * How naija-sup reads a /proc file, apart from what the text means (proc-read.ts holds the parsers
 * and the `Proc` object built on them). It exists so the I/O rules live once, next to each
 * other: a vanished or foreign process reads as null instead of a throw, /proc/net tables are read
 * in page-sized chunks that stop before the costly final read, the asynchronous readers serve callers
 * that must not block, and an fd table tells "gone" from "denied".
 *
 * Only Node built-ins are imported (fs-async.ts is node:fs): `naija-sup status` loads this (through
 * proc-read.ts) on its fast path.
 */

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { closeSoon, listDir, openForReading, readInto, readTextFile } from '../fs-async.js';
import { join } from 'node:path';

/** The real /proc. */
export const DEFAULT_PROC_ROOT = '/proc';

let realProcFs: boolean | undefined;

/**
 * Whether `procRoot` can be read like Linux /proc. An injected (fake) root is always trusted; the
 * default one is probed once.
 */
export function hasProcFs(procRoot: string = DEFAULT_PROC_ROOT): boolean {
  if (procRoot !== DEFAULT_PROC_ROOT) return true;
  realProcFs ??= process.platform === 'linux' && existsSync('/proc/self/stat');
  return realProcFs;
}

/** Reads a /proc file; null when it (or the process behind it) does not exist or cannot be read. */
export function readProcFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // ENOENT/ESRCH: the process exited between listing and reading; EACCES: hidepid or another user.
    return null;
  }
}

/**
 * A read of /proc/net/tcp{,6} returns at most one seq_file buffer (a page) of whole lines, and
 * comes back short only when the table has ended (the next line would not fit otherwise). The
 * final zero-byte read that a plain readFile needs to see EOF is expensive: the kernel's
 * tcp_seq_start cannot resume past the end and walks the whole established hash again (262 144
 * buckets here, ~5 ms per file). So a read that is shorter than a 4 KiB page minus the longest line
 * ends it. Any page size ≥ 4 KiB only makes full reads longer, never short ones, so this never
 * stops early; at worst it pays for the extra read. Measured: 11.7 → 5.5 ms for both files.
 */
const PROC_NET_SHORT_READ = 4096 - 512;
let procNetBuffer: Buffer | undefined; // allocated on first use: `status` loads this module too

/**
 * The whole text of /proc/net/tcp or tcp6 (latin1), read synchronously in large chunks; null when it
 * cannot be read (no /proc, or tcp6 with IPv6 disabled).
 */
export function readProcNetTable(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  const chunks: Buffer[] = [];
  procNetBuffer ??= Buffer.allocUnsafe(64 * 1024);
  try {
    // Bounded: 64 Ki chunks of up to a page each is 256 MiB of socket table.
    for (let reads = 0; reads < 65_536; reads += 1) {
      const bytes = readSync(fd, procNetBuffer, 0, procNetBuffer.length, null);
      if (bytes === 0) break;
      chunks.push(Buffer.from(procNetBuffer.subarray(0, bytes)));
      if (bytes < PROC_NET_SHORT_READ) break;
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('latin1');
}

/**
 * {@link readProcNetTable}, asynchronously (for a caller that runs beside a proxy and must not
 * block on a table of tens of thousands of rows, and for `start`, which reads the tables ahead
 * while its config loads: src/ports/tables-ahead.ts). The same short read ends it, without the
 * final zero-byte read that costs the kernel a walk of the whole hash (~2.5 ms per file here);
 * the close is not waited for, which saves the caller a turn of the thread pool.
 */
export async function readProcNetTableAsync(path: string): Promise<string | null> {
  let fd: number;
  try {
    fd = await openForReading(path);
  } catch {
    return null;
  }
  try {
    const chunks: Buffer[] = [];
    const buffer = Buffer.allocUnsafe(64 * 1024);
    let total = 0;
    // Bounded: 256 MiB of table text is far beyond any real /proc/net/tcp.
    while (total < 256 * 1024 * 1024) {
      const bytesRead = await readInto(fd, buffer);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      total += bytesRead;
      if (bytesRead < PROC_NET_SHORT_READ) break;
    }
    return Buffer.concat(chunks).toString('latin1');
  } catch {
    return null;
  } finally {
    closeSoon(fd);
  }
}

/** Numeric entries of a /proc directory (the PIDs in the root, the thread ids in PID/task); null when it cannot be listed. */
export function listNumericEntries(dir: string): number[] | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const ids: number[] = [];
  for (const name of names) if (/^\d+$/.test(name)) ids.push(Number(name));
  return ids;
}

/**
 * The links of one fd table (/proc/PID/fd, or /proc/PID/task/TID/fd): 'gone' when the process
 * exited, 'denied' when the table cannot be listed for any other reason (another user's process).
 * `size` counts every fd listed; `denied` says some link could not be read although the table was
 * listed (EACCES per fd happens even for root on a process it may not ptrace, seen on PID 1 of a
 * microVM). An fd closed while we read is skipped.
 */
export type FdTable = { links: string[]; size: number; denied: boolean } | 'gone' | 'denied';

/** Errors that mean "this process (or fd) is gone" while we read its /proc entries. */
const GONE = new Set(['ENOENT', 'ESRCH']);
const errorCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';

export function readFdTable(fdDir: string): FdTable {
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch (error) {
    return GONE.has(errorCode(error)) ? 'gone' : 'denied';
  }
  const links: string[] = [];
  let denied = false;
  for (const fd of fds) {
    try {
      links.push(readlinkSync(join(fdDir, fd)));
    } catch (error) {
      if (!GONE.has(errorCode(error))) denied = true;
    }
  }
  return { links, size: fds.length, denied };
}

/** `read()`, or null when it throws: the process is gone, or it is another user's. */
export function orNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

/** The numeric entries of the root, read asynchronously; [] when it cannot be listed. */
export const listPidsAsync = (root: string): Promise<number[]> =>
  listDir(root).then((names) => names.filter((name) => /^\d+$/.test(name)).map(Number), () => []);
export const readProcFileAsync = (path: string): Promise<string | null> => readTextFile(path).catch(() => null);
