/**
 * Process groups and descendants, from one pass over /proc.
 *
 * The instance is spawned as the leader of its own process group, so "everything it started" is
 * "every process whose pgrp is its pgid" — which also finds workers orphaned by a dead parent
 * (reparented to PID 1 but still in the group), something a ppid walk such as tree-kill's cannot do
 * (research/failures-and-ports.md, "tree-kill internals"). The ppid walk is kept as a fallback for
 * children that left the group with setsid/setpgid.
 *
 * Zombies are left out everywhere: an exited process holds no fds, no port and cannot be signalled.
 * "Exited" is {@link hasExited}: a zombie main thread whose other threads are still running is not.
 */

import { PROC } from './identity.js';
import type { ProcDeps, ProcStat } from './identity.js';

/**
 * Every process visible in the /proc tree, zombies included. Processes that exit while we read are
 * skipped. Threads are not listed (they live under /proc/PID/task).
 */
export function listProcesses(deps: ProcDeps = {}): ProcStat[] {
  const proc = deps.proc ?? PROC;
  const stats: ProcStat[] = [];
  for (const pid of proc.pids()) {
    const stat = proc.stat(pid);
    if (stat !== null) stats.push(stat);
  }
  return stats;
}

/**
 * PIDs (ascending) of the live members of process group `pgid`; zombies do not count.
 *
 * Degraded off Linux (no /proc): the members cannot be listed, so the group is represented by its
 * id alone — `[pgid]` when `kill(-pgid, 0)` says the group exists, `[]` otherwise.
 */
export function listGroupMembers(pgid: number, deps: ProcDeps = {}): number[] {
  const proc = deps.proc ?? PROC;
  if (!Number.isInteger(pgid) || pgid <= 0) return [];
  if (!proc.available()) return groupExistsByKill(pgid) ? [pgid] : [];
  // One kill(-pgid, 0) answers the common case — the group is gone — without a /proc pass: ESRCH
  // means no process, not even a zombie, is in the group. Only against the real /proc (tests hand in
  // a fake root whose groups do not exist in the kernel).
  if (proc.real && !groupExistsByKill(pgid)) return [];
  return listProcesses({ proc })
    .filter((stat) => stat.pgid === pgid && !proc.hasExited(stat))
    .map((stat) => stat.pid)
    .sort((a, b) => a - b);
}

/** Whether any live (non-zombie) process remains in group `pgid`. */
export function isGroupAlive(pgid: number, deps: ProcDeps = {}): boolean {
  return listGroupMembers(pgid, deps).length > 0;
}

/**
 * The live descendants of `roots` (children, grandchildren, …), found with one ppid map built from a
 * single /proc pass. Used for children that escaped the group (setsid/setpgid). Returns their stats,
 * ascending by pid, so callers can record start times. Orphans already reparented to PID 1 (or a
 * subreaper) cannot be found this way — the group scan finds those.
 */
export function listDescendants(roots: number | readonly number[], deps: ProcDeps = {}): ProcStat[] {
  const proc = deps.proc ?? PROC;
  const children = new Map<number, ProcStat[]>();
  for (const stat of listProcesses({ proc })) {
    const siblings = children.get(stat.ppid);
    if (siblings === undefined) children.set(stat.ppid, [stat]);
    else siblings.push(stat);
  }
  const queue = typeof roots === 'number' ? [roots] : [...roots];
  const seen = new Set<number>(queue);
  const found: ProcStat[] = [];
  // Bounded: every PID enters the queue at most once (`seen`), and a /proc pass is finite.
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      queue.push(child.pid);
      if (!proc.hasExited(child)) found.push(child);
    }
  }
  return found.sort((a, b) => a.pid - b.pid);
}

function groupExistsByKill(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
