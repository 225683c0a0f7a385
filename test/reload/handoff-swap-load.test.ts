// Blue/green on one handed-over socket under continuous load: start green on the same fd, wait
// until green itself answers (answeredBy), SIGTERM blue, wait until blue is gone and the load has
// moved to green; 5 times. No request may fail. This is the procedure the runner's reload follows in
// handoff mode (issue 8).
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
        // Green is the only instance left on the socket, so the load must move to it: at once for
        // one connection per request (Python), once blue has closed its keep-alive connections and
        // the clients reconnect (Node). Waiting for that here, not after the loop, keeps the next
        // swap from starting before this green took any load.
        await waitFor(() => tally.count(green.pid) >= 20, { timeout: 10_000, message: `swap ${i + 1}: the load never moved to green (pid ${green.pid})` });
        blue = green;
      }
    } finally {
      controller.abort();
    }
    const result = await load;

    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    // The waits above proved that the load went through all six instances (20 answers each); every
    // answer came from one of them, with its pid.
    expect(result.ok).toBe(started.reduce((sum, pid) => sum + tally.count(pid), 0));
    // Every blue drained gracefully (exit 0, not a SIGKILL after the grace period).
    expect(swaps.map((swap) => swap.exitCode)).toEqual([0, 0, 0, 0, 0]);

    await blue.stop();
    await assertAllGone(started);
  });
});
