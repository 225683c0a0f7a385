/**
 * What the control socket's requests do to the app (src/app/control-target.ts), with a hand-made
 * App and fake timers: before the app exists, `stop --timeout` shorter than shutdown.timeout,
 * failed rollbacks and scales, and restarts asked for while one is under way.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { App, ReloadResult } from '../../src/app/app.js';
import { controlTarget, reloadOutcome } from '../../src/app/control-target.js';
import { createEventHub, type StatusTracker } from '../../src/control/server.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';

const SNAPSHOT = { name: 'api', state: 'ready' } as unknown as StatusSnapshot;
const tracker = { snapshot: () => SNAPSHOT } as unknown as StatusTracker;

interface FakeApp {
  stop: ReturnType<typeof vi.fn>;
  restart: ReturnType<typeof vi.fn>;
  rollback: ReturnType<typeof vi.fn>;
  scale: ReturnType<typeof vi.fn>;
  supervisor: { state: { tag: string } } | null;
  greenSupervisor: { instancePid: number; state: { tag: string } } | null;
  reloading: boolean;
}

function fakeApp(): FakeApp {
  return {
    stop: vi.fn(), restart: vi.fn(() => Promise.resolve()), rollback: vi.fn(), scale: vi.fn(),
    supervisor: { state: { tag: 'ready' } }, greenSupervisor: null, reloading: false,
  };
}

function target(app: FakeApp | null, shutdownTimeoutMs = 5000): ReturnType<typeof controlTarget> {
  return controlTarget({ app: () => app as unknown as App | null, tracker, hub: createEventHub(), reload: () => Promise.resolve({ ok: true }), shutdownTimeoutMs: () => shutdownTimeoutMs });
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('controlTarget', () => {
  it('before the app exists: rollback and scale say it is still starting, restart and stop do nothing', async () => {
    const t = target(null);
    expect(await t.rollback()).toEqual({ ok: false, errors: ['the supervisor is still starting'] });
    expect(await t.scale?.(3)).toEqual({ ok: false, errors: ['the supervisor is still starting'] });
    t.restart();
    t.stop({});
    expect(t.status()).toBe(SNAPSHOT);
  });

  it('stop --timeout shorter than shutdown.timeout sends the second stop (SIGKILL) at that timeout', async () => {
    const app = fakeApp();
    const t = target(app, 5000);
    t.stop({ timeoutMs: 1000 });
    expect(app.stop).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(app.stop).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(app.stop).toHaveBeenCalledTimes(2);
  });

  it('a --timeout longer than shutdown.timeout cannot extend it, and a repeated plain stop is not a second stop', async () => {
    const app = fakeApp();
    const t = target(app, 5000);
    t.stop({ timeoutMs: 60_000 });
    t.stop({});
    await vi.advanceTimersByTimeAsync(120_000);
    expect(app.stop).toHaveBeenCalledTimes(1);
    t.stop({ force: true });
    expect(app.stop).toHaveBeenCalledTimes(2);
  });

  it('reports a failed rollback with its outcome and cause, and a failed scale with its cause', async () => {
    const app = fakeApp();
    app.rollback.mockResolvedValue({ ok: false, outcome: 'failed', cause: 'no earlier configuration to go back to', pid: 3 } satisfies ReloadResult);
    app.scale.mockResolvedValueOnce({ ok: false, cause: 'port 8001 is in use' }).mockResolvedValueOnce({ ok: false }).mockResolvedValueOnce({ ok: true });
    const t = target(app);
    expect(await t.rollback()).toEqual({ ok: false, kind: 'failed', errors: ['rollback failed: no earlier configuration to go back to'] });
    expect(await t.scale?.(2)).toEqual({ ok: false, kind: 'failed', errors: ['port 8001 is in use'] });
    expect(await t.scale?.(2)).toEqual({ ok: false, kind: 'failed', errors: ['failed'] });
    expect(await t.scale?.(2)).toEqual({ ok: true });
  });

  it('says which new instance a reload is starting in the status', () => {
    const app = fakeApp();
    app.greenSupervisor = { instancePid: 77, state: { tag: 'starting' } };
    app.reloading = true;
    expect(target(app).status()).toEqual({ ...SNAPSHOT, reloading: { pid: 77, state: 'starting' } });
  });

  it('restarts asked for during a restart: joined while the old instance stops, else one more restart', async () => {
    const app = fakeApp();
    const finishes: Array<() => void> = [];
    app.restart.mockImplementation(() => new Promise<void>((resolve) => finishes.push(resolve)));
    const t = target(app);
    t.restart();
    app.supervisor = { state: { tag: 'stopping' } };
    t.restart(); // joins the one that is stopping the old instance
    finishes.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(app.restart).toHaveBeenCalledTimes(1);
    t.restart();
    app.supervisor = { state: { tag: 'starting' } };
    t.restart();
    t.restart(); // both queued into one more
    finishes.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(app.restart).toHaveBeenCalledTimes(3);
  });
});

describe('reloadOutcome', () => {
  it('names the verb and outcome, with the cause when there is one', () => {
    expect(reloadOutcome('reload', { ok: true, outcome: 'reloaded', pid: 1 })).toEqual({ ok: true });
    expect(reloadOutcome('reload', { ok: false, outcome: 'busy', pid: 1 })).toEqual({ ok: false, kind: 'failed', errors: ['reload busy'] });
  });
});
