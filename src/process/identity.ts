/**
 * Who is this PID, really? Reads Linux /proc to tell our instance apart from whatever process got
 * its PID later.
 *
 * PIDs are reused (pid_max is 32768 on the research machine), so a PID alone never justifies a
 * signal: the start time (field 22 of /proc/PID/stat, clock ticks since boot) and the boot id must
 * still match what was recorded when we spawned it (research/failures-and-ports.md, "PID files and
 * PID reuse"). A zombie is not alive: `kill(pid, 0)` succeeds on it, yet it holds no fds and no port.
 *
 * The /proc files themselves are read and parsed by ./proc-read.ts (shared with the port-owner
 * lookup and the samplers); its readers are re-exported here, where most callers look for them.
 */

import { isPlausiblePid, PROC } from './proc-read.js';
import type { ProcDeps } from './proc-read.js';

export { createProc, DEFAULT_PROC_ROOT, hasExited, hasProcFs, parseProcStat, PROC, readBootId, readCmdline, readProcStat, readUid } from './proc-read.js';
export type { Proc, ProcDeps, ProcStat } from './proc-read.js';

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

/** Everything needed to recognise `pid` later; null when there is no such process. */
export function processIdentity(pid: number, deps: ProcDeps = {}): ProcessIdentity | null {
  const proc = deps.proc ?? PROC;
  const stat = proc.stat(pid);
  if (stat === null) return null;
  return {
    pid,
    pgid: stat.pgid,
    startTime: stat.startTime,
    bootId: proc.bootId(),
    cmdline: proc.cmdline(pid),
  };
}

/**
 * Is `expected.pid` still the process we recorded? Only `'same'` may be signalled.
 *
 * Degraded off Linux: where the real /proc is missing (macOS, Windows) and no other proc root was
 * injected, there is no start time to compare, so this falls back to `process.kill(pid, 0)`: a PID that
 * exists is reported `'same'` (it may in truth be a reused PID or a zombie), ESRCH is `'gone'`. Callers
 * that need certainty must check {@link hasProcFs} first.
 */
export function isSameProcess(expected: ExpectedIdentity, deps: ProcDeps = {}): Sameness {
  const proc = deps.proc ?? PROC;
  if (!proc.available()) return pidExists(expected.pid) ? 'same' : 'gone';
  const stat = proc.stat(expected.pid);
  if (stat === null) return 'gone';
  if (expected.bootId !== null) {
    const bootId = proc.bootId();
    // A recorded boot id from another boot means the recorded process died with that boot.
    if (bootId !== null && bootId !== expected.bootId) return 'reused';
  }
  if (stat.startTime !== expected.startTime) return 'reused';
  return proc.hasExited(stat) ? 'zombie' : 'same';
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
