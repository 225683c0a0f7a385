/**
 * Webhook alerts against a loopback receiver started by the test, with real supervised processes
 * (test/fixtures/healthy-server.mjs) and real kill -9s:
 * - a crash loop gives one alert and one resolution (the real runner's events, a 5 s crash window);
 * - through `naija-sup start` (supervise() wiring): a receiver that answers 500 then 200 gets the
 *   alert on the retry, and the dashboard's JSON shows the delivery;
 * - a receiver that hangs does not delay the restart: the new instance is ready while the POST is
 *   still unanswered.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { WebhookStatus } from '../../src/metrics/webhook-delivery.js';
import { createWebhookNotifier, type WebhookPayload } from '../../src/metrics/webhooks.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import { FIXTURES_DIR, assertAllGone, fixture, killAllTracked, track, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

interface Receiver {
  url: string;
  bodies: WebhookPayload[];
  /** Requests received and not answered yet. */
  open: ServerResponse[];
  attempts: number;
  close(): Promise<void>;
}

/** A loopback webhook receiver; `answer(n)` says what the n-th request (from 1) gets. */
async function receiver(answer: (n: number) => number | 'hang'): Promise<Receiver> {
  const r = { bodies: [] as WebhookPayload[], open: [] as ServerResponse[], attempts: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => {
      r.attempts += 1;
      const a = answer(r.attempts);
      if (a === 'hang') {
        r.open.push(res);
        res.on('close', () => { r.open.splice(r.open.indexOf(res), 1); });
        return;
      }
      if (a === 200) r.bodies.push(JSON.parse(body) as WebhookPayload);
      res.statusCode = a;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
let sup: InProcessSupervisor | null = null;
afterEach(async () => {
  const s = sup;
  sup = null;
  await finishSupervisor(s);
  for (const fn of cleanups.splice(0).reverse()) await fn();
  killAllTracked();
});

describe('webhook alerts with real processes', () => {
  it('a crash loop produces one alert and one resolution', async () => {
    const hook = await receiver(() => 200);
    cleanups.push(() => hook.close());
    const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-webhook-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    const { config } = resolveConfig({
      cwd: FIXTURES_DIR, env: {}, filepath: join(tmp, '.naija-suprc.json'),
      file: { name: 'hooked', command: [process.execPath, fixture('healthy-server.mjs')], port: await freePort(), health: { interval: '25ms' }, shutdown: { timeout: '5s' } },
    });
    const pids: number[] = [];
    let supervisor: Supervisor | null = null;
    // Two crashes inside the 5 s window are 24 a minute: above 20. One is 12: the loop is over.
    const notifier = createWebhookNotifier({
      urls: [hook.url], name: 'hooked', crashRate: 20, crashWindowMs: 5000, notReadyForMs: 60_000, tickMs: 50,
      isReady: () => supervisor?.readyForTraffic ?? false,
    });
    cleanups.push(() => notifier.close());
    const onEvent = (event: SupervisorEvent): void => {
      if (event.type === 'spawned') { pids.push(event.pid); track(event.pid); }
      notifier.handle(event);
    };
    mkdirSync(join(tmp, 'run'));
    supervisor = new Supervisor(config, realDeps({ runDir: join(tmp, 'run'), baseEnv: { PATH: process.env['PATH'] }, onEvent }));
    const done = supervisor.start();
    const running = supervisor;
    cleanups.push(async () => { running.stop(); running.stop(); await done.catch(() => 0); });

    for (let kill = 1; kill <= 2; kill += 1) {
      await waitFor(() => pids.length === kill && running.readyForTraffic, { timeout: 15_000, message: `instance ${kill} ready` });
      process.kill(pids[kill - 1] ?? 0, 'SIGKILL');
    }
    await waitFor(() => hook.bodies.length === 2, { timeout: 15_000, message: () => `alert and resolution, got ${JSON.stringify(hook.bodies.map((b) => b.status))}` });
    running.stop();
    expect(await done).toBe(0);
    await notifier.close();
    expect(hook.bodies.map((b) => `${b.incident} ${b.status}`)).toEqual(['crash-loop firing', 'crash-loop resolved']);
    const [alert, resolution] = hook.bodies;
    expect(resolution?.id).toBe(alert?.id);
    expect(alert).toMatchObject({ version: 1, app: 'hooked', severity: 'critical', cause: 'killed', resolvedAt: null });
    expect(alert?.text).toMatch(/hooked.*crash-looping/);
    expect(resolution?.resolvedAt).not.toBeNull();
    await assertAllGone(pids);
  });

  it('through naija-sup start: a receiver that answers 500 then 200 gets the alert on the retry; the dashboard shows it', async () => {
    const hook = await receiver((n) => (n === 1 ? 500 : 200));
    cleanups.push(() => hook.close());
    const statusPort = await freePort();
    sup = superviseInProcess(['--port', String(await freePort()), '--status-port', String(statusPort), '--', process.execPath, fixture('healthy-server.mjs')], {
      NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_ALERTS_CRASH_RATE: '0.5', NAIJA_SUP_ALERTS_WEBHOOK: hook.url,
    });
    await sup.waitFor(/is ready in/);
    process.kill(sup.pids[0] ?? 0, 'SIGKILL');
    await waitFor(() => hook.bodies.length === 1, { timeout: 15_000, message: () => `no alert after the retry (attempts: ${hook.attempts})` });
    expect(hook.attempts).toBe(2);
    expect(hook.bodies[0]).toMatchObject({ incident: 'crash-loop', status: 'firing', cause: 'killed', dashboardUrl: `http://127.0.0.1:${statusPort}/` });
    const webhooks = await waitFor(async () => {
      const d = JSON.parse((await httpGet(statusPort, '/dashboard.json')).body) as { alerts: { webhooks: WebhookStatus[]; open: string[] } };
      return d.alerts.webhooks[0]?.delivered === 1 ? d.alerts : null;
    }, { timeout: 5000, message: 'the dashboard shows the delivery' });
    expect(webhooks.webhooks[0]).toMatchObject({ url: `${hook.url.replace(/\/hook$/, '')}/[redacted]`, delivered: 1, failedAttempts: 1, failed: 0, failing: false });
    expect(webhooks.open).toEqual(['crash-loop']);
    // `naija-sup status --json` carries the same delivery status.
    const out: string[] = [];
    const statusExit = await run(['status', '--json'], { stdout: (t) => out.push(t), stderr: () => undefined, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: sup.runDir }, cwd: sup.tmp, isTTY: false });
    expect(statusExit).toBe(0);
    expect((JSON.parse(out.join('')) as { webhooks?: unknown[] }).webhooks).toEqual([expect.objectContaining({ delivered: 1, failed: 0, failing: false })]);
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone(sup.pids);
  });

  it('a receiver that hangs does not delay the restart', async () => {
    const hook = await receiver(() => 'hang');
    cleanups.push(() => hook.close());
    sup = superviseInProcess(['--port', String(await freePort()), '--', process.execPath, fixture('healthy-server.mjs')], {
      NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_ALERTS_CRASH_RATE: '0.5', NAIJA_SUP_ALERTS_WEBHOOK: hook.url,
    });
    await sup.waitFor(/is ready in/);
    const current = sup;
    process.kill(current.pids[0] ?? 0, 'SIGKILL');
    await waitFor(() => hook.open.length === 1, { timeout: 10_000, message: 'the alert reached the receiver' });
    // The replacement is ready while the receiver still holds the alert unanswered.
    await waitFor(() => current.pids.length === 2 && (current.stdout() + current.stderr()).split('is ready in').length === 3, { timeout: 15_000, message: 'no restart while the webhook hangs' });
    expect(hook.open.length).toBe(1);
    current.signal('SIGTERM');
    await expect(current.done).resolves.toBe(0);
    // The supervisor gave the hanging POST a bounded grace at exit, then cut it.
    await waitFor(() => hook.open.length === 0, { timeout: 5000, message: 'the hanging request was not closed' });
    await assertAllGone(current.pids);
  });
});
