/**
 * What the dashboard shows over time (issue 17): a ring buffer of samples covering the last hour,
 * plus the recent exits, start-ups and probes from the event stream. In memory only, and bounded:
 * a supervisor that runs for months holds the same few hundred numbers.
 *
 * Fed like the metrics: `handle(event)` for every hub event; `sample()` on a timer. It reads the
 * metrics it needs from {@link SupervisorMetrics} (instance usage) and its prom-client registry
 * (the proxy's counters, when the proxy registers them), never the runner's internals.
 */
import type { Registry } from 'prom-client';
import type { CrashCause, ProbeKind, SupervisorEvent } from '../supervisor/events.js';
import type { SupervisorMetrics } from './registry.js';

/** Samples kept: one hour at the default 5 s interval. */
export const HISTORY_POINTS = 720;
export const HISTORY_INTERVAL_MS = 5000;
const MAX_EXITS = 10;
const MAX_STARTS = 20;

/** The metric names the dashboard's proxy panel reads (docs/metrics.md "Proxy metrics"). */
export const PROXY_REQUESTS_METRIC = 'naija_sup_proxy_requests_total';
export const PROXY_DURATION_METRIC = 'naija_sup_proxy_request_duration_seconds';

/** The charted series, column by column (uPlot's data layout); `t` in Unix seconds. */
export interface HistoryColumns {
  t: number[];
  ready: number[];
  restarts: number[];
  crashRate: number[];
  rssMb: Array<number | null>;
  cpuPercent: Array<number | null>;
  supervisorRssMb: number[];
  supervisorCpuPercent: number[];
  probeMs: Array<number | null>;
  requestsPerSecond: Array<number | null>;
  errorPercent: Array<number | null>;
  p99Ms: Array<number | null>;
}

export interface ExitRecord {
  at: number;
  pid: number;
  expected: boolean;
  code: number | null;
  signal: string | null;
  cause: CrashCause;
  summary: string;
  fix: string;
  uptimeMs: number;
}

export interface StartRecord {
  instance: number;
  pid: number;
  readyInMs: number;
  at: number;
}

export interface ProbeRecord {
  ok: boolean;
  detail: string;
  latencyMs: number;
  at: number;
}

/** The proxy over the last sample interval; null until the proxy registers its metrics. */
export interface ProxyRates {
  requestsPerSecond: number;
  /** Responses per second by status class ("2xx", "5xx", …). */
  byClass: Record<string, number>;
  /** 5xx responses as a percentage of all, over the interval. */
  errorPercent: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

interface ProxyTotals {
  byClass: Map<string, number>;
  /** Cumulative bucket counts by upper bound (seconds). */
  buckets: Array<[number, number]>;
}

export interface DashboardHistoryOptions {
  metrics: Pick<SupervisorMetrics, 'usage' | 'sample' | 'crashes'> & { registry: Pick<Registry, 'getSingleMetric'> };
  /** ms between samples (default 5000); 0 = only when `sample()` is called. */
  intervalMs?: number | undefined;
  points?: number | undefined;
  now?: (() => number) | undefined;
}

export class DashboardHistory {
  private readonly options: DashboardHistoryOptions;
  private readonly now: () => number;
  private readonly points: number;
  private readonly timer: NodeJS.Timeout | null;
  readonly columns: HistoryColumns = {
    t: [], ready: [], restarts: [], crashRate: [], rssMb: [], cpuPercent: [], supervisorRssMb: [], supervisorCpuPercent: [],
    probeMs: [], requestsPerSecond: [], errorPercent: [], p99Ms: [],
  };
  readonly exits: ExitRecord[] = [];
  readonly starts: StartRecord[] = [];
  readonly probes: Partial<Record<ProbeKind, ProbeRecord>> = {};
  proxy: ProxyRates | null = null;
  private restartCount = 0;
  private readyNow = false;
  private lastSample: { at: number; cpuSeconds: number | null; supervisorCpu: NodeJS.CpuUsage; proxy: ProxyTotals | null } | null = null;
  private latestProbeMs: number | null = null;

  constructor(options: DashboardHistoryOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.points = options.points ?? HISTORY_POINTS;
    const interval = options.intervalMs ?? HISTORY_INTERVAL_MS;
    if (interval > 0) {
      this.timer = setInterval(() => { this.sample().catch(() => undefined); }, interval);
      this.timer.unref();
    } else {
      this.timer = null;
    }
  }

  handle(event: SupervisorEvent): void {
    switch (event.type) {
      case 'ready':
        this.readyNow = true;
        push(this.starts, { instance: event.instance, pid: event.pid, readyInMs: event.readyInMs, at: this.now() }, MAX_STARTS);
        return;
      case 'readiness-changed':
        this.readyNow = event.ready;
        return;
      case 'probe':
        this.probes[event.probe ?? 'startup'] = { ok: event.ok, detail: event.detail, latencyMs: event.latencyMs, at: this.now() };
        this.latestProbeMs = event.latencyMs;
        return;
      case 'exited': {
        const e = event.exit;
        this.readyNow = false;
        push(this.exits, { at: e.at, pid: event.pid, expected: event.expected, code: e.code, signal: e.signal, cause: e.cause, summary: e.summary, fix: e.fix, uptimeMs: e.uptimeMs }, MAX_EXITS);
        return;
      }
      case 'backoff':
        this.restartCount += 1;
        return;
      case 'liveness-failed':
      case 'stopping':
      case 'stopped':
      case 'fatal':
        this.readyNow = false;
        return;
      default:
        return;
    }
  }

  /** Takes one sample now: the instance's and the supervisor's usage, and the proxy's rates. */
  async sample(): Promise<void> {
    const at = this.now();
    const usage = await this.options.metrics.sample().catch(() => this.options.metrics.usage);
    const supervisorCpu = process.cpuUsage();
    const proxy = await readProxyTotals(this.options.metrics.registry);
    const last = this.lastSample;
    const seconds = last === null ? 0 : (at - last.at) / 1000;
    const cpuSeconds = usage?.cpuSeconds ?? null;
    const cpuPercent = last === null || seconds <= 0 || cpuSeconds === null || last.cpuSeconds === null
      ? null : round1((Math.max(0, cpuSeconds - last.cpuSeconds) / seconds) * 100);
    const supervisorCpuPercent = last === null || seconds <= 0
      ? 0 : round1(((supervisorCpu.user - last.supervisorCpu.user + supervisorCpu.system - last.supervisorCpu.system) / 1e6 / seconds) * 100);
    this.proxy = proxy === null || last?.proxy == null || seconds <= 0 ? (proxy === null ? null : this.proxy) : proxyRates(last.proxy, proxy, seconds);
    this.lastSample = { at, cpuSeconds, supervisorCpu, proxy };
    const c = this.columns;
    c.t.push(Math.round(at / 1000));
    c.ready.push(this.readyNow ? 1 : 0);
    c.restarts.push(this.restartCount);
    c.crashRate.push(this.options.metrics.crashes.perMinute(at));
    c.rssMb.push(usage === null || usage.processes === 0 ? null : round1(usage.rssBytes / 1048576));
    c.cpuPercent.push(cpuPercent);
    c.supervisorRssMb.push(round1(process.memoryUsage.rss() / 1048576));
    c.supervisorCpuPercent.push(supervisorCpuPercent);
    c.probeMs.push(this.latestProbeMs === null ? null : round1(this.latestProbeMs));
    c.requestsPerSecond.push(this.proxy?.requestsPerSecond ?? null);
    c.errorPercent.push(this.proxy?.errorPercent ?? null);
    c.p99Ms.push(this.proxy?.p99Ms ?? null);
    if (c.t.length > this.points) for (const column of Object.values(c) as unknown[][]) column.splice(0, column.length - this.points);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }
}

function push<T>(list: T[], item: T, max: number): void {
  list.unshift(item);
  if (list.length > max) list.length = max;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The proxy's cumulative counters from the registry, or null when it has not registered them. */
export async function readProxyTotals(registry: Pick<Registry, 'getSingleMetric'>): Promise<ProxyTotals | null> {
  const requests = registry.getSingleMetric(PROXY_REQUESTS_METRIC);
  if (requests === undefined) return null;
  const byClass = new Map<string, number>();
  for (const v of (await requests.get()).values) {
    const cls = String(v.labels['class'] ?? 'other');
    byClass.set(cls, (byClass.get(cls) ?? 0) + v.value);
  }
  const buckets = new Map<number, number>();
  const duration = registry.getSingleMetric(PROXY_DURATION_METRIC);
  for (const v of duration === undefined ? [] : (await duration.get()).values) {
    if (!String((v as { metricName?: string }).metricName ?? '').endsWith('_bucket')) continue;
    const le = v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  return { byClass, buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]) };
}

/** Rates over one interval from two cumulative readings; quantiles from the bucket deltas. */
export function proxyRates(before: ProxyTotals, after: ProxyTotals, seconds: number): ProxyRates {
  const byClass: Record<string, number> = {};
  let total = 0;
  for (const [cls, count] of after.byClass) {
    const delta = Math.max(0, count - (before.byClass.get(cls) ?? 0));
    byClass[cls] = round1(delta / seconds);
    total += delta;
  }
  const deltas = after.buckets.map(([le, count]): [number, number] => [le, Math.max(0, count - (before.buckets.find((b) => b[0] === le)?.[1] ?? 0))]);
  const errors = Math.max(0, (after.byClass.get('5xx') ?? 0) - (before.byClass.get('5xx') ?? 0));
  return {
    requestsPerSecond: round1(total / seconds),
    byClass,
    errorPercent: total === 0 ? 0 : round1((errors / total) * 100),
    p50Ms: quantileMs(deltas, 0.5),
    p99Ms: quantileMs(deltas, 0.99),
  };
}

/** Prometheus's histogram_quantile over cumulative buckets: linear within the bucket. */
export function quantileMs(buckets: ReadonlyArray<readonly [number, number]>, q: number): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return round1(prevLe * 1000);
      const inBucket = count - prevCount;
      const fraction = inBucket === 0 ? 0 : (rank - prevCount) / inBucket;
      return round1((prevLe + (le - prevLe) * fraction) * 1000);
    }
    prevLe = le;
    prevCount = count;
  }
  return round1(prevLe * 1000);
}
