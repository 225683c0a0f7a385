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
 * The stop machinery here (planStops / executeStops) is shared with the `start` preflight
 * (src/ports/preflight.ts). The core never prints: src/cli/commands/free-port.ts renders.
 */

import { formatElapsed } from '../elapsed.js';
import type { InstanceRecord } from '../control/record.js';
import { listDescendants, listGroupMembers } from '../process/group.js';
import { isSameProcess, type ProcStat } from '../process/identity.js';
import { PROC, USER_HZ, type Proc, type ProcDeps } from '../process/proc-read.js';
import {
  abortableSleep,
  readSelfInfo,
  refusalReason,
  terminateGroup,
  type SelfInfo,
  type TerminateOutcome,
} from '../process/terminate.js';
import { canBind, waitUntilFree, type CanBindResult } from './availability.js';
import { findPortOwners, type FindPortOwnersOptions, type PortOwner, type PortOwnersAnswer } from './owners.js';
import { listRecords, recordOfOwner, supervisorAlive } from './stale.js';
import type { StopReason, StoppedProcess } from './stopped.js';

// Defined in stopped.ts so stale.ts can describe what it stopped without importing this module
// (which imports stale.ts); exported from here too, beside the machinery that produces them.
export type { StopReason, StoppedProcess } from './stopped.js';

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

// ── Planning: who may be stopped, and how ────────────────────────────────────────────────────────

/** A process that is to be stopped, as much as the lookup knows about it. */
export interface StopCandidate {
  pid: number;
  /** undefined only from the find-process fallback (then only the pid is signalled). */
  pgid: number | undefined;
  /** Field 22 of /proc/PID/stat as a decimal string; re-checked before every signal. */
  startTime: string | undefined;
  uid: number | undefined;
  user: string;
  command: string;
  /** Why it is a candidate: our orphaned instance, a cleanup.match hit, or a port owner. */
  reason: StopReason;
  /** The naija-sup record that says this process is (or was) a supervised instance. */
  record?: InstanceRecord | undefined;
}

/** A candidate that must not be stopped, and why. */
export interface Refusal {
  pid: number;
  command: string;
  user: string;
  reason: string;
}

/**
 * One stop action. `group`: the process group `pgid` is signalled (every process in it, including
 * workers orphaned by a dead parent), anchored on a verified candidate. `process`: only the
 * candidates' pids are signalled, each re-verified, because their group may not be (it is
 * naija-sup's own, an ancestor's, or holds another user's process).
 */
export type StopUnit =
  | { scope: 'group'; pgid: number; anchor: StopCandidate; candidates: StopCandidate[] }
  | { scope: 'process'; candidates: StopCandidate[]; why: string };

export interface StopPlan {
  units: StopUnit[];
  refused: Refusal[];
}

/**
 * Programs that publish a port on behalf of a container or a rootless network: killing them breaks
 * the container's networking and frees nothing for good (research §2: "never kill docker-proxy,
 * containerd-shim, rootlessport").
 */
const PROTECTED_PROGRAMS = /^(docker-proxy|containerd-shim.*|rootlessport.*|rootlesskit|slirp4netns|pasta)$/;

export interface PlanOptions {
  /** Allow another user's processes when we are root. */
  force: boolean;
  proc: Proc;
  self: SelfInfo;
  uid: number | undefined;
}

/** Why `candidate` itself must never be signalled, or null. */
export function candidateRefusal(candidate: StopCandidate, options: PlanOptions): string | null {
  const { pid } = candidate;
  const { self } = options;
  if (!Number.isInteger(pid) || pid <= 1) return `pid ${pid} is never signalled`;
  if (pid === self.pid) return 'that is naija-sup itself';
  if (self.ancestors.includes(pid)) return 'that is an ancestor of naija-sup (it started us)';
  const program = programName(candidate.command);
  if (PROTECTED_PROGRAMS.test(program)) {
    return `${program} publishes a container's port: stop the container instead (docker ps / podman ps)`;
  }
  if (!mayTouchUid(candidate.uid, options)) {
    return candidate.uid === undefined
      ? 'its user is unknown; only root with --force stops a process it cannot identify'
      : `it belongs to user ${candidate.user} (uid ${candidate.uid}); only root with --force stops another user's process`;
  }
  const record = candidate.record;
  if (record !== undefined && supervisorAlive(record, { proc: options.proc })) {
    return record.supervisorPid === candidate.pid
      ? `it is the naija-sup supervisor of "${record.name}": stop it with \`naija-sup stop -n ${record.name}\``
      : `it is supervised by naija-sup (app "${record.name}", supervisor pid ${record.supervisorPid}), which would restart it: stop it with \`naija-sup stop -n ${record.name}\``;
  }
  return null;
}

function mayTouchUid(uid: number | undefined, options: PlanOptions): boolean {
  if (uid !== undefined && uid === options.uid) return true;
  return options.uid === 0 && options.force;
}

/**
 * Decides, for every candidate, whether it may be stopped and whether its whole process group may
 * be signalled. Pure apart from /proc reads; sends nothing.
 */
export function planStops(candidates: readonly StopCandidate[], options: PlanOptions): StopPlan {
  const refused: Refusal[] = [];
  const allowed: StopCandidate[] = [];
  const seen = new Set<number>();
  for (const candidate of candidates) {
    if (seen.has(candidate.pid)) continue;
    seen.add(candidate.pid);
    const reason = candidateRefusal(candidate, options);
    if (reason === null) allowed.push(candidate);
    else refused.push({ pid: candidate.pid, command: candidate.command, user: candidate.user, reason });
  }

  const byGroup = new Map<number, StopCandidate[]>();
  const single: StopCandidate[] = [];
  const singleWhy: string[] = [];
  for (const candidate of allowed) {
    const why = groupRefusal(candidate, options);
    if (why !== null) {
      single.push(candidate);
      singleWhy.push(why);
      continue;
    }
    // groupRefusal refuses an unknown group, so the pgid is known here.
    const pgid = candidate.pgid as number;
    const list = byGroup.get(pgid);
    if (list === undefined) byGroup.set(pgid, [candidate]);
    else list.push(candidate);
  }
  const units: StopUnit[] = [];
  for (const [pgid, list] of byGroup) {
    const outsider = groupOutsider(pgid, list, options.proc);
    if (outsider !== null) {
      // kill(-pgid) would also hit a client or the script that launched the owner (`setsid bash -c
      // 'server & curl … & wait'`): signal the owners and what they started, by pid.
      for (const candidate of withDescendants(list, options)) if (!single.some((c) => c.pid === candidate.pid)) single.push(candidate);
      singleWhy.push(`its process group ${pgid} also holds pid ${outsider.pid} (${outsider.comm}), which neither holds the port nor was started by a process that does`);
      continue;
    }
    // Anchor on the oldest candidate (the group leader or the pre-fork parent when it is one):
    // terminateGroup re-verifies it, and that it is still in the group, before each signal.
    const anchor = [...list].sort(compareAge)[0] as StopCandidate;
    units.push({ scope: 'group', pgid, anchor, candidates: list });
  }
  if (single.length > 0) units.push({ scope: 'process', candidates: single, why: [...new Set(singleWhy)].join('; ') });
  return { units, refused };
}

/**
 * A live member of group `pgid` that is neither one of `owners` nor a descendant of one; null
 * when there is none (or /proc cannot tell, where the group is signalled as before).
 */
function groupOutsider(pgid: number, owners: readonly StopCandidate[], proc: Proc): ProcStat | null {
  if (!proc.available()) return null;
  const ours = new Set([...owners.map((c) => c.pid), ...listDescendants(owners.map((c) => c.pid), { proc }).map((d) => d.pid)]);
  const outsider = listGroupMembers(pgid, { proc }).find((pid) => !ours.has(pid));
  return outsider === undefined ? null : proc.stat(outsider) ?? { pid: outsider, comm: '?' } as ProcStat;
}

/** `owners` and every live descendant of theirs that may be signalled, as candidates (owners first). */
function withDescendants(owners: readonly StopCandidate[], options: PlanOptions): StopCandidate[] {
  const out = [...owners];
  // Never empty: planStops calls this with the owners of one group.
  const first = owners[0] as StopCandidate;
  // listDescendants never lists one of its roots, so no owner comes back as a descendant.
  for (const stat of listDescendants(owners.map((c) => c.pid), { proc: options.proc })) {
    const uid = options.proc.uid(stat.pid) ?? undefined;
    const candidate: StopCandidate = {
      pid: stat.pid,
      pgid: stat.pgid,
      startTime: stat.startTime,
      uid,
      user: uid === first.uid ? first.user : String(uid ?? '?'),
      command: options.proc.cmdline(stat.pid).join(' ') || stat.comm,
      reason: first.reason,
    };
    if (candidateRefusal(candidate, options) === null) out.push(candidate);
  }
  return out;
}

/** Every process a plan would signal, in order: a group's live members, or the listed pids. */
export function plannedTargets(plan: StopPlan, deps: ProcDeps = {}): PlannedTarget[] {
  const proc = deps.proc ?? PROC;
  const targets: PlannedTarget[] = [];
  for (const unit of plan.units) {
    if (unit.scope === 'process') {
      for (const c of unit.candidates) targets.push({ pid: c.pid, command: c.command, scope: 'process' });
      continue;
    }
    const members = listGroupMembers(unit.pgid, { proc });
    for (const pid of members.length > 0 ? members : [unit.anchor.pid]) {
      const known = unit.candidates.find((c) => c.pid === pid);
      targets.push({ pid, command: known?.command ?? (proc.cmdline(pid).join(' ') || '?'), scope: 'group', pgid: unit.pgid });
    }
  }
  return targets;
}

/** One process a stop would signal: through its group (`kill(-pgid)`) or by its pid. */
export interface PlannedTarget {
  pid: number;
  command: string;
  scope: 'group' | 'process';
  pgid?: number;
}

/** Why the candidate's group may not be signalled as a whole (its pid alone still may), or null. */
function groupRefusal(candidate: StopCandidate, options: PlanOptions): string | null {
  if (candidate.pgid === undefined) return 'its process group is unknown';
  const refusal = refusalReason({ pid: candidate.pid, pgid: candidate.pgid }, options.self);
  if (refusal !== null) return `its process group ${candidate.pgid} may not be signalled (${refusal})`;
  if (options.proc.available()) {
    // kill(-pgid) reaches every member: never another user's process unless root with --force.
    for (const member of listGroupMembers(candidate.pgid, { proc: options.proc })) {
      if (!mayTouchUid(options.proc.uid(member) ?? undefined, options)) {
        return `its process group ${candidate.pgid} includes another user's process (pid ${member})`;
      }
      if (options.self.ancestors.includes(member) || member === options.self.pid) {
        return `its process group ${candidate.pgid} includes naija-sup or an ancestor`;
      }
    }
  }
  return null;
}

function compareAge(a: StopCandidate, b: StopCandidate): number {
  const ta = a.startTime === undefined ? Number.MAX_SAFE_INTEGER : Number(a.startTime);
  const tb = b.startTime === undefined ? Number.MAX_SAFE_INTEGER : Number(b.startTime);
  return ta - tb || a.pid - b.pid;
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
      {
        signal,
        timeout: options.timeout,
        proc: deps.proc,
        self: deps.self,
        kill: deps.kill,
        now: deps.now,
        sleep: (ms) => deps.sleep(ms),
        pollInterval: deps.pollInterval,
        killTimeout: deps.killTimeout,
        includeEscaped: options.includeEscaped ?? false,
      },
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
  const result = (rest: Omit<FreePortResult, 'port' | 'host' | 'before' | 'owners' | 'durationMs'>): FreePortResult => ({
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
  if (before.kind !== 'held') {
    // free or TIME_WAIT only: nothing to stop; the bind decides.
    const bind = await deps.probe(host, port);
    if (bind === true) {
      return result({ stopped: [], refused: [], free: true, reason: before.note });
    }
    if (bind === false) {
      const why =
        before.kind === 'time-wait'
          ? `${before.count} connection(s) in TIME_WAIT block the bind (their server did not set SO_REUSEADDR); they expire within ~60 s`
          : `no owner is visible, yet binding ${endpoint(host, port)} fails with EADDRINUSE (a process in another namespace or container?)`;
      return result({ stopped: [], refused: [], free: false, reason: why });
    }
    // EACCES and the like: nothing holds the port, this user just may not bind it.
    return result({ stopped: [], refused: [], free: true, reason: `nothing holds the port, but this user cannot bind it (${bind.error})` });
  }

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
  if (waited.free) return result({ stopped, refused: [], free: true, after: waited.last });
  const survivors = stopped.filter((s) => s.outcome === 'survived');
  const why =
    survivors.length > 0
      ? survivors.map((s) => s.detail).join('; ')
      : `still held after stopping its owners: ${(await describeAnswer(waited.last, deps.now())).join('; ')}`;
  return result({ stopped, refused: [], free: false, reason: why, after: waited.last });
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

function invisibleReason(answer: Extract<PortOwnersAnswer, { kind: 'held-invisible' }>): string {
  return (
    `the port is held (${answer.sockets.map((s) => s.endpoint).join(', ')}), but its owner is not visible to this user ` +
    `(the socket belongs to ${answer.user}, uid ${answer.uid}): run free-port as that user, or as root`
  );
}

// ── Text: owners in one line each ───────────────────────────────────────────────────────────────

/** "850ms" → "<1s"; 75 s → "1m 15s"; 2 h 5 min → "2h 5m"; 3 days → "3d 0h". */
export function formatAge(ms: number): string {
  return !Number.isFinite(ms) || ms < 1000 ? '<1s' : formatElapsed(ms);
}

/** "127.0.0.1:8000", "[::1]:8000", "[::]:8000" (host undefined = every address). */
export function endpoint(host: string | undefined, port: number): string {
  const h = host === undefined || host === '' ? '::' : host;
  return h.includes(':') && !h.startsWith('[') ? `[${h}]:${port}` : `${h}:${port}`;
}

const MAX_COMMAND = 160;

/** A command line shortened for one-line messages (details keep it whole). */
export function shortCommand(command: string, max = MAX_COMMAND): string {
  if (command === '') return '(no command line: a kernel thread or a zombie)';
  return command.length <= max ? command : `${command.slice(0, max - 1)}…`;
}

/**
 * One owner in one line: `pid 1234 (user alice, running for 5m 3s, pgid 1234): node server.js — listening on [::]:8000`.
 */
export function formatOwner(owner: PortOwner, now: number = Date.now(), options: { full?: boolean } = {}): string {
  const facts = [`user ${owner.user}`];
  if (owner.startedAt !== undefined) facts.push(`running for ${formatAge(now - owner.startedAt)}`);
  if (owner.pgid !== undefined && owner.pgid !== owner.pid) facts.push(`pgid ${owner.pgid}`);
  const command = options.full === true ? owner.command || shortCommand('') : shortCommand(owner.command);
  const where = owner.addresses.length > 0 ? ` — listening on ${owner.addresses.join(', ')}` : '';
  return `pid ${owner.pid} (${facts.join(', ')}): ${command}${where}`;
}

/** "process group 1234 (pids 1234 1235: node server.js): exited after SIGTERM in 120 ms". */
export function describeStopped(s: StoppedProcess): string {
  const command = shortCommand(s.command, 80);
  const scope =
    s.scope === 'group' ? `process group ${s.pgid ?? s.pid} (pids ${s.pids.join(' ')}: ${command})` : `pid ${s.pids.join(' ')} (${command})`;
  const how: Record<StoppedProcess['outcome'], string> = {
    exited: `exited after ${s.signal}`,
    killed: 'killed with SIGKILL after the grace period',
    'gone-already': 'already gone',
    refused: `not signalled: ${s.detail}`,
    // The detail already says it ("still running after SIGKILL: 712", "SIGKILL refused: …").
    survived: s.detail,
  };
  return `${scope}: ${how[s.outcome]} in ${Math.round(s.durationMs)} ms`;
}

async function describeAnswer(answer: PortOwnersAnswer, now: number): Promise<string[]> {
  switch (answer.kind) {
    case 'free':
      return [`nothing listens on port ${answer.port} now${answer.note ? ` (${answer.note})` : ''}`];
    case 'time-wait':
      return [answer.note ?? `port ${answer.port}: ${answer.count} connection(s) in TIME_WAIT, no owner`];
    case 'held-invisible':
      return [`port ${answer.port} is held ${invisibleReason(answer).replace(/^the port is held /, '')}`];
    case 'held': {
      const lines = answer.owners.map((owner) => `port ${answer.port} is held by ${formatOwner(owner, now, { full: true })}`);
      if (answer.note) lines.push(answer.note);
      return lines;
    }
  }
}

/**
 * Lines naming whoever holds `host:port` right now, for a fatal "port in use" message after a
 * classified crash (DESIGN.md: "a port conflict is not retried blindly: … names the owner").
 * Never throws: a failed lookup becomes a line saying so.
 */
export async function describePortHolders(
  port: number,
  host?: string,
  deps: Pick<StopDeps, 'lookup' | 'proc' | 'now'> = {},
): Promise<string[]> {
  const lookup = deps.lookup ?? findPortOwners;
  try {
    const answer = await lookup({ port, host, proc: deps.proc });
    return await describeAnswer(answer, (deps.now ?? Date.now)());
  } catch (error) {
    return [`could not look up who holds port ${port}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/** How long a process has run, from its stat start time and /proc/uptime; undefined if unknown. */
export function processAgeMs(startTime: string | undefined, deps: ProcDeps = {}): number | undefined {
  const proc = deps.proc ?? PROC;
  if (startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  const uptime = proc.uptimeSeconds();
  if (uptime === null) return undefined;
  const age = uptime * 1000 - (Number(startTime) * 1000) / USER_HZ;
  return Number.isFinite(age) ? Math.max(0, age) : undefined;
}

/** The program name of a command line: the basename of argv[0]. */
function programName(command: string): string {
  const first = command.replace(/ [\s\S]*$/, '');
  return first.slice(first.lastIndexOf('/') + 1);
}
