import { describe, expect, it } from 'vitest';
import type { RestartConfig } from '../../src/config/types.js';
import { InternalError } from '../../src/errors.js';
import type { ExitInfo } from '../../src/supervisor/events.js';
import {
  initialMachine, transition, type Effect, type Machine, type MachineEnv, type MachineEvent, type State,
} from '../../src/supervisor/machine.js';
import { backoffDelay, startLimitHit } from '../../src/supervisor/backoff.js';

/** The schema's defaults (test/config/schema.test.ts pins them): no restart limit once ready. */
const restart: RestartConfig = { policy: 'on-failure', initialDelay: 100, maxDelay: 300_000, factor: 2, startRetries: 2, maxRestarts: null, window: 60_000, minUptime: 10_000, standby: false };

function env(now: number, over: Partial<MachineEnv> = {}): MachineEnv {
  return {
    now,
    random: () => 0.5, // no jitter
    restart,
    shutdown: { signal: 'SIGTERM', timeout: 30_000 },
    health: { startupTimeout: 30_000, liveness: false },
    ...over,
  };
}

function exit(over: Partial<ExitInfo> = {}): ExitInfo {
  return { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: 'look at its log', at: 0, uptimeMs: 50, stderrTail: [], ...over };
}

/** Drives a machine through events, collecting effects. */
function drive(events: MachineEvent[], start: Machine = initialMachine(), e: (i: number) => MachineEnv = (i) => env(i * 10)) {
  let m = start;
  const effects: Effect[][] = [];
  events.forEach((ev, i) => {
    const t = transition(m, ev, e(i));
    m = t.machine;
    effects.push(t.effects);
  });
  return { machine: m, effects, all: effects.flat() };
}

const toReady: MachineEvent[] = [{ type: 'start' }, { type: 'spawned', pid: 100 }, { type: 'ready', url: 'http://x' }];

describe('state machine: the happy path', () => {
  it('idle → spawning → starting → ready, arming the startup timer and then the min-uptime timer', () => {
    const { machine, effects } = drive(toReady);
    expect(machine.state.tag).toBe('ready');
    expect(effects[0]).toContainEqual({ type: 'spawn', instance: 1 });
    expect(effects[1]).toContainEqual({ type: 'start-probe' });
    expect(effects[1]).toContainEqual({ type: 'set-timer', name: 'startup', ms: 30_000 });
    expect(effects[2]).toContainEqual({ type: 'clear-timer', name: 'startup' });
    expect(effects[2]).toContainEqual({ type: 'stop-probe' });
    expect(effects[2]).toContainEqual({ type: 'set-timer', name: 'min-uptime', ms: 10_000 });
    expect(effects[2]!.find((x) => x.type === 'emit' && x.event.type === 'ready')).toBeDefined();
  });

  it('starts liveness only when configured', () => {
    const withLiveness = drive(toReady, initialMachine(), (i) => env(i, { health: { startupTimeout: 1000, liveness: true } }));
    expect(withLiveness.effects[2]).toContainEqual({ type: 'start-liveness' });
    expect(drive(toReady).effects[2]).not.toContainEqual({ type: 'start-liveness' });
  });
});

describe('state machine: crashes and backoff', () => {
  it('a first crash after readiness restarts at once (delay 0), counting a restart', () => {
    const { machine, all } = drive([...toReady, { type: 'exited', exit: exit() }]);
    expect(machine.state).toMatchObject({ tag: 'backoff', delayMs: 0 });
    expect(machine.ctx.restarts).toBe(1);
    expect(all).toContainEqual({ type: 'set-timer', name: 'backoff', ms: 0 });
    expect(all).toContainEqual({ type: 'clear-timer', name: 'min-uptime' });
  });

  it('backoff-elapsed spawns the next instance', () => {
    const { machine, effects } = drive([...toReady, { type: 'exited', exit: exit() }, { type: 'backoff-elapsed' }]);
    expect(machine.state).toMatchObject({ tag: 'spawning', instance: 2 });
    expect(effects[4]).toContainEqual({ type: 'spawn', instance: 2 });
  });

  it('a failed start (exit while starting) also backs off', () => {
    const { machine } = drive([{ type: 'start' }, { type: 'spawned', pid: 1 }, { type: 'exited', exit: exit() }]);
    expect(machine.state.tag).toBe('backoff');
  });

  it('the delays grow by factor, are capped at maxDelay, and reset after minUptime of readiness', () => {
    const delays: number[] = [];
    let m = initialMachine();
    const capped = { ...restart, maxDelay: 500, startRetries: 100 };
    const step = (ev: MachineEvent, now: number) => {
      const t = transition(m, ev, env(now, { restart: capped }));
      m = t.machine;
      return t;
    };
    let now = 0;
    step({ type: 'start' }, now);
    for (let i = 0; i < 6; i++) {
      step({ type: 'spawned', pid: 10 + i }, ++now);
      step({ type: 'exited', exit: exit() }, ++now);
      if (m.state.tag !== 'backoff') throw new Error(`expected backoff, got ${m.state.tag}`);
      delays.push(m.state.delayMs);
      step({ type: 'backoff-elapsed' }, ++now);
    }
    expect(delays).toEqual([0, 100, 200, 400, 500, 500]);
    // Ready and stable for minUptime: the next crash starts from initialDelay again.
    step({ type: 'spawned', pid: 99 }, ++now);
    step({ type: 'ready', url: 'x' }, ++now);
    step({ type: 'min-uptime-elapsed' }, now + 10_000);
    expect(m.ctx.attempt).toBe(0);
    step({ type: 'exited', exit: exit() }, now + 10_001);
    expect(m.state).toMatchObject({ tag: 'backoff', delayMs: 0 });
  });

  it('a crash before minUptime does not reset the backoff', () => {
    const { machine } = drive([...toReady, { type: 'exited', exit: exit() }, { type: 'backoff-elapsed' }, { type: 'spawned', pid: 2 }, { type: 'ready', url: 'x' }, { type: 'exited', exit: exit() }]);
    expect(machine.state).toMatchObject({ tag: 'backoff', delayMs: 100 });
  });

  it.each([
    ['50 ms', 50],
    ['3 s', 3_000],
  ])('with restart.maxRestarts set, a ready child that dies after %s reaches fatal after maxRestarts restarts', (_label, lifetime) => {
    let m = initialMachine();
    let now = 0;
    const effects: Effect[] = [];
    const step = (ev: MachineEvent) => {
      const t = transition(m, ev, env(now, { restart: { ...restart, maxRestarts: 5 } }));
      m = t.machine;
      effects.push(...t.effects);
    };
    step({ type: 'start' });
    for (let i = 0; i < 20 && m.state.tag !== 'fatal'; i++) {
      step({ type: 'spawned', pid: 100 + i });
      step({ type: 'ready', url: 'x' });
      now += lifetime;
      step({ type: 'exited', exit: exit({ uptimeMs: lifetime }) });
      if (m.state.tag === 'backoff') {
        now += m.state.delayMs;
        step({ type: 'backoff-elapsed' });
      }
    }
    expect(m.state.tag).toBe('fatal');
    expect(m.ctx.restarts).toBe(5);
    expect(effects).toContainEqual({ type: 'exit', status: 1 });
    const fatal = effects.find((x) => x.type === 'emit' && x.event.type === 'fatal');
    expect(fatal).toMatchObject({ event: { reason: 'restarted 5 times within 60 s (restart.maxRestarts is 5)' } });
  });

  it('restarts outside the window do not count towards the limit; with maxRestarts null there is no limit', () => {
    const five = { ...restart, maxRestarts: 5 };
    expect(startLimitHit([0, 1, 2, 3, 4], 70_000, five)).toBe(false);
    expect(startLimitHit([60_000, 61_000, 62_000, 63_000, 64_000], 70_000, five)).toBe(true);
    expect(startLimitHit([60_000, 61_000, 62_000, 63_000, 64_000], 70_000, restart)).toBe(false);
  });

  it.each(['port-in-use', 'permission-denied', 'module-not-found', 'native-module'] as const)('a %s crash is fatal at once with its fix, not retried, before or after the first ready', (cause) => {
    for (const before of [[{ type: 'start' }, { type: 'spawned', pid: 1 }], [...toReady, { type: 'exited', exit: exit() }, { type: 'backoff-elapsed' }, { type: 'spawned', pid: 2 }]] as MachineEvent[][]) {
      const { machine, all } = drive([...before, { type: 'exited', exit: exit({ cause }) }]);
      expect(machine.state.tag).toBe('fatal');
      expect(all).toContainEqual({ type: 'exit', status: 1 });
      expect(all.filter((x) => x.type === 'set-timer' && x.name === 'backoff')).toHaveLength(machine.ctx.restarts);
    }
  });

  it('policy "always" restarts a clean exit; "on-failure" stops with 0', () => {
    const clean = exit({ code: 0, cause: 'clean-exit' });
    const always = drive([...toReady, { type: 'exited', exit: clean }], initialMachine(), (i) => env(i, { restart: { ...restart, policy: 'always' } }));
    expect(always.machine.state.tag).toBe('backoff');
    const onFailure = drive([...toReady, { type: 'exited', exit: clean }]);
    expect(onFailure.machine.state).toEqual({ tag: 'stopped', exitStatus: 0 });
  });

  it('policy "never" passes the child status through: code 3 → 3, SIGTERM → 143', () => {
    const never = (i: number) => env(i, { restart: { ...restart, policy: 'never' } });
    const code3 = drive([...toReady, { type: 'exited', exit: exit({ code: 3 }) }], initialMachine(), never);
    expect(code3.machine.state).toEqual({ tag: 'stopped', exitStatus: 3 });
    expect(code3.all).toContainEqual({ type: 'exit', status: 3 });
    const term = drive([...toReady, { type: 'exited', exit: exit({ code: null, signal: 'SIGTERM', cause: 'killed' }) }], initialMachine(), never);
    expect(term.machine.state).toEqual({ tag: 'stopped', exitStatus: 143 });
  });
});

/** Steps one machine through events at explicit times, collecting every effect. */
function stepper(over: Partial<RestartConfig> = {}) {
  let m = initialMachine();
  const effects: Effect[] = [];
  const step = (ev: MachineEvent, now: number) => {
    const t = transition(m, ev, env(now, { restart: { ...restart, ...over } }));
    m = t.machine;
    effects.push(...t.effects);
  };
  const fatalReason = () => effects.flatMap((x) => (x.type === 'emit' && x.event.type === 'fatal' ? [x.event.reason] : []))[0];
  return { step, effects, fatalReason, get m() { return m; } };
}

describe('state machine: a server that was ready once is never given up on (the defaults)', () => {
  it('sixty crashes after readiness, each before minUptime: never fatal, the waits double and stop at restart.maxDelay (5 min)', () => {
    const s = stepper();
    let now = 0;
    s.step({ type: 'start' }, now);
    const delays: number[] = [];
    for (let i = 0; i < 60; i++) {
      s.step({ type: 'spawned', pid: 100 + i }, now += 10);
      s.step({ type: 'ready', url: 'x' }, now += 10);
      s.step({ type: 'exited', exit: exit({ code: null, signal: 'SIGKILL', cause: 'killed' }) }, now += 1000);
      if (s.m.state.tag !== 'backoff') throw new Error(`crash ${i + 1}: expected backoff, got ${s.m.state.tag}`);
      delays.push(s.m.state.delayMs);
      s.step({ type: 'backoff-elapsed' }, now += s.m.state.delayMs);
    }
    expect(s.effects.some((x) => x.type === 'exit')).toBe(false);
    expect(delays.slice(0, 5)).toEqual([0, 100, 200, 400, 800]);
    expect(Math.max(...delays)).toBe(300_000);
    expect(delays.slice(-5)).toEqual([300_000, 300_000, 300_000, 300_000, 300_000]);
    expect(s.m.ctx.restarts).toBe(60);
  });

  it('after the first ready, failed starts (exits and startup timeouts before ready) are retried without end too', () => {
    const s = stepper();
    let now = 0;
    for (const ev of toReady) s.step(ev, now += 10);
    s.step({ type: 'exited', exit: exit() }, now += 10);
    for (let i = 0; i < 10; i++) {
      s.step({ type: 'backoff-elapsed' }, now += 300_000);
      s.step({ type: 'spawned', pid: 200 + i }, now += 10);
      if (i % 2 === 0) {
        s.step({ type: 'exited', exit: exit() }, now += 10);
      } else {
        s.step({ type: 'startup-timeout' }, now += 30_000);
        s.step({ type: 'exited', exit: exit({ code: null, signal: 'SIGTERM', cause: 'killed' }) }, now += 10);
      }
      expect(s.m.state.tag).toBe('backoff');
    }
    expect(s.fatalReason()).toBeUndefined();
  });

  it('the backoff event says there is no limit: maxRestarts null, the restarts in the window still counted', () => {
    const { all } = drive([...toReady, { type: 'exited', exit: exit() }]);
    expect(all).toContainEqual({ type: 'emit', event: { type: 'backoff', delayMs: 0, attempt: 1, restartsInWindow: 1, maxRestarts: null } });
  });
});

describe('state machine: a server that never got ready', () => {
  it('exits before ready: startRetries (2) retries, then fatal saying it never got ready and how the last attempt ended', () => {
    const s = stepper();
    let now = 0;
    s.step({ type: 'start' }, now);
    for (let i = 0; i < 3; i++) {
      s.step({ type: 'spawned', pid: 10 + i }, now += 10);
      s.step({ type: 'exited', exit: exit({ summary: `exited with code ${i + 1}` }) }, now += 10);
      if (s.m.state.tag === 'backoff') s.step({ type: 'backoff-elapsed' }, now += s.m.state.delayMs);
    }
    expect(s.m.state).toEqual({ tag: 'fatal', exitStatus: 1, reason: 'never got ready in 3 attempts (restart.startRetries is 2); the last one: exited with code 3' });
    expect(s.m.ctx.restarts).toBe(2);
    expect(s.fatalReason()).not.toMatch(/giving up/);
  });

  it('startRetries 0: the first failed start is fatal', () => {
    const s = stepper({ startRetries: 0 });
    s.step({ type: 'start' }, 0);
    s.step({ type: 'spawned', pid: 1 }, 1);
    s.step({ type: 'exited', exit: exit() }, 2);
    expect(s.m.state).toMatchObject({ tag: 'fatal', reason: 'never got ready in 1 attempt (restart.startRetries is 0); the last one: exited with code 1' });
  });

  it('an explicit maxRestarts below startRetries ends it first', () => {
    const s = stepper({ maxRestarts: 1, startRetries: 5 });
    let now = 0;
    s.step({ type: 'start' }, now);
    for (let i = 0; i < 3 && s.m.state.tag !== 'fatal'; i++) {
      s.step({ type: 'spawned', pid: 10 + i }, now += 10);
      s.step({ type: 'exited', exit: exit() }, now += 10);
      if (s.m.state.tag === 'backoff') s.step({ type: 'backoff-elapsed' }, now += s.m.state.delayMs);
    }
    expect(s.fatalReason()).toBe('restarted once within 60 s (restart.maxRestarts is 1)');
  });

  it('a restart on request (SIGHUP) gives a server that never got ready a fresh set of attempts', () => {
    const s = stepper({ startRetries: 1 });
    const events: MachineEvent[] = [
      { type: 'start' }, { type: 'spawned', pid: 1 }, { type: 'exited', exit: exit() }, { type: 'backoff-elapsed' },
      { type: 'spawned', pid: 2 }, { type: 'restart' }, { type: 'exited', exit: exit({ code: 0, cause: 'clean-exit' }) },
      { type: 'spawned', pid: 3 }, { type: 'exited', exit: exit() },
    ];
    events.forEach((ev, i) => s.step(ev, i * 10));
    // Two failed starts with startRetries 1 would be fatal, but the restart in between began a new count.
    expect(s.m.state.tag).toBe('backoff');
  });
});

describe('state machine: readiness failures', () => {
  it('a startup timeout stops the instance and counts as a failed start with cause startup-timeout', () => {
    const { machine, effects, all } = drive([{ type: 'start' }, { type: 'spawned', pid: 7 }, { type: 'startup-timeout' }, { type: 'exited', exit: exit({ code: null, signal: 'SIGTERM', cause: 'killed' }) }]);
    expect(effects[2]).toContainEqual({ type: 'signal', signal: 'SIGTERM' });
    expect(effects[2]).toContainEqual({ type: 'set-timer', name: 'stop-timeout', ms: 30_000 });
    expect(machine.state.tag).toBe('backoff');
    expect(machine.ctx.lastExit?.cause).toBe('startup-timeout');
    expect(all.find((x) => x.type === 'emit' && x.event.type === 'exited')).toMatchObject({ event: { exit: { cause: 'startup-timeout' } } });
  });

  it('liveness failure restarts with cause liveness-failed', () => {
    const { machine } = drive([...toReady, { type: 'liveness-failed', failures: 3, detail: 'timed out' }, { type: 'exited', exit: exit({ code: null, signal: 'SIGTERM', cause: 'killed' }) }],
      initialMachine(), (i) => env(i, { health: { startupTimeout: 1000, liveness: true } }));
    expect(machine.state.tag).toBe('backoff');
    expect(machine.ctx.lastExit?.cause).toBe('liveness-failed');
  });

  it('a startup timeout under policy "never" is fatal with status 1', () => {
    const { machine } = drive([{ type: 'start' }, { type: 'spawned', pid: 7 }, { type: 'startup-timeout' }, { type: 'exited', exit: exit({ code: null, signal: 'SIGTERM' }) }],
      initialMachine(), (i) => env(i, { restart: { ...restart, policy: 'never' } }));
    expect(machine.state).toMatchObject({ tag: 'fatal', exitStatus: 1 });
  });

  it('a command that cannot be spawned is fatal with the shell status (127)', () => {
    const { machine, all } = drive([{ type: 'start' }, { type: 'spawn-failed', exit: exit({ code: 127, cause: 'spawn-failed' }) }]);
    expect(machine.state).toMatchObject({ tag: 'fatal', exitStatus: 127 });
    expect(all).toContainEqual({ type: 'exit', status: 127 });
  });
});

describe('state machine: stopping', () => {
  it('stop while ready: the stop signal once, then the timeout; exit during the stop never restarts', () => {
    const { machine, effects } = drive([...toReady, { type: 'stop' }, { type: 'exited', exit: exit({ code: 0, cause: 'clean-exit' }) }]);
    expect(effects[3]!.filter((x) => x.type === 'signal')).toEqual([{ type: 'signal', signal: 'SIGTERM' }]);
    expect(effects[3]).toContainEqual({ type: 'set-timer', name: 'stop-timeout', ms: 30_000 });
    expect(machine.state).toEqual({ tag: 'stopped', exitStatus: 0 });
    expect(effects[4]).toContainEqual({ type: 'exit', status: 0 });
  });

  it('stop while starting cancels the probe and the startup timer', () => {
    const { machine, effects } = drive([{ type: 'start' }, { type: 'spawned', pid: 1 }, { type: 'stop' }]);
    expect(machine.state).toMatchObject({ tag: 'stopping', reason: 'requested' });
    expect(effects[2]).toEqual(expect.arrayContaining([{ type: 'clear-timer', name: 'startup' }, { type: 'stop-probe' }, { type: 'signal', signal: 'SIGTERM' }]));
  });

  it('stop during backoff stops at once with 0', () => {
    const { machine, effects } = drive([...toReady, { type: 'exited', exit: exit() }, { type: 'stop' }]);
    expect(machine.state).toEqual({ tag: 'stopped', exitStatus: 0 });
    expect(effects[4]).toContainEqual({ type: 'clear-timer', name: 'backoff' });
  });

  it('stop while spawning is deferred until the pid is known, then signalled', () => {
    const { machine, effects } = drive([{ type: 'start' }, { type: 'stop' }, { type: 'spawned', pid: 5 }]);
    expect(effects[1]!.some((x) => x.type === 'signal')).toBe(false);
    expect(effects[2]).toContainEqual({ type: 'signal', signal: 'SIGTERM' });
    expect(machine.state).toMatchObject({ tag: 'stopping', pid: 5, signalled: true });
  });

  it('a second stop kills at once; a third does nothing more', () => {
    const { effects } = drive([...toReady, { type: 'stop' }, { type: 'stop' }, { type: 'stop' }]);
    expect(effects[4]).toContainEqual({ type: 'signal', signal: 'SIGKILL' });
    expect(effects[5]).toEqual([]);
  });

  it('the stop timeout escalates to SIGKILL; the stop is then not graceful', () => {
    const { machine, effects } = drive([...toReady, { type: 'stop' }, { type: 'stop-timeout' }, { type: 'exited', exit: exit({ code: null, signal: 'SIGKILL' }) }]);
    expect(effects[4]).toContainEqual({ type: 'signal', signal: 'SIGKILL' });
    expect(machine.state).toEqual({ tag: 'stopped', exitStatus: 0 });
    expect(effects[5]!.find((x) => x.type === 'emit' && x.event.type === 'stopped')).toMatchObject({ event: { graceful: false } });
  });

  it('a stop during a startup-timeout kill becomes a requested stop (no restart)', () => {
    const { machine } = drive([{ type: 'start' }, { type: 'spawned', pid: 1 }, { type: 'startup-timeout' }, { type: 'stop' }, { type: 'exited', exit: exit() }]);
    expect(machine.state).toEqual({ tag: 'stopped', exitStatus: 0 });
  });
});

describe('state machine: restart on request (SIGHUP / reload)', () => {
  it('restart while ready stops the instance and spawns the next without backoff', () => {
    const { machine, effects } = drive([...toReady, { type: 'restart' }, { type: 'exited', exit: exit({ code: 0, cause: 'clean-exit' }) }]);
    expect(effects[3]).toContainEqual({ type: 'signal', signal: 'SIGTERM' });
    expect(machine.state).toMatchObject({ tag: 'spawning', instance: 2 });
    expect(machine.ctx.restarts).toBe(1);
  });

  it('restart during backoff skips the wait', () => {
    const { machine, effects } = drive([...toReady, { type: 'exited', exit: exit() }, { type: 'restart' }]);
    expect(effects[4]).toContainEqual({ type: 'clear-timer', name: 'backoff' });
    expect(machine.state.tag).toBe('spawning');
  });
});

describe('state machine: every state × event pair is decided', () => {
  const events: MachineEvent[] = [
    { type: 'start' }, { type: 'spawned', pid: 1 }, { type: 'spawn-failed', exit: exit({ code: 127 }) }, { type: 'ready', url: 'x' },
    { type: 'startup-timeout' }, { type: 'liveness-failed', failures: 3, detail: 'x' }, { type: 'min-uptime-elapsed' },
    { type: 'exited', exit: exit() }, { type: 'backoff-elapsed' }, { type: 'stop' }, { type: 'stop-timeout' }, { type: 'restart' },
  ];
  const states: State[] = [
    { tag: 'idle' },
    { tag: 'spawning', instance: 1, since: 0 },
    { tag: 'starting', instance: 1, pid: 1, since: 0, spawnedAt: 0 },
    { tag: 'ready', instance: 1, pid: 1, since: 0, readyAt: 0 },
    { tag: 'backoff', until: 100, delayMs: 100 },
    { tag: 'stopping', instance: 1, pid: 1, reason: 'requested', escalated: false, signalled: true, since: 0, spawnedAt: 0 },
    { tag: 'stopped', exitStatus: 0 },
    { tag: 'fatal', reason: 'x', exitStatus: 1 },
  ];
  // The pairs that are possible; everything else must throw an InternalError.
  const possible: Record<State['tag'], MachineEvent['type'][]> = {
    idle: ['start', 'restart', 'stop'],
    spawning: ['spawned', 'spawn-failed', 'stop', 'restart'],
    starting: ['ready', 'startup-timeout', 'exited', 'stop', 'restart'],
    ready: ['min-uptime-elapsed', 'exited', 'liveness-failed', 'stop', 'restart'],
    backoff: ['backoff-elapsed', 'stop', 'restart'],
    stopping: ['spawned', 'spawn-failed', 'exited', 'stop', 'stop-timeout', 'restart'],
    stopped: ['stop', 'restart'],
    fatal: ['stop', 'restart'],
  };
  for (const state of states) {
    for (const event of events) {
      const ok = possible[state.tag].includes(event.type);
      it(`${state.tag} × ${event.type} → ${ok ? 'a transition' : 'InternalError'}`, () => {
        const m: Machine = { state, ctx: initialMachine().ctx };
        if (ok) expect(() => transition(m, event, env(0))).not.toThrow();
        else expect(() => transition(m, event, env(0))).toThrow(InternalError);
      });
    }
  }
});

describe('backoff delay', () => {
  it('stays within ±10% jitter', () => {
    const policy = { initialDelay: 1000, maxDelay: 60_000, factor: 2 };
    expect(backoffDelay(1, policy, () => 0)).toBe(0);
    expect(backoffDelay(2, policy, () => 0)).toBe(900);
    expect(backoffDelay(2, policy, () => 0.999_999)).toBe(1100);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, policy, Math.random);
      expect(d).toBeGreaterThanOrEqual(3600);
      expect(d).toBeLessThanOrEqual(4400);
    }
  });
  it('is capped at maxDelay (before jitter)', () => {
    expect(backoffDelay(30, { initialDelay: 100, maxDelay: 5000, factor: 3 }, () => 0.5)).toBe(5000);
  });
});
