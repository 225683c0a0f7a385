// Blue/green on one handed-over socket under continuous load: start green on the same fd, wait
// until green itself answers (answeredBy), SIGTERM blue, wait until blue is gone; 5 times. No
// request may fail. This is the procedure the runner's reload follows in handoff mode (issue 8).
import { afterEach, describe, expect, it } from 'vitest';
import { probeHttpAnsweredBy } from '../../src/reload/answered-by.js';
import { createHandoffListener, type HandoffListener } from '../../src/reload/handoff.js';
import { runLoad } from '../../src/reload/load.js';
import { assertAllGone, killAllTracked, waitFor } from '../helpers/processes.js';
import { PidTally, startFdServer, type ServerKind } from './helpers.js';

const listeners: HandoffListener[] = [];

afterEach(() => {
  killAllTracked();
  for (const created of listeners.splice(0)) created.close();
});

describe.each<ServerKind>(['node', 'python'])('handoff swap under load (%s fixture)', (kind) => {
  it('5 consecutive swaps with 0 failed requests', { timeout: 90_000 }, async () => {
    const shared = createHandoffListener({ host: '127.0.0.1', port: 0 });
    listeners.push(shared);
    let blue = await startFdServer(kind, { fd: shared.fd });
    const started = [blue.pid];
    const tally = new PidTally();
    const controller = new AbortController();
    // keep-alive connections for the Node fixture; the Python one (HTTP/1.0) closes each.
    const load = runLoad({ port: shared.port, path: '/pid', concurrency: 4, durationMs: 80_000, signal: controller.signal, onResponse: tally.record });
    const swaps: { greenAnsweredMs: number; blueGoneMs: number; exitCode: number | null }[] = [];
    try {
      await waitFor(() => tally.count(blue.pid) >= 20, { timeout: 10_000, message: 'the load never reached blue' });
      for (let i = 0; i < 5; i += 1) {
        const t0 = Date.now();
        const green = await startFdServer(kind, { fd: shared.fd });
        started.push(green.pid);
        await waitFor(
          async () => {
            const probe = await probeHttpAnsweredBy({ host: '127.0.0.1', port: shared.port, path: '/health', timeout: 2000, pids: [blue.pid, green.pid] });
            return probe.ok && probe.answeredBy === green.pid;
          },
          { timeout: 15_000, interval: 5, message: `swap ${i + 1}: green (pid ${green.pid}) never answered` },
        );
        const greenAnsweredMs = Date.now() - t0;
        const { exit } = await blue.stop(15_000);
        await assertAllGone([blue.pid]);
        swaps.push({ greenAnsweredMs, blueGoneMs: Date.now() - t0, exitCode: exit.code });
        blue = green;
      }
      await waitFor(() => tally.count(blue.pid) >= 20, { timeout: 10_000, message: 'the last green got no load' });
    } finally {
      controller.abort();
    }
    const result = await load;

    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(100);
    // Every blue drained gracefully (exit 0, not a SIGKILL after the grace period)…
    expect(swaps.map((swap) => swap.exitCode)).toEqual([0, 0, 0, 0, 0]);
    // …and the load really went through all six instances.
    for (const pid of started) expect(tally.count(pid), `answers from pid ${pid}`).toBeGreaterThan(0);

    await blue.stop();
    await assertAllGone(started);
  });
});
