/**
 * Acting on a stop plan (stop-plan.ts): the stop signal, a grace period, then SIGKILL, to a whole
 * process group (terminateGroup) or to individual pids, the identity re-checked by start time just
 * before every signal. Everything outside the process is injectable (StopDeps) so the unit tests
 * drive it with a fake /proc, fake kill and fake clock. Shared by free-port.ts and the `start`
 * preflight (src/ports/preflight.ts).
 */

import { listGroupMembers } from '../process/group.js';
import { isSameProcess } from '../process/identity.js';
import { PROC, type Proc } from '../process/proc-read.js';
import { abortableSleep, readSelfInfo, terminateGroup, type SelfInfo, type TerminateOutcome } from '../process/terminate.js';
import { canBind, type CanBindResult } from './availability.js';
import { findPortOwners, type FindPortOwnersOptions, type PortOwnersAnswer } from './owners.js';
import type { StopCandidate, StopUnit } from './stop-plan.js';
import { terminateOptions, type StoppedProcess } from './stopped.js';

// ── The outside world, injectable ────────────────────────────────────────────────────────────────

/** Everything freePort (and the preflight) touch outside the process, injectable for tests. */
export interface StopDeps {
  /** The /proc tree. Default the real one. */
  proc?: Proc | undefined;
  /** Our pid, process group and ancestors (never signalled). Default: read from /proc. */
  self?: SelfInfo | undefined;
  /** Our uid (decides "another user's process"). Default process.getuid(). */
  uid?: number | undefined;
  /** `process.kill`; called with a negative pid for a group. */
  kill?: ((pid: number, signal: NodeJS.Signals | 0) => void) | undefined;
  /** Owner lookup. Default findPortOwners. */
  lookup?: ((options: FindPortOwnersOptions) => Promise<PortOwnersAnswer>) | undefined;
  /** Bind probe. Default canBind. */
  probe?: ((host: string | undefined, port: number) => Promise<CanBindResult>) | undefined;
  /** Clock, ms. Default Date.now. */
  now?: (() => number) | undefined;
  /** Sleep between polls. Default setTimeout. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** How often /proc and the port are polled while waiting, ms. Default 10 (one scan of every /proc/PID/stat costs about 1 ms). */
  pollInterval?: number | undefined;
  /** How long processes get to vanish after SIGKILL, ms. Default 5000. */
  killTimeout?: number | undefined;
  /** How long the port gets to become bindable after its owners are gone, ms. Default 5000. */
  portFreeTimeout?: number | undefined;
}

/** {@link StopDeps} with every default filled in. */
export interface ResolvedStopDeps {
  proc: Proc;
  self: SelfInfo;
  uid: number | undefined;
  kill: (pid: number, signal: NodeJS.Signals | 0) => void;
  lookup: (options: FindPortOwnersOptions) => Promise<PortOwnersAnswer>;
  probe: (host: string | undefined, port: number) => Promise<CanBindResult>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollInterval: number;
  killTimeout: number;
  portFreeTimeout: number;
}

/** Fills in the defaults of {@link StopDeps}. */
export function resolveStopDeps(deps: StopDeps = {}): ResolvedStopDeps {
  const proc = deps.proc ?? PROC;
  return {
    proc,
    self: deps.self ?? readSelfInfo({ proc }),
    uid: deps.uid ?? process.getuid?.(),
    kill: deps.kill ?? process.kill.bind(process),
    lookup: deps.lookup ?? findPortOwners,
    probe: deps.probe ?? canBind,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => abortableSleep(ms)),
    pollInterval: deps.pollInterval ?? 10,
    killTimeout: deps.killTimeout ?? 5000,
    portFreeTimeout: deps.portFreeTimeout ?? 5000,
  };
}

// ── Acting: stop the planned units ──────────────────────────────────────────────────────────────

export interface ExecuteOptions {
  /** The graceful stop signal. Default SIGTERM. */
  signal?: NodeJS.Signals | undefined;
  /** Grace period before SIGKILL, ms. */
  timeout: number;
  /** Also stop descendants that left the group (only for our own instance). Default false. */
  includeEscaped?: boolean | undefined;
}

/** Stops every unit of the plan, concurrently (groups are independent). */
export async function executeStops(
  units: readonly StopUnit[],
  options: ExecuteOptions,
  deps: ResolvedStopDeps,
): Promise<StoppedProcess[]> {
  return Promise.all(units.map((unit) => stopUnit(unit, options, deps)));
}

async function stopUnit(unit: StopUnit, options: ExecuteOptions, deps: ResolvedStopDeps): Promise<StoppedProcess> {
  const signal = options.signal ?? 'SIGTERM';
  const first = unit.scope === 'group' ? unit.anchor : (unit.candidates[0] as StopCandidate);
  const base = { pid: first.pid, command: first.command, user: first.user, reason: first.reason, signal };
  if (unit.scope === 'group') {
    const pids = listGroupMembers(unit.pgid, { proc: deps.proc });
    const result = await terminateGroup(
      {
        pid: unit.anchor.pid,
        pgid: unit.pgid,
        startTime: unit.anchor.startTime ?? '',
        bootId: deps.proc.available() ? deps.proc.bootId() : null,
      },
      terminateOptions(deps, { signal, timeout: options.timeout, includeEscaped: options.includeEscaped ?? false }),
    );
    return {
      ...base,
      pgid: unit.pgid,
      scope: 'group',
      pids: pids.length > 0 ? pids : unit.candidates.map((c) => c.pid),
      outcome: result.outcome,
      forced: result.forced,
      durationMs: result.durationMs,
      detail: result.reason,
    };
  }
  const result = await terminatePids(unit.candidates, signal, options.timeout, deps);
  return {
    ...base,
    pgid: undefined,
    scope: 'process',
    pids: unit.candidates.map((c) => c.pid),
    ...result,
    detail: `${result.detail} (pids only: ${unit.why})`,
  };
}

/**
 * Stops individual pids: the stop signal to each one still verified, poll, then SIGKILL to each one
 * still verified. A pid whose start time no longer matches is never signalled.
 */
async function terminatePids(
  candidates: readonly StopCandidate[],
  signal: NodeJS.Signals,
  timeout: number,
  deps: ResolvedStopDeps,
): Promise<{ outcome: TerminateOutcome; forced: boolean; durationMs: number; detail: string }> {
  const started = deps.now();
  const bootId = deps.proc.available() ? deps.proc.bootId() : null;
  const alive = (): StopCandidate[] =>
    candidates.filter(
      (c) => isSameProcess({ pid: c.pid, startTime: c.startTime ?? '', bootId }, { proc: deps.proc }) === 'same',
    );
  const send = (sig: NodeJS.Signals): number => {
    let sent = 0;
    // alive() re-reads /proc; no await between it and the kill, so the check is fresh.
    for (const candidate of alive()) {
      try {
        deps.kill(candidate.pid, sig);
        sent += 1;
      } catch {
        // ESRCH: exited in between. EPERM: not ours after all. Either way nothing to do.
      }
    }
    return sent;
  };
  const done = (outcome: TerminateOutcome, forced: boolean, detail: string) => ({
    outcome,
    forced,
    durationMs: deps.now() - started,
    detail,
  });
  const waitGone = async (deadline: number): Promise<number> => {
    const rounds = Math.ceil(Math.max(0, deadline - deps.now()) / deps.pollInterval) + 1;
    let left = alive().length;
    for (let round = 0; round < rounds && left > 0 && deps.now() < deadline; round += 1) {
      await deps.sleep(Math.min(deps.pollInterval, Math.max(1, deadline - deps.now())));
      left = alive().length;
    }
    return left;
  };

  const graceful = signal !== 'SIGKILL';
  if (graceful) {
    if (send(signal) === 0) return done('gone-already', false, 'no process was left to signal');
    if ((await waitGone(started + timeout)) === 0) return done('exited', false, `exited after ${signal}`);
  }
  const killed = send('SIGKILL');
  if (killed === 0) {
    return graceful ? done('exited', false, `exited after ${signal}`) : done('gone-already', false, 'no process was left to signal');
  }
  const left = await waitGone(deps.now() + deps.killTimeout);
  if (left > 0) return done('survived', true, `still running after SIGKILL: ${alive().map((c) => c.pid).join(', ')}`);
  return done('killed', true, 'killed with SIGKILL');
}
