/**
 * The socket tables (/proc/net/tcp and tcp6) read ahead of the port check that needs them
 * (issue 19). Producing them costs the kernel 1.3–1.6 ms each on the development machine, tcp6
 * even when empty (it walks its hash tables), and findPortOwners read them synchronously: ~3 ms
 * of every `start` between its exec and the server's spawn, with the main thread blocked. `start`
 * asks for them as it begins ({@link readPortTablesAhead}); the reads run on libuv's thread pool,
 * on the other core, while the config loads, and the first findPortOwners of the real /proc takes
 * them ({@link takePortTablesAhead}).
 *
 * What it trades: the snapshot is taken up to the config's load earlier (~10 ms; {@link
 * MAX_AGE_MS} at most, else it is read again), and only its "free" is believed: an owner it shows
 * may have exited since, or been stopped by preflight's own cleanup, so findPortOwners then reads
 * the tables again. A listener that appeared since makes preflight's bind check fail, and
 * preflight then looks again, in tables read now (src/ports/preflight.ts, lookUpOwners); one that
 * appears after that check is the race every check has: the server fails to bind, and its exit
 * says so.
 */
import { PROC, type Proc } from '../process/proc-read.js';
import { monotonicMs } from '../clock.js';

/** How old a snapshot read ahead may be when it is taken; an older one is dropped and read again. */
export const MAX_AGE_MS = 250;

/** Both tables, as {@link Proc.netTable} gives them (null when unreadable or absent). */
export interface PortTables {
  tcp: string | null;
  tcp6: string | null;
}

let ahead: { at: number; tables: Promise<PortTables> } | null = null;

/**
 * Starts reading both tables of the real /proc (Linux only, else null; a second call replaces the
 * first), and returns the reads, which nobody needs to wait for. Never rejects: an unreadable
 * table is null, as {@link Proc.netTableAsync} gives it.
 */
export function readPortTablesAhead(proc: Proc = PROC, now: () => number = monotonicMs): Promise<PortTables> | null {
  if (process.platform !== 'linux') return null;
  const at = now();
  // netTableAsync never rejects; should it ever, the check reads the tables itself.
  const tables = Promise.all([proc.netTableAsync('tcp'), proc.netTableAsync('tcp6')]).then(([tcp, tcp6]) => ({ tcp, tcp6 }), () => ({ tcp: null, tcp6: null }));
  ahead = { at, tables };
  return tables;
}

/**
 * The tables read ahead, once: the first caller takes them, later ones get null and read their
 * own. Null too when none were read ahead or they were asked for more than {@link MAX_AGE_MS} ago.
 */
export function takePortTablesAhead(now: () => number = monotonicMs): Promise<PortTables> | null {
  const taken = ahead;
  ahead = null;
  if (taken === null || now() - taken.at > MAX_AGE_MS) return null;
  return taken.tables;
}
