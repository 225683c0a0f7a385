/**
 * The runner's public behaviour around a ready instance (src/supervisor/runner.ts), with fake
 * timers and fake children: the readiness probe taking it out of traffic and back (never a
 * restart), forwarded signals, dependencies that fail the start, a log line as readiness, the
 * fix a spawn failure carries, and an internal error that kills the instance and releases the deps.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProbeSpec, ResolvedConfig } from '../../src/config/types.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { Supervisor, type DependencyOutcome, type InstanceHandle, type ProbeOutcome, type RunnerDeps, type SpawnFailure } from '../../src/supervisor/runner.js';
import { runnerConfig } from '../helpers/runner-config.js';

class FakeChild implements InstanceHandle {
  private lineListeners: Array<(s: 'stdout' | 'stderr', l: string) => void> = [];
  private exitListeners: Array<(i: { code: number | null; signal: NodeJS.Signals | null }) => void> = [];
  private errorListeners: Array<(e: SpawnFailure) => void> = [];
  constructor(readonly pid: number | undefined) {}
  onLine(l: (s: 'stdout' | 'stderr', l: string) => void): void {
    this.lineListeners.push(l);
  }
  onExit(l: (i: { code: number | null; signal: NodeJS.Signals | null }) => void): void {
    this.exitListeners.push(l);
  }
  onSpawnError(l: (e: SpawnFailure) => void): void {
    this.errorListeners.push(l);
  }
  stderrTail(): string[] {
    return [];
  }
  line(stream: 'stdout' | 'stderr', text: string): void {
    for (const l of this.lineListeners) l(stream, text);
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    for (const l of this.exitListeners) l({ code, signal });
  }
  fail(error: SpawnFailure): void {
    for (const l of this.errorListeners) l(error);
  }
}

type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** `spawnFails`: children get no pid, as when the OS refuses the spawn (an 'error' follows). */
function harness(cfg: ResolvedConfig, extra: Partial<RunnerDeps> = {}, spawnFails = false) {
  const children: FakeChild[] = [];
  const events: SupervisorEvent[] = [];
  const signals: Array<[number, NodeJS.Signals]> = [];
  const alive = new Set<number>();
  const answers: Record<ProbeKind, () => Promise<ProbeOutcome>> = {
    startup: () => Promise.resolve({ ok: true, latencyMs: 1, detail: '200 OK' }),
    liveness: () => Promise.resolve({ ok: true, latencyMs: 1, detail: '200 OK' }),
    readiness: () => Promise.resolve({ ok: true, latencyMs: 1, detail: '200 OK' }),
  };
  let nextPid = 1000;
  const deps: RunnerDeps = {
    spawn: () => {
      const child = new FakeChild(spawnFails ? undefined : nextPid++);
      children.push(child);
      if (child.pid) alive.add(child.pid);
      return child;
    },
    signalGroup: (pid, signal) => void signals.push([pid, signal]),
    groupMembers: (pid) => (alive.has(pid) ? [pid] : []),
    probe: (kind) => answers[kind](),
    classify: ({ code, signal }) => ({ cause: code === 0 ? 'clean-exit' : signal ? 'killed' : 'exit-code', summary: `code ${code} signal ${signal}`, fix: 'fix it' }),
    clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    random: () => 0.5,
    onEvent: (e) => events.push(e),
    ...extra,
  };
  const sup = new Supervisor(cfg, deps);
  return {
    sup,
    children,
    events,
    signals,
    answers,
    die: (child: FakeChild, code: number | null, signal: NodeJS.Signals | null = null) => {
      alive.delete(child.pid as number);
      child.exit(code, signal);
    },
    of: <T extends SupervisorEvent['type']>(type: T) => events.filter((e): e is Extract<SupervisorEvent, { type: T }> => e.type === type),
  };
}

const readiness: ProbeSpec = { type: 'http', path: '/ready', log: null, interval: 100, timeout: 50, failureThreshold: 2, successThreshold: 2 };
const withReadiness = (): ResolvedConfig => {
  const base = runnerConfig();
  return runnerConfig({ health: { ...base.health, readiness } });
};
const outcome = (ok: boolean, detail: string): ProbeOutcome => ({ ok, latencyMs: 1, detail });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('readiness while ready', () => {
  it('takes the instance out of traffic after failureThreshold failures and back after successThreshold successes, never restarting it', async () => {
    const h = harness(withReadiness());
    void h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('ready');

    h.answers.readiness = () => Promise.resolve(outcome(false, 'HTTP 503 {"db":"down"}'));
    await vi.advanceTimersByTimeAsync(100);
    expect(h.of('readiness-changed')).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    // Instances are numbered from 1, in readiness events as in the rest.
    expect(h.of('ready')[0]?.instance).toBe(1);
    expect(h.of('readiness-changed')).toEqual([{ type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503 {"db":"down"}' }]);
    // Still failing: said once, not again.
    await vi.advanceTimersByTimeAsync(300);
    expect(h.of('readiness-changed')).toHaveLength(1);

    h.answers.readiness = () => Promise.resolve(outcome(true, '200 OK'));
    await vi.advanceTimersByTimeAsync(100);
    expect(h.of('readiness-changed')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.of('readiness-changed').at(-1)).toEqual({ type: 'readiness-changed', instance: 1, ready: true, detail: '200 OK' });

    expect(h.children).toHaveLength(1);
    expect(h.signals).toEqual([]);
    expect(h.sup.state.tag).toBe('ready');
    // One probe every interval: 2 failing, 3 more failing, 2 passing.
    expect(h.of('probe').filter((e) => e.probe === 'readiness')).toHaveLength(7);
  });

  it('stops probing readiness once the instance stops, and ignores an answer that arrives after', async () => {
    const h = harness(withReadiness());
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    let answer: (o: ProbeOutcome) => void = () => undefined;
    h.answers.readiness = () => new Promise((resolve) => (answer = resolve));
    await vi.advanceTimersByTimeAsync(100); // a readiness probe is now in flight

    h.sup.stop();
    h.die(h.children[0] as FakeChild, null, 'SIGTERM');
    await expect(done).resolves.toBe(0);
    answer(outcome(false, 'late'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.of('probe').filter((e) => e.probe === 'readiness')).toEqual([]);
    expect(h.of('readiness-changed')).toEqual([]);
  });
  it('a readiness check due after the instance stopped does not run', async () => {
    const h = harness(withReadiness());
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.of('probe').filter((e) => e.probe === 'readiness')).toHaveLength(1);
    // The next check is due in 100 ms; the stop comes first.
    h.sup.stop();
    h.die(h.children[0] as FakeChild, null, 'SIGTERM');
    await expect(done).resolves.toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.of('probe').filter((e) => e.probe === 'readiness')).toHaveLength(1);
  });
});

describe('forward', () => {
  it('sends the signal to the running instance and says so; with no instance it sends nothing', async () => {
    const h = harness(runnerConfig());
    expect(h.sup.forward('SIGUSR2')).toBeNull();
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.forward('SIGUSR1')).toBe(1000);
    expect(h.signals).toEqual([[1000, 'SIGUSR1']]);
    expect(h.of('signal-forwarded')).toEqual([{ type: 'signal-forwarded', signal: 'SIGUSR1', pid: 1000 }]);

    h.sup.stop();
    h.die(h.children[0] as FakeChild, null, 'SIGTERM');
    await expect(done).resolves.toBe(0);
    expect(h.sup.forward('SIGUSR1')).toBeNull();
    expect(h.signals.filter(([, s]) => s === 'SIGUSR1')).toHaveLength(1);
  });
});

describe('dependencies', () => {
  const dependent = (): ResolvedConfig => runnerConfig({ dependsOn: [{ name: 'db', tcp: '127.0.0.1:5432', http: null }] as ResolvedConfig['dependsOn'], restart: { ...runnerConfig().restart, policy: 'never' } });

  it('fails the start naming the dependency that did not answer, and spawns nothing', async () => {
    const down: DependencyOutcome = { name: 'db', target: '127.0.0.1:5432', ok: false, attempts: 3, latencyMs: 0, detail: 'connection refused' };
    const h = harness(dependent(), { waitDependencies: () => Promise.resolve([down]) });
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.children).toEqual([]);
    expect(h.of('dependency')).toEqual([{ type: 'dependency', ...down }]);
    expect(h.sup.context.lastExit).toMatchObject({ cause: 'dependency-unavailable', summary: 'dependency not available: db (127.0.0.1:5432: connection refused)' });
    await expect(done).resolves.not.toBe(0);
  });

  it('does not spawn when stopped while waiting for a dependency', async () => {
    let finish: (r: DependencyOutcome[]) => void = () => undefined;
    const h = harness(dependent(), { waitDependencies: () => new Promise((resolve) => (finish = resolve)) });
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    h.sup.stop();
    finish([{ name: 'db', target: '127.0.0.1:5432', ok: true, attempts: 1, latencyMs: 2, detail: 'connected' }]);
    await vi.advanceTimersByTimeAsync(0);
    await done;
    expect(h.children).toEqual([]);
    expect(h.sup.context.lastExit?.summary).toBe('stopped while waiting for dependencies');
  });
});

describe('start-up', () => {
  it('is ready when the output matches health.log, and names the pattern as its URL', async () => {
    const base = runnerConfig();
    const h = harness(runnerConfig({ health: { ...base.health, type: 'log', log: 'listening on \\d+' } }));
    void h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('starting');
    h.children[0]?.line('stdout', 'booting');
    expect(h.sup.state.tag).toBe('starting');
    h.children[0]?.line('stderr', 'listening on 8000');
    expect(h.sup.state.tag).toBe('ready');
    expect(h.of('ready')[0]?.url).toBe('log line /listening on \\d+/');
  });

  it.each([
    [{ code: 'EACCES', exitStatus: 126 }, 'make the program executable (chmod +x) or run it through its interpreter'],
    [{ code: 'E2BIG', exitStatus: 1 }, 'make the large values smaller: pass large data through a file, not an environment variable or an argument'],
    [{ code: 'ENOTDIR', exitStatus: 1 }, 'check "cwd" (/tmp) and the command'],
  ])('gives a spawn failure (%o) the fix that fits it', async (failure, fix) => {
    const h = harness(runnerConfig({ restart: { ...runnerConfig().restart, policy: 'never' } }), {}, true);
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    h.children[0]?.fail({ ...failure, message: `spawn failed (${failure.code})` });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.context.lastExit).toMatchObject({ cause: 'spawn-failed', summary: `spawn failed (${failure.code})`, fix });
    await expect(done).resolves.not.toBe(0);
  });
  it('hears a spawn failure once, even when the exit event follows it', async () => {
    const h = harness(runnerConfig({ restart: { ...runnerConfig().restart, policy: 'never' } }), {}, true);
    const done = h.sup.start();
    await vi.advanceTimersByTimeAsync(0);
    h.children[0]?.fail({ code: 'ENOENT', exitStatus: 127, message: 'command not found: node (ENOENT)' });
    h.children[0]?.exit(127);
    await vi.advanceTimersByTimeAsync(0);
    await expect(done).resolves.not.toBe(0);
    // One exit, the spawn failure's: the exit event after it adds nothing.
    expect(h.of('exited').map((e) => e.exit.cause)).toEqual(['spawn-failed']);
    expect(h.sup.context.lastExit).toMatchObject({ cause: 'spawn-failed', fix: expect.stringContaining('check "command" (node server.js)') as string });
  });
});

describe('an internal error', () => {
  it('kills the running instance, releases the deps, then rejects', async () => {
    const dispose = vi.fn(() => Promise.resolve());
    const base = runnerConfig();
    const cfg = runnerConfig({ health: { ...base.health, liveness: { ...readiness, path: '/live' } as ResolvedConfig['health']['liveness'] } });
    const h = harness(cfg, { dispose });
    const done = h.sup.start();
    const outcomeOfDone = done.then(
      () => 'resolved',
      (e: unknown) => (e as Error).message,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sup.state.tag).toBe('ready');
    h.answers.liveness = () => Promise.reject(new Error('probe exploded'));
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcomeOfDone).toBe('probe exploded');
    expect(h.signals).toEqual([[1000, 'SIGKILL']]);
    expect(dispose).toHaveBeenCalledOnce();
  });

  it('without deps to release, kills the instance and rejects at once', async () => {
    const base = runnerConfig();
    const cfg = runnerConfig({ health: { ...base.health, readiness } });
    const h = harness(cfg);
    const done = h.sup.start();
    const outcomeOfDone = done.then(
      () => 'resolved',
      (e: unknown) => (e as Error).message,
    );
    await vi.advanceTimersByTimeAsync(0);
    h.answers.readiness = () => Promise.reject(new Error('readiness exploded'));
    await vi.advanceTimersByTimeAsync(100);
    expect(await outcomeOfDone).toBe('readiness exploded');
    expect(h.signals).toEqual([[1000, 'SIGKILL']]);
  });
});
