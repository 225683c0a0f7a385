/**
 * Each instance of an app that runs several (`instances`, issue 20) on the status server: a row
 * per instance in /health and on the dashboard, and per-instance series on /metrics — pid, state,
 * restarts, RSS, CPU, and the HTTP proxy's requests answered by each.
 *
 * The app-level series of src/metrics/registry.ts stay as they are (alert rules and the Grafana
 * export read them); these are new families, `naija_sup_app_instance_*`, labelled `index` (the
 * instance's number, NAIJA_SUP_INSTANCE). Not `instance`: that is the label Prometheus gives every
 * scraped series (the supervisor's address), and a scraped `instance` label would be renamed
 * `exported_instance` — the reason the proxy's series say `target` (src/metrics/proxy-metrics.ts).
 *
 * RSS and CPU come from one asynchronous pass over /proc for all instances (never blocking the
 * supervisor's loop), every `sampleIntervalMs` (with several instances) and on a scrape when the
 * last pass is stale; /health and the dashboard show the last pass. CPU seconds are counted per
 * instance across its restarts and reloads (each process's growth since it was last seen), so the
 * counter only goes up.
 */
import type { Registry } from 'prom-client';
import { PROC, USER_HZ, type Proc } from '../process/proc-read.js';
import type { HttpProxyStats } from '../reload/http-proxy-stats.js';
import type { State } from '../supervisor/machine.js';
import { METRIC_PREFIX, readGroupsUsage } from './registry.js';

/** What is read of one instance: its serving supervisor (src/app/instance.ts), null before its first process. */
export interface InstanceView {
  index: number;
  supervisor: {
    readonly state: State;
    readonly context: { readonly restarts: number; readonly lastExit: { summary: string } | null };
    /** Ready and its readiness probe holds (Supervisor.readyForTraffic). */
    readonly readyForTraffic: boolean;
    /** Its port: behind the proxy the private one, which names it among the proxy's targets. */
    readonly currentConfig: { readonly port: number };
  } | null;
}

/** One row of /health's `instances`. */
export interface InstanceHealth {
  index: number;
  /** The state of its supervisor: idle, spawning, starting, ready, backoff, stopping, stopped, fatal. */
  state: string;
  ready: boolean;
  pid: number | null;
  restarts: number;
  /** The last exit's summary, or null. */
  lastExit: string | null;
  /** Resident memory of its process group at the last sample, bytes; null before one. */
  rssBytes: number | null;
  /** CPU seconds its processes used while supervised, across restarts; null before a sample. */
  cpuSeconds: number | null;
  /** CPU between the last two samples, percent of one core; null before two. */
  cpuPercent: number | null;
  /** Requests the HTTP proxy answered for it (all its processes); null without an HTTP proxy. */
  requests: number | null;
}

/** /health's `total`: the whole app. */
export interface InstancesTotal {
  instances: number;
  ready: number;
  restarts: number;
  rssBytes: number | null;
  cpuPercent: number | null;
  requests: number | null;
}

export interface InstanceMetricsOptions {
  members(): readonly InstanceView[];
  /** The HTTP proxy's counts (proxy mode), or null. */
  proxyStats?: (() => HttpProxyStats | null) | undefined;
  proc?: Proc | undefined;
  clockTicks?: number | undefined;
  /** How often to sample /proc, ms (default 5000); 0: on demand only. */
  sampleIntervalMs?: number | undefined;
  /** A scrape samples again when the last sample is older than this, ms (default 1000). */
  maxSampleAgeMs?: number | undefined;
  now?: (() => number) | undefined;
}

/** Every state a supervisor can be in: the `state` series is a state set (1 for the current one). */
export const INSTANCE_STATES: readonly State['tag'][] = ['idle', 'spawning', 'starting', 'ready', 'backoff', 'stopping', 'stopped', 'fatal'];

interface Usage { rssBytes: number; cpuSeconds: number; cpuPercent: number | null; at: number }

function pidOf(state: State): number | null {
  return state.tag === 'starting' || state.tag === 'ready' || state.tag === 'stopping' ? state.pid : null;
}

const sumOrNull = (values: readonly (number | null)[]): number | null =>
  (values.every((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0));

export class InstanceMetrics {
  private readonly options: InstanceMetricsOptions;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | null;
  /** Per instance index: the last sample, the CPU seconds counted so far, and each process's ticks then. */
  private readonly usage = new Map<number, Usage>();
  private readonly cpuTotal = new Map<number, number>();
  private readonly seen = new Map<number, Map<number, { startTime: string; ticks: number }>>();
  /** Per proxy target id: the instance it served and its request count when last read. */
  private readonly targets = new Map<string, { index: number; requests: number }>();
  private readonly requestTotal = new Map<number, number>();
  private inFlight: Promise<void> | null = null;
  private lastSample = Number.NEGATIVE_INFINITY;

  constructor(options: InstanceMetricsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const interval = options.sampleIntervalMs ?? 5000;
    // With one instance nothing shows the rows between scrapes (/health and the dashboard list
    // instances only for several; the app-level sampler covers the one): no periodic pass then.
    this.timer = interval > 0 ? setInterval(() => { if (options.members().length > 1) this.sample().catch(() => undefined); }, interval) : null;
    // The sampler must never be what keeps the supervisor alive.
    this.timer?.unref();
  }

  /** One row per instance, in index order, from the last /proc sample. */
  rows(): InstanceHealth[] {
    this.countRequests();
    const proxied = this.options.proxyStats?.() != null;
    return this.options.members().map(({ index, supervisor: sup }) => {
      const usage = this.usage.get(index);
      const pid = sup === null ? null : pidOf(sup.state);
      return {
        index,
        state: sup?.state.tag ?? 'idle',
        ready: sup?.readyForTraffic ?? false,
        pid,
        restarts: sup?.context.restarts ?? 0,
        lastExit: sup?.context.lastExit?.summary ?? null,
        rssBytes: usage === undefined ? null : pid === null ? 0 : usage.rssBytes,
        cpuSeconds: usage === undefined ? null : round3(this.cpuTotal.get(index) ?? 0),
        cpuPercent: usage === undefined || pid === null ? null : usage.cpuPercent,
        requests: proxied ? this.requestTotal.get(index) ?? 0 : null,
      };
    });
  }

  /** What /health adds for an app that runs more than one instance (nothing for one: `instance` says it all). */
  health(): { instances?: InstanceHealth[]; total?: InstancesTotal } {
    const instances = this.rows();
    return instances.length <= 1 ? {} : { instances, total: totalOf(instances) };
  }

  /**
   * Reads every instance's process group in one pass over /proc. Concurrent calls share the pass.
   */
  sample(): Promise<void> {
    this.inFlight ??= this.scan().finally(() => { this.inFlight = null; });
    return this.inFlight;
  }

  /** Registers the `naija_sup_app_instance_*` families on `registry`; their values are read at each scrape. */
  register(registry: Registry, maxSampleAgeMs = this.options.maxSampleAgeMs ?? 1000): void {
    const p = `${METRIC_PREFIX}app_instance_`;
    const refresh = async (): Promise<InstanceHealth[]> => {
      if (this.now() - this.lastSample >= maxSampleAgeMs) await this.sample().catch(() => undefined);
      return this.rows();
    };
    const each = (read: (r: InstanceHealth) => number | null) => async (): Promise<Sample[]> =>
      (await refresh()).flatMap((r) => { const v = read(r); return v === null ? [] : [{ value: v, labels: { index: String(r.index) } }]; });
    const families = [
      scraped(`${p}up`, 'Whether instance `index` has a process running (1) or not (0).', 'gauge', each((r) => (r.pid === null ? 0 : 1))),
      scraped(`${p}ready`, 'Whether instance `index` is ready to serve (1): its probe passed and its readiness probe holds.', 'gauge', each((r) => (r.ready ? 1 : 0))),
      scraped(`${p}pid`, 'The pid of instance `index`\'s process (0 when none runs).', 'gauge', each((r) => r.pid ?? 0)),
      scraped(`${p}state`, 'The state of instance `index`: 1 for its current state, 0 for the others.', 'gauge', async () =>
        (await refresh()).flatMap((r) => INSTANCE_STATES.map((state) => ({ value: r.state === state ? 1 : 0, labels: { index: String(r.index), state } })))),
      scraped(`${p}restarts_total`, 'Restarts of instance `index` by its supervisor, as `naija-sup status` counts them.', 'counter', each((r) => r.restarts)),
      scraped(`${p}resident_memory_bytes`, 'Resident memory of instance `index`\'s process group (sum of VmRSS), bytes; 0 when none runs.', 'gauge', each((r) => r.rssBytes)),
      scraped(`${p}cpu_seconds_total`, 'CPU seconds (user + system) used by instance `index`\'s processes while supervised, across restarts and reloads.', 'counter', each((r) => r.cpuSeconds)),
      scraped(`${p}requests_total`, 'Requests the HTTP proxy answered for instance `index` (all its processes); proxy mode only.', 'counter', each((r) => r.requests)),
    ];
    for (const family of families) registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  private async scan(): Promise<void> {
    const groups = new Map<number, number>();
    for (const { index, supervisor } of this.options.members()) {
      const pid = supervisor === null ? null : pidOf(supervisor.state);
      if (pid !== null) groups.set(pid, index);
    }
    const byGroup = await readGroupsUsage(groups.keys(), { proc: this.options.proc ?? PROC });
    const found = new Map([...byGroup].map(([pgid, members]) => [groups.get(pgid) ?? -1, members]));
    // From here on synchronous: the bookkeeping sees one consistent pass.
    const hz = this.options.clockTicks ?? USER_HZ;
    const at = this.now();
    for (const { index } of this.options.members()) {
      const seen = this.seen.get(index) ?? new Map<number, { startTime: string; ticks: number }>();
      this.seen.set(index, seen);
      let added = 0;
      let rssBytes = 0;
      const alive = new Set<number>();
      for (const m of found.get(index) ?? []) {
        alive.add(m.pid);
        rssBytes += m.rssBytes;
        const before = seen.get(m.pid);
        const counted = before !== undefined && before.startTime === m.startTime ? before.ticks : 0;
        if (m.ticks > counted) added += m.ticks - counted;
        seen.set(m.pid, { startTime: m.startTime, ticks: Math.max(m.ticks, counted) });
      }
      for (const pid of [...seen.keys()]) if (!alive.has(pid)) seen.delete(pid);
      const total = (this.cpuTotal.get(index) ?? 0) + added / hz;
      const previous = this.usage.get(index);
      const cpuPercent = previous === undefined || at <= previous.at ? null : Math.round((added / hz / ((at - previous.at) / 1000)) * 1000) / 10;
      this.cpuTotal.set(index, total);
      this.usage.set(index, { rssBytes, cpuSeconds: total, cpuPercent, at });
    }
    this.lastSample = at;
  }

  /**
   * Adds what each proxy target answered since the last read to the instance it serves (a target
   * is an instance's process, named by its private port). A retired process's late answers still
   * count for its instance while the proxy lists it.
   */
  private countRequests(): void {
    const stats = this.options.proxyStats?.();
    if (!stats) return;
    const byPort = new Map<number, number>();
    for (const { index, supervisor } of this.options.members()) if (supervisor) byPort.set(supervisor.currentConfig.port, index);
    for (const t of stats.targets) {
      const known = this.targets.get(t.id);
      const index = known?.index ?? byPort.get(t.port);
      if (index === undefined) continue;
      const delta = t.requests - (known?.requests ?? 0);
      if (delta > 0) this.requestTotal.set(index, (this.requestTotal.get(index) ?? 0) + delta);
      this.targets.set(t.id, { index, requests: Math.max(t.requests, known?.requests ?? 0) });
    }
    // Forget targets the proxy no longer lists: a later process may reuse the port.
    const listed = new Set(stats.targets.map((t) => t.id));
    for (const id of [...this.targets.keys()]) if (!listed.has(id)) this.targets.delete(id);
  }
}

export function totalOf(rows: readonly InstanceHealth[]): InstancesTotal {
  return {
    instances: rows.length,
    ready: rows.filter((r) => r.ready).length,
    restarts: rows.reduce((a, r) => a + r.restarts, 0),
    rssBytes: sumOrNull(rows.map((r) => r.rssBytes)),
    cpuPercent: (() => { const v = sumOrNull(rows.map((r) => r.cpuPercent)); return v === null ? null : Math.round(v * 10) / 10; })(),
    requests: sumOrNull(rows.map((r) => r.requests)),
  };
}

interface Sample { value: number; labels: Record<string, string> }

/** A metric prom-client's registry can print, its samples read at each scrape (as src/metrics/proxy-metrics.ts). */
function scraped(name: string, help: string, type: 'counter' | 'gauge', read: () => Promise<Sample[]>): { name: string; get(): Promise<unknown>; reset(): void } {
  return { name, get: async () => ({ name, help, type, values: await read(), aggregator: 'sum' }), reset: () => undefined };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
