/**
 * A spawn that fails for want of file descriptors (EMFILE/ENFILE, issue 15) is retried with
 * backoff, never fatal, and the warning names the fd limit, not the command or the cwd. Fake
 * timers and fake children, like test/supervisor/runner.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { Supervisor, type InstanceHandle, type ProbeOutcome, type RunnerDeps, type SpawnFailure } from '../../src/supervisor/runner.js';

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
  fail(code: string, message: string): void { const e = { code, message, exitStatus: 1 }; for (const l of this.errorListeners) l(e); }
}

function config(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return {
    name: 'api', command: ['node', 'server.js'], cwd: '/tmp', env: {}, redact: [], port: 8000, host: '127.0.0.1', pidFile: null, portFallback: false,
    health: { type: 'http', path: '/health', timeout: 1000, interval: 100, startupTimeout: 5000, log: null, liveness: null, readiness: null },
    restart: { policy: 'on-failure', initialDelay: 100, maxDelay: 1000, factor: 2, startRetries: 2, maxRestarts: 3, window: 60_000, minUptime: 1000, standby: false },
    shutdown: { signal: 'SIGTERM', timeout: 2000 },
    cleanup: { killExisting: false, match: [] },
    bcrypt: { fallback: false },
    dependsOn: [],
    dependencies: { timeout: 10_000, retries: 3 },
    status: { port: null, host: '127.0.0.1', maxConnections: 64, token: null },
    alerts: { crashRate: null, webhook: [], notReadyFor: 120_000 },
    logFormat: null,
    logs: { maxSize: 10 * 1024 * 1024, maxFiles: 5 },
    mode: 'direct',
    instances: 1,
    proxy: { protocol: 'http', queueTimeout: 10_000, forwardedHeaders: true },
    ...over,
  };
}

function harness(cfg = config()) {
  const children: FakeChild[] = [];
  const events: SupervisorEvent[] = [];
  const signals: Array<[number, NodeJS.Signals]> = [];
  const alive = new Set<number>();
  let probeResult: ProbeOutcome = { ok: false, latencyMs: 1, detail: 'connection refused' };
  let nextPid = 1000;
  const failures: string[] = [];
  const deps: RunnerDeps = {
    spawn: () => {
      const code = failures.shift();
      const child = new FakeChild(code === undefined ? nextPid++ : undefined);
      // Like spawnInstance: the failure is reported on the next tick, after the handler is attached.
      if (code !== undefined) queueMicrotask(() => child.fail(code, `could not start the server: naija-sup is out of file descriptors (${code}: open-files limit 256)`));
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
  };
  const sup = new Supervisor(cfg, deps);
  return {
    sup, children, events, signals, failures,
    setProbe: (r: ProbeOutcome) => { probeResult = r; },
    /** The child exits and its group is gone. */
    die: (child: FakeChild, code: number | null, signal: NodeJS.Signals | null = null) => { alive.delete(child.pid!); child.exit(code, signal); },
    kinds: () => events.map((e) => e.type),
  };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('a spawn out of file descriptors', () => {
  it('is retried with backoff (never fatal) until it works, and the warning names the fd limit', async () => {
    const h = harness();
    h.failures.push('EMFILE', 'EMFILE', 'ENFILE');
    h.setProbe({ ok: true, latencyMs: 1, detail: '200 OK' });
    void h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('spawning');
    const warnings = (): string[] => h.events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatch(/out of file descriptors \(EMFILE: open-files limit 256\); trying again in 100 ms \(attempt 2\)/);
    expect(warnings()[0]).not.toMatch(/server\.js|\/tmp/);
    // initialDelay 100 ms, then × 2 (random 0.5: no jitter).
    await vi.advanceTimersByTimeAsync(99);
    expect(h.children).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.children).toHaveLength(2);
    expect(warnings()[1]).toMatch(/trying again in 200 ms \(attempt 3\)/);
    await vi.advanceTimersByTimeAsync(200);
    expect(warnings()[2]).toMatch(/ENFILE.*trying again in 400 ms \(attempt 4\)/);
    await vi.advanceTimersByTimeAsync(400);
    expect(h.children).toHaveLength(4);
    expect(h.sup.state.tag).toBe('ready');
    expect(h.kinds()).not.toContain('fatal');
  });

  it('a stop while a retry waits ends the supervisor at once, without spawning again', async () => {
    const h = harness();
    h.failures.push('EMFILE');
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('spawning');
    h.sup.stop();
    await expect(done).resolves.toBe(0);
    expect(h.sup.state.tag).toBe('stopped');
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.children).toHaveLength(1);
  });

  it('ENOENT is still fatal at once: a missing command does not heal', async () => {
    const h = harness();
    h.failures.push('ENOENT');
    const done = h.sup.start();
    await expect(done).resolves.toBe(1);
    expect(h.kinds()).toContain('fatal');
  });
});
