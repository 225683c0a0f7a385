/**
 * How an instance's end becomes what the machine hears (an ExitInfo with a cause, a summary and a
 * fix), and the cleanup that must come first: after the group leader exits, nothing of its group
 * may be left (a wrapper like `sh -c` or npm, or a pre-fork parent, can die and leave a worker
 * holding the port). The runner (runner.ts) calls these; they never touch the machine.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { ExitInfo } from './events.js';
import type { Clock, DependencyOutcome, SpawnFailure } from './runner-deps.js';
import { FD_SHORTAGE_FIX } from './spawn-retry.js';

/**
 * After the leader's exit, how often to look whether the rest of its group is gone: 2, 4, 8, 16 ms,
 * then every 20 ms. Processes that die of the same signal are usually gone within a few ms, and a
 * stop is reported (and `naija-sup stop` returns) only once they are.
 */
const GROUP_POLL_FIRST_MS = 2;
const GROUP_POLL_MS = 20;

/** What the group cleanup needs from the runner. */
export interface GroupOps {
  /** Live processes of the instance led by `pid` (escaped descendants included when known). */
  members(pid: number): number[];
  /** The stop-side signal: the group and its escaped descendants. */
  signal(pid: number, signal: NodeJS.Signals): void;
  clock: Clock;
  /** Read at each step: a reload may change shutdown.signal / shutdown.timeout meanwhile. */
  config(): ResolvedConfig;
}

/**
 * The group leader `pid` exited. Outside a stop, what its crash left behind (members, escaped
 * descendants) is stopped as a requested stop would be; then, in every case, wait until the group
 * is empty (bounded by shutdown.timeout plus the time SIGKILL needs: during a stop the machine's
 * stop-timeout escalates).
 */
export async function clearGroupAfterExit(pid: number, stopping: boolean, ops: GroupOps): Promise<void> {
  if (!stopping) {
    // A crash that left nothing behind (the usual one): the restart need not wait for a second look.
    if (ops.members(pid).length === 0) return;
    // A crash left members (or escaped descendants) behind: stop them as a requested stop would.
    ops.signal(pid, ops.config().shutdown.signal);
    await waitGroupGone(pid, ops.config().shutdown.timeout, ops);
    if (ops.members(pid).length > 0) ops.signal(pid, 'SIGKILL');
  }
  // During a stop the machine's stop-timeout escalates; just wait until the group is empty
  // (bounded by that timeout plus the time SIGKILL needs).
  await waitGroupGone(pid, ops.config().shutdown.timeout + 5_000, ops);
}

function waitGroupGone(pid: number, timeoutMs: number, ops: GroupOps): Promise<void> {
  const deadline = ops.clock.now() + timeoutMs;
  let wait = GROUP_POLL_FIRST_MS;
  return new Promise((resolve) => {
    const check = (): void => {
      if (ops.members(pid).length === 0 || ops.clock.now() >= deadline) {
        resolve();
        return;
      }
      // Never past the deadline: what follows it (a SIGKILL) is due then, not at the next look.
      ops.clock.setTimeout(check, Math.min(wait, deadline - ops.clock.now()));
      wait = Math.min(GROUP_POLL_MS, wait * 2);
    };
    check();
  });
}

/** A command that could not be started at all (ENOENT, EACCES, E2BIG…): what to fix. */
export function spawnFailedExit(error: SpawnFailure, config: ResolvedConfig): ExitInfo {
  const notFound = error.exitStatus === 127;
  return {
    code: error.exitStatus, signal: null, cause: 'spawn-failed', summary: error.message,
    fix: notFound
      ? `check "command" (${config.command.join(' ')}) and "cwd" (${config.cwd}): the program must exist on PATH or be given by its path`
      : error.exitStatus === 126
        ? 'make the program executable (chmod +x) or run it through its interpreter'
        : error.code === 'E2BIG'
          ? 'make the large values smaller: pass large data through a file, not an environment variable or an argument'
          : `check "cwd" (${config.cwd}) and the command`,
    at: Date.now(), uptimeMs: 0, stderrTail: [],
  };
}

/** A spawn that failed for want of file descriptors: not the command's fault. */
export function fdShortageExit(error: SpawnFailure): ExitInfo {
  return { code: error.exitStatus, signal: null, cause: 'spawn-failed', summary: error.message, fix: FD_SHORTAGE_FIX, at: Date.now(), uptimeMs: 0, stderrTail: [] };
}

/** Dependencies that did not answer (or a stop while waiting for them): the start fails, naming them. */
export function dependencyExit(failed: readonly DependencyOutcome[]): ExitInfo {
  const names = failed.map((r) => `${r.name} (${r.target}: ${r.detail})`).join(', ');
  return {
    code: 1, signal: null, cause: 'dependency-unavailable',
    summary: failed.length > 0 ? `dependency not available: ${names}` : 'stopped while waiting for dependencies',
    fix: 'start the dependency (or fix its address in dependsOn); raise dependencies.timeout / dependencies.retries if it is just slow',
    at: Date.now(), uptimeMs: 0, stderrTail: [],
  };
}
