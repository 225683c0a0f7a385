/**
 * The App (src/app/app.ts) with a fake mode and fake runner deps: no processes, no sockets. What a
 * user sees from its guards: a stop while the mode opens, scale's refusals and its report of
 * instances that did not get ready, one reload at a time, signals forwarded to every instance, and
 * an internal error ending start().
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReloadMode, ResolvedConfig } from '../../src/config/types.js';
import { App } from '../../src/app/app.js';
import type { InstanceWiring, Mode } from '../../src/reload/mode.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import type { InstanceHandle, ProbeOutcome, RunnerDeps, SpawnFailure } from '../../src/supervisor/runner.js';
import { runnerConfig } from '../helpers/runner-config.js';
import { waitFor } from '../helpers/processes.js';

class FakeChild implements InstanceHandle {
  private exitListeners: Array<(i: { code: number | null; signal: NodeJS.Signals | null }) => void> = [];
  constructor(readonly pid: number) {}
  onLine(): void {}
  onExit(l: (i: { code: number | null; signal: NodeJS.Signals | null }) => void): void {
    this.exitListeners.push(l);
  }
  onSpawnError(_l: (e: SpawnFailure) => void): void {}
  stderrTail(): string[] {
    return [];
  }
  exit(code: number | null, signal: NodeJS.Signals | null): void {
    for (const l of this.exitListeners) l({ code, signal });
  }
}

interface World {
  events: SupervisorEvent[];
  children: FakeChild[];
  signals: Array<[number, NodeJS.Signals]>;
  /** What the startup probe answers, per instance index (default: ready). */
  probe: (index: number) => Promise<ProbeOutcome>;
  makeDeps: (wiring: InstanceWiring, onEvent: (event: SupervisorEvent) => void) => RunnerDeps;
}

/** Fake runner deps: children exit on SIGTERM/SIGKILL, the probe answers as `world.probe` says. */
function world(): World {
  const alive = new Set<number>();
  let nextPid = 2000;
  const w: World = {
    events: [],
    children: [],
    signals: [],
    probe: () => Promise.resolve({ ok: true, latencyMs: 1, detail: '200 OK' }),
    makeDeps: (wiring, onEvent) => {
      const byPid = new Map<number, FakeChild>();
      const index = Number(wiring.extraEnv['NAIJA_SUP_INSTANCE'] ?? 0);
      return {
        spawn: () => {
          const child = new FakeChild(nextPid++);
          w.children.push(child);
          byPid.set(child.pid, child);
          alive.add(child.pid);
          return child;
        },
        signalGroup: (pid, signal) => {
          w.signals.push([pid, signal]);
          if (signal === 'SIGTERM' || signal === 'SIGKILL') {
            alive.delete(pid);
            queueMicrotask(() => byPid.get(pid)?.exit(null, signal));
          }
        },
        groupMembers: (pid) => (alive.has(pid) ? [pid] : []),
        probe: () => w.probe(index),
        classify: ({ code, signal }) => ({ cause: code === 0 ? 'clean-exit' : signal ? 'killed' : 'exit-code', summary: `code ${code} signal ${signal}`, fix: 'fix it' }),
        clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
        random: () => 0.5,
        onEvent: (e) => {
          w.events.push(e);
          onEvent(e);
        },
      };
    },
  };
  return w;
}

function fakeMode(name: ReloadMode, over: Partial<Mode> = {}): Mode & { switches: Array<[number, boolean]> } {
  const switches: Array<[number, boolean]> = [];
  return {
    name,
    address: name === 'direct' ? null : '127.0.0.1:8000',
    zeroDowntime: false,
    privatePorts: false,
    instanceConfig: (config) => Promise.resolve(config),
    wiring: () => ({ extraFds: [], extraEnv: {}, verifyAnsweredBy: false }),
    switchTo: (index, config) => void switches.push([index, config !== null]),
    retire: () => Promise.resolve(),
    publicUrl: (url) => url,
    adoptReload: (_current, next) => ({ config: next }),
    close: () => Promise.resolve(),
    switches,
    ...over,
  };
}

const config = (over: Partial<ResolvedConfig> = {}): ResolvedConfig => runnerConfig({ restart: { ...runnerConfig().restart, policy: 'never' }, ...over });

function app(w: World, mode: Mode | Promise<Mode>, cfg = config()): App {
  return new App({ config: cfg, makeDeps: w.makeDeps, openMode: () => Promise.resolve(mode), onEvent: () => undefined });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('App', () => {
  it('a stop that comes while the mode is opening stops the instances as soon as they exist', async () => {
    const w = world();
    let open: (mode: Mode) => void = () => undefined;
    const a = new App({ config: config(), makeDeps: w.makeDeps, openMode: () => new Promise((resolve) => (open = resolve)), onEvent: () => undefined });
    const done = a.start();
    a.stop();
    open(fakeMode('direct'));
    await expect(done).resolves.toBe(0);
    // Nothing was started for a stop that came first.
    expect(w.children).toEqual([]);
  });

  it('has no proxy counts when its mode keeps none', async () => {
    const w = world();
    const a = app(w, fakeMode('direct'));
    expect(a.proxyStats()).toBeNull();
    const done = a.start();
    await waitFor(() => a.supervisor?.state.tag === 'ready');
    expect(a.proxyStats()).toBeNull();
    a.stop();
    await expect(done).resolves.toBe(0);
  });

  it('forwards a signal to every instance and answers with the last pid that got it', async () => {
    const w = world();
    const a = app(w, fakeMode('handoff'), config({ instances: 2 }));
    const done = a.start();
    await waitFor(() => a.members.length === 2 && a.members.every((m) => m.supervisor?.state.tag === 'ready'));
    const pids = w.children.map((c) => c.pid);
    expect(a.forward('SIGUSR2')).toBe(pids[1]);
    expect(w.signals.filter(([, s]) => s === 'SIGUSR2')).toEqual(pids.map((pid) => [pid, 'SIGUSR2']));
    a.stop();
    await expect(done).resolves.toBe(0);
    expect(a.forward('SIGUSR2')).toBeNull();
  });

  it('scale refuses what it cannot do, saying why', async () => {
    const w = world();
    const direct = app(w, fakeMode('direct'));
    await expect(direct.scale(2)).resolves.toEqual({ ok: false, cause: 'the app is not running', instances: 0 });
    const done = direct.start();
    await waitFor(() => direct.supervisor?.state.tag === 'ready');
    await expect(direct.scale(0)).resolves.toEqual({ ok: false, cause: 'expected an integer ≥ 1, got 0', instances: 1 });
    await expect(direct.scale(1.5)).resolves.toEqual({ ok: false, cause: 'expected an integer ≥ 1, got 1.5', instances: 1 });
    await expect(direct.scale(2)).resolves.toMatchObject({ ok: false, cause: expect.stringContaining('mode "direct" runs one instance') as string, instances: 1 });
    direct.stop();
    await expect(done).resolves.toBe(0);
    await expect(direct.scale(1)).resolves.toEqual({ ok: false, cause: 'the app is not running', instances: 1 });
  });

  it('scale up reports the new instances that did not get ready, and one scale at a time', async () => {
    const w = world();
    const base = config();
    const a = app(w, fakeMode('handoff'), config({ health: { ...base.health, startupTimeout: 200 } }));
    const done = a.start();
    await waitFor(() => a.supervisor?.state.tag === 'ready');
    // New instances never answer their startup probe.
    w.probe = (index) => Promise.resolve(index === 0 ? { ok: true, latencyMs: 1, detail: '200 OK' } : { ok: false, latencyMs: 1, detail: 'connection refused' });
    const scaling = a.scale(3);
    await expect(a.scale(2)).resolves.toEqual({ ok: false, cause: 'a reload, restart or scale is already in progress', instances: 3 });
    await expect(scaling).resolves.toEqual({ ok: false, cause: 'instances 1, 2 did not get ready', instances: 3 });
    // Scaled-down instances end without ending the app; the two that gave up still count in its exit status.
    await expect(a.scale(1)).resolves.toEqual({ ok: true, instances: 1 });
    expect(a.supervisor?.state.tag).toBe('ready');
    a.stop();
    await expect(done).resolves.toBe(1);
  });

  it('one reload at a time: a single instance answers for itself, several say the app is busy', async () => {
    const w = world();
    const single = app(w, fakeMode('direct'));
    const singleDone = single.start();
    await waitFor(() => single.supervisor?.state.tag === 'ready');
    expect((await single.reload(config(), true)).ok).toBe(true);
    single.stop();
    await expect(singleDone).resolves.toBe(0);
    await expect(single.restart()).resolves.toMatchObject({ ok: false, outcome: 'not-running' });

    const w2 = world();
    const pair = app(w2, fakeMode('handoff'), config({ instances: 2 }));
    const pairDone = pair.start();
    await waitFor(() => pair.members.length === 2 && pair.members.every((m) => m.supervisor?.state.tag === 'ready'));
    // The restarted processes take a while to get ready: the rolling restart is still under way.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    w2.probe = async () => {
      await gate;
      return { ok: true, latencyMs: 1, detail: '200 OK' };
    };
    const restarting = pair.restart();
    await expect(pair.reload(config({ instances: 2 }))).resolves.toMatchObject({ ok: false, outcome: 'busy', cause: 'a reload, restart or scale is already in progress' });
    release();
    await expect(restarting).resolves.toMatchObject({ ok: true });
    pair.stop();
    await expect(pairDone).resolves.toBe(0);
  });

  it('start() rejects with an internal error of an instance, after closing the mode', async () => {
    const w = world();
    const close = vi.fn(() => Promise.reject(new Error('already closed')));
    const mode = fakeMode('direct', { instanceConfig: () => Promise.reject(new Error('no private port left')), close });
    const a = app(w, mode);
    await expect(a.start()).rejects.toThrow('no private port left');
    expect(close).toHaveBeenCalledOnce();
  });
});
