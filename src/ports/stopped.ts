/**
 * What a stop did, shared by the two modules that stop processes: free-port.ts (port owners and
 * cleanup matches, planned in stop-plan.ts and carried out in stop-execute.ts) and stale.ts (our own orphaned instance). It
 * lives apart from both so that neither imports the other for a type: free-port.ts already imports
 * stale.ts to recognise naija-sup's instance records.
 */

import type { Proc } from '../process/proc-read.js';
import type { SelfInfo, TerminateOptions, TerminateOutcome } from '../process/terminate.js';

/** What both stoppers hand terminateGroup besides the signal and the grace period. */
export interface SignallingDeps {
  proc: Proc;
  self: SelfInfo;
  kill: (pid: number, signal: NodeJS.Signals | 0) => void;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollInterval: number;
  killTimeout: number;
}

/** terminateGroup's options from {@link SignallingDeps}: one place for the mapping. */
export function terminateOptions(deps: SignallingDeps, options: { signal: NodeJS.Signals | undefined; timeout: number; includeEscaped: boolean }): TerminateOptions {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    timeout: options.timeout,
    proc: deps.proc,
    self: deps.self,
    kill: deps.kill,
    now: deps.now,
    sleep: (ms) => deps.sleep(ms),
    pollInterval: deps.pollInterval,
    killTimeout: deps.killTimeout,
    includeEscaped: options.includeEscaped,
  };
}

/** Why a process is a stop candidate: our orphaned instance, a cleanup.match hit, or a port owner. */
export type StopReason = 'stale-instance' | 'cleanup-match' | 'port-owner';

/** What happened to one stop unit. */
export interface StoppedProcess {
  /** The anchor pid (the group's oldest candidate, or the first pid). */
  pid: number;
  /** Set for a group stop. */
  pgid: number | undefined;
  scope: 'group' | 'process';
  /** Every pid the stop aimed at: the group's members when it started, or the candidates. */
  pids: number[];
  command: string;
  user: string;
  reason: StopReason;
  /** The graceful stop signal sent first. */
  signal: NodeJS.Signals;
  /** From terminateGroup: exited (after the stop signal), killed (SIGKILL needed), gone-already, refused, survived. */
  outcome: TerminateOutcome;
  /** Whether SIGKILL was sent. */
  forced: boolean;
  durationMs: number;
  /** A few words from terminateGroup ("exited after SIGTERM", "killed with SIGKILL"…). */
  detail: string;
}
