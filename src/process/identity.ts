/**
 * Who is this PID, really? Reads Linux /proc to tell our instance apart from whatever process got
 * its PID later.
 *
 * PIDs are reused (pid_max is 32768 on the research machine), so a PID alone never justifies a
 * signal: the start time (field 22 of /proc/PID/stat, clock ticks since boot) and the boot id must
 * still match what was recorded when we spawned it (research/failures-and-ports.md, "PID files and
 * PID reuse"). A zombie is not alive: `kill(pid, 0)` succeeds on it, yet it holds no fds and no port.
 *
 * Reads are synchronous on purpose: the files are tiny and in memory, and a verify-then-signal
 * sequence with no `await` between the two leaves no event-loop turn in which our view goes stale.
 * Every function takes an injectable proc root so tests can use a fake /proc tree.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The real /proc. */
export const DEFAULT_PROC_ROOT = '/proc';

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
   * Field 22, clock ticks since boot, as a decimal string: it is an unsigned 64-bit counter, and a
   * string compares exactly without a bigint.
   */
  startTime: string;
}

/** What the instance record stores to recognise a process later. */
export interface ProcessIdentity {
  pid: number;
  pgid: number;
  startTime: string;
  /** /proc/sys/kernel/random/boot_id, or null where it cannot be read. */
  bootId: string | null;
  /** argv as the kernel sees it; [] for zombies and kernel threads. */
  cmdline: string[];
}

/** The part of an identity that decides whether a PID is still the same process. */
export interface ExpectedIdentity {
  pid: number;
  startTime: string;
  /** null when unknown (then only the start time is compared). */
  bootId: string | null;
}

/**
 * - `same`: the PID is the process we recorded, and it is alive (not a zombie).
 * - `gone`: no process has that PID.
 * - `reused`: a different process has the PID now (start time or boot id differ).
 * - `zombie`: it is our process, but it has exited and waits to be reaped: nothing to signal.
 */
export type Sameness = 'same' | 'gone' | 'reused' | 'zombie';

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
  // After ") ": field 3 (state) is index 0, so field N is at index N - 3.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgid = Number(rest[2]);
  const sid = Number(rest[3]);
  const startTime = rest[19];
  if (
    !Number.isInteger(pid) || pid <= 0 ||
    state === undefined || !/^[A-Za-z]$/.test(state) ||
    !Number.isInteger(ppid) || !Number.isInteger(pgid) || !Number.isInteger(sid) ||
    startTime === undefined || !/^\d+$/.test(startTime)
  ) {
    return null;
  }
  return { pid, comm, state, ppid, pgid, sid, startTime };
}

/** Reads and parses /proc/PID/stat; null when the process does not exist (or is not readable). */
export function readProcStat(pid: number, procRoot: string = DEFAULT_PROC_ROOT): ProcStat | null {
  if (!isPlausiblePid(pid)) return null;
  const text = readSmallFile(join(procRoot, String(pid), 'stat'));
  return text === null ? null : parseProcStat(text);
}

/** argv of a process from /proc/PID/cmdline (NUL-separated); [] for zombies, kernel threads or a gone PID. */
export function readCmdline(pid: number, procRoot: string = DEFAULT_PROC_ROOT): string[] {
  if (!isPlausiblePid(pid)) return [];
  const text = readSmallFile(join(procRoot, String(pid), 'cmdline'));
  if (text === null || text.length === 0) return [];
  const parts = text.split('\0');
  // The kernel terminates every argument with NUL, so the split leaves one empty string at the end.
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** This boot's id (changes on every reboot); null where /proc/sys/kernel/random/boot_id is missing. */
export function readBootId(procRoot: string = DEFAULT_PROC_ROOT): string | null {
  const text = readSmallFile(join(procRoot, 'sys', 'kernel', 'random', 'boot_id'));
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? null : trimmed;
}

/** The real uid of a process from the `Uid:` line of /proc/PID/status; null when unknown. */
export function readUid(pid: number, procRoot: string = DEFAULT_PROC_ROOT): number | null {
  if (!isPlausiblePid(pid)) return null;
  const text = readSmallFile(join(procRoot, String(pid), 'status'));
  const match = text === null ? null : /^Uid:\s+(\d+)/m.exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Everything needed to recognise `pid` later; null when there is no such process. */
export function processIdentity(pid: number, procRoot: string = DEFAULT_PROC_ROOT): ProcessIdentity | null {
  const stat = readProcStat(pid, procRoot);
  if (stat === null) return null;
  return {
    pid,
    pgid: stat.pgid,
    startTime: stat.startTime,
    bootId: readBootId(procRoot),
    cmdline: readCmdline(pid, procRoot),
  };
}

/**
 * Is `expected.pid` still the process we recorded? Only `'same'` may be signalled.
 *
 * Degraded off Linux: where the real /proc is missing (macOS, Windows) and no other proc root was
 * passed, there is no start time to compare, so this falls back to `process.kill(pid, 0)`: a PID that
 * exists is reported `'same'` (it may in truth be a reused PID or a zombie), ESRCH is `'gone'`. Callers
 * that need certainty must check {@link hasProcFs} first.
 */
export function isSameProcess(expected: ExpectedIdentity, procRoot: string = DEFAULT_PROC_ROOT): Sameness {
  if (!hasProcFs(procRoot)) return pidExists(expected.pid) ? 'same' : 'gone';
  const stat = readProcStat(expected.pid, procRoot);
  if (stat === null) return 'gone';
  if (expected.bootId !== null) {
    const bootId = readBootId(procRoot);
    // A recorded boot id from another boot means the recorded process died with that boot.
    if (bootId !== null && bootId !== expected.bootId) return 'reused';
  }
  if (stat.startTime !== expected.startTime) return 'reused';
  return stat.state === 'Z' || stat.state === 'X' ? 'zombie' : 'same';
}

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

/** `kill(pid, 0)`: true when the PID exists (EPERM means it exists but is not ours). Zombies count as existing. */
export function pidExists(pid: number): boolean {
  if (!isPlausiblePid(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPlausiblePid(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0;
}

/** Reads a /proc file; null when it (or the process behind it) does not exist or cannot be read. */
function readSmallFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // ENOENT/ESRCH: the process exited between listing and reading; EACCES: hidepid or another user.
    return null;
  }
}
