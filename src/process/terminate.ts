/**
 * Stopping an instance: signal its whole process group, wait, escalate, verify.
 *
 * The group, not the PID: a server behind `sh -c` or npm, or one with workers, keeps the port when
 * only the direct child dies (supervisord demo F, tini demo e′ in research/supervisor-semantics.md).
 * `kill(-pgid)` also reaches workers orphaned by a dead parent, which a ppid walk cannot find.
 *
 * Safety rules (docs/containment.md; a recorded pid may name another process since: PIDs are reused):
 * - never signal pgid/pid ≤ 1, our own pid or process group, or any of our ancestors;
 * - signal the group only when its leader is verified by start time and boot id just before the
 *   signal (no `await` in between), or — leader already exited — when the group is provably still
 *   the one we verified (our own child, or a member whose identity we recorded earlier);
 * - a SIGKILL goes only where a verification just passed.
 */

import { isSameProcess, PROC } from './identity.js';
import type { ExpectedIdentity, Proc, ProcDeps } from './identity.js';
import { listDescendants, listGroupMembers } from './group.js';

/** A member of the group whose identity was verified while its leader was verified. */
export interface VerifiedMember {
  pid: number;
  startTime: string;
}

/** What is needed to signal an instance's process group safely. */
export interface GroupTarget extends ExpectedIdentity {
  /** The group to signal; for an instance we spawned, equal to `pid`. */
  pgid: number;
  /**
   * We spawned the leader ourselves (and are its parent). Allows signalling the group after the
   * leader exited while members (orphaned workers) live on.
   */
  ownChild?: boolean;
  /** Members recorded while the leader was verified; any of them still in the group proves it is ours. */
  verifiedMembers?: readonly VerifiedMember[];
}

/** Our own position in the process tree: never to be signalled. */
export interface SelfInfo {
  pid: number;
  /** null off Linux, where it cannot be read without /proc. */
  pgid: number | null;
  /** Parent, grandparent, … up to (excluding) PID 1. */
  ancestors: readonly number[];
}

export interface SignalDeps extends ProcDeps {
  /** `process.kill`, injectable for tests. Called with a negative pid to signal a group. */
  kill?: (pid: number, signal: NodeJS.Signals | 0) => void;
  /** Defaults to {@link readSelfInfo}. */
  self?: SelfInfo;
  /** Same as {@link GroupTarget.ownChild}, for callers that keep the target as a plain identity. */
  ownChild?: boolean;
}

/** - `sent`: delivered to the group. - `gone`: nothing of ours is left to signal. - `refused`: not safe to signal. */
export type SignalResult = 'sent' | 'gone' | 'refused';

export interface SignalOutcome {
  result: SignalResult;
  /** Why, in a few words, for logs ("leader verified", "pgid 1 is never signalled", …). */
  reason: string;
}

/** Reads our pid, process group and ancestors from /proc (degraded off Linux: pid and parent only). */
export function readSelfInfo(deps: ProcDeps = {}): SelfInfo {
  const proc = deps.proc ?? PROC;
  const self = proc.stat(process.pid);
  if (!proc.available() || self === null) {
    return { pid: process.pid, pgid: null, ancestors: process.ppid > 1 ? [process.ppid] : [] };
  }
  const ancestors: number[] = [];
  let ppid = self.ppid;
  // Bounded: the tree is finite and we stop at PID 1; the cap guards against a corrupt fake /proc.
  for (let step = 0; step < 256 && ppid > 1 && !ancestors.includes(ppid); step += 1) {
    ancestors.push(ppid);
    ppid = proc.stat(ppid)?.ppid ?? 0;
  }
  return { pid: process.pid, pgid: self.pgid, ancestors };
}

/** Why `target` must never be signalled, or null when nothing forbids it. */
export function refusalReason(target: Pick<GroupTarget, 'pid' | 'pgid'>, self: SelfInfo): string | null {
  const { pid, pgid } = target;
  if (!Number.isInteger(pgid) || pgid <= 1) return `pgid ${String(pgid)} is never signalled`;
  if (!Number.isInteger(pid) || pid <= 1) return `pid ${String(pid)} is never signalled`;
  if (pid === self.pid || pgid === self.pid) return 'that is naija-sup itself';
  if (self.pgid !== null && pgid === self.pgid) return "that is naija-sup's own process group";
  if (self.ancestors.includes(pid) || self.ancestors.includes(pgid)) return 'that is an ancestor of naija-sup';
  return null;
}

type Decision =
  | { action: 'signal'; reason: string }
  | { action: 'gone'; reason: string }
  | { action: 'refused'; reason: string };

/**
 * Decides whether the group may be signalled now. Reads /proc; no signal is sent.
 *
 * - leader `same` and still in the group → signal;
 * - leader `zombie` (our process, exited, not yet reaped: the pgid cannot have been reused) and the
 *   group has members → signal;
 * - leader `reused` → gone: Linux does not hand out a number still in use as a pgid, so a reused
 *   leader PID means our group emptied;
 * - leader `gone` and members remain → signal only when `ownChild` or a recorded member is still
 *   there; otherwise refuse (an orphaned group we cannot prove is ours).
 */
export function decideGroupSignal(target: GroupTarget, deps: SignalDeps = {}): Decision {
  const proc = deps.proc ?? PROC;
  const refusal = refusalReason(target, deps.self ?? readSelfInfo());
  if (refusal !== null) return { action: 'refused', reason: refusal };

  const leader = isSameProcess(target, { proc });
  if (leader === 'same') {
    const stat = proc.stat(target.pid);
    // Off Linux there is no stat; the degraded identity check is all we have.
    if (stat !== null && stat.pgid !== target.pgid) {
      return { action: 'refused', reason: `the leader moved to process group ${stat.pgid}` };
    }
    return { action: 'signal', reason: 'leader verified' };
  }
  if (leader === 'reused') return { action: 'gone', reason: 'the leader exited and its pid was reused' };

  const members = listGroupMembers(target.pgid, { proc });
  if (members.length === 0) return { action: 'gone', reason: 'no process of the group is left' };
  if (leader === 'zombie') return { action: 'signal', reason: 'leader exited (unreaped); members remain' };
  if (target.ownChild === true || deps.ownChild === true) return { action: 'signal', reason: 'our child exited; its group lives on' };
  const recorded = target.verifiedMembers ?? [];
  const stillThere = recorded.some(
    (member) => members.includes(member.pid) && proc.stat(member.pid)?.startTime === member.startTime,
  );
  if (stillThere) return { action: 'signal', reason: 'leader exited; a verified member remains' };
  return { action: 'refused', reason: 'the leader is gone and the remaining group cannot be verified' };
}

/**
 * Sends `signal` to the process group `-pgid` after {@link decideGroupSignal} allows it, with the
 * reason. ESRCH (the group vanished in between) is `gone`; EPERM is `refused`.
 */
export function signalGroupWithReason(target: GroupTarget, signal: NodeJS.Signals, deps: SignalDeps = {}): SignalOutcome {
  const decision = decideGroupSignal(target, deps);
  if (decision.action !== 'signal') return { result: decision.action, reason: decision.reason };
  const kill = deps.kill ?? process.kill.bind(process);
  try {
    kill(-target.pgid, signal);
    return { result: 'sent', reason: decision.reason };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { result: 'gone', reason: 'the group exited just before the signal' };
    if (code === 'EPERM') return { result: 'refused', reason: 'not permitted to signal the group (EPERM)' };
    throw error;
  }
}

/** {@link signalGroupWithReason} without the reason. */
export function signalGroup(target: GroupTarget, signal: NodeJS.Signals, deps: SignalDeps = {}): SignalResult {
  return signalGroupWithReason(target, signal, deps).result;
}

export interface TerminateOptions extends SignalDeps {
  /** The graceful stop signal. Default SIGTERM. */
  signal?: NodeJS.Signals;
  /** Grace period in ms before the group is SIGKILLed. */
  timeout: number;
  /** How often /proc is polled, ms. Default 20. */
  pollInterval?: number;
  /** How long to wait for the group to vanish after SIGKILL, ms. Default 5000. */
  killTimeout?: number;
  /** When this aborts (a second Ctrl+C), the grace period ends at once and the group is SIGKILLed. */
  killNow?: AbortSignal;
  /**
   * Also signal descendants that left the group (setsid/setpgid), found by a ppid walk from the
   * group's members before the first signal and verified by start time. Default true.
   */
  includeEscaped?: boolean;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
  /** Sleep that should end early when `signal` aborts. Default: setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * - `exited`: everything left within the grace period (or the group vanished as we escalated).
 * - `killed`: SIGKILL was needed (or was the stop signal) and everything is gone now.
 * - `gone-already`: nothing of ours was running; no signal was sent.
 * - `refused`: the target failed a safety rule; nothing was signalled (see `reason`).
 * - `survived`: something of the group is still there after SIGKILL (`remaining`): a process in
 *   uninterruptible sleep, or a group we could no longer verify.
 */
export type TerminateOutcome = 'exited' | 'killed' | 'gone-already' | 'refused' | 'survived';

export interface TerminateResult {
  outcome: TerminateOutcome;
  durationMs: number;
  /** Whether any signal was delivered. */
  signalled: boolean;
  /** Whether SIGKILL was sent. */
  forced: boolean;
  /** PIDs still present at the end (non-empty only for `survived`). */
  remaining: number[];
  reason: string;
}

const DEFAULT_POLL_INTERVAL = 20;
const DEFAULT_KILL_TIMEOUT = 5000;

/** `options` with their defaults, checked. */
function terminateSettings(options: TerminateOptions) {
  const settings = {
    now: options.now ?? Date.now,
    sleep: options.sleep ?? abortableSleep,
    pollInterval: options.pollInterval ?? DEFAULT_POLL_INTERVAL,
    killTimeout: options.killTimeout ?? DEFAULT_KILL_TIMEOUT,
    signal: options.signal ?? 'SIGTERM',
    proc: options.proc ?? PROC,
  };
  if (!(settings.pollInterval > 0) || !(options.timeout >= 0) || !(settings.killTimeout >= 0)) {
    throw new RangeError('terminateGroup: pollInterval must be > 0, timeout and killTimeout >= 0');
  }
  return settings;
}

/**
 * Stops a process group: `signal` once → poll /proc until no live member remains (zombies do not
 * count, so our own unreaped leader counts as gone) → at `timeout` (or when `killNow` aborts)
 * SIGKILL the group after verifying it again → poll up to `killTimeout` → report. Safe to call
 * twice: a second call on a gone group returns `gone-already`.
 */
export async function terminateGroup(target: GroupTarget, options: TerminateOptions): Promise<TerminateResult> {
  const { now, sleep, pollInterval, killTimeout, signal, proc } = terminateSettings(options);
  const deps: SignalDeps = {
    proc,
    self: options.self ?? readSelfInfo(),
    ...(options.kill ? { kill: options.kill } : {}),
    ...(options.ownChild === undefined ? {} : { ownChild: options.ownChild }),
  };
  const started = now();
  const result = (outcome: TerminateOutcome, extra: Partial<TerminateResult> & { reason: string }): TerminateResult => ({
    outcome,
    durationMs: now() - started,
    signalled: false,
    forced: false,
    remaining: [],
    ...extra,
  });

  const first = decideGroupSignal(target, deps);
  if (first.action === 'gone') return result('gone-already', { reason: first.reason });
  if (first.action === 'refused') return result('refused', { reason: first.reason });

  // Snapshot while the group is verified: members (so a SIGKILL stays allowed after the leader
  // exits) and escaped descendants (signalled one by one, each re-verified by start time).
  const members = listGroupMembers(target.pgid, { proc });
  const verifiedMembers = [...(target.verifiedMembers ?? []), ...snapshot(members, proc)];
  const verifiedTarget: GroupTarget = { ...target, verifiedMembers };
  const escaped = new EscapedDescendants(
    options.includeEscaped === false || !proc.available() ? [] : escapedFrom(target, members, deps),
    proc,
    // Looked up at each signal, as the group's own kill is.
    (pid, sig) => (deps.kill ?? process.kill.bind(process))(pid, sig),
  );
  const remaining = (): number[] => {
    const left = new Set([...listGroupMembers(target.pgid, { proc }), ...escaped.alive()]);
    return [...left].sort((a, b) => a - b);
  };
  const signalEscaped = (sig: NodeJS.Signals): number => escaped.signal(sig);

  let signalled = false;
  const forceAtOnce = options.killNow?.aborted === true || signal === 'SIGKILL';
  if (!forceAtOnce) {
    const sent = signalGroupWithReason(verifiedTarget, signal, deps);
    if (sent.result === 'gone') return result('gone-already', { reason: sent.reason });
    if (sent.result === 'refused') return result('refused', { reason: sent.reason });
    signalled = true;
    signalEscaped(signal);
    const left = await pollUntilEmpty(remaining, {
      deadline: started + options.timeout,
      pollInterval,
      now,
      sleep,
      ...(options.killNow ? { abort: options.killNow } : {}),
    });
    if (left.length === 0) return result('exited', { signalled, reason: `exited after ${signal}` });
  }

  const killed = signalGroupWithReason(verifiedTarget, 'SIGKILL', deps);
  if (killed.result === 'refused') {
    return result('survived', { signalled, remaining: remaining(), reason: `SIGKILL refused: ${killed.reason}` });
  }
  const forced = signalEscaped('SIGKILL') > 0 || killed.result === 'sent';
  if (!forced) {
    // The group vanished between the last poll and the SIGKILL.
    return signalled
      ? result('exited', { signalled, reason: `exited after ${signal}` })
      : result('gone-already', { reason: killed.reason });
  }
  signalled = true;
  const left = await pollUntilEmpty(remaining, { deadline: now() + killTimeout, pollInterval, now, sleep });
  if (left.length > 0) {
    return result('survived', { signalled, forced, remaining: left, reason: `still running after SIGKILL: ${left.join(', ')}` });
  }
  return result(forced ? 'killed' : 'exited', { signalled, forced, reason: forced ? 'killed with SIGKILL' : 'exited' });
}

/** Descendants of the group that left it (setsid, setpgid), still ours to signal. */
function escapedFrom(target: GroupTarget, members: readonly number[], deps: SignalDeps): { pid: number; startTime: string }[] {
  return listDescendants([target.pid, ...members], { proc: deps.proc })
    .filter((stat) => stat.pgid !== target.pgid && refusalReason(stat, deps.self as SelfInfo) === null)
    .map((stat) => ({ pid: stat.pid, startTime: stat.startTime }));
}

/**
 * The escaped descendants snapshotted while the group was verified: signalled one by one, each
 * re-verified by its start time right before (never a SIGKILL to an unverified pid).
 */
class EscapedDescendants {
  private readonly bootId: string | null;

  constructor(
    private readonly members: readonly { pid: number; startTime: string }[],
    private readonly proc: Proc,
    private readonly kill: (pid: number, signal: NodeJS.Signals) => void,
  ) {
    this.bootId = members.length > 0 && proc.available() ? proc.bootId() : null;
  }

  /** The pids still the processes snapshotted. */
  alive(): number[] {
    return this.members.filter((member) => this.isSame(member)).map((member) => member.pid);
  }

  /** Signals each one still the process snapshotted; returns how many were signalled. */
  signal(sig: NodeJS.Signals): number {
    let sent = 0;
    for (const member of this.members) {
      if (!this.isSame(member)) continue;
      try {
        this.kill(member.pid, sig);
        sent += 1;
      } catch {
        // ESRCH: it exited in between; EPERM: not ours to signal. Either way nothing to do.
      }
    }
    return sent;
  }

  private isSame(member: { pid: number; startTime: string }): boolean {
    return isSameProcess({ ...member, bootId: this.bootId }, { proc: this.proc }) === 'same';
  }
}

function snapshot(pids: readonly number[], proc: Proc): VerifiedMember[] {
  const members: VerifiedMember[] = [];
  for (const pid of pids) {
    const stat = proc.stat(pid);
    if (stat !== null) members.push({ pid, startTime: stat.startTime });
  }
  return members;
}

interface PollOptions {
  deadline: number;
  pollInterval: number;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  abort?: AbortSignal;
}

/**
 * Polls `remaining` until it is empty, the deadline passes or `abort` fires; returns the last
 * answer. Bounded in time (deadline) and in count (a sleep of `pollInterval` per round means the
 * count bound is never reached before the deadline with a real clock; it stops a frozen fake one).
 */
async function pollUntilEmpty(remaining: () => number[], options: PollOptions): Promise<number[]> {
  const maxRounds = Math.ceil(Math.max(0, options.deadline - options.now()) / options.pollInterval) + 1;
  let left = remaining();
  for (let round = 0; round < maxRounds && left.length > 0; round += 1) {
    const wait = Math.min(options.pollInterval, options.deadline - options.now());
    if (wait <= 0 || options.abort?.aborted === true) break;
    await options.sleep(wait, options.abort);
    left = remaining();
  }
  return left;
}

/** setTimeout as a promise that resolves early (not rejects) when `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
