/**
 * The one parser of each Linux /proc file naija-sup reads: /proc/PID/stat, status and cmdline, the
 * boot id and /proc/uptime. Process identity, the port-owner lookup, the metrics sampler and
 * `status` all read through here, so a rule such as "split stat after the LAST ')'" lives once.
 *
 * Only Node built-ins (and ./proc-io.ts, how a /proc file is read, which imports only those) are
 * imported: `naija-sup status` loads this on its fast path.
 *
 * Readers are synchronous on purpose: the files are tiny and in memory, and a verify-then-signal
 * sequence with no `await` between the two leaves no event-loop turn in which our view goes stale.
 * A caller that must not block while it reads every process on the machine (the metrics sampler)
 * uses the asynchronous readers of {@link Proc}. Callers read through a {@link Proc} (`createProc(root)`,
 * {@link PROC} for the real /proc) taken as `deps: { proc }`, so tests inject a fake tree once at the
 * edge; every reader answers null (or []) for a process that is gone or unreadable instead of throwing.
 */

import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_PROC_ROOT,
  hasProcFs,
  listNumericEntries,
  listPidsAsync,
  orNull,
  readFdTable,
  readProcFile,
  readProcFileAsync,
  readProcNetTable,
  readProcNetTableAsync,
  type FdTable,
} from './proc-io.js';

// The file-access layer moved to proc-io.ts; these names stay importable from here.
export { DEFAULT_PROC_ROOT, hasProcFs, readProcNetTable, type FdTable } from './proc-io.js';

/**
 * USER_HZ, the unit of the /proc/PID/stat times (utime, stime, starttime). The kernel converts
 * jiffies to USER_HZ for userspace, and USER_HZ is 100 on every architecture Node supports on Linux
 * (x86, arm, arm64, ppc, s390, riscv). `getconf CLK_TCK` would confirm it at the cost of a process
 * spawn (milliseconds, against a ≤ 20 ms port-lookup budget), and Node cannot call sysconf, so it
 * is assumed.
 */
export const USER_HZ = 100;

/** The fields of /proc/PID/stat that naija-sup uses. */
export interface ProcStat {
  pid: number;
  /** Executable name (at most 15 bytes; may contain spaces and parentheses). */
  comm: string;
  /** One letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, t traced, X dead, I idle. */
  state: string;
  ppid: number;
  /** Process group id (field 5, "pgrp"). */
  pgid: number;
  /** Session id (field 6). */
  sid: number;
  /**
   * The controlling terminal's device number (field 7, tty_nr); 0 when the process has none (a
   * daemon after setsid, a service under systemd).
   */
  ttyNr: number;
  /** CPU time in user mode (field 14), clock ticks ({@link USER_HZ}). */
  utime: number;
  /** CPU time in kernel mode (field 15), clock ticks. */
  stime: number;
  /** Threads still in the thread group (field 20, num_threads). */
  threads: number;
  /**
   * Field 22, clock ticks since boot, as a decimal string: it is an unsigned 64-bit counter, and a
   * string compares exactly without a bigint.
   */
  startTime: string;
}

/**
 * Parses the text of /proc/PID/stat. Returns null when it is not in the expected shape.
 *
 * `comm` sits in parentheses and may itself contain spaces and parentheses (a process can rename
 * itself to "a) b (c"), so the fields are split after the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // After ") ": field 3 (state) is index 0, so field N (1-based, as in proc(5)) is at index N - 3.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgid = Number(rest[2]);
  const sid = Number(rest[3]);
  const ttyNr = Number(rest[4]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const threads = Number(rest[17]);
  const startTime = rest[19];
  if (
    !isPlausiblePid(pid) ||
    state === undefined || !/^[A-Za-z]$/.test(state) ||
    !Number.isInteger(ppid) || !Number.isInteger(pgid) || !Number.isInteger(sid) || !Number.isInteger(ttyNr) ||
    !Number.isFinite(utime) || !Number.isFinite(stime) || !Number.isInteger(threads) ||
    startTime === undefined || !/^\d+$/.test(startTime)
  ) {
    return null;
  }
  return { pid, comm, state, ppid, pgid, sid, ttyNr, utime, stime, threads, startTime };
}

/**
 * Whether the process has finished exiting: it is a zombie (or dead) AND no other thread of it is
 * still running. The state letter alone is not enough. When a multi-threaded process (every Node
 * process) is killed, its main thread often exits first and /proc/PID/stat already says "Z" while
 * the other threads are still on their way out (num_threads 2–7 for a node server, measured). Until
 * the last of them is gone the process's files — its listening socket among them — are still open,
 * yet /proc/PID/fd no longer lists them: taken as "gone", the port would look held by nobody.
 */
export function hasExited(stat: ProcStat, procRoot: string = DEFAULT_PROC_ROOT): boolean {
  if (stat.state !== 'Z' && stat.state !== 'X') return false;
  if (stat.threads <= 1) return true;
  // Under ptrace (strace -f, gdb) exited threads stay zombies until the tracer reaps them, and
  // num_threads counts them: a thread that is a zombie has closed its share of the files already.
  return allThreadsExited(stat.pid, procRoot);
}

/** Whether every thread in /proc/PID/task is a zombie or dead; false when they cannot be listed. */
function allThreadsExited(pid: number, procRoot: string): boolean {
  const tids = listNumericEntries(join(procRoot, String(pid), 'task'));
  if (tids === null) return false;
  let seen = 0;
  for (const tid of tids) {
    const text = readProcFile(join(procRoot, String(pid), 'task', String(tid), 'stat'));
    if (text === null) continue; // that thread is gone meanwhile
    const state = parseProcStat(text)?.state;
    if (state !== 'Z' && state !== 'X') return false;
    seen += 1;
  }
  return seen > 0; // the zombie leader itself is listed; nothing readable tells nothing
}

/** Reads and parses /proc/PID/stat; null when the process does not exist (or is not readable). */
export function readProcStat(pid: number, procRoot: string = DEFAULT_PROC_ROOT): ProcStat | null {
  if (!isPlausiblePid(pid)) return null;
  const text = readProcFile(join(procRoot, String(pid), 'stat'));
  return text === null ? null : parseProcStat(text);
}

/** argv of a process from /proc/PID/cmdline (NUL-separated); [] for zombies, kernel threads or a gone PID. */
export function readCmdline(pid: number, procRoot: string = DEFAULT_PROC_ROOT): string[] {
  if (!isPlausiblePid(pid)) return [];
  const text = readProcFile(join(procRoot, String(pid), 'cmdline'));
  if (text === null || text.length === 0) return [];
  const parts = text.split('\0');
  // The kernel terminates every argument with NUL, so the split leaves one empty string at the end.
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** This boot's id (changes on every reboot); null where /proc/sys/kernel/random/boot_id is missing. */
export function readBootId(procRoot: string = DEFAULT_PROC_ROOT): string | null {
  const text = readProcFile(join(procRoot, 'sys', 'kernel', 'random', 'boot_id'));
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? null : trimmed;
}

/** The real uid of a process from the `Uid:` line of /proc/PID/status (the first of four); null when unknown. */
export function readUid(pid: number, procRoot: string = DEFAULT_PROC_ROOT): number | null {
  if (!isPlausiblePid(pid)) return null;
  const text = readProcFile(join(procRoot, String(pid), 'status'));
  const match = text === null ? null : /^Uid:\s+(\d+)/m.exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * Resident memory in bytes from the `VmRSS:` line of the text of /proc/PID/status. The kernel
 * writes kB meaning KiB, so the page size does not matter. null when the line is absent (kernel
 * threads, zombies).
 */
export function parseVmRss(status: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] === undefined ? null : Number(match[1]) * 1024;
}

/** {@link parseVmRss} of /proc/PID/status; null also when the process is gone or unreadable. */
export function readVmRss(pid: number, procRoot: string = DEFAULT_PROC_ROOT): number | null {
  if (!isPlausiblePid(pid)) return null;
  const text = readProcFile(join(procRoot, String(pid), 'status'));
  return text === null ? null : parseVmRss(text);
}

/** Seconds since boot, the first number of /proc/uptime; null where it cannot be read. */
export function readUptimeSeconds(procRoot: string = DEFAULT_PROC_ROOT): number | null {
  const text = readProcFile(join(procRoot, 'uptime'));
  const value = Number(text?.split(/\s+/)[0]);
  return Number.isFinite(value) && value > 0 ? value : null;
}

/**
 * The kernel's ephemeral port range (`sys/net/ipv4/ip_local_port_range`): the local ports it gives
 * outgoing connections and port-0 binds. null when unreadable.
 */
export function readEphemeralPortRange(procRoot: string = DEFAULT_PROC_ROOT): { low: number; high: number } | null {
  const [low, high] = (readProcFile(join(procRoot, 'sys', 'net', 'ipv4', 'ip_local_port_range')) ?? '').trim().split(/\s+/).map(Number);
  return low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) && low > 0 && low <= high ? { low, high } : null;
}

/** A positive integer: anything else can name no /proc entry (and `kill` would read 0 or -N as a group). */
export function isPlausiblePid(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0;
}

/**
 * The socket inodes `pid` holds (`socket:[N]` links in /proc/PID/fd); null when its fd table cannot
 * be listed (it exited, or it is another user's process).
 */
export function readSocketInodes(pid: number, procRoot: string = DEFAULT_PROC_ROOT): number[] | null {
  const table = readFdTable(join(procRoot, String(pid), 'fd'));
  if (typeof table === 'string') return null;
  return table.links.filter((link) => link.startsWith('socket:[')).map((link) => Number(link.slice(8, -1)));
}

/**
 * Inodes of the Unix sockets listening under `path`, from /proc/net/unix (which names a socket by
 * the path it was bound with, even after that file was renamed or removed). Empty when none, or
 * where the table cannot be read.
 */
export function readUnixListenerInodes(path: string, procRoot: string = DEFAULT_PROC_ROOT): number[] {
  const text = readProcNetTable(join(procRoot, 'net', 'unix'));
  if (text === null) return [];
  const inodes: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path; the path may itself contain spaces.
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || (Number.parseInt(fields[3] ?? '', 16) & 0x10000) === 0) continue; // not listening
    if (fields.slice(7).join(' ') === path) inodes.push(Number(fields[6]));
  }
  return inodes;
}

/**
 * The soft and hard limits on open files ("Max open files" in /proc/PID/limits, `ulimit -n`);
 * null where it cannot be read. `Infinity` for "unlimited".
 */
export function readOpenFileLimit(pid: number | 'self' = 'self', procRoot: string = DEFAULT_PROC_ROOT): { soft: number; hard: number } | null {
  const text = readProcFile(join(procRoot, String(pid), 'limits'));
  const match = text === null ? null : /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (match === null) return null;
  const value = (s: string | undefined): number => (s === 'unlimited' ? Infinity : Number(s));
  const soft = value(match[1]);
  const hard = value(match[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
}

/** How many files `pid` has open (entries of /proc/PID/fd); null where they cannot be listed. */
export function countOpenFiles(pid: number | 'self' = 'self', procRoot: string = DEFAULT_PROC_ROOT): number | null {
  return orNull(() => readdirSync(join(procRoot, String(pid), 'fd')).length);
}

/** Boot time in seconds since the epoch, the `btime` line of /proc/stat; null where unreadable. */
function readBootTime(procRoot: string): number | null {
  const match = /^btime\s+(\d+)/m.exec(readProcFile(join(procRoot, 'stat')) ?? '');
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * One /proc tree, real or fake: every reader above (and those of proc-io.ts) bound to one root. Callers take
 * `deps: { proc?: Proc }` (see {@link ProcDeps}) and default to {@link PROC}, so a test injects one
 * object at the edge instead of a root string threaded through every call.
 */
export interface Proc {
  /** The directory read, '/proc' unless a test hands in a fake tree. */
  readonly root: string;
  /**
   * Whether this is the machine's real /proc, so the kernel (kill(-pgid, 0), the fds of this very
   * process) agrees with what it shows. A fake tree never does.
   */
  readonly real: boolean;
  /** {@link hasProcFs}: a fake tree always; the real one where Linux /proc exists. */
  available(): boolean;
  /** The PIDs listed in the root; [] when it cannot be listed. */
  pids(): number[];
  stat(pid: number): ProcStat | null;
  /** {@link hasExited}, reading the threads from this tree. */
  hasExited(stat: ProcStat): boolean;
  cmdline(pid: number): string[];
  uid(pid: number): number | null;
  /** The raw text of /proc/PID/status; null when gone or unreadable. */
  status(pid: number): string | null;
  /** The raw text of /proc/PID/comm and /proc/PID/cgroup; null when gone or unreadable (hidepid). */
  comm(pid: number): string | null;
  cgroup(pid: number): string | null;
  vmRss(pid: number): number | null;
  bootId(): string | null;
  uptimeSeconds(): number | null;
  /** {@link readEphemeralPortRange}. */
  ephemeralPortRange(): { low: number; high: number } | null;
  /** Thread ids in /proc/PID/task; null when they cannot be listed. */
  taskIds(pid: number): number[] | null;
  /** {@link FdTable} of /proc/PID/fd, or of /proc/PID/task/TID/fd when `tid` is given. */
  fdTable(pid: number, tid?: number): FdTable;
  /** The target of /proc/PID/cwd; null when gone or unreadable. */
  cwd(pid: number): string | null;
  /** The owner uid of the /proc/PID directory; null when gone. */
  dirUid(pid: number): number | null;
  /** Boot time (seconds since the epoch) from /proc/stat; null where unreadable. */
  bootTime(): number | null;
  /** /proc/sys/net/ipv6/bindv6only is 1: a `::` listener does not take IPv4. */
  bindv6only(): boolean;
  socketInodes(pid: number): number[] | null;
  unixListenerInodes(path: string): number[];
  /** {@link readProcNetTable} of /proc/net/NAME (tcp, tcp6, unix). */
  netTable(name: 'tcp' | 'tcp6' | 'unix'): string | null;
  /** The same table read asynchronously to its end. */
  netTableAsync(name: 'tcp' | 'tcp6'): Promise<string | null>;
  /** Asynchronous {@link Proc.pids}, {@link Proc.stat} and {@link Proc.status}: for a caller that reads every process and must not block. */
  pidsAsync(): Promise<number[]>;
  statAsync(pid: number): Promise<ProcStat | null>;
  statusAsync(pid: number): Promise<string | null>;
  openFileLimit(pid?: number | 'self'): { soft: number; hard: number } | null;
  countOpenFiles(pid?: number | 'self'): number | null;
}

/** What a function that reads /proc accepts: the tree to read, {@link PROC} by default. */
export interface ProcDeps {
  proc?: Proc;
}

/** A {@link Proc} reading the tree at `root`. Cheap: it holds only the root. */
export function createProc(root: string = DEFAULT_PROC_ROOT): Proc {
  return {
    root,
    real: root === DEFAULT_PROC_ROOT,
    available: () => hasProcFs(root),
    pids: () => listNumericEntries(root) ?? [],
    stat: (pid) => readProcStat(pid, root),
    hasExited: (stat) => hasExited(stat, root),
    cmdline: (pid) => readCmdline(pid, root),
    uid: (pid) => readUid(pid, root),
    status: (pid) => (isPlausiblePid(pid) ? readProcFile(join(root, String(pid), 'status')) : null),
    vmRss: (pid) => readVmRss(pid, root),
    comm: (pid) => (isPlausiblePid(pid) ? readProcFile(join(root, String(pid), 'comm')) : null),
    cgroup: (pid) => (isPlausiblePid(pid) ? readProcFile(join(root, String(pid), 'cgroup')) : null),
    bootId: () => readBootId(root),
    uptimeSeconds: () => readUptimeSeconds(root),
    ephemeralPortRange: () => readEphemeralPortRange(root),
    taskIds: (pid) => listNumericEntries(join(root, String(pid), 'task')),
    fdTable: (pid, tid) => readFdTable(tid === undefined ? join(root, String(pid), 'fd') : join(root, String(pid), 'task', String(tid), 'fd')),
    cwd: (pid) => orNull(() => readlinkSync(join(root, String(pid), 'cwd'))),
    // The owner of /proc/PID: the process's effective uid when it is dumpable.
    dirUid: (pid) => orNull(() => statSync(join(root, String(pid))).uid),
    bootTime: () => readBootTime(root),
    bindv6only: () => readProcFile(join(root, 'sys', 'net', 'ipv6', 'bindv6only'))?.trim() === '1',
    socketInodes: (pid) => readSocketInodes(pid, root),
    unixListenerInodes: (path) => readUnixListenerInodes(path, root),
    netTable: (name) => readProcNetTable(join(root, 'net', name)),
    netTableAsync: (name) => readProcNetTableAsync(join(root, 'net', name)),
    pidsAsync: () => listPidsAsync(root),
    statAsync: async (pid) => {
      const text = isPlausiblePid(pid) ? await readProcFileAsync(join(root, String(pid), 'stat')) : null;
      return text === null ? null : parseProcStat(text);
    },
    statusAsync: async (pid) => (isPlausiblePid(pid) ? readProcFileAsync(join(root, String(pid), 'status')) : null),
    openFileLimit: (pid = 'self') => readOpenFileLimit(pid, root),
    countOpenFiles: (pid = 'self') => countOpenFiles(pid, root),
  };
}

/** The real /proc. */
export const PROC: Proc = createProc();
