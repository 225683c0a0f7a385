/**
 * Where a set of processes listens: their LISTEN sockets, from /proc/net/tcp{,6} and their fd
 * tables. It tells a server that ignores PORT ("it listens on 3000, not on 8000") or binds another
 * host than configured (gunicorn on 0.0.0.0 while naija-sup says 127.0.0.1) from a server that is
 * just slow (issue 12). Linux only: without /proc the answer is empty.
 */
import { PROC, type ProcDeps } from '../process/proc-read.js';
import { parseProcNetTcp } from './proc-net.js';
import { formatEndpoint } from './owners.js';

export interface ListeningEndpoint {
  /** Printable local address ("0.0.0.0", "127.0.0.1", "::"). */
  address: string;
  port: number;
  /** "127.0.0.1:8000", "[::]:8000". */
  endpoint: string;
  /** The process that holds the socket. */
  pid: number;
}

/** TCP state 0A (LISTEN) in the `st` column: lines of other states are not parsed at all. */
const LISTEN_COLUMN = / 0A /;

/** The LISTEN sockets held by `pids`, ordered by port then address; each socket once. */
export function listeningEndpointsOf(pids: readonly number[], deps: ProcDeps = {}): ListeningEndpoint[] {
  const proc = deps.proc ?? PROC;
  const held = new Map<number, number>();
  for (const pid of pids) {
    for (const inode of proc.socketInodes(pid) ?? []) if (!held.has(inode)) held.set(inode, pid);
  }
  if (held.size === 0) return [];
  const out: ListeningEndpoint[] = [];
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    const text = proc.netTable(file);
    if (text === null) continue;
    const listening = text.split('\n').filter((line) => LISTEN_COLUMN.test(line)).join('\n');
    for (const row of parseProcNetTcp(listening, family)) {
      const pid = held.get(row.inode);
      if (row.state !== 'LISTEN' || pid === undefined) continue;
      out.push({ address: row.localAddress, port: row.localPort, endpoint: formatEndpoint(row.localAddress, row.localPort), pid });
    }
  }
  return out.sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
}

/** Whether a socket bound to `address` serves connections to `host` (the configured bind host). */
export function coversHost(address: string, host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (a === h) return true;
  if (h === 'localhost') return a === '127.0.0.1' || a === '::1';
  // Told to listen everywhere: either wildcard is everywhere (`::` is dual-stack on Linux by default).
  if (isWildcard(h) || h === '') return isWildcard(a);
  return false;
}

/** Wildcard addresses: a socket on one of these is reachable from other machines too. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
