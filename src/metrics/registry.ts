/**
 * The supervisor's Prometheus metrics (issue 7, docs/metrics.md), fed by its typed events — the one
 * stream the renderer, `status` and the control socket consume too — and never by reading the runner's internals. The only other
 * input is a periodic sample of the instance's process group from /proc (CPU seconds, RSS bytes),
 * which no event could carry.
 *
 * Wiring (src/cli/commands/start.ts):
 * ```ts
 * const metrics = new SupervisorMetrics({ crashRate: config.alerts.crashRate });  // samples the pid of the last 'spawned'
 * onEvent = (e) => { renderer.handle(e); const extra = metrics.handle(e); if (extra) renderer.handle(extra); };
 * // … and metrics.close() on the way out.
 * ```
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseVmRss, PROC, USER_HZ, type Proc, type ProcDeps } from '../process/proc-read.js';
import type { CrashCause, ExitInfo, ProbeKind, SupervisorEvent } from '../supervisor/events.js';
import type { DependencyOutcome } from '../supervisor/runner.js';
import { CrashRate } from './crash-rate.js';

/** The supervisor event of the given type(s). */
type EventOf<T extends SupervisorEvent['type']> = Extract<SupervisorEvent, { type: T }>;

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'naija_sup_';

/** Start durations (spawn → ready), seconds: from a 50 ms Node server to a 2-minute JVM or migration. */
export const START_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Probe latencies, seconds: loopback answers are sub-millisecond; timeouts are seconds. */
export const PROBE_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Linux's USER_HZ: the unit of utime/stime in /proc/PID/stat (see {@link USER_HZ}). */

/** What one /proc sample found for the instance's process group. */
export interface InstanceUsage {
  /** Sum of VmRSS over the group's live members, bytes. */
  rssBytes: number;
  /** CPU seconds (user + system) the instance's processes used while supervised, across restarts. */
  cpuSeconds: number;
  /** Live members of the group at the sample. */
  processes: number;
  /** `Date.now()` of the sample. */
  at: number;
}

/** The last probe result seen on the event stream. */
export interface LastProbe {
  probe: ProbeKind;
  ok: boolean;
  detail: string;
  latencyMs: number;
  /** `Date.now()` when the event arrived. */
  at: number;
}

/** The last result for one dependency, from a 'dependency' event, and when it arrived. */
export interface DependencyStatus extends DependencyOutcome {
  at: number;
}

export interface SupervisorMetricsOptions {
  /**
   * The pid of the running instance — the leader of its process group — or null when none runs.
   * Only used by the /proc sampler. Default: the pid of the last 'spawned' event until its 'exited'.
   */
  instancePid?: (() => number | null) | undefined;
  /** `alerts.crashRate`: crashes per minute above which `handle` returns a warning; null = off. */
  crashRate?: number | null | undefined;
  /** The crash-rate window, ms (default 60 s). */
  crashWindowMs?: number | undefined;
  /** Clock for the crash rate and timestamps; default `Date.now`. */
  now?: (() => number) | undefined;
  /** How often to sample /proc, ms (default 5000); 0 = only on demand ({@link SupervisorMetrics.sample}, scrapes). */
  sampleIntervalMs?: number | undefined;
  /** A scrape re-samples /proc when the last sample is older than this, ms (default 1000). */
  maxSampleAgeMs?: number | undefined;
  /** The /proc tree (tests pass a fake one). */
  proc?: Proc | undefined;
  /** USER_HZ (default 100). */
  clockTicks?: number | undefined;
  /** Register prom-client's process metrics for the supervisor itself, prefixed `naija_sup_supervisor_` (default true). */
  defaultMetrics?: boolean | undefined;
}

/** Per-process CPU bookkeeping: the ticks already counted for a (pid, start time). */
interface SeenProcess {
  startTime: string;
  ticks: number;
}

/**
 * A prom-client {@link Registry} with the naija-sup metrics, updated by {@link handle} for each
 * supervisor event. Also keeps the small amount of event-derived state that `/ready` and `/health`
 * need (ready or not, the last probe, dependency results, the crash rate).
 */
export class SupervisorMetrics {
  readonly registry: Registry;
  readonly crashes: CrashRate;

  private readonly up: Gauge;
  private readonly readyGauge: Gauge;
  private readonly restarts: Counter<'cause'>;
  private readonly exits: Counter<'code' | 'signal'>;
  private readonly startDuration: Histogram;
  private readonly probeDuration: Histogram<'probe'>;
  private readonly probeFailures: Counter<'probe'>;
  private readonly dependencyUp: Gauge<'name'>;
  private readonly cpu: Counter;
  private readonly rss: Gauge;

  private readonly options: SupervisorMetricsOptions;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | null;

  /** The machine said 'ready' and nothing has taken it back since. */
  private instanceReady = false;
  /** The readiness probe's verdict while ready (true until a 'readiness-changed' says otherwise). */
  private readinessOk = true;
  private instanceUp = false;
  /** The latest instance from 'spawned', until its 'exited'. */
  private current: { instance: number; pid: number } | null = null;
  /** The cause of the last unexpected exit: a 'backoff' that follows is a restart for that cause. */
  private lastCrashCause: CrashCause | null = null;
  /** Whether the stream is in a backoff wait (a reload then skips the wait; the restart is already counted). */
  private inBackoff = false;
  private probe: LastProbe | null = null;
  private readonly deps = new Map<string, DependencyStatus>();
  private usageSample: InstanceUsage | null = null;
  private cpuSecondsTotal = 0;
  private readonly seen = new Map<number, SeenProcess>();

  constructor(options: SupervisorMetricsOptions = {}) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.crashes = new CrashRate({ threshold: options.crashRate ?? null, windowMs: options.crashWindowMs, now: this.now });
    this.registry = new Registry();
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    // prom-client calls `collect` on every scrape (and awaits it): a metric whose value lives
    // elsewhere refreshes there, at most once per `maxAge`.
    const maxAge = options.maxSampleAgeMs ?? 1000;
    this.up = new Gauge({ name: `${p}instance_up`, help: 'Whether an instance process is running (1) or not (0).', registers });
    this.readyGauge = new Gauge({ name: `${p}instance_ready`, help: 'Whether the instance is ready to serve (1): a probe passed and the readiness probe holds.', registers });
    this.restarts = new Counter({ name: `${p}restarts_total`, help: 'Instance restarts, by the cause of the exit that led to them ("reload" for requested restarts).', labelNames: ['cause'], registers });
    this.exits = new Counter({ name: `${p}exits_total`, help: 'Instance exits, by exit code or by the signal that killed it.', labelNames: ['code', 'signal'], registers });
    this.startDuration = new Histogram({ name: `${p}start_duration_seconds`, help: 'Time from spawn to the first passing startup probe.', buckets: START_DURATION_BUCKETS, registers });
    this.probeDuration = new Histogram({ name: `${p}probe_duration_seconds`, help: 'Probe latency, by probe (startup, liveness, readiness).', labelNames: ['probe'], buckets: PROBE_DURATION_BUCKETS, registers });
    this.probeFailures = new Counter({ name: `${p}probe_failures_total`, help: 'Failed probe attempts, by probe (startup, liveness, readiness).', labelNames: ['probe'], registers });
    this.dependencyUp = new Gauge({ name: `${p}dependency_up`, help: 'Whether a dependency (dependsOn) answered at its last check (1) or not (0).', labelNames: ['name'], registers });
    this.cpu = new Counter({
      name: `${p}instance_cpu_seconds_total`,
      help: "CPU seconds (user + system) used by the instance's process group while supervised, across restarts.",
      registers,
      collect: () => this.refresh(maxAge),
    });
    this.rss = new Gauge({
      name: `${p}instance_resident_memory_bytes`,
      help: "Resident memory of the instance's process group (sum of VmRSS), bytes; 0 when no instance runs.",
      registers,
      collect: () => this.refresh(maxAge),
    });
    const crashRate: Gauge = new Gauge({
      name: `${p}crash_rate_per_minute`,
      help: 'Unexpected instance exits per minute over the sliding window (alerts.crashRate warns above a threshold).',
      registers,
      collect: () => { crashRate.set(this.crashes.perMinute()); },
    });
    this.up.set(0);
    this.readyGauge.set(0);
    this.cpu.inc(0);
    this.rss.set(0);
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: `${p}supervisor_` });
    }

    const interval = options.sampleIntervalMs ?? 5000;
    if (interval > 0) {
      // A failed sample (an unreadable /proc) just leaves the last one in place.
      this.timer = setInterval(() => { this.sample().catch(() => undefined); }, interval);
      // The sampler must never be what keeps the supervisor alive.
      this.timer.unref();
    } else {
      this.timer = null;
    }
  }

  /** Whether the instance is ready: what `GET /ready` answers. */
  get ready(): boolean {
    return this.instanceReady && this.readinessOk;
  }

  /** The pid of the current instance (from 'spawned' until its 'exited'), or null. */
  get pid(): number | null {
    return this.current?.pid ?? null;
  }

  /** Whether an instance process runs (spawned and not yet exited). */
  get running(): boolean {
    return this.instanceUp;
  }

  /** The last probe result seen, or null before any. */
  get lastProbe(): LastProbe | null {
    return this.probe;
  }

  /** The last result of every dependency, in the order they were first reported. */
  get dependencies(): DependencyStatus[] {
    return [...this.deps.values()];
  }

  /** The last /proc sample, or null before the first one. */
  get usage(): InstanceUsage | null {
    return this.usageSample;
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Updates the metrics for one supervisor event. Returns a derived event for the caller to emit
   * into the same stream — the crash-rate warning when this crash crossed `alerts.crashRate` — or null.
   */
  handle(event: SupervisorEvent): SupervisorEvent | null {
    switch (event.type) {
      case 'spawned':
      case 'spawning':
      case 'ready':
      case 'readiness-changed':
      case 'liveness-failed':
      case 'stopping':
      case 'stopped':
      case 'fatal':
        this.onLifecycle(event);
        break;
      case 'probe':
      case 'dependency':
        this.onCheck(event);
        break;
      case 'backoff':
      case 'restarting':
        this.onRestart(event);
        break;
      case 'exited': {
        const crashed = this.onExited(event);
        this.update();
        return crashed ? this.crashes.record() : null;
      }
      case 'config-loaded':
      case 'preflight':
      case 'escalated':
      case 'reload-requested':
      case 'reload-rejected':
      case 'signal-forwarded':
      case 'record-written':
      case 'record-error':
      case 'output':
      case 'warning':
      case 'reload-started':
      case 'reload-finished':
      case 'listener':
      case 'status-server':
      case 'port-holders':
      case 'standby':
        return null;
      default: {
        // A new event type: decide here whether a metric follows it.
        const never: never = event;
        void never;
        return null;
      }
    }
    this.update();
    return null;
  }

  /** An instance's life: spawned, ready or not, stopping, gone. */
  private onLifecycle(event: EventOf<'spawned' | 'spawning' | 'ready' | 'readiness-changed' | 'liveness-failed' | 'stopping' | 'stopped' | 'fatal'>): void {
    switch (event.type) {
      case 'spawned':
        this.current = { instance: event.instance, pid: event.pid };
        this.instanceUp = true;
        this.instanceReady = false;
        this.readinessOk = true;
        this.inBackoff = false;
        break;
      case 'spawning':
        this.inBackoff = false;
        break;
      case 'ready':
        this.instanceReady = true;
        this.readinessOk = true;
        this.startDuration.observe(event.readyInMs / 1000);
        break;
      case 'readiness-changed':
        this.readinessOk = event.ready;
        break;
      case 'liveness-failed':
      case 'stopping':
        this.instanceReady = false;
        break;
      case 'stopped':
      case 'fatal':
        this.current = null;
        this.instanceUp = false;
        this.instanceReady = false;
        this.inBackoff = false;
        break;
    }
  }

  /** A health probe's or a dependency check's result. */
  private onCheck(event: EventOf<'probe' | 'dependency'>): void {
    if (event.type === 'probe') {
      const probe = event.probe ?? 'startup';
      this.probeDuration.observe({ probe }, event.latencyMs / 1000);
      if (!event.ok) this.probeFailures.inc({ probe });
      this.probe = { probe, ok: event.ok, detail: event.detail, latencyMs: event.latencyMs, at: this.now() };
      return;
    }
    this.dependencyUp.set({ name: event.name }, event.ok ? 1 : 0);
    // A Map keeps the first insertion's place: dependencies stay in dependsOn order.
    this.deps.set(event.name, {
      name: event.name, target: event.target, ok: event.ok, attempts: event.attempts,
      latencyMs: event.latencyMs, detail: event.detail, at: this.now(),
    });
  }

  /** Counts a restart once: by its crash cause at 'backoff', or as a reload when no backoff counted it. */
  private onRestart(event: EventOf<'backoff' | 'restarting'>): void {
    if (event.type === 'backoff') {
      this.inBackoff = true;
      this.restarts.inc({ cause: this.lastCrashCause ?? 'unknown' });
      return;
    }
    // A reload restarts on request. During a backoff wait the 'backoff' already counted it.
    if (event.reason === 'reload' && !this.inBackoff) this.restarts.inc({ cause: 'reload' });
  }

  /** Records an exit; true when it was a crash, which the crash rate then counts. */
  private onExited(event: EventOf<'exited'>): boolean {
    // In a blue/green reload the old instance exits while the new one runs: only the current
    // instance's exit takes "up" and "ready" down. By pid: blue and green are each instance 1 of
    // their own supervisor, so the instance number cannot tell them apart.
    if (this.current === null || this.current.pid === event.pid) {
      this.current = null;
      this.instanceUp = false;
      this.instanceReady = false;
    }
    this.exits.inc(exitLabels(event.exit));
    if (event.expected) return false;
    this.lastCrashCause = event.exit.cause;
    // A clean exit that the policy restarts ('always') is not a crash.
    return event.exit.cause !== 'clean-exit';
  }

  /**
   * Reads the instance's process group from /proc now: RSS is the sum of the members' VmRSS; CPU
   * grows by what each member used since it was last seen. A process that starts and ends between
   * two samples is not counted (its parent's cutime would hold it, but adding that could count a
   * member twice). Resolves with the sample (zeros when no instance runs).
   *
   * Asynchronous so that a /proc scan (one stat read per process on the machine) never blocks the
   * supervisor's loop; concurrent calls share one scan.
   */
  sample(): Promise<InstanceUsage> {
    this.inFlight ??= this.scan().finally(() => { this.inFlight = null; });
    return this.inFlight;
  }

  private inFlight: Promise<InstanceUsage> | null = null;

  private async scan(): Promise<InstanceUsage> {
    const ticksPerSecond = this.options.clockTicks ?? USER_HZ;
    const pgid = this.options.instancePid ? this.options.instancePid() : this.pid;
    const members = pgid !== null && Number.isInteger(pgid) && pgid > 0 ? await readGroupUsage(pgid, { proc: this.options.proc }) : [];
    // From here on synchronous: the bookkeeping below sees one consistent scan.
    let rssBytes = 0;
    let addedTicks = 0;
    const alive = new Set<number>();
    for (const usage of members) {
      alive.add(usage.pid);
      rssBytes += usage.rssBytes;
      const before = this.seen.get(usage.pid);
      const counted = before !== undefined && before.startTime === usage.startTime ? before.ticks : 0;
      if (usage.ticks > counted) addedTicks += usage.ticks - counted;
      this.seen.set(usage.pid, { startTime: usage.startTime, ticks: Math.max(usage.ticks, counted) });
    }
    for (const pid of [...this.seen.keys()]) if (!alive.has(pid)) this.seen.delete(pid);
    if (addedTicks > 0) {
      this.cpuSecondsTotal += addedTicks / ticksPerSecond;
      this.cpu.inc(addedTicks / ticksPerSecond);
    }
    const sample: InstanceUsage = { rssBytes, cpuSeconds: this.cpuSecondsTotal, processes: members.length, at: Date.now() };
    this.usageSample = sample;
    this.rss.set(rssBytes);
    return sample;
  }

  /** Stops the periodic sampler. The registry stays readable. */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  /** Samples /proc when the last sample is older than `maxAgeMs` (scrapes call this). */
  private async refresh(maxAgeMs: number): Promise<void> {
    const last = this.usageSample;
    if (last === null || Date.now() - last.at >= maxAgeMs) await this.sample();
  }

  private update(): void {
    this.up.set(this.instanceUp ? 1 : 0);
    this.readyGauge.set(this.ready ? 1 : 0);
  }
}

/** `{code: "1"}` or `{signal: "SIGKILL"}`; `{code: "unknown"}` when the kernel reported neither. */
export function exitLabels(exit: Pick<ExitInfo, 'code' | 'signal'>): { code: string } | { signal: string } {
  if (exit.signal !== null) return { signal: exit.signal };
  return { code: exit.code === null ? 'unknown' : String(exit.code) };
}

/** One process of the group, from /proc/PID/stat and /proc/PID/status. */
export interface ProcessUsage {
  pid: number;
  startTime: string;
  /** utime + stime, clock ticks. */
  ticks: number;
  rssBytes: number;
}

/** How many /proc files are read at once: enough to keep the thread pool busy, not a burst of thousands. */
const PROC_READ_BATCH = 32;

/**
 * The live members of process group `pgid` with their CPU ticks and RSS. One pass over /proc;
 * processes that vanish while we read are skipped, zombies are left out (no memory, CPU final).
 */
export async function readGroupUsage(pgid: number, deps: ProcDeps = {}): Promise<ProcessUsage[]> {
  return (await readGroupsUsage([pgid], deps)).get(pgid) ?? [];
}

/** {@link readGroupUsage} for several groups in the same pass over /proc: pgid → its members, by pid. */
export async function readGroupsUsage(pgids: Iterable<number>, deps: ProcDeps = {}): Promise<Map<number, ProcessUsage[]>> {
  const proc = deps.proc ?? PROC;
  const wanted = new Set(pgids);
  const found = new Map<number, ProcessUsage[]>();
  if (wanted.size === 0) return found;
  const pids = await proc.pidsAsync();
  for (let i = 0; i < pids.length; i += PROC_READ_BATCH) {
    const batch = await Promise.all(pids.slice(i, i + PROC_READ_BATCH).map(async (pid) => {
      const parsed = await proc.statAsync(pid);
      if (parsed === null || !wanted.has(parsed.pgid) || proc.hasExited(parsed)) return null;
      const status = await proc.statusAsync(pid);
      const usage = { pid: parsed.pid, startTime: parsed.startTime, ticks: parsed.utime + parsed.stime, rssBytes: (status === null ? null : parseVmRss(status)) ?? 0 }; // no VmRSS: kernel thread
      return { pgid: parsed.pgid, usage };
    }));
    for (const hit of batch) if (hit !== null) found.set(hit.pgid, [...(found.get(hit.pgid) ?? []), hit.usage]);
  }
  for (const members of found.values()) members.sort((a, b) => a.pid - b.pid);
  return found;
}
