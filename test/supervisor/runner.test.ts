/**
 * The runner with fake timers and fake children: no processes, no sockets. It checks the wiring
 * between the machine's effects and the outside world (timers, probes, signals, group waits).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { Supervisor, type InstanceHandle, type ProbeOutcome, type RunnerDeps, type SpawnFailure } from '../../src/supervisor/runner.js';
import { runnerConfig } from '../helpers/runner-config.js';

class FakeChild implements InstanceHandle {
  private lineListeners: Array<(s: 'stdout' | 'stderr', l: string) => void> = [];
  private exitListeners: Array<(i: { code: number | null; signal: NodeJS.Signals | null }) => void> = [];
  private errorListeners: Array<(e: SpawnFailure) => void> = [];
  readonly stderr: string[] = [];
  constructor(readonly pid: number | undefined) {}
  onLine(l: (s: 'stdout' | 'stderr', l: string) => void): void { this.lineListeners.push(l); }
  onExit(l: (i: { code: number | null; signal: NodeJS.Signals | null }) => void): void { this.exitListeners.push(l); }
  onSpawnError(l: (e: SpawnFailure) => void): void { this.errorListeners.push(l); }
  stderrTail(n: number): string[] { return this.stderr.slice(-n); }
  line(stream: 'stdout' | 'stderr', text: string): void {
    if (stream === 'stderr') this.stderr.push(text);
    for (const l of this.lineListeners) l(stream, text);
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void { for (const l of this.exitListeners) l({ code, signal }); }
  fail(code: string): void { const e = { code, message: `command not found: node (${code})`, exitStatus: code === 'ENOENT' ? 127 : 126 }; for (const l of this.errorListeners) l(e); }
}

const config = runnerConfig;

function harness(cfg = config(), extra: Partial<RunnerDeps> = {}) {
  const children: FakeChild[] = [];
  const events: SupervisorEvent[] = [];
  const signals: Array<[number, NodeJS.Signals]> = [];
  const alive = new Set<number>();
  let probeResult: ProbeOutcome = { ok: false, latencyMs: 1, detail: 'connection refused' };
  let nextPid = 1000;
  const deps: RunnerDeps = {
    spawn: () => {
      const child = new FakeChild(nextPid++);
      children.push(child);
      if (child.pid) alive.add(child.pid);
      return child;
    },
    signalGroup: (pid, signal) => { signals.push([pid, signal]); },
    groupMembers: (pid) => (alive.has(pid) ? [pid] : []),
    probe: async () => probeResult,
    classify: ({ code, signal }) => ({ cause: code === 0 ? 'clean-exit' : signal ? 'killed' : 'exit-code', summary: `code ${code} signal ${signal}`, fix: 'fix it' }),
    clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    ...extra,
  };
  const sup = new Supervisor(cfg, deps);
  return {
    sup, children, events, signals,
    setProbe: (r: ProbeOutcome) => { probeResult = r; },
    /** The child exits and its group is gone. */
    die: (child: FakeChild, code: number | null, signal: NodeJS.Signals | null = null) => { alive.delete(child.pid!); child.exit(code, signal); },
    kinds: () => events.map((e) => e.type),
  };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('Supervisor runner (fake timers, fake children)', () => {
  it('polls the probe at once, then after 10, 20, 40, 80 ms, then every interval until ready; a crash restarts after the backoff', async () => {
    const h = harness();
    const t0 = Date.now();
    void h.sup.start();
    expect(h.sup.state.tag).toBe('starting');
    const probes = (): number => h.events.filter((e) => e.type === 'probe').length;
    // At 0, 10, 30, 70 and 150 ms (the doubling is capped at health.interval, 100 ms here), then 250.
    for (const [at, expected] of [[0, 1], [9, 1], [10, 2], [29, 2], [30, 3], [70, 4], [150, 5], [249, 5], [250, 6]] as const) {
      await vi.advanceTimersByTimeAsync(at - (Date.now() - t0));
      expect(probes(), `probes by ${at} ms`).toBe(expected);
    }
    h.setProbe({ ok: true, latencyMs: 2, detail: '200 OK' });
    await vi.advanceTimersByTimeAsync(100);
    expect(h.sup.state.tag).toBe('ready');
    h.die(h.children[0]!, 1);
    await vi.advanceTimersByTimeAsync(0);
    // The first restart after a ready run is immediate.
    await vi.advanceTimersByTimeAsync(0);
    expect(h.children.length).toBe(2);
    expect(h.sup.context.restarts).toBe(1);
  });

  it('a server that opens its port between two probes is probed at once (the silent check), found ready once, never before its probe passed', async () => {
    let open = false;
    let checks = 0;
    // Fake time: the port opens at 200 ms, between the probes at 150 and 250 ms.
    const h = harness(config(), { accepts: () => { checks += 1; return Promise.resolve(open); } });
    const t0 = Date.now();
    void h.sup.start();
    const probes = (): number => h.events.filter((e) => e.type === 'probe').length;
    await vi.advanceTimersByTimeAsync(200);
    expect(probes()).toBe(5);
    expect(checks).toBeGreaterThan(0);
    open = true;
    h.setProbe({ ok: true, latencyMs: 1, detail: '200 OK' });
    await vi.advanceTimersByTimeAsync(10);
    // Woken by the check, not by the interval (which would probe at 250 ms).
    expect(Date.now() - t0).toBeLessThan(250);
    expect(h.sup.state.tag).toBe('ready');
    expect(probes()).toBe(6);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.events.filter((e) => e.type === 'ready')).toHaveLength(1);
  });

  it('a startup timeout signals the group once and restarts with cause startup-timeout', async () => {
    const h = harness();
    void h.sup.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.signals).toEqual([[1000, 'SIGTERM']]);
    h.die(h.children[0]!, null, 'SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.context.lastExit?.cause).toBe('startup-timeout');
    expect(h.sup.context.restarts).toBe(1);
    expect(h.children.length).toBe(2);
  });

  it('tells the classifier what it sent an instance it was stopping: nothing for a crash, the stop signal and the escalation for a stop', async () => {
    const seen: unknown[] = [];
    const h = harness(config(), {
      classify: ({ code, signal, stopping }) => {
        seen.push(stopping);
        return { cause: signal ? 'killed' : 'exit-code', summary: `code ${code} signal ${signal}`, fix: 'fix it' };
      },
    });
    h.setProbe({ ok: true, latencyMs: 1, detail: 'ok' });
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    h.die(h.children[0]!, null, 'SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('ready');
    h.sup.stop();
    await vi.advanceTimersByTimeAsync(2000);
    h.die(h.children[1]!, null, 'SIGKILL');
    await expect(done).resolves.toBe(0);
    expect(seen).toEqual([undefined, { sent: ['SIGTERM', 'SIGKILL'], escalation: 'timeout' }]);
  });

  it('stop: SIGTERM, then SIGKILL after shutdown.timeout, then exit 0 once the group is gone', async () => {
    const h = harness();
    h.setProbe({ ok: true, latencyMs: 1, detail: 'ok' });
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('ready');
    h.sup.stop();
    expect(h.signals).toEqual([[1000, 'SIGTERM']]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(h.signals).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.signals).toEqual([[1000, 'SIGTERM'], [1000, 'SIGKILL']]);
    h.die(h.children[0]!, null, 'SIGKILL');
    await expect(done).resolves.toBe(0);
    expect(h.kinds()).toContain('escalated');
  });

  it('a second stop kills at once', async () => {
    const h = harness();
    void h.sup.start();
    h.sup.stop();
    h.sup.stop();
    expect(h.signals).toEqual([[1000, 'SIGTERM'], [1000, 'SIGKILL']]);
  });

  it('waits for the rest of the group after the leader exits before reporting the exit', async () => {
    const h = harness();
    const alive = new Set([1000, 1001]);
    const sup = new Supervisor(config(), {
      ...((h.sup as unknown as { deps: RunnerDeps }).deps),
      groupMembers: () => [...alive],
      signalGroup: (pid, sig) => { h.signals.push([pid, sig]); if (sig === 'SIGKILL') alive.clear(); },
    });
    h.setProbe({ ok: true, latencyMs: 1, detail: 'ok' });
    void sup.start();
    await vi.advanceTimersByTimeAsync(0);
    alive.delete(1000);
    h.children[h.children.length - 1]!.exit(1);
    // The worker (1001) survives the leader: it gets the stop signal, then SIGKILL after the timeout.
    await vi.advanceTimersByTimeAsync(0);
    expect(h.signals).toEqual([[1000, 'SIGTERM']]);
    expect(sup.state.tag).toBe('ready');
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.signals).toEqual([[1000, 'SIGTERM'], [1000, 'SIGKILL']]);
    await vi.advanceTimersByTimeAsync(20);
    expect(sup.context.restarts).toBe(1);
    expect(sup.context.lastExit?.code).toBe(1);
  });

  it('a log-line probe is ready on the first matching line', async () => {
    const h = harness(config({ health: { ...config().health, type: 'log', log: 'Server is up' } }));
    void h.sup.start();
    h.children[0]!.line('stdout', 'booting');
    expect(h.sup.state.tag).toBe('starting');
    h.children[0]!.line('stdout', '\u001b[32mServer is up\u001b[0m on 8000');
    expect(h.sup.state.tag).toBe('ready');
  });

  it('a spawn error (ENOENT) is fatal with 127', async () => {
    const h = harness();
    const sup = new Supervisor(config(), {
      ...((h.sup as unknown as { deps: RunnerDeps }).deps),
      spawn: () => { const c = new FakeChild(undefined); h.children.push(c); return c; },
    });
    const done = sup.start();
    h.children[0]!.fail('ENOENT');
    await expect(done).resolves.toBe(127);
    expect(sup.context.lastExit?.summary).toMatch(/command not found/);
  });

  it('liveness: failureThreshold consecutive failures restart the instance', async () => {
    const h = harness(config({ health: { ...config().health, liveness: { type: 'http', path: '/health', interval: 1000, timeout: 500, failureThreshold: 3 } } }));
    h.setProbe({ ok: true, latencyMs: 1, detail: 'ok' });
    void h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('ready');
    h.setProbe({ ok: false, latencyMs: 500, detail: 'timed out after 500 ms' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.sup.state.tag).toBe('ready');
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.sup.state.tag).toBe('stopping');
    expect(h.kinds()).toContain('liveness-failed');
  });

  it('forwards SIGUSR1 to the group of the running instance', async () => {
    const h = harness();
    void h.sup.start();
    expect(h.sup.forward('SIGUSR1')).toBe(1000);
    expect(h.signals).toContainEqual([1000, 'SIGUSR1']);
  });
});

describe('the restart policy at its defaults (fake timers, fake children)', () => {
  /** restart.* exactly as a user gets it without a config: maxRestarts null, startRetries 2, maxDelay 5 min. */
  const defaults = resolveConfig({ cwd: '/tmp', requireCommand: false }).config.restart;

  it('six kill -9 after readiness, one after another: restarted every time, never fatal', async () => {
    const h = harness(config({ restart: defaults }));
    h.setProbe({ ok: true, latencyMs: 1, detail: '200 OK' });
    let ended = false;
    void h.sup.start().then(() => { ended = true; });
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 6; i++) {
      expect(h.sup.state.tag).toBe('ready');
      h.die(h.children[i]!, null, 'SIGKILL');
      await vi.advanceTimersByTimeAsync(0);
      const wait = h.sup.state.tag === 'backoff' ? h.sup.state.delayMs : 0;
      await vi.advanceTimersByTimeAsync(wait);
    }
    expect(h.sup.state.tag).toBe('ready');
    expect(h.children).toHaveLength(7);
    expect(h.kinds()).not.toContain('fatal');
    expect(ended).toBe(false);
    const backoffs = h.events.flatMap((e) => (e.type === 'backoff' ? [e] : []));
    expect(backoffs.map((e) => e.delayMs)).toEqual([0, 100, 200, 400, 800, 1600]);
    expect(backoffs.every((e) => e.maxRestarts === null)).toBe(true);
  });

  it('a server that never gets ready is fatal within startupTimeout × 3 attempts + the backoffs, with exit 1', async () => {
    const h = harness(config({ restart: defaults }));
    // A server that obeys SIGTERM at once: its whole group is gone right after the signal.
    (h.sup as unknown as { deps: RunnerDeps }).deps.signalGroup = (pid, signal) => {
      h.signals.push([pid, signal]);
      const child = h.children.find((c) => c.pid === pid);
      if (child) queueMicrotask(() => h.die(child, null, signal));
    };
    let status: number | null = null;
    void h.sup.start().then((s) => { status = s; });
    const startupTimeout = config().health.startupTimeout;
    // Three attempts of startupTimeout each; between them waits of 0 and initialDelay (no jitter at
    // random 0.5), and a few ms of slack: Node runs a 0 ms timer after 1 ms.
    await vi.advanceTimersByTimeAsync(3 * startupTimeout + defaults.initialDelay + 10);
    expect(status).toBe(1);
    expect(h.children).toHaveLength(3);
    const fatal = h.events.find((e) => e.type === 'fatal');
    expect(fatal).toMatchObject({ reason: expect.stringMatching(/^never got ready in 3 attempts \(restart\.startRetries is 2\); the last one: /) });
    expect(h.sup.context.lastExit?.cause).toBe('startup-timeout');
  });
});
