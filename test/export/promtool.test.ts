/**
 * The exported rules with the real promtool (Debian's `prometheus` package): `promtool check rules`
 * on the file, then `promtool test rules` with unit tests that feed series and expect every alert
 * both to fire and to stay quiet. Expected annotations are the rule's own templates with the
 * `$labels` filled in, so a changed message is caught too.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { resolveConfig } from '../../src/config/resolve.js';
import { alertRules, prometheusRules, type AlertRule } from '../../src/export/prometheus-rules.js';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-promtool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const { config } = resolveConfig({
  cwd: tmp, env: {}, filepath: join(tmp, '.naija-suprc.json'),
  file: { name: 'orders-api', command: ['node', 'server.js'], alerts: { crashRate: 2, notReadyFor: '2m' } },
});
const rules = alertRules(config);
const J = { job: 'naija-sup' };
const A = { ...J, instance: 'a:9100' };
const B = { ...J, instance: 'b:9100' };

type Labels = Record<string, string>;
const series = (name: string, labels: Labels, values: string): { series: string; values: string } =>
  ({ series: `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`, values });

function rule(name: string): AlertRule {
  const found = rules.find((r) => r.alert === name);
  if (found === undefined) throw new Error(`no rule ${name}`);
  return found;
}

/** One expected alert: the rule's severity plus `labels`, and its annotations with $labels filled in. */
function fires(name: string, labels: Labels): { exp_labels: Labels; exp_annotations: Labels } {
  const r = rule(name);
  const fill = (text: string): string => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, key: string) => labels[key] ?? '');
  return {
    exp_labels: { severity: r.labels.severity, ...labels },
    exp_annotations: { summary: fill(r.annotations.summary), description: fill(r.annotations.description), runbook_url: r.annotations.runbook_url },
  };
}

/** Buckets of a histogram: `perBucket` maps each `le` to its values string. */
function histogram(name: string, labels: Labels, perBucket: Record<string, string>, sum: string, count: string): Array<{ series: string; values: string }> {
  return [
    ...Object.entries(perBucket).map(([le, values]) => series(`${name}_bucket`, { ...labels, le }, values)),
    series(`${name}_sum`, labels, sum),
    series(`${name}_count`, labels, count),
  ];
}

interface Case { alert: string; interval: string; input: Array<{ series: string; values: string }>; checks: Array<{ at: string; expect: ReturnType<typeof fires>[] }> }

const CASES: Case[] = [
  // Scraped, then not: up == 0 for longer than 1m. And a job that was never scraped at all.
  { alert: 'NaijaSupSupervisorDown', interval: '1m', input: [series('up', A, '1x10 0x10')], checks: [{ at: '8m', expect: [] }, { at: '15m', expect: [fires('NaijaSupSupervisorDown', A)] }] },
  { alert: 'NaijaSupSupervisorDown', interval: '1m', input: [series('up', { job: 'other', instance: 'x' }, '1x10')], checks: [{ at: '5m', expect: [fires('NaijaSupSupervisorDown', J)] }] },
  // 5 crashes a minute on a: above alerts.crashRate (2). b: 1 a minute, and reloads do not count.
  {
    alert: 'NaijaSupCrashLooping', interval: '1m',
    input: [
      series('naija_sup_restarts_total', { ...A, cause: 'killed' }, '0+5x20'),
      series('naija_sup_restarts_total', { ...B, cause: 'exit-code' }, '0+1x20'),
      series('naija_sup_restarts_total', { ...B, cause: 'reload' }, '0+10x20'),
    ],
    checks: [{ at: '10m', expect: [fires('NaijaSupCrashLooping', A)] }],
  },
  // a: not ready from 6m on (fires after alerts.notReadyFor = 2m); b: a one-minute dip.
  {
    alert: 'NaijaSupNotReady', interval: '1m',
    input: [series('naija_sup_instance_ready', A, '1x5 0x10'), series('naija_sup_instance_ready', B, '1x5 0 1x10')],
    checks: [{ at: '7m', expect: [] }, { at: '10m', expect: [fires('NaijaSupNotReady', A)] }],
  },
  // a: liveness failures from 6m on; b: only startup failures (a server booting).
  {
    alert: 'NaijaSupLivenessFailing', interval: '1m',
    input: [
      series('naija_sup_probe_failures_total', { ...A, probe: 'liveness' }, '0x5 1+1x10'),
      series('naija_sup_probe_failures_total', { ...B, probe: 'liveness' }, '0x15'),
      series('naija_sup_probe_failures_total', { ...B, probe: 'startup' }, '0+3x15'),
    ],
    checks: [{ at: '5m', expect: [] }, { at: '10m', expect: [fires('NaijaSupLivenessFailing', { ...A, probe: 'liveness' })] }],
  },
  // One start every 10 minutes at 0.4 s for 400 minutes, then 8 s each: 30-minute average far above the 6 h median.
  {
    alert: 'NaijaSupSlowStart', interval: '10m',
    input: histogram('naija_sup_start_duration_seconds', A,
      { '0.5': '0+1x40 40x5', '1': '0+1x40 40x5', '5': '0+1x40 40x5', '10': '0+1x45', '+Inf': '0+1x45' },
      '0+0.4x40 24+8x4', '0+1x45'),
    checks: [{ at: '390m', expect: [] }, { at: '440m', expect: [fires('NaijaSupSlowStart', A)] }],
  },
  // a: 10% of responses are 5xx; b: 1%.
  {
    alert: 'NaijaSupProxyErrors', interval: '1m',
    input: [
      series('naija_sup_proxy_requests_total', { ...A, class: '2xx' }, '0+90x20'),
      series('naija_sup_proxy_requests_total', { ...A, class: '5xx' }, '0+10x20'),
      series('naija_sup_proxy_requests_total', { ...B, class: '2xx' }, '0+99x20'),
      series('naija_sup_proxy_requests_total', { ...B, class: '5xx' }, '0+1x20'),
    ],
    checks: [{ at: '4m', expect: [] }, { at: '15m', expect: [fires('NaijaSupProxyErrors', A)] }],
  },
  // a: responses between 1 and 5 s; b: all under 100 ms.
  {
    alert: 'NaijaSupProxyLatency', interval: '1m',
    input: [
      ...histogram('naija_sup_proxy_request_duration_seconds', A, { '0.1': '0x20', '1': '0x20', '5': '0+100x20', '+Inf': '0+100x20' }, '0+250x20', '0+100x20'),
      ...histogram('naija_sup_proxy_request_duration_seconds', B, { '0.1': '0+100x20', '1': '0+100x20', '5': '0+100x20', '+Inf': '0+100x20' }, '0+5x20', '0+100x20'),
    ],
    checks: [{ at: '4m', expect: [] }, { at: '15m', expect: [fires('NaijaSupProxyLatency', A)] }],
  },
  // postgres goes down at 6m; redis stays up.
  {
    alert: 'NaijaSupDependencyDown', interval: '1m',
    input: [series('naija_sup_dependency_up', { ...A, name: 'postgres' }, '1x5 0x10'), series('naija_sup_dependency_up', { ...A, name: 'redis' }, '1x15')],
    checks: [{ at: '6m', expect: [] }, { at: '10m', expect: [fires('NaijaSupDependencyDown', { ...A, name: 'postgres' })] }],
  },
];

describe('exported Prometheus rules under promtool', () => {
  it(`${PROMTOOL} is installed (Debian's prometheus package; .ci/run installs it)`, () => {
    expect(existsSync(PROMTOOL)).toBe(true);
  });

  it('promtool check rules accepts the file', async () => {
    const file = join(tmp, 'rules.yml');
    writeFileSync(file, prometheusRules(config));
    const { stdout } = await run(PROMTOOL, ['check', 'rules', file]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('every rule has severity, summary, description and a runbook_url into docs/metrics.md', () => {
    for (const r of rules) {
      expect(['critical', 'warning']).toContain(r.labels.severity);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(20);
      expect(r.annotations.runbook_url).toMatch(/docs\/metrics\.md#runbook-[a-z-]+$/);
    }
    expect(rule('NaijaSupNotReady').for).toBe('2m');
    expect(rule('NaijaSupCrashLooping').expr).toContain('> 2');
  });

  it('promtool test rules: each alert fires on its series and stays quiet on the others', async () => {
    // Every rule is covered, firing and quiet; an alert checked at a time it must not fire is
    // checked for *all* series, so the quiet instances are covered by the same checks.
    for (const r of rules) {
      const checks = CASES.filter((c) => c.alert === r.alert).flatMap((c) => c.checks);
      expect(checks.some((c) => c.expect.length > 0), `${r.alert} fires somewhere`).toBe(true);
      expect(CASES.some((c) => c.alert === r.alert && c.input.length > 1) || checks.some((c) => c.expect.length === 0), `${r.alert} stays quiet somewhere`).toBe(true);
    }
    writeFileSync(join(tmp, 'rules.yml'), prometheusRules(config));
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: CASES.map((c) => ({
        interval: c.interval,
        input_series: c.input,
        alert_rule_test: c.checks.map((check) => ({ eval_time: check.at, alertname: c.alert, exp_alerts: check.expect })),
      })),
    };
    const file = join(tmp, 'rules.test.yml');
    writeFileSync(file, stringify(tests));
    const result = await run(PROMTOOL, ['test', 'rules', file], { cwd: tmp }).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }));
    expect(`${result.stdout}${result.stderr}`).toMatch(/SUCCESS/);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/FAILED/);
  });
});
