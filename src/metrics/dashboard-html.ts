/**
 * The dashboard's HTML, rendered on the server (issue 17). One renderer serves both forms of the
 * page: the full document (a static snapshot that needs no JavaScript) and, in /dashboard.json, the
 * inner HTML of each section for the page's script to swap in. So there is no second renderer in
 * the browser to drift from this one, and every value is escaped here.
 */
import type { ProbeKind } from '../supervisor/events.js';
import type { ExitRecord, HistoryColumns, ProbeRecord, ProxyRates, StartRecord } from './history.js';
import type { HealthSnapshot } from './status-server.js';
import type { WebhookStatus } from './webhook-delivery.js';
import { isoTime } from '../iso-time.js';

/** Everything the page shows; /dashboard.json carries it too (documented in docs/metrics.md). */
export interface DashboardData {
  nowMs: number;
  app: { name: string; url: string; mode: string };
  health: HealthSnapshot;
  /** health.liveness is configured. */
  liveness: boolean;
  probes: Partial<Record<ProbeKind, ProbeRecord>>;
  exits: ExitRecord[];
  starts: StartRecord[];
  latest: { cpuPercent: number | null; supervisorRssBytes: number; supervisorCpuPercent: number };
  proxy: ProxyRates | null;
  alerts: { webhooks: WebhookStatus[]; open: string[] } | null;
  history: HistoryColumns;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const h = escapeHtml;

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '–';
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.round((seconds % 86400) / 3600)} h`;
}

function ago(iso: string | number, nowMs: number): string {
  const at = typeof iso === 'number' ? iso : Date.parse(iso);
  return `${formatSeconds(Math.max(0, (nowMs - at) / 1000))} ago`;
}

function badge(ok: boolean | null, text: string): string {
  const cls = ok === null ? 'neutral' : ok ? 'good' : 'bad';
  return `<span class="badge ${cls}">${h(text)}</span>`;
}

function table(head: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${h(empty)}</p>`;
  const th = head.map((c) => `<th scope="col">${h(c)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td data-label="${h(head[i] ?? '')}">${c}</td>`).join('')}</tr>`).join('');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div>`;
}

function dl(items: Array<[string, string]>): string {
  return `<dl>${items.map(([k, v]) => `<div><dt>${h(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}

function appSection(d: DashboardData): string {
  const s = d.health;
  const statusOk = s.status === 'ok' ? true : s.status === 'starting' || s.status === 'stopping' ? null : false;
  return `<h1>${h(d.app.name)} ${badge(statusOk, s.status)}</h1>${dl([
    ['state', h(s.instance.state)],
    ['pid', s.instance.pid === null ? '–' : String(s.instance.pid)],
    ['uptime', h(formatSeconds(s.instance.uptimeSeconds))],
    ['address', h(d.app.url)],
    ['mode', h(d.app.mode)],
    ['supervisor', `pid ${s.supervisor.pid}, up ${h(formatSeconds(s.supervisor.uptimeSeconds))}, v${h(s.supervisor.version)}`],
  ])}`;
}

function healthSection(d: DashboardData): string {
  const rows = (['startup', 'liveness', 'readiness'] as const).flatMap((kind) => {
    const p = d.probes[kind];
    return p === undefined ? [] : [[h(kind), badge(p.ok, p.ok ? 'pass' : 'fail'), `${p.latencyMs.toFixed(1)} ms`, h(p.detail), h(ago(p.at, d.nowMs))]];
  });
  return `<h2>Health</h2>${dl([
    ['ready', badge(d.health.instance.ready, d.health.instance.ready ? 'ready' : 'not ready')],
    ['liveness', d.liveness ? (d.probes.liveness === undefined ? 'watching, no probe yet' : badge(d.probes.liveness.ok, d.probes.liveness.ok ? 'passing' : 'failing')) : 'not configured (health.liveness)'],
  ])}${table(['probe', 'result', 'latency', 'detail', 'when'], rows, 'no probe yet')}`;
}

function restartsSection(d: DashboardData): string {
  const c = d.health.crashRate;
  const over = c.threshold !== null && c.perMinute > c.threshold;
  const rows = d.exits.map((e) => [
    h(ago(e.at, d.nowMs)),
    String(e.pid),
    h(e.signal ?? `code ${String(e.code)}`),
    e.expected ? badge(null, 'requested') : badge(false, e.cause),
    h(e.summary),
    e.expected ? '' : h(e.fix),
  ]);
  return `<h2>Restarts</h2>${dl([
    ['restarts', `<span id="restart-count">${d.health.instance.restarts}</span>`],
    ['crash rate', `${badge(over ? false : null, `${c.perMinute} / min`)} ${c.threshold === null ? 'no alert (alerts.crashRate)' : `alert above ${c.threshold} / min`}`],
  ])}${table(['when', 'pid', 'exit', 'cause', 'what happened', 'fix'], rows, 'no exit yet')}`;
}

function startsSection(d: DashboardData): string {
  const times = d.starts.map((s) => s.readyInMs).sort((a, b) => a - b);
  const median = times.length === 0 ? null : times[Math.floor((times.length - 1) / 2)] ?? null;
  const rows = d.starts.map((s) => [String(s.instance), String(s.pid), h(formatSeconds(s.readyInMs / 1000)), h(ago(s.at, d.nowMs))]);
  return `<h2>Start-up time</h2>${dl([['median', h(formatSeconds(median === null ? null : median / 1000))], ['starts', String(times.length)]])}${
    table(['instance', 'pid', 'spawn → ready', 'when'], rows, 'not started yet')}`;
}

function resourcesSection(d: DashboardData): string {
  const i = d.health.instance;
  return `<h2>Resources</h2>${dl([
    ['server memory (RSS)', h(formatBytes(i.processes === 0 ? null : i.rssBytes))],
    ['server CPU', d.latest.cpuPercent === null ? '–' : `${d.latest.cpuPercent} %`],
    ['server processes', i.processes === null ? '–' : String(i.processes)],
    ['supervisor memory', h(formatBytes(d.latest.supervisorRssBytes))],
    ['supervisor CPU', `${d.latest.supervisorCpuPercent} %`],
  ])}`;
}

/**
 * A row per instance of an app that runs several (issue 20) and the whole app's total below them
 * (a <tfoot>, so it is never mistaken for an instance).
 */
function instancesSection(d: DashboardData): string {
  const rows = d.health.instances;
  const total = d.health.total;
  if (rows === undefined || total === undefined) return '<h2>Instances</h2><p class="muted">one instance (set "instances" to run more)</p>';
  const head = ['instance', 'state', 'pid', 'restarts', 'memory', 'CPU', 'requests', 'last exit'];
  const cpu = (v: number | null): string => (v === null ? '–' : `${v} %`);
  const count = (v: number | null): string => (v === null ? '–' : String(v));
  const cells = (r: string[]): string => r.map((c, i) => `<td data-label="${h(head[i] ?? '')}">${c}</td>`).join('');
  const body = rows.map((r) => `<tr data-instance="${r.index}">${cells([
    `#${r.index}`, badge(r.ready ? true : r.state === 'starting' || r.state === 'spawning' ? null : false, r.ready ? 'ready' : r.state),
    r.pid === null ? '–' : String(r.pid), String(r.restarts), h(formatBytes(r.rssBytes)), cpu(r.cpuPercent), count(r.requests), h(r.lastExit ?? ''),
  ])}</tr>`).join('');
  const foot = `<tr class="total">${cells([
    'total', `${total.ready}/${total.instances} ready`, '', String(total.restarts), h(formatBytes(total.rssBytes)), cpu(total.cpuPercent), count(total.requests), '',
  ])}</tr>`;
  return `<h2>Instances</h2><div class="scroll"><table><thead><tr>${head.map((c) => `<th scope="col">${h(c)}</th>`).join('')}</tr></thead><tbody>${body}</tbody><tfoot>${foot}</tfoot></table></div>`;
}

function dependenciesSection(d: DashboardData): string {
  const rows = d.health.dependencies.map((x) => [h(x.name), h(x.target), badge(x.ok, x.ok ? 'up' : 'down'), h(x.detail), h(ago(x.at, d.nowMs))]);
  return `<h2>Dependencies</h2>${table(['name', 'target', 'state', 'detail', 'checked'], rows, 'none configured (dependsOn)')}`;
}

function proxySection(d: DashboardData): string {
  if (d.app.mode !== 'proxy') return `<h2>Proxy</h2><p class="muted">not in proxy mode (mode: ${h(d.app.mode)})</p>`;
  const p = d.proxy;
  if (p === null) return '<h2>Proxy</h2><p class="muted">proxy metrics: none yet</p>';
  const classes = Object.entries(p.byClass).map(([k, v]) => `${h(k)} ${v}/s`).join(', ') || '–';
  return `<h2>Proxy</h2>${dl([
    ['requests', `${p.requestsPerSecond} /s`],
    ['by status class', classes],
    ['5xx rate', badge(p.errorPercent > 1 ? false : null, `${p.errorPercent} %`)],
    ['latency p50 / p99', `${p.p50Ms === null ? '–' : `${p.p50Ms} ms`} / ${p.p99Ms === null ? '–' : `${p.p99Ms} ms`}`],
  ])}`;
}

function alertsSection(d: DashboardData): string {
  const a = d.alerts;
  if (a === null) return '<h2>Alerts</h2><p class="muted">no webhook (alerts.webhook)</p>';
  const rows = a.webhooks.map((w) => [
    h(w.url),
    badge(w.failing ? false : w.delivered > 0 ? true : null, w.failing ? 'failing' : w.delivered > 0 ? 'ok' : 'idle'),
    String(w.delivered), String(w.failed), String(w.pending),
    w.lastError === null ? '' : `${h(w.lastError)}${w.lastErrorAt === null ? '' : ` (${h(ago(w.lastErrorAt, d.nowMs))})`}`,
  ]);
  const open = a.open.length === 0 ? 'none' : a.open.map((k) => badge(false, k)).join(' ');
  return `<h2>Alerts</h2>${dl([['open incidents', open]])}${table(['webhook', 'state', 'delivered', 'failed', 'pending', 'last error'], rows, 'no webhook')}`;
}

/** Section id → renderer; the page's script replaces each section's inner HTML with these. */
export const SECTIONS: ReadonlyArray<readonly [string, (d: DashboardData) => string]> = [
  ['s-app', appSection],
  ['s-health', healthSection],
  ['s-instances', instancesSection],
  ['s-restarts', restartsSection],
  ['s-starts', startsSection],
  ['s-resources', resourcesSection],
  ['s-deps', dependenciesSection],
  ['s-proxy', proxySection],
  ['s-alerts', alertsSection],
];

export function renderSections(d: DashboardData): Record<string, string> {
  return Object.fromEntries(SECTIONS.map(([id, render]) => [id, render(d)]));
}

/** The charts: id, title, and the series (column name, label). */
export const CHARTS: ReadonlyArray<{ id: string; title: string; series: ReadonlyArray<readonly [keyof HistoryColumns, string]> }> = [
  { id: 'c-ready', title: 'Ready and restarts', series: [['ready', 'ready'], ['restarts', 'restarts']] },
  { id: 'c-memory', title: 'Memory (MiB)', series: [['rssMb', 'server'], ['supervisorRssMb', 'supervisor']] },
  { id: 'c-cpu', title: 'CPU (%)', series: [['cpuPercent', 'server'], ['supervisorCpuPercent', 'supervisor']] },
  { id: 'c-probe', title: 'Probe latency (ms)', series: [['probeMs', 'last probe']] },
  { id: 'c-proxy', title: 'Proxy: requests/s, 5xx %, p99 ms', series: [['requestsPerSecond', 'req/s'], ['errorPercent', '5xx %'], ['p99Ms', 'p99 ms']] },
];

/** A static SVG line of the first series: the chart for a browser without JavaScript. */
function sparkline(values: ReadonlyArray<number | null>): string {
  const nums = values.filter((v): v is number => v !== null);
  if (nums.length < 2) return '<p class="muted">not enough samples yet</p>';
  const max = Math.max(...nums, 1e-9);
  const min = Math.min(...nums, 0);
  const step = 300 / Math.max(1, values.length - 1);
  const points = values.flatMap((v, i) => (v === null ? [] : [`${(i * step).toFixed(1)},${(58 - ((v - min) / (max - min || 1)) * 56).toFixed(1)}`]));
  return `<svg viewBox="0 0 300 60" preserveAspectRatio="none" role="img" aria-label="last hour, max ${max}"><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${points.join(' ')}"/></svg>`;
}

export function renderPage(d: DashboardData, assets: { query: string }): string {
  const sections = SECTIONS.map(([id, render]) => `<section id="${id}" class="card">${render(d)}</section>`).join('\n');
  const charts = CHARTS.map((c) => `<figure class="card chart"><figcaption>${h(c.title)}</figcaption><div id="${c.id}" class="plot">${sparkline(d.history[c.series[0]?.[0] ?? 't'])}</div></figure>`).join('\n');
  const q = h(assets.query);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${h(d.app.name)} · naija-sup</title>
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="10"></noscript>
<link rel="stylesheet" href="/dashboard/uplot.css">
<link rel="stylesheet" href="/dashboard/style.css">
</head>
<body>
<main>
<p class="live" id="live" role="status">snapshot at ${h(isoTime(d.nowMs))}<noscript> · reloads every 10 s</noscript></p>
<div class="grid">
${sections}
</div>
<h2 class="charts-title">Last hour</h2>
<div class="grid charts">
${charts}
</div>
</main>
<script src="/dashboard/uplot.js"></script>
<script src="/dashboard/app.js" data-query="${q}"></script>
</body>
</html>
`;
}
