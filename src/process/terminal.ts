/**
 * Whether this process has a controlling terminal: the difference between a supervisor run in the
 * foreground from a shell (closing the terminal sends it SIGHUP, which must stop it) and one that
 * is detached (setsid), under systemd or in a container without a tty (SIGHUP means "reload").
 *
 * Ask at startup, not in the SIGHUP handler: when a terminal hangs up, the kernel detaches it from
 * the session (tty_nr becomes 0) before the SIGHUP it sends is handled.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { PROC } from './proc-read.js';
import type { ProcDeps } from './proc-read.js';

export function hasControllingTerminal(pid: number = process.pid, deps: ProcDeps = {}): boolean {
  const proc = deps.proc ?? PROC;
  if (proc.available()) {
    const stat = proc.stat(pid);
    if (stat !== null) return stat.ttyNr !== 0;
  }
  if (pid !== process.pid) return false;
  // Without /proc: /dev/tty opens only for a process that has a controlling terminal (ENXIO
  // otherwise). O_NOCTTY so that the test itself never acquires one.
  try {
    closeSync(openSync('/dev/tty', constants.O_RDONLY | constants.O_NOCTTY));
    return true;
  } catch {
    return false;
  }
}
