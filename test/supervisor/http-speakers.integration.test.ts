/**
 * health.type "auto" with a real supervisor (Supervisor + realDeps) and a real HTTP server
 * (test/fixtures/healthy-server.mjs): an instance that answered HTTP (a 503 while its gate file is
 * missing) and is then frozen with SIGSTOP lets each probe time out after accepting the connection
 * (the kernel still completes the TCP handshake). Before src/supervisor/http-speakers.ts that read
 * as "accepts TCP but does not speak HTTP", i.e. ready; now it is a failed probe, and the instance
 * becomes ready only once it answers again with a status below 500.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import { FIXTURES_DIR, assertAllGone, fixture, killAllTracked, track, waitFor } from '../helpers/processes.js';
import { freePort, stopOrFail } from '../helpers/supervise.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  const failures: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => failures.push(e));
  killAllTracked();
  if (failures.length > 0) throw failures[0];
});

const SILENT = 'no HTTP answer within';

describe('health.type "auto" against a real HTTP server that goes silent', () => {
  it('an instance that answered 503 and is then frozen (SIGSTOP) is not ready while frozen; ready once it answers again', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-speakers-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    const port = await freePort();
    const gate = join(tmp, 'healthy');
    const { config } = resolveConfig({
      cwd: FIXTURES_DIR,
      env: {},
      filepath: join(tmp, '.naija-suprc.json'),
      file: {
        name: 'speakers-it',
        command: [process.execPath, fixture('healthy-server.mjs')],
        env: { HEALTH_GATE: gate },
        port,
        // "auto" stated explicitly: with health.path set it would default to "http". The path is
        // /health so that the gate (503) holds; "/" answers 404, which "auto" takes as ready.
        health: { type: 'auto', path: '/health', interval: '25ms', timeout: '300ms', startupTimeout: '60s' },
        shutdown: { timeout: '5s' },
      },
    });
    expect(config.health.type).toBe('auto');

    const events: SupervisorEvent[] = [];
    const pids: number[] = [];
    const onEvent = (event: SupervisorEvent): void => {
      events.push(event);
      if (event.type === 'spawned') {
        pids.push(event.pid);
        track(event.pid);
      }
    };
    mkdirSync(join(tmp, 'run'), { mode: 0o700 });
    const supervisor = new Supervisor(config, realDeps({ runDir: join(tmp, 'run'), baseEnv: { PATH: process.env['PATH'], HOME: process.env['HOME'] }, onEvent }));
    const done = supervisor.start();
    cleanups.push(() => stopOrFail(done, () => {
      supervisor.stop();
      supervisor.stop();
    }));
    // A failed assertion must not leave the instance frozen: a stopped process ignores SIGTERM.
    cleanups.push(() => {
      for (const pid of pids) {
        try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
      }
    });
    const startupProbes = (): Array<Extract<SupervisorEvent, { type: 'probe' }>> =>
      events.filter((e): e is Extract<SupervisorEvent, { type: 'probe' }> => e.type === 'probe' && (e.probe ?? 'startup') === 'startup');
    const readies = (): SupervisorEvent[] => events.filter((e) => e.type === 'ready');

    // The instance speaks HTTP: its /health answered 503 (the gate file is missing).
    await waitFor(() => startupProbes().some((e) => e.status === 503), { timeout: 20_000, message: 'no startup probe saw the 503' });
    const pid = pids[0] as number;
    expect(pids).toHaveLength(1);
    process.kill(pid, 'SIGSTOP');
    const frozenAt = startupProbes().length;

    // Frozen: connections are accepted, nothing answers. Wait until two probes timed out and were
    // judged failed, or until a 'ready' (the bug: a timeout read as "does not speak HTTP" = up).
    const silentFailures = (): number => startupProbes().slice(frozenAt).filter((e) => !e.ok && e.detail.includes(SILENT)).length;
    await waitFor(() => silentFailures() >= 2 || readies().length > 0, {
      timeout: 20_000,
      message: `fewer than 2 startup probes reported "${SILENT}" while the instance was frozen`,
    });
    expect(readies()).toEqual([]);
    // No probe of the frozen instance passed (a probe in flight at the SIGSTOP may still have had its 503).
    expect(startupProbes().slice(frozenAt).filter((e) => e.ok)).toEqual([]);

    process.kill(pid, 'SIGCONT');
    writeFileSync(gate, '');
    await waitFor(() => readies().length > 0, { timeout: 20_000, message: 'the instance did not become ready after SIGCONT and the gate' });
    expect(readies()[0]).toMatchObject({ type: 'ready', pid });
    // Still the first instance: freezing it did not count as a crash.
    expect(pids).toEqual([pid]);

    await stopOrFail(done, () => supervisor.stop());
    await assertAllGone(pids);
  }, 90_000);
});
