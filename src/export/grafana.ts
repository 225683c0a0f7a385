/**
 * `naija-sup export grafana` (issue 17): a Grafana dashboard (JSON model, schemaVersion 39) over
 * the metrics naija-sup exports — the same ones the rules file alerts on. Import it in Grafana
 * ("Dashboards → New → Import") and pick the Prometheus data source. A pure function.
 */
import type { ResolvedConfig } from '../config/types.js';

export interface GrafanaOptions {
  /** The Prometheus scrape job of the status server (default "naija-sup"). */
  job?: string | undefined;
}

interface Panel {
  id: number;
  type: 'stat' | 'timeseries';
  title: string;
  description: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: 'prometheus'; uid: '${datasource}' };
  fieldConfig: { defaults: { unit: string }; overrides: [] };
  options: Record<string, unknown>;
  targets: Array<{ refId: string; expr: string; legendFormat: string; datasource: { type: 'prometheus'; uid: '${datasource}' } }>;
}

type PanelSpec = [type: Panel['type'], title: string, unit: string, description: string, queries: Array<[expr: string, legend: string]>];

export function grafanaPanels(options: GrafanaOptions = {}): PanelSpec[] {
  const sel = `job="${options.job ?? 'naija-sup'}", instance=~"$instance"`;
  const by = 'sum by (instance)';
  return [
    ['stat', 'Ready', 'bool_yes_no', '1 while /ready answers 200.', [[`naija_sup_instance_ready{${sel}}`, '{{instance}}']]],
    ['stat', 'Instance up', 'bool_yes_no', '1 while a server process runs.', [[`naija_sup_instance_up{${sel}}`, '{{instance}}']]],
    ['stat', 'Restarts (1h)', 'short', 'Restarts in the last hour, requested reloads included.', [[`${by} (increase(naija_sup_restarts_total{${sel}}[1h]))`, '{{instance}}']]],
    ['stat', 'Crash rate', 'short', 'Unexpected exits per minute over the last minute.', [[`naija_sup_crash_rate_per_minute{${sel}}`, '{{instance}}']]],
    ['timeseries', 'Restarts by cause', 'short', 'Restarts per minute by the cause of the exit.', [[`sum by (instance, cause) (rate(naija_sup_restarts_total{${sel}}[5m])) * 60`, '{{instance}} {{cause}}']]],
    ['timeseries', 'Exits by code or signal', 'short', 'Exits per minute.', [[`sum by (instance, code, signal) (rate(naija_sup_exits_total{${sel}}[5m])) * 60`, '{{instance}} {{code}}{{signal}}']]],
    ['timeseries', 'Start-up time', 's', 'Spawn → first passing startup probe.', [
      [`histogram_quantile(0.5, sum by (instance, le) (rate(naija_sup_start_duration_seconds_bucket{${sel}}[1h])))`, '{{instance}} p50'],
      [`histogram_quantile(0.95, sum by (instance, le) (rate(naija_sup_start_duration_seconds_bucket{${sel}}[1h])))`, '{{instance}} p95'],
    ]],
    ['timeseries', 'Probe latency p95', 's', 'By probe: startup, liveness, readiness.', [[`histogram_quantile(0.95, sum by (instance, probe, le) (rate(naija_sup_probe_duration_seconds_bucket{${sel}}[5m])))`, '{{instance}} {{probe}}']]],
    ['timeseries', 'Probe failures', 'short', 'Failed probe attempts per minute.', [[`sum by (instance, probe) (rate(naija_sup_probe_failures_total{${sel}}[5m])) * 60`, '{{instance}} {{probe}}']]],
    ['timeseries', 'Server memory (RSS)', 'bytes', "The server's process group.", [[`naija_sup_instance_resident_memory_bytes{${sel}}`, '{{instance}}']]],
    ['timeseries', 'Server CPU', 'percentunit', "The server's process group, in cores.", [[`rate(naija_sup_instance_cpu_seconds_total{${sel}}[5m])`, '{{instance}}']]],
    ['timeseries', 'Dependencies', 'bool_yes_no', 'Up (1) or down (0) at the last check.', [[`naija_sup_dependency_up{${sel}}`, '{{instance}} {{name}}']]],
    ['timeseries', 'Proxy requests/s by status class', 'reqps', 'proxy mode only.', [[`sum by (instance, class) (rate(naija_sup_proxy_requests_total{${sel}}[5m]))`, '{{instance}} {{class}}']]],
    ['timeseries', 'Proxy latency', 's', 'proxy mode only.', [
      [`histogram_quantile(0.5, sum by (instance, le) (rate(naija_sup_proxy_request_duration_seconds_bucket{${sel}}[5m])))`, '{{instance}} p50'],
      [`histogram_quantile(0.99, sum by (instance, le) (rate(naija_sup_proxy_request_duration_seconds_bucket{${sel}}[5m])))`, '{{instance}} p99'],
    ]],
    ['timeseries', 'Supervisor memory', 'bytes', "naija-sup's own RSS.", [[`naija_sup_supervisor_process_resident_memory_bytes{${sel}}`, '{{instance}}']]],
    ['timeseries', 'Supervisor event-loop lag', 's', "naija-sup's own responsiveness.", [[`naija_sup_supervisor_nodejs_eventloop_lag_seconds{${sel}}`, '{{instance}}']]],
  ];
}

export function grafanaDashboard(config: ResolvedConfig, options: GrafanaOptions = {}): string {
  const ds = { type: 'prometheus', uid: '${datasource}' } as const;
  const panels: Panel[] = grafanaPanels(options).map(([type, title, unit, description, queries], i) => {
    const stat = type === 'stat';
    const statIndex = i;
    const chartIndex = i - 4;
    return {
      id: i + 1, type, title, description,
      gridPos: stat ? { x: statIndex * 6, y: 0, w: 6, h: 4 } : { x: (chartIndex % 2) * 12, y: 4 + Math.floor(chartIndex / 2) * 8, w: 12, h: 8 },
      datasource: ds,
      fieldConfig: { defaults: { unit }, overrides: [] },
      options: stat ? { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'background' } : { legend: { displayMode: 'list', placement: 'bottom' } },
      targets: queries.map(([expr, legendFormat], q) => ({ refId: String.fromCharCode(65 + q), expr, legendFormat, datasource: ds })),
    };
  });
  const dashboard = {
    title: `naija-sup: ${config.name}`,
    uid: `naija-sup-${config.name}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40),
    tags: ['naija-sup'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' },
        {
          name: 'instance', type: 'query', label: 'instance', datasource: ds, includeAll: true, multi: true, refresh: 2,
          query: { query: `label_values(naija_sup_instance_up{job="${options.job ?? 'naija-sup'}"}, instance)`, refId: 'instance' },
        },
      ],
    },
    panels,
  };
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
