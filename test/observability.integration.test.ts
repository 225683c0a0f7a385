/**
 * `naija-sup start --status-port` end to end (in-process CLI, real children, 127.0.0.1): the status
 * server follows the supervisor through start, crash and stop; dependency waits fail a start with
 * their cause; JSON log lines carry the lifecycle.
 */
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { assertAllGone, fixture, waitFor } from './helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from './helpers/supervise.js';

const node = process.execPath;
let current: InProcessSupervisor | null = null;


function metricValue(text: string, name: string, labels = ''): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [key, value] = line.split(' ');
    if (key === `${name}${labels}`) return Number(value);
  }
  return null;
}

afterEach(async () => {
  const sup = current;
  current = null;
  await finishSupervisor(sup);
});

describe('start --status-port', () => {
  it('/ready follows start, crash and stop; /metrics counts the restart; /health has the instance', async () => {
    const port = await freePort();
    const statusPort = await freePort();
    // The fixture's /health answers 503 while the gate file is missing: the gate goes away at the
    // crash, so the replacement cannot get ready until the test has seen /ready say 503.
    const gateDir = mkdtempSync(join(tmpdir(), 'naija-sup-gate-'));
    onTestFinished(() => rmSync(gateDir, { recursive: true, force: true }));
    const gate = join(gateDir, 'healthy');
    writeFileSync(gate, '');
    const sup = superviseInProcess(['--port', String(port), '--status-port', String(statusPort), '--', node, fixture('healthy-server.mjs')], {
      // health.path makes the probe ask /health (an HTTP check that wants 200–399), which the gate
      // holds at 503; the default probe of "/" would take the fixture's 404 as an answer.
      NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_HEALTH_PATH: '/health', NAIJA_SUP_LOG_FORMAT: 'human', HEALTH_GATE: gate,
    });
    current = sup;
    await sup.waitFor(/is ready in/);
    expect((await httpGet(statusPort, '/ready')).status).toBe(200);
    expect((await httpGet(statusPort, '/alive')).status).toBe(200);
    const health = JSON.parse((await httpGet(statusPort, '/health')).body) as Record<string, unknown>;
    expect(JSON.stringify(health)).toContain(String(sup.pids[0]));

    const first = sup.pids[0]!;
    rmSync(gate);
    process.kill(first, 'SIGKILL');
    // Not ready between the crash and the next readiness: 503 once the crash is seen, and still 503
    // while the replacement runs but has not passed its health check…
    await waitFor(async () => (await httpGet(statusPort, '/ready')).status === 503, { timeout: 10_000, message: '/ready never answered 503 after the crash' });
    await waitFor(() => sup.pids.length === 2, { timeout: 10_000, message: 'no replacement instance after kill -9' });
    expect((await httpGet(statusPort, '/ready')).status).toBe(503);
    // …and ready again, with the new pid, once it passes.
    writeFileSync(gate, '');
    await waitFor(async () => (await httpGet(statusPort, '/ready')).status === 200, { timeout: 10_000, message: 'not ready again after kill -9' });
    const metrics = (await httpGet(statusPort, '/metrics')).body;
    expect(metrics).toMatch(/^# TYPE naija_sup_restarts_total counter$/m);
    const restarts = metrics.split('\n').filter((l) => l.startsWith('naija_sup_restarts_total{')).map((l) => Number(l.split(' ')[1]));
    expect(restarts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'naija_sup_instance_ready')).toBe(1);
    expect(metricValue(metrics, 'naija_sup_exits_total', '{signal="SIGKILL"}')).toBe(1);

    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    // The status server went away with the supervisor.
    expect((await httpGet(statusPort, '/ready')).status).toBe(0);
    await assertAllGone(sup.pids);
  });

  it('a TCP dependency that never answers fails the start with cause dependency-unavailable, naming it', async () => {
    const port = await freePort();
    const dead = await freePort();
    const sup = superviseInProcess(['--port', String(port), '--', node, fixture('healthy-server.mjs')], {
      NAIJA_SUP_LOG_FORMAT: 'human',
      NAIJA_SUP_DEPENDS_ON: JSON.stringify([{ name: 'postgres', tcp: `127.0.0.1:${dead}` }]),
      NAIJA_SUP_DEPENDENCIES_TIMEOUT: '200ms',
      NAIJA_SUP_DEPENDENCIES_RETRIES: '1',
    });
    current = sup;
    await expect(sup.done).resolves.toBe(1);
    expect(sup.stderr()).toMatch(/dependency not available: postgres/);
    expect(sup.stderr()).not.toMatch(/started \S+ \(pid/);
  });

  it('a TCP dependency that is up lets the start go on', async () => {
    const db = createServer((s) => s.resume());
    await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    try {
      const sup = superviseInProcess(['--port', String(port), '--', node, fixture('healthy-server.mjs')], {
        NAIJA_SUP_LOG_FORMAT: 'human', NAIJA_SUP_HEALTH_INTERVAL: '25ms',
        NAIJA_SUP_DEPENDS_ON: JSON.stringify([{ name: 'redis', tcp: `127.0.0.1:${(db.address() as AddressInfo).port}` }]),
      });
      current = sup;
      await sup.waitFor(/is ready in/);
      sup.signal('SIGTERM');
      await expect(sup.done).resolves.toBe(0);
    } finally {
      await new Promise((resolve) => db.close(resolve));
    }
  });

  it('JSON log lines (the default off a TTY) parse and carry the lifecycle', async () => {
    const port = await freePort();
    const sup = superviseInProcess(['--port', String(port), '--', node, fixture('healthy-server.mjs')], {
      NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_LOG_FORMAT: '',
    });
    current = sup;
    await waitFor(() => /"event":"ready"/.test(sup.stdout()), { timeout: 15_000, message: 'no ready event in the JSON log' });
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    const lines = sup.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = lines.map((l) => l['event']).filter(Boolean);
    for (const e of ['config-loaded', 'spawning', 'spawned', 'ready', 'stopping', 'exited', 'stopped']) expect(events).toContain(e);
    expect(lines.some((l) => l['stream'] === 'stdout' && typeof l['line'] === 'string')).toBe(true);
    for (const l of lines) expect(typeof l['time']).toBe('string');
  });
});
