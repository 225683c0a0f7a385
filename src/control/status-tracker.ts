/**
 * The `status` answer (StatusSnapshot) of a running supervisor: what the supervisor itself knows
 * (state, restarts, last exit, config) joined with what only /proc knows (start times, uptimes,
 * RSS, CPU%) and with the health the probe events reported. Apart from the socket server
 * (server.ts) because it does not need the socket: both control targets (supervisor-target.ts,
 * src/app/control-target.ts) answer `status` with it, and the last-run record is written from it.
 */
import type { ResolvedConfig } from '../config/types.js';
import { PROC, USER_HZ, type Proc } from '../process/proc-read.js';
import type { ExitInfo, SupervisorEvent } from '../supervisor/events.js';
import { GroupSampler } from './proc-stats.js';
import {
  displayUrl,
  type DiskProblem,
  type HealthSnapshot,
  type InstanceStatus,
  type StatusSnapshot,
  type SupervisorMemory,
} from './protocol.js';
import { isoTime } from '../iso-time.js';

/** What the status snapshot reads from a supervisor (src/supervisor/runner.ts `Supervisor` fits). */
export interface SupervisorView {
  readonly state: { readonly tag: string };
  readonly context: { readonly restarts: number; readonly lastExit: ExitInfo | null };
  readonly currentConfig: ResolvedConfig;
  /** The last probe of any kind (`at`: ms epoch; `kind` absent: startup); when absent, 'probe' events are used. */
  readonly lastProbeResult?: { ok: boolean; detail: string; latencyMs: number; at: number; kind?: string } | null;
  /**
   * The instance's processes, escaped descendants included (src/process/descendants.ts), from one
   * /proc pass; with its process group, the snapshot counts the group's RSS and CPU from the same
   * pass.
   */
  instanceProcesses?(): Array<{ pid: number; startTime: string; pgid?: number }>;
  /** Every instance of the app, when it runs several (issue 20); the fields above are instance 0's. */
  instances?(): Array<{ index: number; state: { readonly tag: string; readonly pid?: number | null }; restarts: number; lastExit: ExitInfo | null }>;
}

export interface StatusTrackerOptions {
  /** The supervisor whose instance serves traffic now (it may change after a blue/green reload). */
  view(): SupervisorView;
  version: string;
  /** Files that cannot be written now (src/app/supervise.ts: the log). */
  diskProblems?(): DiskProblem[];
  /** When the supervisor started, ms epoch. Default: now. */
  startedAt?: number;
  /** The /proc tree; the real one by default. */
  proc?: Proc;
  /** Wall clock, ms epoch. */
  now?: () => number;
  /** The webhooks' delivery status (src/metrics/webhooks.ts), when alerts.webhook is set. */
  webhooks?: (() => NonNullable<StatusSnapshot['webhooks']>) | undefined;
}

/**
 * Warnings kept for `status` (and `start -d`, which prints those of the start): a port holder it
 * stopped, a server listening on more than it was told… said once in the log, where a detached
 * start's user does not look.
 */
const KEPT_WARNINGS = 8;

/** The fields of process.memoryUsage() by name: the reply stays the same shape if Node adds one. */
function supervisorMemory(): SupervisorMemory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

function diskProblemsOf(options: StatusTrackerOptions): { diskProblems?: DiskProblem[] } {
  const problems = options.diskProblems?.() ?? [];
  return problems.length === 0 ? {} : { diskProblems: problems };
}

/**
 * Builds {@link StatusSnapshot}s: state, counters and last exit from the supervisor; identities,
 * uptimes, RSS and CPU% from /proc; health from the last probe. Feed it every event (`observe`).
 */
export class StatusTracker {
  private readonly options: StatusTrackerOptions;
  private readonly proc: Proc;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly sampler: GroupSampler;
  /** One per instance index: a sampler's CPU% is the change since its previous sample of one group. */
  private readonly instanceSamplers = new Map<number, GroupSampler>();
  private readonly self = { startTime: '', bootId: null as string | null };
  /** The last probe of any kind, from events (used when the view has no lastProbeResult). */
  private lastProbe: HealthSnapshot | null = null;
  /** The last liveness/readiness result and the instance it was about: the current health. */
  private health: { snapshot: HealthSnapshot; instance: number } | null = null;
  private spawned: { pid: number; at: number } | null = null;
  private standbyPid: number | null = null;
  /** The last {@link KEPT_WARNINGS} warnings, oldest first; one entry per message (its last time). */
  private readonly warnings: NonNullable<StatusSnapshot['warnings']> = [];

  constructor(options: StatusTrackerOptions) {
    this.options = options;
    this.proc = options.proc ?? PROC;
    this.now = options.now ?? Date.now;
    this.startedAt = options.startedAt ?? this.now();
    this.sampler = new GroupSampler({ proc: this.proc });
    this.self.startTime = this.proc.stat(process.pid)?.startTime ?? '';
    this.self.bootId = this.proc.available() ? this.proc.bootId() : null;
  }

  observe(event: SupervisorEvent): void {
    const at = isoTime(this.now());
    switch (event.type) {
      case 'spawned':
        this.spawned = { pid: event.pid, at: this.now() };
        return;
      case 'probe': {
        const probe = event.probe ?? 'startup';
        this.lastProbe = { ok: event.ok, detail: event.detail, latencyMs: event.latencyMs, at, probe };
        if (probe !== 'startup') this.health = { snapshot: this.lastProbe, instance: event.instance };
        return;
      }
      case 'liveness-failed':
        this.health = { snapshot: { ok: false, detail: event.detail, latencyMs: 0, at, probe: 'liveness' }, instance: event.instance };
        return;
      case 'exited':
        // The health of an instance that is gone says nothing about the next one.
        if (this.health?.instance === event.instance) this.health = null;
        return;
      case 'standby':
        this.standbyPid = event.state === 'armed' ? event.pid : null;
        return;
      case 'warning':
        this.keepWarning(event.message, event.fix, at);
        return;
      case 'stopped':
      case 'fatal':
        this.standbyPid = null;
        return;
      default:
        return;
    }
  }

  snapshot(): StatusSnapshot {
    const view = this.options.view();
    const config = view.currentConfig;
    const state = view.state as { tag: string; pid?: number | null };
    const instancePid = typeof state.pid === 'number' ? state.pid : null;
    const now = this.now();
    const stat = instancePid === null ? null : this.proc.stat(instancePid);
    const processes = view.instanceProcesses?.();
    const stats = instancePid === null || stat === null ? null : this.sampler.sample(instancePid, groupOf(instancePid, processes));
    const lastExit = view.context.lastExit;
    const probe = view.lastProbeResult;
    const lastProbe: HealthSnapshot | null = probe === undefined
      ? this.lastProbe
      : probe === null ? null : { ok: probe.ok, detail: probe.detail, latencyMs: probe.latencyMs, at: isoTime(probe.at), probe: probeKind(probe.kind) };
    const healthWatchedBy = [
      ...(config.health.liveness ? ['liveness' as const] : []),
      ...(config.health.readiness ? ['readiness' as const] : []),
    ];
    return {
      name: config.name,
      state: state.tag,
      supervisorPid: process.pid,
      supervisorStartTime: this.self.startTime,
      instancePid,
      instanceStartTime: stat?.startTime ?? null,
      bootId: this.self.bootId,
      port: config.port,
      host: config.host,
      mode: config.mode,
      url: displayUrl(config.host, config.port),
      uptimeMs: Math.max(0, now - this.startedAt),
      instanceUptimeMs: instancePid === null ? null : this.instanceUptime(instancePid, stat?.startTime ?? null, now),
      restarts: view.context.restarts,
      lastExit: lastExit === null ? null : {
        code: lastExit.code,
        signal: lastExit.signal,
        cause: lastExit.cause,
        summary: lastExit.summary,
        at: isoTime(lastExit.at),
      },
      health: this.health?.snapshot ?? null,
      lastProbe,
      healthWatchedBy,
      cwd: config.cwd,
      rss: stats?.rss ?? null,
      cpuPercent: stats?.cpuPercent ?? null,
      startupTimeoutMs: config.health.startupTimeout,
      shutdownTimeoutMs: config.shutdown.timeout,
      version: this.options.version,
      ...(this.standbyPid === null ? {} : { standbyPid: this.standbyPid }),
      ...(processes === undefined ? {} : { processes: processes.map(({ pid, startTime }) => ({ pid, startTime })) }),
      ...this.instancesOf(view),
      ...(this.options.webhooks === undefined ? {} : { webhooks: this.options.webhooks() }),
      ...diskProblemsOf(this.options),
      ...(this.warnings.length === 0 ? {} : { warnings: this.warnings.map((w) => ({ ...w })) }),
      supervisorMemory: supervisorMemory(),
    };
  }

  /** A warning said again moves to the end with its new time and count; the oldest falls off. */
  private keepWarning(message: string, fix: string | undefined, at: string): void {
    const before = this.warnings.findIndex((w) => w.message === message);
    const count = before === -1 ? 1 : (this.warnings[before]?.count ?? 1) + 1;
    if (before !== -1) this.warnings.splice(before, 1);
    this.warnings.push({ at, message, count, ...(fix === undefined ? {} : { fix }) });
    if (this.warnings.length > KEPT_WARNINGS) this.warnings.shift();
  }

  /** `instances` and `total` for an app that runs more than one instance; nothing otherwise. */
  private instancesOf(view: SupervisorView): Pick<StatusSnapshot, 'instances' | 'total'> {
    const members = view.instances?.() ?? [];
    if (members.length <= 1) return {};
    const instances: InstanceStatus[] = members.map((m) => {
      const pid = typeof m.state.pid === 'number' ? m.state.pid : null;
      let sampler = this.instanceSamplers.get(m.index);
      if (!sampler) this.instanceSamplers.set(m.index, sampler = new GroupSampler({ proc: this.proc }));
      const stats = pid === null ? null : sampler.sample(pid);
      return { index: m.index, state: m.state.tag, pid, restarts: m.restarts, rss: stats?.rss ?? null, cpuPercent: stats?.cpuPercent ?? null, lastExit: m.lastExit?.summary ?? null };
    });
    const sum = (values: (number | null)[]): number | null => (values.every((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0));
    return {
      instances,
      total: {
        instances: instances.length,
        ready: instances.filter((i) => i.state === 'ready').length,
        restarts: instances.reduce((a, i) => a + i.restarts, 0),
        rss: sum(instances.map((i) => i.rss)),
        cpuPercent: sum(instances.map((i) => i.cpuPercent)),
      },
    };
  }

  /**
   * From the 'spawned' event of this pid when we saw it — a promoted warm standby (restart.standby)
   * was started long before it became the instance, so its /proc start time would overstate it —
   * else from /proc (start time vs uptime).
   */
  private instanceUptime(pid: number, startTime: string | null, now: number): number | null {
    if (this.spawned?.pid === pid) return Math.max(0, now - this.spawned.at);
    if (startTime !== null) {
      const uptime = this.proc.uptimeSeconds();
      if (uptime !== null) return Math.max(0, Math.round((uptime - Number(startTime) / USER_HZ) * 1000));
    }
    return null;
  }
}

function probeKind(kind: string | undefined): HealthSnapshot['probe'] {
  return kind === 'liveness' || kind === 'readiness' ? kind : 'startup';
}

/**
 * The members of group `leader` among the instance's processes, when that list knows the leader
 * and every entry's group; else undefined, and the sampler lists the group itself (a second pass
 * over /proc, ~1.3 ms, which `status` waited for).
 */
function groupOf(leader: number, processes: ReadonlyArray<{ pid: number; pgid?: number }> | undefined): number[] | undefined {
  if (processes === undefined || !processes.some((p) => p.pid === leader) || processes.some((p) => p.pgid === undefined)) return undefined;
  return processes.filter((p) => p.pgid === leader).map((p) => p.pid).sort((a, b) => a - b);
}
