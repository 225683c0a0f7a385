/**
 * Memory and CPU of the instance's whole process group, from Linux /proc (what `status` shows).
 *
 * - RSS: the sum of `VmRSS` (/proc/PID/status, in kB, so the page size does not matter) over the
 *   group's live members. Pages shared between a pre-fork parent and its workers count once per
 *   process, as `ps` and PM2 count them.
 * - CPU%: `utime + stime` (fields 14 and 15 of /proc/PID/stat, in clock ticks) summed over the
 *   group, as a percentage of one core between two samples. A sampler keeps the previous sample
 *   per process, so a member that exits between samples does not make the figure go negative; the
 *   first call, with nothing to compare against, reports the average since the leader started.
 *
 * Clock ticks are USER_HZ, assumed to be 100 because Node cannot ask sysconf (see proc-read.ts), so
 * it is a parameter.
 *
 * `naija-sup status` loads this module: it imports only the small /proc readers, nothing heavy.
 */
import { listGroupMembers } from '../process/group.js';
import { PROC, USER_HZ, type Proc, type ProcStat } from '../process/proc-read.js';
import { monotonicMs } from '../clock.js';

export interface GroupStats {
  /** Bytes; null when nothing of the group could be read. */
  rss: number | null;
  /** Percent of one core (may exceed 100 on several cores); null when unknown. */
  cpuPercent: number | null;
  /** Live members counted. */
  members: number;
}

export interface SamplerOptions {
  /** The /proc tree; the real one by default. */
  proc?: Proc;
  /** USER_HZ. Default 100. */
  clockTicks?: number;
  /** Monotonic clock, ms. Default monotonicMs (src/clock.ts). */
  now?: () => number;
}

interface CpuTimes {
  /** utime + stime, ticks. */
  ticks: number;
  /** Field 22, ticks since boot: tells a reused pid from the process we sampled before. */
  startTime: string;
}

function cpuTimes(stat: ProcStat): CpuTimes {
  return { ticks: stat.utime + stat.stime, startTime: stat.startTime };
}

/** Samples one process group at a time; keep one per supervised app. */
export class GroupSampler {
  private readonly proc: Proc;
  private readonly hz: number;
  private readonly now: () => number;
  private previous: { pgid: number; at: number; times: Map<number, CpuTimes> } | null = null;

  constructor(options: SamplerOptions = {}) {
    this.proc = options.proc ?? PROC;
    this.hz = options.clockTicks ?? USER_HZ;
    this.now = options.now ?? monotonicMs;
  }

  /**
   * RSS and CPU% of the group led by `pgid` now: of `members` when the caller has just listed them
   * (from a /proc pass of its own), else of the members listed here.
   */
  sample(pgid: number, members?: readonly number[]): GroupStats {
    if (!this.proc.available()) return { rss: null, cpuPercent: null, members: 0 };
    const at = this.now();
    members ??= listGroupMembers(pgid, { proc: this.proc });
    const times = new Map<number, CpuTimes>();
    let rss = 0;
    let rssKnown = false;
    for (const pid of members) {
      // Either read finds nothing when the process exited between listing and reading.
      const stat = this.proc.stat(pid);
      if (stat !== null) times.set(pid, cpuTimes(stat));
      const bytes = this.proc.vmRss(pid);
      if (bytes !== null) {
        rss += bytes;
        rssKnown = true;
      }
    }
    const cpuPercent = this.cpuPercent(pgid, at, times);
    this.previous = { pgid, at, times };
    return { rss: rssKnown ? rss : null, cpuPercent, members: times.size };
  }

  private cpuPercent(pgid: number, at: number, times: Map<number, CpuTimes>): number | null {
    if (times.size === 0) return null;
    const prev = this.previous;
    const elapsedMs = prev === null ? 0 : at - prev.at;
    if (prev !== null && prev.pgid === pgid && elapsedMs >= 1) {
      let ticks = 0;
      for (const [pid, now] of times) {
        const before = prev.times.get(pid);
        // A member new since the last sample did all its work in between.
        ticks += before !== undefined && before.startTime === now.startTime ? Math.max(0, now.ticks - before.ticks) : now.ticks;
      }
      return round1((ticks / this.hz) / (elapsedMs / 1000) * 100);
    }
    // No usable previous sample: the average since the leader started.
    const leader = times.get(pgid);
    const uptime = this.proc.uptimeSeconds();
    if (leader === undefined || uptime === null) return null;
    const lifetime = uptime - Number(leader.startTime) / this.hz;
    if (!(lifetime > 0)) return null;
    let ticks = 0;
    for (const t of times.values()) ticks += t.ticks;
    return round1((ticks / this.hz) / lifetime * 100);
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
