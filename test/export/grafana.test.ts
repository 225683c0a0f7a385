/**
 * The exported Grafana dashboard: valid JSON in Grafana's model, and every metric its queries use
 * is one a real status server exposes on /metrics. The proxy's metrics are the exception while the
 * proxy does not register them yet: they must then be the names the dashboard's proxy panel reads
 * and docs/metrics.md promises (PROXY_*_METRIC), so wiring them needs no change here.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { grafanaDashboard } from '../../src/export/grafana.js';
import { PROXY_DURATION_METRIC, PROXY_REQUESTS_METRIC } from '../../src/metrics/history.js';
import { SupervisorMetrics } from '../../src/metrics/registry.js';
import { startStatusServer } from '../../src/metrics/status-server.js';
import { httpRequest } from '../metrics/helpers.js';

const metrics = new SupervisorMetrics({ sampleIntervalMs: 0 });
afterAll(() => metrics.close());

const { config } = resolveConfig({ cwd: tmpdir(), env: {}, filepath: join(tmpdir(), '.naija-suprc.json'), file: { name: 'orders-api', command: ['node', 'server.js'] } });

interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Array<{ id: number; type: string; title: string; gridPos: { w: number; h: number }; targets: Array<{ refId: string; expr: string }> }>;
  templating: { list: Array<{ name: string; query?: string | { query: string } }> };
}

/** The metric families /metrics declares (# TYPE lines). */
async function exposedFamilies(): Promise<Set<string>> {
  const server = await startStatusServer({ port: 0, snapshot: () => { throw new Error('unused'); }, isReady: () => false, metrics });
  try {
    const body = (await httpRequest(server.port, '/metrics')).body;
    return new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));
  } finally {
    await server.close();
  }
}

describe('exported Grafana dashboard', () => {
  const dashboard = JSON.parse(grafanaDashboard(config)) as Dashboard;

  it('is a Grafana dashboard model with panels, unique ids and a datasource variable', () => {
    expect(dashboard.title).toBe('naija-sup: orders-api');
    expect(dashboard.uid).toBe('naija-sup-orders-api');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance']);
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      expect(p.gridPos.w).toBeGreaterThan(0);
    }
  });

  it('queries only metrics that /metrics exposes (and the documented proxy metrics)', async () => {
    const families = await exposedFamilies();
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' ? [v.query.query] : [])),
    ];
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bnaija_sup_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThanOrEqual(14);
    const family = (name: string): string => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return families.has(name) ? name : base;
    };
    const proxy = new Set([PROXY_REQUESTS_METRIC, PROXY_DURATION_METRIC]);
    const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    for (const name of used) {
      const f = family(name);
      if (proxy.has(f) && !families.has(f)) {
        expect(docs, `${f} documented`).toContain(`\`${f}\``);
        continue;
      }
      expect(families.has(f), `${name} (family ${f}) is on /metrics`).toBe(true);
    }
  });
});
