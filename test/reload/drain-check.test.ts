// src/reload/drain-check.ts on its failure paths, with real processes (test/fixtures/reload/drain-server.mjs,
// helper mode: `npm run build` first): whatever stops a run — the caller's signal, a step that
// throws, the run's own deadline — every process it started is gone when it settles, and the
// error says which. The measurements themselves: test/doctor/handoff-drain.test.ts and
// test/reload/handoff-drain.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { measureHandoffDrain, type DrainSwapOptions } from '../../src/reload/drain-check.js';
import type { ChildHandle } from '../../src/process/spawn.js';
import { childEnv, fixture, killAllTracked, survivors, trackChild } from '../helpers/processes.js';
import { RELOAD_FIXTURES_DIR } from './helpers.js';

afterEach(() => {
  killAllTracked();
});

/** Options for the helper-mode drain server; `spawned` collects every pid the run started. */
function options(pids: number[], extra: Partial<DrainSwapOptions> = {}): Omit<DrainSwapOptions, 'fd' | 'port'> {
  return {
    command: [process.execPath, fixture('reload/drain-server.mjs')],
    cwd: RELOAD_FIXTURES_DIR,
    env: childEnv({ SHUTDOWN: 'helper' }),
    ready: { line: /READY port=\d+ pid=\d+ fd=3/, probe: { path: '/health', anyAnswer: false } },
    loads: [{ path: '/pid', concurrency: 2, keepAlive: true }],
    swaps: 3,
    settleMs: 200,
    readyTimeout: 15_000,
    ...extra,
    hooks: {
      spawned: (handle: ChildHandle) => {
        trackChild(handle);
        if (handle.pid !== null) pids.push(handle.pid);
      },
      ...extra.hooks,
    },
  };
}

describe('drain-check: every path stops what it started', () => {
  it("the caller's signal, once the load runs: E_RELOAD_FAILED naming the step; blue is gone", { timeout: 60_000 }, async () => {
    const pids: number[] = [];
    const controller = new AbortController();
    const run = measureHandoffDrain(options(pids, { signal: controller.signal, hooks: { loadStarted: () => Promise.resolve(controller.abort()) } }));
    await expect(run).rejects.toMatchObject({ code: 'E_RELOAD_FAILED', message: 'The handoff drain measurement was stopped (at starting swap 1: the new instance).' });
    expect(pids).toHaveLength(1);
    expect(survivors(pids)).toEqual([]);
  });

  it('a step that throws with blue and green both running: the error as it was; both are gone', { timeout: 60_000 }, async () => {
    const pids: number[] = [];
    const run = measureHandoffDrain(options(pids, { hooks: { greenAnswers: () => Promise.reject(new Error('a test step failed')) } }));
    await expect(run).rejects.toThrow('a test step failed');
    expect(pids).toHaveLength(2);
    expect(survivors(pids)).toEqual([]);
  });

  it("the run's own deadline: E_RELOAD_FAILED saying so; everything started is gone", { timeout: 60_000 }, async () => {
    const pids: number[] = [];
    const run = measureHandoffDrain(options(pids, { swaps: 1000, timeout: 3000 }));
    await expect(run).rejects.toMatchObject({ code: 'E_RELOAD_FAILED', message: expect.stringMatching(/^The handoff drain measurement did not finish within 3 s \(at /) });
    expect(pids.length).toBeGreaterThan(1);
    expect(survivors(pids)).toEqual([]);
  });
});
