/**
 * Planning a stop: who among the candidates may be signalled at all, and whether each one's whole
 * process group may be (kill(-pgid)) or only its own pid. Decide first, then act: this module sends
 * nothing (it reads /proc only); stop-execute.ts acts on the plan. Shared by free-port.ts and the
 * `start` preflight (src/ports/preflight.ts).
 */

import type { InstanceRecord } from '../control/record.js';
import { listDescendants, listGroupMembers } from '../process/group.js';
import type { ProcStat } from '../process/identity.js';
import { PROC, type Proc, type ProcDeps } from '../process/proc-read.js';
import { refusalReason, type SelfInfo } from '../process/terminate.js';
import { supervisorAlive } from './stale.js';
import type { StopReason } from './stopped.js';

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

/** The program name of a command line: the basename of argv[0]. */
function programName(command: string): string {
  const first = command.replace(/ [\s\S]*$/, '');
  return first.slice(first.lastIndexOf('/') + 1);
}
