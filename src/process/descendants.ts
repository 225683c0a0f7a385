/**
 * Every process an instance started, including the ones that left its process group.
 *
 * `kill(-pgid)` misses a descendant that called setsid() (a daemonizing script, `nohup setsid`, a
 * worker manager): it is in another group and another session. This module remembers every
 * descendant it has seen, by pid AND start time, from one /proc pass per sample (taken a few times
 * in the first second after the spawn, then every {@link STEADY_SAMPLE_MS}, and again at every
 * stop signal), so a process whose parent has died since — reparented to PID 1, no ppid link
 * left — is still known to be ours. A pid is signalled only while its start time still matches.
 *
 * Measured on the development machine (Linux 6.18, root, in a Firecracker VM, hybrid cgroups: v1
 * controllers under /sys/fs/cgroup, the v2 hierarchy mounted at /sys/fs/cgroup/unified):
 * - cgroup v2: `mkdir /sys/fs/cgroup/unified/x` works as root, a pid written to its cgroup.procs
 *   moves, and `echo 1 > cgroup.kill` killed it. As `nobody` the mkdir fails (EACCES): without a
 *   delegated subtree (systemd `Delegate=yes`, `systemd-run --user --scope`) an ordinary user
 *   cannot create one, and the hierarchy's mount point differs between machines (unified vs pure
 *   v2). Not used: it would work only for root on some machines.
 * - PR_SET_CHILD_SUBREAPER: Node cannot call prctl(); it needs a compiled helper (a build step
 *   and a native binary per platform, in a package that has none). Not used.
 * - /proc tracking (this module): works for every user; one pass over /proc costs ~1.6 ms with 87
 *   processes. Its one gap: a descendant that is started AND orphaned between two samples (a
 *   double fork within the first 50 ms, or within one steady interval) is never seen — unless it
 *   stays in the instance's group or session, or in the session or group of a process already
 *   seen, which the adoption rule below also catches (the usual daemon's double fork does).
 * docs/containment.md says the same for users.
 */

import { monotonicMs } from '../clock.js';
import { isSameProcess, PROC } from './identity.js';
import type { Proc, ProcDeps, ProcStat } from './identity.js';
import { listProcesses } from './group.js';
import { readSelfInfo, refusalReason, type SelfInfo } from './terminate.js';

/** A process remembered as part of an instance. */
export interface TrackedProcess {
  pid: number;
  startTime: string;
  /** Process group and session when last seen: outside the instance's group means "escaped". */
  pgid: number;
  sid: number;
  /** Executable name, for reports. */
  comm: string;
}

/** The first samples after a spawn (ms from the start), then one every STEADY_SAMPLE_MS. */
export const EARLY_SAMPLES_MS: readonly number[] = [50, 250, 1000];
export const STEADY_SAMPLE_MS = 2000;
/** /proc/PID/stat files read in one turn of the event loop by a periodic pass. */
const PASS_SLICE = 16;

export interface DescendantTrackerOptions extends ProcDeps {
  /** Defaults to {@link readSelfInfo}: the supervisor and its ancestors are never tracked. */
  self?: SelfInfo;
  /** `process.kill`, injectable for tests. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/**
 * The descendants of one instance (its leader `pid`, which leads group and session `pid`).
 * Every method does at most one /proc pass; none awaits between a check and a signal.
 */
export class DescendantTracker {
  readonly pid: number;
  readonly #proc: Proc;
  readonly #self: SelfInfo;
  readonly #kill: (pid: number, signal: NodeJS.Signals) => void;
  readonly #bootId: string | null;
  /** Everything ever seen, by pid; an entry whose start time no longer matches is dropped. */
  readonly #known = new Map<number, TrackedProcess>();
  /**
   * Groups and sessions created by a remembered process. Kept after their leader exits: Linux does
   * not hand out a pid still in use as a pgid or sid, so while anything is in one, it is that one.
   * Dropped once a pass finds it empty.
   */
  readonly #ownedIds = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;
  /** Bumped by every merged pass and by stopSampling: a pass in slices that sees it change is dropped. */
  #passes = 0;
  /** When the last merged pass began (monotonic ms). */
  #lastPassAt = Number.NEGATIVE_INFINITY;

  constructor(pid: number, options: DescendantTrackerOptions = {}) {
    this.pid = pid;
    this.#proc = options.proc ?? PROC;
    this.#self = options.self ?? readSelfInfo({ proc: this.#proc });
    this.#kill = options.kill ?? ((target, signal) => process.kill(target, signal));
    this.#bootId = this.#proc.bootId();
  }

  /**
   * One /proc pass: remembers every live process that belongs to the instance and forgets the ones
   * that are gone (or whose pid now names another process). Returns the live ones, ascending; after
   * a pass that could read nothing (see #merge), the remembered ones, unchanged.
   *
   * Belongs: the leader; a member of its group or session (setpgid stays in the session); a child
   * of a process that belongs; a process in the group or session of a remembered process (the
   * grandchild of a daemon's double fork, whose setsid'd parent has exited). Repeated until
   * nothing new joins, over the same pass.
   */
  sample(): TrackedProcess[] {
    if (!this.#proc.available()) return [];
    this.#passes += 1;
    const startedAt = monotonicMs();
    return this.#merge(listProcesses({ proc: this.#proc }).filter((stat) => !this.#proc.hasExited(stat)), startedAt);
  }

  /**
   * {@link sample} in slices, for the periodic samples: the event loop runs between them. In one
   * piece a pass blocks the supervisor's event loop for as long as it reads every /proc/PID/stat
   * on the machine (1.0–1.4 ms with 85 processes on the 2-core development machine, more with
   * more), every {@link STEADY_SAMPLE_MS}, and in proxy mode that loop relays every request. In
   * slices of {@link PASS_SLICE} reads its longest turn is 0.3–0.5 ms, for the same CPU. Reading
   * with fs.promises instead would cost 6–8× the CPU (threadpool round trips) for a longest turn
   * of 0.7–1.4 ms. Dropped when a synchronous pass (a stop) ran meanwhile: that one is newer.
   */
  async sampleInSlices(): Promise<void> {
    if (!this.#proc.available()) return;
    const passes = this.#passes;
    const startedAt = monotonicMs();
    const all: ProcStat[] = [];
    const pids = this.#proc.pids();
    for (let i = 0; i < pids.length; i += PASS_SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      // Overtaken (a stop's synchronous pass, or stopSampling): the rest would be dropped anyway,
      // and the supervisor may be on its way out.
      if (this.#passes !== passes) return;
      for (const pid of pids.slice(i, i + PASS_SLICE)) {
        const stat = this.#proc.stat(pid);
        if (stat !== null && !this.#proc.hasExited(stat)) all.push(stat);
      }
    }
    if (this.#passes !== passes) return;
    this.#passes += 1;
    this.#merge(all, startedAt);
  }

  /**
   * Takes a pass unless one began within the last `maxAgeMs`. Called just before the instance's
   * group is signalled (src/supervisor/real-deps.ts, signalInstance): a child that left the group
   * (setsid) since the last pass is tied to the instance only by its parent, and when that parent
   * exits on the signal before the next pass reads the child, the child is reparented and nothing
   * ties it to the instance any more. A pass before the signal remembers it, and a remembered
   * process stays a member while it runs. A stop through the control socket has just taken one
   * (its client's `events` ack lists the processes), so that one is not repeated.
   */
  passWithin(maxAgeMs: number): void {
    if (monotonicMs() - this.#lastPassAt > maxAgeMs) this.sample();
  }

  #merge(all: readonly ProcStat[], startedAt: number): TrackedProcess[] {
    // A pass that could not read this very process read nothing it can be trusted on: /proc could
    // not be listed, or the reads failed (EMFILE and ENFILE while something floods the supervisor
    // with connections, ENOMEM), which the readers report as "gone". Merged, it would forget every
    // remembered process, and a reparented one (setsid, its parent gone) would never be found
    // again. So it changes nothing. A fake tree (tests) does not list this process.
    if (this.#proc.real && !all.some((stat) => stat.pid === this.#self.pid)) {
      return [...this.#known.values()].sort((a, b) => a.pid - b.pid);
    }
    this.#lastPassAt = startedAt;
    const byPid = new Map(all.map((stat) => [stat.pid, stat]));
    // Kept on the kernel's word alone (#missedButThere): not a parent, group or session to adopt by
    // until its start time is read again, since its pid may name another process by now.
    const unverified = new Set<number>();
    for (const [pid, entry] of this.#known) {
      const now = byPid.get(pid);
      const kept = now === undefined ? this.#missedButThere(entry) : now.startTime === entry.startTime ? 'read' : 'gone';
      if (kept === 'gone') this.#known.delete(pid);
      else if (kept === 'exists') unverified.add(pid);
    }
    for (const id of this.#ownedIds) {
      if (!all.some((stat) => stat.pgid === id || stat.sid === id)) this.#ownedIds.delete(id);
    }
    const trusted = [...this.#known.keys()].filter((pid) => !unverified.has(pid));
    const leaders = new Set<number>([this.pid, ...trusted, ...[...this.#ownedIds].filter((id) => !unverified.has(id))]);
    const members = new Set<number>(trusted);
    let grew = true;
    // Bounded: each round adds at least one process of a finite pass, or stops.
    while (grew) {
      grew = false;
      for (const stat of all) {
        if (members.has(stat.pid) || !this.#belongs(stat, members, leaders)) continue;
        members.add(stat.pid);
        leaders.add(stat.pid);
        this.#known.set(stat.pid, { pid: stat.pid, startTime: stat.startTime, pgid: stat.pgid, sid: stat.sid, comm: stat.comm });
        grew = true;
      }
    }
    for (const entry of this.#known.values()) {
      const stat = byPid.get(entry.pid);
      if (stat === undefined) continue;
      Object.assign(entry, { pgid: stat.pgid, sid: stat.sid });
      if (stat.pgid === stat.pid || stat.sid === stat.pid) this.#ownedIds.add(stat.pid);
    }
    return [...this.#known.values()].sort((a, b) => a.pid - b.pid);
  }

  /**
   * Whether a remembered process that a pass did not list is still there: the pass read the rest
   * (so it was merged) but not this one, as when some reads fail with EMFILE while something floods
   * the supervisor, which the readers report as "gone". Read once more (`read`: the same process,
   * alive); when that fails too, the kernel says whether the pid exists (`exists`: kill 0 succeeds;
   * ESRCH and EPERM are `gone`, EPERM being a process we may not signal anyway). An `exists` entry
   * may name another process by now: it is signalled only after its start time is read again
   * (signalEscaped), and adopts nothing until then (#merge). A fake tree (tests) is taken as read.
   */
  #missedButThere(entry: TrackedProcess): 'read' | 'exists' | 'gone' {
    if (!this.#proc.real) return 'gone';
    const stat = this.#proc.stat(entry.pid);
    if (stat !== null) return stat.startTime === entry.startTime && !this.#proc.hasExited(stat) ? 'read' : 'gone';
    try {
      process.kill(entry.pid, 0);
      return 'exists';
    } catch {
      return 'gone';
    }
  }

  #belongs(stat: ProcStat, members: ReadonlySet<number>, leaders: ReadonlySet<number>): boolean {
    if (refusalReason(stat, this.#self) !== null) return false;
    if (stat.pid === this.pid) return true;
    return members.has(stat.ppid) || leaders.has(stat.pgid) || leaders.has(stat.sid);
  }

  /** The live processes of the instance (a fresh sample). */
  alive(): TrackedProcess[] {
    return this.sample();
  }

  /** The live ones outside the leader's process group: what `kill(-pgid)` cannot reach. */
  escaped(): TrackedProcess[] {
    return this.sample().filter((entry) => entry.pgid !== this.pid);
  }

  /** Everything remembered, without a new pass (for a report). */
  known(): TrackedProcess[] {
    return [...this.#known.values()].sort((a, b) => a.pid - b.pid);
  }

  /**
   * Signals every escaped process by pid, each re-verified by start time just before its signal.
   * Returns the pids signalled.
   */
  signalEscaped(signal: NodeJS.Signals): number[] {
    const sent: number[] = [];
    for (const entry of this.escaped()) {
      if (isSameProcess({ pid: entry.pid, startTime: entry.startTime, bootId: this.#bootId }, { proc: this.#proc }) !== 'same') continue;
      try {
        this.#kill(entry.pid, signal);
        sent.push(entry.pid);
      } catch {
        // ESRCH: it exited in between; EPERM: not ours to signal. Either way nothing to do.
      }
    }
    return sent;
  }

  /**
   * Samples at {@link EARLY_SAMPLES_MS} and every {@link STEADY_SAMPLE_MS} after (each timed from
   * the end of the previous pass, in slices: {@link sampleInSlices}), until {@link stopSampling}.
   * Not at once: called right after the spawn, when the new process has not run a line yet, a
   * pass could find nothing but the leader, which belongs by its pid anyway, and its ~1.5 ms of
   * CPU competed with the server's own start-up (issue 19: a kill -9's restart).
   */
  startSampling(): void {
    this.#sampling = true;
    let step = 0;
    const next = (): void => {
      if (!this.#sampling) return;
      const previous = step === 0 ? 0 : (EARLY_SAMPLES_MS[step - 1] ?? 0);
      const delay = step < EARLY_SAMPLES_MS.length ? (EARLY_SAMPLES_MS[step] ?? 0) - previous : STEADY_SAMPLE_MS;
      step += 1;
      this.#timer = setTimeout(() => {
        void this.sampleInSlices().catch(() => undefined).finally(next);
      }, delay);
      // Sampling must never keep the supervisor alive.
      this.#timer.unref();
    };
    next();
  }

  stopSampling(): void {
    this.#sampling = false;
    this.#passes += 1; // a pass in slices still under way stops at its next slice
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
