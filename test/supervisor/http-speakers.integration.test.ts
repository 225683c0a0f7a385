/**
 * health.type "auto" with a real supervisor (Supervisor + realDeps) and a real HTTP server
 * (test/fixtures/healthy-server.mjs): an instance that answered HTTP (a 503 while its gate file is
 * missing) and is then frozen with SIGSTOP lets each probe time out after accepting the connection
 * (the kernel still completes the TCP handshake). Before src/supervisor/http-speakers.ts that read
 * as "accepts TCP but does not speak HTTP", i.e. ready; now it is a failed probe, and the instance
 * becomes ready only once it answers again with a status below 500.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { cleanupsAfterEach, gatedApp, realSupervisor } from '../helpers/gated-supervisor.js';
import { assertAllGone, waitFor } from '../helpers/processes.js';
import { stopOrFail } from '../helpers/supervise.js';

const cleanups = cleanupsAfterEach();

const SILENT = 'no HTTP answer within';

describe('health.type "auto" against a real HTTP server that goes silent', () => {
  it('an instance that answered 503 and is then frozen (SIGSTOP) is not ready while frozen; ready once it answers again', async () => {
    // "auto" stated explicitly: with health.path set it would default to "http". The path is
    // /health so that the gate (503) holds; "/" answers 404, which "auto" takes as ready.
    const app = await gatedApp(cleanups, 'speakers-it', { type: 'auto', path: '/health', interval: '25ms', timeout: '300ms', startupTimeout: '60s' }, { gateOpen: false });
    const { config, gate } = app;
    expect(config.health.type).toBe('auto');

    const events: SupervisorEvent[] = [];
    const pids: number[] = [];
    const supervisor = realSupervisor(app, (event) => {
      events.push(event);
      if (event.type === 'spawned') pids.push(event.pid);
    });
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
