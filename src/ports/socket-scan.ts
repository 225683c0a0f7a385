/**
 * Which processes hold given socket inodes: one pass over /proc/[0-9]* /fd/* (readlink →
 * `socket:[N]`), every holder collected (a pre-fork server has several pids sharing one inode),
 * and the processes that could not be looked into counted, so owners.ts can say whether its
 * answer is complete.
 */

import type { FdTable, Proc } from '../process/proc-read.js';

export interface SocketScan {
  /** pid → the wanted inodes it holds. */
  holders: Map<number, Set<number>>;
  processes: number;
  unreadablePids: number[];
  vanished: number;
}

/**
 * One pass over /proc/[0-9]* /fd/*. Synchronous on purpose: it is a few thousand tiny readlink
 * calls that each take microseconds, and the async API's per-call thread-pool round trip would
 * multiply the total several times (measured by bench/port-lookup.mjs). Never stops early: every
 * holder of every inode is wanted.
 */
export function scanSocketHolders(proc: Proc, inodes: ReadonlySet<number>): SocketScan {
  const holders = new Map<number, Set<number>>();
  const unreadablePids: number[] = [];
  const emptyFdTables: number[] = [];
  let processes = 0;
  let vanished = 0;
  const hold = (pid: number, found: readonly number[]): void => {
    if (found.length === 0) return;
    let held = holders.get(pid);
    if (held === undefined) holders.set(pid, (held = new Set()));
    for (const inode of found) held.add(inode);
  };
  for (const pid of proc.pids()) {
    processes += 1;
    const table = wantedInodes(proc.fdTable(pid), inodes);
    if (table === 'gone') vanished += 1;
    else if (table === 'denied') unreadablePids.push(pid); // EACCES (another user), or anything else we cannot see into
    else {
      if (table.denied) unreadablePids.push(pid);
      if (table.size === 0) emptyFdTables.push(pid);
      hold(pid, table.found);
    }
  }
  // A killed multi-threaded process (any Node server) often has an exited main thread while its
  // other threads are still on their way out: /proc/PID/fd is empty, yet the files — the listening
  // socket among them — stay open until the last thread is gone, and /proc/PID/task/TID/fd still
  // lists them. Looked at only when a socket has no holder yet, and only for such processes.
  const held = new Set([...holders.values()].flatMap((set) => [...set]));
  if ([...inodes].some((inode) => !held.has(inode))) {
    for (const pid of emptyFdTables) {
      const stat = proc.stat(pid);
      if (stat === null || stat.state !== 'Z' || proc.hasExited(stat)) continue;
      for (const tid of proc.taskIds(pid) ?? []) {
        const table = wantedInodes(proc.fdTable(pid, tid), inodes);
        if (typeof table === 'object') hold(pid, table.found);
      }
    }
  }
  return { holders, processes, unreadablePids, vanished };
}

/** The wanted socket inodes in one fd table. */
function wantedInodes(table: FdTable, inodes: ReadonlySet<number>): { found: number[]; size: number; denied: boolean } | 'gone' | 'denied' {
  if (typeof table === 'string') return table;
  const found: number[] = [];
  for (const link of table.links) {
    if (!link.startsWith('socket:[')) continue;
    const inode = Number(link.slice(8, -1));
    if (inodes.has(inode)) found.push(inode);
  }
  return { found, size: table.size, denied: table.denied };
}
