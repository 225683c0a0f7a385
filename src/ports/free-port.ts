/**
 * `free-port`: the safe replacement for `lsof -ti:PORT | xargs kill -9` (issue 4; research:
 * failures-and-ports.md §2). It names every process that LISTENs on the port (never a client
 * connected to it: findPortOwners only counts LISTEN sockets), decides for each one whether it may
 * be stopped at all, stops the allowed ones gracefully (the stop signal to the process group, a
 * grace period, then SIGKILL, the identity re-checked by start time just before every signal) and
 * confirms with a real bind that the port can be taken.
 *
 * Decide first, then act: when any owner may not be stopped (another user's process, a process
 * supervised by a live naija-sup, PID 1, ourselves or an ancestor, docker-proxy…), nothing is
 * stopped, because the port would stay held anyway and stopping the others would only break them.
 *
 * This module is the sequence (look up, plan, stop, confirm); the parts live beside it and are
 * shared with the `start` preflight (src/ports/preflight.ts): who may be stopped and how in
 * stop-plan.ts, the signals in stop-execute.ts, the one-line texts in owner-text.ts. The core never
 * prints: src/cli/commands/free-port.ts renders.
 */

import type { InstanceRecord } from '../control/record.js';
import { waitUntilFree } from './availability.js';
import { describeAnswer, endpoint, invisibleReason } from './owner-text.js';
import type { PortOwner, PortOwnersAnswer } from './owners.js';
import { listRecords, recordOfOwner, supervisorAlive } from './stale.js';
import { executeStops, resolveStopDeps, type ResolvedStopDeps, type StopDeps } from './stop-execute.js';
import { planStops, plannedTargets, type PlannedTarget, type Refusal, type StopCandidate, type StopPlan } from './stop-plan.js';
import type { StopReason, StoppedProcess } from './stopped.js';


// Defined in stopped.ts so stale.ts can describe what it stopped without importing this module
// (which imports stale.ts); exported from here too, beside the machinery that produces them.
export type { StopReason, StoppedProcess } from './stopped.js';

// The stop machinery and its words live beside this module (stop-plan.ts, stop-execute.ts,
// owner-text.ts); they are exported from here too, because the preflight, the free-port command and
// the supervisor's "port in use" message all reach them through free-port.
export {
  candidateRefusal,
  planStops,
  plannedTargets,
  type PlanOptions,
  type PlannedTarget,
  type Refusal,
  type StopCandidate,
  type StopPlan,
  type StopUnit,
} from './stop-plan.js';
export { executeStops, resolveStopDeps, type ExecuteOptions, type ResolvedStopDeps, type StopDeps } from './stop-execute.js';
export {
  describePortHolders,
  describeStopped,
  endpoint,
  formatAge,
  formatOwner,
  processAgeMs,
  shortCommand,
} from './owner-text.js';

// ── freePort ─────────────────────────────────────────────────────────────────────────────────────

/** A port owner as free-port shows it. */
export interface OwnerView extends PortOwner {
  /** How long it has run, ms; undefined when its start is unknown. */
  ageMs: number | undefined;
  /** Set when a naija-sup record names this process (or its group) as an instance. */
  ours: { name: string; supervisorPid: number; supervisorAlive: boolean } | null;
}

export interface FreePortOptions {
  port: number;
  /** The host a server would bind; undefined = `::`, which conflicts with every listener. */
  host?: string | undefined;
  /** Only look: name the owners, stop nothing. */
  dryRun?: boolean | undefined;
  /** As root, also stop other users' processes. */
  force?: boolean | undefined;
  /** Grace period between the stop signal and SIGKILL, ms. Default 10 000. */
  timeout?: number | undefined;
  /** The stop signal. Default SIGTERM. */
  signal?: NodeJS.Signals | undefined;
  /** Run dir whose instance records mark owners as ours; null/undefined = none. */
  runDir?: string | null | undefined;
  /** A lookup answer already in hand (the preflight has one); skips the first lookup. */
  before?: PortOwnersAnswer | undefined;
  deps?: StopDeps | undefined;
}

export interface FreePortResult {
  port: number;
  host: string | undefined;
  /** The lookup before anything was done. */
  before: PortOwnersAnswer;
  /** The owners from `before`, with age and whether they are naija-sup instances. */
  owners: OwnerView[];
  /** What was stopped (empty for a dry run or when nothing held the port). */
  stopped: StoppedProcess[];
  /** Owners that may not be stopped; when any exists, nothing was stopped. */
  refused: Refusal[];
  /** A dry run's answer: exactly the processes a real run would signal (none when any owner is refused). */
  wouldSignal?: PlannedTarget[] | undefined;
  /** True when, at the end, nothing listens on the port and a real bind on `host` succeeded. */
  free: boolean;
  /** Why the port is not free (or a caveat when it is). */
  reason?: string | undefined;
  /** The last lookup after stopping (absent when nothing was stopped). */
  after?: PortOwnersAnswer | undefined;
  durationMs: number;
}

const DEFAULT_GRACE_MS = 10_000;

/**
 * Frees `host:port`: looks up every LISTEN owner; with `dryRun` stops there. Otherwise plans the
 * stops (refusing other users' processes unless root with `force`, naija-sup-supervised ones, PID
 * 1, ourselves, our ancestors, container port proxies) and, when every owner may be stopped, stops
 * their process groups (stop signal → `timeout` → SIGKILL) and waits (bounded) until a real bind
 * succeeds. Never throws for a held port: the answer is in `free` and `reason`.
 */
export async function freePort(options: FreePortOptions): Promise<FreePortResult> {
  const deps = resolveStopDeps(options.deps);
  const started = deps.now();
  const { port, host } = options;
  const before = options.before ?? (await deps.lookup({ port, host, proc: deps.proc }));
  const records = options.runDir ? listRecords(options.runDir) : [];
  const recordByPid = new Map<number, InstanceRecord>();
  const owners =
    before.kind === 'held'
      ? before.owners.map((owner) => {
          const record = recordOfOwner(owner, records, { proc: deps.proc });
          if (record !== undefined) recordByPid.set(owner.pid, record);
          return ownerView(owner, record, deps);
        })
      : [];
  const result = (rest: Outcome): FreePortResult => ({
    port,
    host,
    before,
    owners,
    ...rest,
    durationMs: deps.now() - started,
  });

  if (before.kind === 'held-invisible') {
    return result({ stopped: [], refused: [], free: false, reason: invisibleReason(before) });
  }
  // free or TIME_WAIT only: nothing to stop; the bind decides.
  if (before.kind !== 'held') return result(await unheldOutcome(before, host, port, deps));

  const candidates = owners.map((owner) => ownerCandidate(owner, 'port-owner', recordByPid.get(owner.pid)));
  const plan = planStops(candidates, { force: options.force === true, proc: deps.proc, self: deps.self, uid: deps.uid });
  if (options.dryRun === true) {
    const refusedNote = plan.refused.length > 0 ? `; ${plan.refused.length} of them may not be stopped` : '';
    return result({
      stopped: [],
      refused: plan.refused,
      // Decide first, then act: with a refusal a real run stops nothing.
      wouldSignal: plan.refused.length > 0 ? [] : plannedTargets(plan, { proc: deps.proc }),
      free: false,
      reason: `dry run: ${owners.length} process(es) hold the port; nothing was stopped${refusedNote}`,
    });
  }
  if (plan.refused.length > 0) {
    return result({
      stopped: [],
      refused: plan.refused,
      free: false,
      reason: `nothing was stopped: ${plan.refused.map((r) => `pid ${r.pid}: ${r.reason}`).join('; ')}`,
    });
  }

  return result(await stopAndConfirm(plan, options, deps));
}

/** What freePort found or did, without the facts every answer carries. */
type Outcome = Omit<FreePortResult, 'port' | 'host' | 'before' | 'owners' | 'durationMs'>;

/** Nothing LISTENs (free or TIME_WAIT only): nothing to stop, and a real bind decides. */
async function unheldOutcome(
  before: Extract<PortOwnersAnswer, { kind: 'free' | 'time-wait' }>,
  host: string | undefined,
  port: number,
  deps: ResolvedStopDeps,
): Promise<Outcome> {
  const bind = await deps.probe(host, port);
  if (bind === true) {
    return { stopped: [], refused: [], free: true, reason: before.note };
  }
  if (bind === false) {
    const why =
      before.kind === 'time-wait'
        ? `${before.count} connection(s) in TIME_WAIT block the bind (their server did not set SO_REUSEADDR); they expire within ~60 s`
        : `no owner is visible, yet binding ${endpoint(host, port)} fails with EADDRINUSE (a process in another namespace or container?)`;
    return { stopped: [], refused: [], free: false, reason: why };
  }
  // EACCES and the like: nothing holds the port, this user just may not bind it.
  return { stopped: [], refused: [], free: true, reason: `nothing holds the port, but this user cannot bind it (${bind.error})` };
}

/** Every owner may be stopped: stop them, then wait (bounded) until a real bind succeeds. */
async function stopAndConfirm(plan: StopPlan, options: FreePortOptions, deps: ResolvedStopDeps): Promise<Outcome> {
  const { port, host } = options;
  const stopped = await executeStops(plan.units, { signal: options.signal, timeout: options.timeout ?? DEFAULT_GRACE_MS }, deps);
  const waited = await waitUntilFree({
    port,
    host,
    timeout: deps.portFreeTimeout,
    interval: Math.max(deps.pollInterval, 10),
    proc: deps.proc,
    lookup: deps.lookup,
    probe: deps.probe,
  });
  if (waited.free) return { stopped, refused: [], free: true, after: waited.last };
  const survivors = stopped.filter((s) => s.outcome === 'survived');
  const why =
    survivors.length > 0
      ? survivors.map((s) => s.detail).join('; ')
      : `still held after stopping its owners: ${(await describeAnswer(waited.last, deps.now())).join('; ')}`;
  return { stopped, refused: [], free: false, reason: why, after: waited.last };
}

/** A port owner as a stop candidate; `record` when a naija-sup record names it. */
export function ownerCandidate(owner: PortOwner, reason: StopReason, record?: InstanceRecord): StopCandidate {
  return {
    pid: owner.pid,
    pgid: owner.pgid,
    startTime: owner.startTime === undefined ? undefined : String(owner.startTime),
    uid: owner.uid,
    user: owner.user,
    command: owner.command,
    reason,
    record,
  };
}

function ownerView(owner: PortOwner, record: InstanceRecord | undefined, deps: ResolvedStopDeps): OwnerView {
  return {
    ...owner,
    ageMs: owner.startedAt === undefined ? undefined : Math.max(0, deps.now() - owner.startedAt),
    ours:
      record === undefined
        ? null
        : { name: record.name, supervisorPid: record.supervisorPid, supervisorAlive: supervisorAlive(record, { proc: deps.proc }) },
  };
}
