/**
 * Spawn failures that time heals (issue 15). A command that does not exist or is not executable
 * fails the same way every time, so the machine ends at 'spawn-failed'. Running out of file
 * descriptors is different: it says nothing about the command, and it passes as soon as whatever
 * holds them lets go (a flood of connections timing out, a leak being restarted). Giving up there
 * once left an API down because another local user had opened 21,000 connections for a minute;
 * so the runner retries such a spawn with backoff, for as long as it takes, and says why.
 */
import { backoffDelay } from './backoff.js';
import type { RestartConfig } from '../config/types.js';

/** EMFILE: this process is at its open-files limit; ENFILE: the whole system is. */
export function isTransientSpawnError(code: string): boolean {
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * The wait before the `attempt`-th retry (1-based): the restart policy's backoff from its first
 * non-zero step (initialDelay, then × factor, capped at maxDelay, ±10% jitter).
 */
export function spawnRetryDelay(attempt: number, policy: Pick<RestartConfig, 'initialDelay' | 'maxDelay' | 'factor'>, random: () => number): number {
  return Math.max(1, backoffDelay(attempt + 1, policy, random));
}

export const FD_SHORTAGE_FIX = 'raise the supervisor\'s open-files limit (ulimit -n before starting it, LimitNOFILE= in its systemd unit), or find what holds its descriptors (ls /proc/<supervisor pid>/fd); it keeps retrying meanwhile';
