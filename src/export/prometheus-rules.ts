/**
 * `naija-sup export prometheus-rules` (issue 17): a Prometheus rules file for the metrics naija-sup
 * exports (docs/metrics.md), ready for `rule_files:` as it is. A pure function from the resolved
 * config to text: thresholds come from the config (alerts.crashRate, alerts.notReadyFor) or the
 * options, and every rule links the runbook section of docs/metrics.md that says what to do.
 *
 * test/export/promtool.test.ts runs `promtool check rules` and `promtool test rules` on the output.
 * Annotations use `$labels` only (no `$value`), so a notification reads the same on every resend.
 */
import { stringify } from 'yaml';
import { formatDuration } from '../config/duration.js';
import type { ResolvedConfig } from '../config/types.js';
import { RUNBOOK_ANCHORS, RUNBOOK_BASE } from '../metrics/webhooks.js';

export interface RulesOptions {
  /** The Prometheus scrape job of the status server (default "naija-sup"). */
  job?: string | undefined;
  /** Where docs/metrics.md is published; each rule's runbook_url is this plus its anchor. */
  runbookBase?: string | undefined;
  /** Crashes per minute for the crash-loop rule when alerts.crashRate is null (default 3). */
  crashRate?: number | undefined;
  /** 5xx share of proxied responses above which the proxy alert fires (default 0.05). */
  proxyErrorRatio?: number | undefined;
  /** Proxy p99 latency above which the proxy alert fires, seconds (default 1). */
  proxyP99Seconds?: number | undefined;
  /** How many times the median start-up time counts as "far above" (default 3). */
  slowStartFactor?: number | undefined;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning' };
  annotations: { summary: string; description: string; runbook_url: string };
}

/** A Prometheus label value in double quotes. */
function quote(value: string): string {
  return JSON.stringify(value);
}

export function alertRules(config: ResolvedConfig, options: RulesOptions = {}): AlertRule[] {
  const job = `job=${quote(options.job ?? 'naija-sup')}`;
  const base = options.runbookBase ?? RUNBOOK_BASE;
  const crashRate = config.alerts.crashRate ?? options.crashRate ?? 3;
  const errorRatio = options.proxyErrorRatio ?? 0.05;
  const p99 = options.proxyP99Seconds ?? 1;
  const factor = options.slowStartFactor ?? 3;
  const by = 'sum by (job, instance)';
  const rule = (alert: string, kind: keyof typeof RUNBOOK_ANCHORS, expr: string, forText: string, severity: 'critical' | 'warning', summary: string, description: string): AlertRule => ({
    alert, expr, for: forText, labels: { severity },
    annotations: { summary, description, runbook_url: `${base}#${RUNBOOK_ANCHORS[kind]}` },
  });
  return [
    rule('NaijaSupSupervisorDown', 'supervisor-down', `up{${job}} == 0 or absent(up{${job}})`, '1m', 'critical',
      `naija-sup (${config.name}) is not scraped`,
      'No target of the job answers /metrics: the supervisor is gone (crashed, stopped, or its host is down), or the scrape config no longer finds it.'),
    rule('NaijaSupCrashLooping', 'crash-loop', `${by} (rate(naija_sup_restarts_total{${job},cause!="reload"}[5m])) * 60 > ${crashRate}`, '1m', 'critical',
      '{{ $labels.instance }} is crash-looping',
      `The server keeps crashing (more than ${crashRate} restarts per minute over 5 minutes). The cause of each exit is in naija_sup_restarts_total's cause label and in naija-sup status.`),
    rule('NaijaSupNotReady', 'not-ready', `naija_sup_instance_ready{${job}} == 0`, formatDuration(config.alerts.notReadyFor), 'warning',
      `{{ $labels.instance }} has not been ready for ${formatDuration(config.alerts.notReadyFor)}`,
      '/ready answers 503: the server is starting, restarting, or its readiness probe fails.'),
    rule('NaijaSupLivenessFailing', 'liveness-restart', `increase(naija_sup_probe_failures_total{${job},probe="liveness"}[5m]) > 0`, '2m', 'warning',
      '{{ $labels.instance }} fails its liveness probe',
      'The liveness probe failed in the last 5 minutes; after health.liveness.failureThreshold failures in a row the server is restarted.'),
    rule('NaijaSupSlowStart', 'slow-start',
      `(${by} (increase(naija_sup_start_duration_seconds_sum{${job}}[30m])) / ${by} (increase(naija_sup_start_duration_seconds_count{${job}}[30m])))`
        + ` > ${factor} * histogram_quantile(0.5, sum by (job, instance, le) (rate(naija_sup_start_duration_seconds_bucket{${job}}[6h])))`,
      '0m', 'warning',
      '{{ $labels.instance }} starts far slower than usual',
      `Recent starts took more than ${factor} times the median start-up time of the last 6 hours: a slow dependency, a migration, or a cold cache.`),
    rule('NaijaSupProxyErrors', 'proxy-errors',
      `${by} (rate(naija_sup_proxy_requests_total{${job},class="5xx"}[5m])) / ${by} (rate(naija_sup_proxy_requests_total{${job}}[5m])) > ${errorRatio}`,
      '5m', 'critical',
      '{{ $labels.instance }}: proxied requests fail with 5xx',
      `More than ${errorRatio * 100}% of the responses through naija-sup's proxy are 5xx.`),
    rule('NaijaSupProxyLatency', 'proxy-latency',
      `histogram_quantile(0.99, sum by (job, instance, le) (rate(naija_sup_proxy_request_duration_seconds_bucket{${job}}[5m]))) > ${p99}`,
      '5m', 'warning',
      '{{ $labels.instance }}: slow responses through the proxy',
      `The 99th percentile of proxied request durations is above ${p99} s.`),
    rule('NaijaSupDependencyDown', 'dependency-down', `naija_sup_dependency_up{${job}} == 0`, '1m', 'critical',
      '{{ $labels.instance }}: dependency {{ $labels.name }} is down',
      'The dependency (dependsOn) did not answer at its last check before a spawn: the server cannot start until it does.'),
  ];
}

/** The rules file: one group, `naija-sup`. */
export function prometheusRules(config: ResolvedConfig, options: RulesOptions = {}): string {
  const header = `# Prometheus alerting rules for naija-sup (${config.name}), written by \`naija-sup export prometheus-rules\`.\n`
    + '# Load with rule_files: in prometheus.yml; check with `promtool check rules <file>`. Every metric: docs/metrics.md.\n';
  return header + stringify({ groups: [{ name: 'naija-sup', rules: alertRules(config, options) }] }, { lineWidth: 0 });
}
