/**
 * Who holds a TCP port, answered from /proc without spawning anything, as `ss -ltnp` and
 * `lsof -i` do: the socket tables give the listening sockets' inodes, the fd tables their owners.
 *
 * 1. Read /proc/net/tcp and /proc/net/tcp6 (or take them read ahead: tables-ahead.ts) and keep
 *    the LISTEN sockets on `port` whose address conflicts with the host the server will bind
 *    (`bindConflicts`), plus TIME_WAIT rows.
 * 2. Map their inodes to processes in one pass over /proc/[0-9]* /fd/* (readlink → `socket:[N]`).
 *    Every holder is collected: a pre-fork server has several pids sharing one inode.
 * 3. Enrich each pid from /proc/PID/stat, status, cmdline (src/process/proc-read.ts) and cwd.
 *
 * The answer is one of: `free`, `held` (with every owner), `held-invisible` (LISTEN sockets exist
 * but no process we can read holds them — never reported as free) and `time-wait` (no owner).
 * Only LISTEN sockets make owners: clients connected to the port and the server's own accepted
 * connections (ESTABLISHED, local port = port) are never owners.
 *
 * Off Linux (no /proc/net/tcp) it falls back to find-process, which returns at most one pid,
 * matches TCP and UDP in any state and resolves `[]` when its tools fail, so that answer is always
 * `complete: false`.
 *
 * The parts live beside it: the conflict rules in bind-conflicts.ts, the fd scan in
 * socket-scan.ts, uid → name in user-names.ts.
 */

import { InternalError } from '../errors.js';
import { PROC, USER_HZ, type Proc } from '../process/proc-read.js';
import { bindConflicts, resolveTargets } from './bind-conflicts.js';
import { parseProcNetTcpForPort, type ProcNetTcpRow } from './proc-net.js';
import { scanSocketHolders, type SocketScan } from './socket-scan.js';
import { takePortTablesAhead } from './tables-ahead.js';
import { readPasswd, userName } from './user-names.js';
import { importModule } from '../import-module.js';

/** A LISTEN socket on the port, as /proc/net/tcp{,6} shows it. */
export interface ListenSocket {
  family: 4 | 6;
  /** Printable local address ("0.0.0.0", "127.0.0.1", "::", "::1", "::ffff:127.0.0.1"). */
  address: string;
  port: number;
  /** "127.0.0.1:8000" or "[::]:8000". */
  endpoint: string;
  /** Effective uid of the process that created the socket. */
  uid: number;
  inode: number;
}

/** A process that holds (has an fd of) a LISTEN socket on the port. */
export interface PortOwner {
  pid: number;
  /** Process group id; undefined only from the find-process fallback. */
  pgid: number | undefined;
  ppid: number;
  /** Real uid from /proc/PID/status; undefined only when the fallback could not tell. */
  uid: number | undefined;
  /** Login name from /etc/passwd (or os.userInfo for our own uid); String(uid) when unknown. */
  user: string;
  /** Field 22 of /proc/PID/stat: clock ticks after boot. With boot id it identifies the process across PID reuse. */
  startTime: number | undefined;
  /** Start time as ms since the epoch (btime + startTime / USER_HZ; ±1 s, btime has 1 s resolution). */
  startedAt: number | undefined;
  /** argv from /proc/PID/cmdline (empty for kernel threads and zombies). */
  cmdline: string[];
  /** cmdline joined by spaces, for display. */
  command: string;
  /** Working directory; undefined when it cannot be read (another user's process). */
  cwd?: string | undefined;
  /** Endpoints this process listens on for the port ("127.0.0.1:8000", "[::]:8000"). */
  addresses: string[];
  /** The socket inodes it holds. */
  inodes: number[];
  /**
   * Killed and still exiting: its main thread is gone (a zombie) but other threads still hold its
   * files. It lets go of the port within moments, by itself.
   */
  exiting?: boolean;
}

/** How the /proc fd scan went; decides whether an answer can be called complete. */
export interface ScanStats {
  /** Processes in /proc. */
  processes: number;
  /** Processes whose fd table could not be read (EACCES: another user, hidepid, non-dumpable). */
  unreadable: number;
  /** Unreadable processes that could hold the sockets: same uid as a socket or an owner, or uid unknown. */
  relevantUnreadable: number;
  /** Processes that exited during the scan. */
  vanished: number;
}

interface AnswerBase {
  port: number;
  /** The host the lookup checked conflicts for (undefined = `::`, Node's default `listen(port)`). */
  host: string | undefined;
  /**
   * True when the answer is known to be whole: every conflicting LISTEN socket has a visible owner
   * and no process that could also hold it was unreadable. Always false for `find-process`.
   */
  complete: boolean;
  method: 'procfs' | 'find-process';
  /**
   * LISTEN sockets on the same port that do NOT conflict with `host` (a stale server on `::1` while
   * the target is 127.0.0.1): harmless for the bind, but "localhost:PORT" may reach them.
   */
  nonConflicting: ListenSocket[];
  /** procfs only: how the fd scan went (absent when no scan was needed). */
  scan?: ScanStats | undefined;
  /** A sentence for humans when the answer needs one (invisible owner, TIME_WAIT, fallback). */
  note?: string | undefined;
}

export type PortOwnersAnswer =
  | (AnswerBase & { kind: 'free' })
  | (AnswerBase & {
      kind: 'held';
      /** Every visible owner, oldest first (a pre-fork parent before its workers). */
      owners: PortOwner[];
      /** The conflicting LISTEN sockets (empty from find-process, which does not say). */
      sockets: ListenSocket[];
      /** Conflicting sockets for which no owner was visible. */
      unownedSockets: ListenSocket[];
    })
  | (AnswerBase & {
      kind: 'held-invisible';
      sockets: ListenSocket[];
      /** uid of the (first) socket's creator, from /proc/net. */
      uid: number;
      user: string;
    })
  | (AnswerBase & { kind: 'time-wait'; count: number });

/** find-process's `find`, narrowed to what the fallback uses (injectable for tests). */
export type FindProcessFn = (
  by: 'port',
  port: number,
) => Promise<Array<{ pid: number; ppid: number; uid?: number | undefined; name: string; cmd: string }>>;

export interface FindPortOwnersOptions {
  port: number;
  /**
   * The host the server will bind. Omitted = `::`, what Node's `listen(port)` binds (dual-stack,
   * so it conflicts with every listener). "localhost" checks both 127.0.0.1 and ::1; other names
   * are resolved with dns.lookup (all addresses).
   */
  host?: string | undefined;
  /** The /proc tree to read; tests hand in a fake one. */
  proc?: Proc | undefined;
  /** passwd file for uid → name. */
  passwdFile?: string | undefined;
  /** Replaces find-process in the non-Linux fallback (tests). */
  findProcess?: FindProcessFn | undefined;
}

/**
 * Finds every process holding a LISTEN socket that would make binding `host:port` fail.
 * Never throws for an unreadable process; throws NaijaSupError E_CONFIG_INVALID when `host` does
 * not resolve.
 */
export async function findPortOwners(options: FindPortOwnersOptions): Promise<PortOwnersAnswer> {
  const { port, host } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InternalError(`findPortOwners: port must be an integer 1–65535, got ${String(port)}`);
  }
  const proc = options.proc ?? PROC;
  // A fake tree is read on any platform (tests); the real one only where it is Linux's.
  if (process.platform !== 'linux' && proc.real) return findWithFindProcess(port, host, options.findProcess);
  // The real /proc's tables may have been read ahead while the config loaded (tables-ahead.ts).
  // Only their "free" is taken, before any owner is looked for: an owner they show may have exited,
  // or been stopped by preflight's own cleanup, since, so anything else is looked at in tables
  // read now.
  const ahead = proc.real ? await takePortTablesAhead() : null;
  // Resolved once, when a view needs it: a host name is a DNS lookup.
  let targets: readonly string[] | undefined;
  const targetsOf = async (): Promise<readonly string[]> => (targets ??= await resolveTargets(host));
  if (ahead !== null && ahead.tcp !== null) {
    const view = viewOfTables(proc, options, await targetsOf(), ahead.tcp, ahead.tcp6);
    const answer = view.sockets.length === 0 ? unlistenedAnswer(view.base, view.rows, view.conflicts) : null;
    if (answer?.kind === 'free') return answer;
  }
  const tcp4 = proc.netTable('tcp');
  if (tcp4 === null) return findWithFindProcess(port, host, options.findProcess);
  // IPv6 disabled at boot (ipv6.disable=1) removes tcp6 altogether (elastic/beats#19941).
  const view = viewOfTables(proc, options, await targetsOf(), tcp4, proc.netTable('tcp6'));
  if (view.sockets.length === 0) return unlistenedAnswer(view.base, view.rows, view.conflicts);
  return heldAnswer(proc, view.base, view.sockets, options.passwdFile ?? '/etc/passwd');
}

/**
 * The port's rows of /proc/net/tcp and tcp6 (null: none), and which of its LISTEN sockets block a
 * bind on `targets` (the host's addresses).
 */
function viewOfTables(proc: Proc, options: FindPortOwnersOptions, targets: readonly string[], tcp4: string, tcp6: string | null): {
  rows: ProcNetTcpRow[];
  sockets: ListenSocket[];
  conflicts: (address: string) => boolean;
  base: ProcfsBase;
} {
  const { port, host } = options;
  const bindv6only = proc.bindv6only();
  const conflicts = (address: string): boolean =>
    targets.some((target) => bindConflicts(address, target, { bindv6only }));
  const rows = [...parseProcNetTcpForPort(tcp4, 4, port), ...parseProcNetTcpForPort(tcp6 ?? '', 6, port)];
  const listeners = rows.filter((row) => row.state === 'LISTEN').map(toListenSocket);
  const sockets = listeners.filter((socket) => conflicts(socket.address));
  const nonConflicting = listeners.filter((socket) => !conflicts(socket.address));
  return { rows, sockets, conflicts, base: { port, host, method: 'procfs', nonConflicting } };
}

/** What every procfs answer carries. */
type ProcfsBase = Pick<AnswerBase, 'port' | 'host' | 'nonConflicting'> & { method: 'procfs' };

/** No conflicting LISTEN socket: the port is free, or only TIME_WAIT rows stand in a bind's way. */
function unlistenedAnswer(base: ProcfsBase, rows: readonly ProcNetTcpRow[], conflicts: (address: string) => boolean): PortOwnersAnswer {
  const { port } = base;
  // TIME_WAIT rows have inode 0: no process to name. Only ones whose local side is the port
  // count (server side of a connection the server closed first); a client's TIME_WAIT to the
  // port has an ephemeral local port and blocks nothing.
  const count = rows.filter((row) => row.state === 'TIME_WAIT' && conflicts(row.localAddress)).length;
  if (count === 0) return { ...base, kind: 'free', complete: true };
  return {
    ...base,
    kind: 'time-wait',
    count,
    complete: true,
    note:
      `no process listens on port ${port}, but ${count} connection(s) are in TIME_WAIT (they expire within ~60 s). ` +
      'A server that sets SO_REUSEADDR (Node, uvicorn) can bind anyway; others get EADDRINUSE until then.',
  };
}

/** Conflicting LISTEN sockets: every process that holds one (held), or none we can see (held-invisible). */
function heldAnswer(proc: Proc, base: ProcfsBase, sockets: ListenSocket[], passwdFile: string): PortOwnersAnswer {
  const { port } = base;
  const scan = scanSocketHolders(proc, new Set(sockets.map((socket) => socket.inode)));
  const passwd = readPasswd(passwdFile);
  const btime = proc.bootTime() ?? undefined;
  const owners: PortOwner[] = [];
  for (const [pid, inodes] of scan.holders) {
    const owner = readOwner(proc, pid, inodes, sockets, passwd, btime);
    if (owner !== undefined) owners.push(owner); // undefined: it exited since the scan
  }
  owners.sort((a, b) => (a.startTime ?? 0) - (b.startTime ?? 0) || a.pid - b.pid);
  const owned = new Set(owners.flatMap((owner) => owner.inodes));
  const unownedSockets = sockets.filter((socket) => !owned.has(socket.inode));

  const stats = scanStats(proc, scan, sockets, owners);
  const { relevantUnreadable } = stats;

  if (owners.length === 0) {
    const uid = sockets[0]?.uid ?? -1;
    return {
      ...base,
      kind: 'held-invisible',
      sockets,
      uid,
      user: userName(uid, passwd),
      complete: false,
      scan: stats,
      note:
        `port ${port} is held (${sockets.map((s) => s.endpoint).join(', ')}, socket uid ${uid}), ` +
        'but its owner is not visible to this user (another user, hidepid, or another PID namespace)',
    };
  }
  const complete = unownedSockets.length === 0 && relevantUnreadable === 0;
  const gaps = [
    relevantUnreadable > 0 ? `${relevantUnreadable} process(es) that could share the socket could not be inspected` : '',
    unownedSockets.length > 0
      ? `no visible owner for ${unownedSockets.map((socket) => socket.endpoint).join(', ')}`
      : '',
  ].filter((gap) => gap !== '');
  return {
    ...base,
    kind: 'held',
    owners,
    sockets,
    unownedSockets,
    complete,
    scan: stats,
    note: complete ? undefined : `the owner list may be incomplete: ${gaps.join('; ')}`,
  };
}

/**
 * How the fd scan went. An unreadable process matters only when it could hold the sockets: it has
 * the uid of a socket's creator or of an owner, or its uid is unknown.
 */
function scanStats(proc: Proc, scan: SocketScan, sockets: readonly ListenSocket[], owners: readonly PortOwner[]): ScanStats {
  const uidsThatMatter = new Set<number>([
    ...sockets.map((socket) => socket.uid),
    ...owners.flatMap((owner) => (owner.uid === undefined ? [] : [owner.uid])),
  ]);
  const relevantUnreadable = scan.unreadablePids.filter((pid) => {
    const uid = proc.dirUid(pid);
    return uid === null || uidsThatMatter.has(uid);
  }).length;
  return {
    processes: scan.processes,
    unreadable: scan.unreadablePids.length,
    relevantUnreadable,
    vanished: scan.vanished,
  };
}

/** "127.0.0.1:8000", "[::1]:8000". */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function toListenSocket(row: ProcNetTcpRow): ListenSocket {
  return {
    family: row.family,
    address: row.localAddress,
    port: row.localPort,
    endpoint: formatEndpoint(row.localAddress, row.localPort),
    uid: row.uid,
    inode: row.inode,
  };
}

function readOwner(
  proc: Proc,
  pid: number,
  inodes: ReadonlySet<number>,
  sockets: readonly ListenSocket[],
  passwd: ReadonlyMap<number, string>,
  btime: number | undefined,
): PortOwner | undefined {
  const stat = proc.stat(pid);
  if (stat === null) return undefined;
  const uid = proc.uid(pid) ?? undefined;
  const cmdline = proc.cmdline(pid);
  const startTime = Number(stat.startTime);
  const cwd = proc.cwd(pid) ?? undefined; // another user's process or already gone: cwd is optional
  return {
    pid,
    pgid: stat.pgid,
    ppid: stat.ppid,
    uid,
    user: uid === undefined ? 'unknown' : userName(uid, passwd),
    startTime,
    startedAt: btime === undefined ? undefined : btime * 1000 + Math.round((startTime * 1000) / USER_HZ),
    cmdline,
    command: cmdline.join(' '),
    cwd,
    addresses: sockets.filter((socket) => inodes.has(socket.inode)).map((socket) => socket.endpoint),
    inodes: [...inodes].sort((a, b) => a - b),
    ...(stat.state === 'Z' && !proc.hasExited(stat) ? { exiting: true } : {}),
  };
}


/**
 * Off Linux: find-process 2 (`ss`/`netstat`/`lsof`, then `ps`). It returns one pid at most, matches
 * any local address ending in `:PORT` (TCP or UDP, any state) and resolves `[]` when its tools are
 * missing or forbidden, so `[]` is reported as `free` with `complete: false`: confirm with canBind.
 */
async function findWithFindProcess(
  port: number,
  host: string | undefined,
  injected: FindProcessFn | undefined,
): Promise<PortOwnersAnswer> {
  // Loaded on demand: on Linux it is never needed, and it pulls in chalk 4, commander and loglevel.
  const find: FindProcessFn = injected ?? (await importModule<typeof import('find-process')>('find-process')).default;
  const found = await find('port', port);
  const base = {
    port,
    host,
    method: 'find-process' as const,
    complete: false,
    nonConflicting: [],
  };
  if (found.length === 0) {
    return {
      ...base,
      kind: 'free',
      note: 'find-process found no owner; it swallows lookup errors, so confirm with a bind probe',
    };
  }
  const owners = found.map(
    (info): PortOwner => ({
      pid: info.pid,
      pgid: undefined,
      ppid: info.ppid,
      uid: info.uid,
      user: info.uid === undefined ? 'unknown' : userName(info.uid, readPasswd('/etc/passwd')),
      startTime: undefined,
      startedAt: undefined,
      // ps prints argv joined by spaces: arguments that contain spaces cannot be told apart.
      cmdline: info.cmd === '' ? [] : info.cmd.split(' '),
      command: info.cmd === '' ? info.name : info.cmd,
      addresses: [],
      inodes: [],
    }),
  );
  return {
    ...base,
    kind: 'held',
    owners,
    sockets: [],
    unownedSockets: [],
    note: 'found with find-process (no /proc/net/tcp here): it reports one owner at most and may miss others',
  };
}
