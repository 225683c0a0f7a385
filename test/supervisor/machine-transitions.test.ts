/**
 * Every transition of the supervisor's state machine, written out whole: for one state and one
 * event, the next machine (state and context) and the complete, ordered list of effects. The
 * scenario tests in machine.test.ts follow a supervisor through its life and check what matters at
 * each step; these pin everything else (each field of each emitted event, each timer, the order
 * of effects), which is what the runner and the renderers rely on.
 */
import { describe, expect, it } from 'vitest';
import type { RestartConfig } from '../../src/config/types.js';
import { InternalError } from '../../src/errors.js';
import type { ExitInfo } from '../../src/supervisor/events.js';
import {
  initialMachine, shellStatus, transition, type Context, type Effect, type Machine, type MachineEnv, type MachineEvent, type State,
} from '../../src/supervisor/machine.js';

// Every number differs from every other, so a field read from the wrong place shows.
const NOW = 1000;
const restart: RestartConfig = { policy: 'on-failure', initialDelay: 100, maxDelay: 300_000, factor: 2, startRetries: 2, maxRestarts: null, window: 60_000, minUptime: 5000, standby: false };

function env(over: Partial<MachineEnv> = {}, liveness = false): MachineEnv {
  return {
    now: NOW,
    random: () => 0.5, // no jitter
    restart,
    shutdown: { signal: 'SIGINT', timeout: 7000 },
    health: { startupTimeout: 3000, liveness },
    ...over,
  };
}

/** A context in mid-life: instance 5 was the last one spawned, two restarts so far, one recent. */
const ctx: Context = { instanceSeq: 5, restarts: 2, restartTimes: [500], attempt: 1, everReady: true, lastExit: null };

function exit(over: Partial<ExitInfo> = {}): ExitInfo {
  return { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: 'look at its log', at: 990, uptimeMs: 40, stderrTail: [], ...over };
}

function at(state: State, context: Context = ctx): Machine {
  return { state, ctx: context };
}

const spawning: State = { tag: 'spawning', instance: 5, since: 900 };
const starting: State = { tag: 'starting', instance: 5, pid: 42, since: 900, spawnedAt: 950 };
const ready: State = { tag: 'ready', instance: 5, pid: 42, since: 900, readyAt: 960 };
const backoff: State = { tag: 'backoff', until: 1200, delayMs: 300 };
function stopping(over: Partial<Extract<State, { tag: 'stopping' }>> = {}): State {
  return { tag: 'stopping', instance: 5, pid: 42, reason: 'requested', escalated: false, signalled: true, since: 990, spawnedAt: 950, ...over };
}

/** The effects of beginning a stop of instance 5 with a known pid (SIGINT, 7 s). */
function stopEffects(reason: string): Effect[] {
  return [
    { type: 'emit', event: { type: 'stopping', instance: 5, signal: 'SIGINT', timeoutMs: 7000, reason } as never },
    { type: 'signal', signal: 'SIGINT' },
    { type: 'set-timer', name: 'stop-timeout', ms: 7000 },
  ];
}

/** The effects and context of a second failure in a row after a first ready: backoff of 100 ms. */
function backoffAfter(e: ExitInfo, before: Effect[]): { machine: Machine; effects: Effect[] } {
  return {
    machine: { state: { tag: 'backoff', until: NOW + 100, delayMs: 100 }, ctx: { ...ctx, attempt: 2, restarts: 3, restartTimes: [500, NOW], lastExit: e } },
    effects: [
      ...before,
      { type: 'emit', event: { type: 'backoff', delayMs: 100, attempt: 2, restartsInWindow: 2, maxRestarts: null } },
      { type: 'set-timer', name: 'backoff', ms: 100 },
    ],
  };
}

const stoppedWith = (exitStatus: number, graceful = true): Effect[] => [
  { type: 'emit', event: { type: 'stopped', exitStatus, graceful } },
  { type: 'exit', status: exitStatus },
];

describe('initialMachine', () => {
  it('is idle with an empty history, numbering instances after instanceSeq', () => {
    expect(initialMachine()).toEqual({ state: { tag: 'idle' }, ctx: { instanceSeq: 0, restarts: 0, restartTimes: [], attempt: 0, everReady: false, lastExit: null } });
    expect(initialMachine(7).ctx.instanceSeq).toBe(7);
    expect(transition(initialMachine(7), { type: 'start' }, env()).effects).toEqual([{ type: 'spawn', instance: 8 }]);
  });
});

describe('shellStatus', () => {
  const numbers = { SIGTERM: 15, SIGKILL: 9 };
  it('is the code, else 128 + the signal number (128 for an unknown one), else 1', () => {
    expect(shellStatus({ code: 0, signal: null }, numbers)).toBe(0);
    expect(shellStatus({ code: 3, signal: 'SIGTERM' }, numbers)).toBe(3);
    expect(shellStatus({ code: null, signal: 'SIGKILL' }, numbers)).toBe(137);
    expect(shellStatus({ code: null, signal: 'SIGUSR1' }, numbers)).toBe(128);
    expect(shellStatus({ code: null, signal: null }, numbers)).toBe(1);
  });
});

describe('idle', () => {
  it.each(['start', 'restart'] as const)('%s spawns the next instance', (type) => {
    expect(transition(at({ tag: 'idle' }), { type }, env())).toEqual({
      machine: { state: { tag: 'spawning', instance: 6, since: NOW }, ctx: { ...ctx, instanceSeq: 6 } },
      effects: [{ type: 'spawn', instance: 6 }],
    });
  });

  it('stop ends at once with status 0', () => {
    expect(transition(at({ tag: 'idle' }), { type: 'stop' }, env())).toEqual({
      machine: { state: { tag: 'stopped', exitStatus: 0 }, ctx },
      effects: stoppedWith(0),
    });
  });
});

describe('spawning', () => {
  it('spawned: starting, with the probe and the startup timer', () => {
    expect(transition(at(spawning), { type: 'spawned', pid: 42 }, env())).toEqual({
      machine: { state: { tag: 'starting', instance: 5, pid: 42, since: NOW, spawnedAt: NOW }, ctx },
      effects: [
        { type: 'emit', event: { type: 'spawned', instance: 5, pid: 42, durationMs: 100 } },
        { type: 'start-probe' },
        { type: 'set-timer', name: 'startup', ms: 3000 },
      ],
    });
  });

  it('spawn-failed: fatal with the shell status of the failure (1 when it has none)', () => {
    const notFound = exit({ code: 127, cause: 'spawn-failed', summary: 'command not found: nod' });
    expect(transition(at(spawning), { type: 'spawn-failed', exit: notFound }, env())).toEqual({
      machine: { state: { tag: 'fatal', reason: 'command not found: nod', exitStatus: 127 }, ctx: { ...ctx, lastExit: notFound } },
      effects: [
        { type: 'emit', event: { type: 'exited', instance: 5, pid: 0, exit: notFound, expected: false } },
        { type: 'emit', event: { type: 'fatal', reason: 'command not found: nod', exit: notFound, exitStatus: 127 } },
        { type: 'exit', status: 127 },
      ],
    });
    const noCode = exit({ code: null, cause: 'spawn-failed', summary: 'cannot spawn' });
    const t = transition(at(spawning), { type: 'spawn-failed', exit: noCode }, env());
    expect(t.machine.state).toEqual({ tag: 'fatal', reason: 'cannot spawn', exitStatus: 1 });
    expect(t.effects.slice(1)).toEqual([
      { type: 'emit', event: { type: 'fatal', reason: 'cannot spawn', exit: noCode, exitStatus: 1 } },
      { type: 'exit', status: 1 },
    ]);
  });

  it('stop: stopping without a pid, announced but not signalled yet', () => {
    expect(transition(at(spawning), { type: 'stop' }, env())).toEqual({
      machine: { state: { tag: 'stopping', instance: 5, pid: null, reason: 'requested', escalated: false, signalled: false, since: NOW, spawnedAt: null }, ctx },
      effects: [{ type: 'emit', event: { type: 'stopping', instance: 5, signal: 'SIGINT', timeoutMs: 7000, reason: 'requested' } }],
    });
  });

  it('restart: nothing (a fresh instance is already on its way)', () => {
    const m = at(spawning);
    expect(transition(m, { type: 'restart' }, env())).toEqual({ machine: m, effects: [] });
  });
});

describe('starting', () => {
  it('ready: clears the startup timer and probe, says how it got ready, arms min-uptime', () => {
    expect(transition(at(starting), { type: 'ready', url: 'http://127.0.0.1:8000/', how: 'answers HTTP 404 on /' }, env())).toEqual({
      machine: { state: { tag: 'ready', instance: 5, pid: 42, since: 900, readyAt: NOW }, ctx: { ...ctx, everReady: true } },
      effects: [
        { type: 'clear-timer', name: 'startup' },
        { type: 'stop-probe' },
        { type: 'emit', event: { type: 'ready', instance: 5, pid: 42, readyInMs: 50, url: 'http://127.0.0.1:8000/', how: 'answers HTTP 404 on /' } },
        { type: 'set-timer', name: 'min-uptime', ms: 5000 },
      ],
    });
  });

  it('ready without a how has no how; with liveness on, starts liveness last', () => {
    const first = { ...ctx, everReady: false };
    const t = transition(at(starting, first), { type: 'ready', url: 'http://x/' }, env({}, true));
    expect(t.machine.ctx).toEqual({ ...first, everReady: true });
    expect(t.effects.slice(2)).toEqual([
      { type: 'emit', event: { type: 'ready', instance: 5, pid: 42, readyInMs: 50, url: 'http://x/' } },
      { type: 'set-timer', name: 'min-uptime', ms: 5000 },
      { type: 'start-liveness' },
    ]);
  });

  it('startup-timeout: stops the instance for that reason, keeping what the probe last answered', () => {
    const failure = { summary: 'answers HTTP 500 on /health', fix: 'look at /health' };
    expect(transition(at(starting), { type: 'startup-timeout', failure }, env())).toEqual({
      machine: { state: { tag: 'stopping', instance: 5, pid: 42, reason: 'startup-timeout', escalated: false, signalled: true, since: NOW, spawnedAt: 950, failure }, ctx },
      effects: [
        { type: 'stop-probe' },
        { type: 'emit', event: { type: 'restarting', reason: 'startup-timeout' } },
        ...stopEffects('startup-timeout'),
      ],
    });
    expect(transition(at(starting), { type: 'startup-timeout' }, env()).machine.state).not.toHaveProperty('failure');
  });

  it('exited: a failed start, then the restart policy', () => {
    const e = exit();
    expect(transition(at(starting), { type: 'exited', exit: e }, env())).toEqual(backoffAfter(e, [
      { type: 'clear-timer', name: 'startup' },
      { type: 'stop-probe' },
      { type: 'emit', event: { type: 'exited', instance: 5, pid: 42, exit: e, expected: false } },
    ]));
  });

  it('stop: clears the startup timer and probe, then stops', () => {
    expect(transition(at(starting), { type: 'stop' }, env())).toEqual({
      machine: { state: stopping({ since: NOW }), ctx },
      effects: [{ type: 'clear-timer', name: 'startup' }, { type: 'stop-probe' }, ...stopEffects('requested')],
    });
  });

  it('restart: stops for a reload', () => {
    expect(transition(at(starting), { type: 'restart' }, env())).toEqual({
      machine: { state: stopping({ reason: 'restart', since: NOW }), ctx },
      effects: [
        { type: 'clear-timer', name: 'startup' },
        { type: 'stop-probe' },
        { type: 'emit', event: { type: 'restarting', reason: 'reload' } },
        ...stopEffects('restart'),
      ],
    });
  });
});

describe('ready', () => {
  const leave: Effect[] = [{ type: 'clear-timer', name: 'min-uptime' }];
  const leaveLive: Effect[] = [...leave, { type: 'stop-liveness' }];

  it('min-uptime-elapsed: stable, so the failure count starts again', () => {
    expect(transition(at(ready), { type: 'min-uptime-elapsed' }, env())).toEqual({ machine: { state: ready, ctx: { ...ctx, attempt: 0 } }, effects: [] });
  });

  it.each([[false, leave], [true, leaveLive]] as const)('exited (liveness %s): leaves ready, then the restart policy', (liveness, left) => {
    const e = exit({ code: null, signal: 'SIGKILL', cause: 'killed', summary: 'killed by SIGKILL' });
    expect(transition(at(ready), { type: 'exited', exit: e }, env({}, liveness))).toEqual(backoffAfter(e, [
      ...left,
      { type: 'emit', event: { type: 'exited', instance: 5, pid: 42, exit: e, expected: false } },
    ]));
  });

  it('liveness-failed: reports the failures, then stops the instance to restart it', () => {
    expect(transition(at(ready), { type: 'liveness-failed', failures: 3, detail: 'timed out after 2 s' }, env({}, true))).toEqual({
      machine: { state: stopping({ reason: 'liveness-failed', since: NOW, spawnedAt: 900 }), ctx },
      effects: [
        ...leaveLive,
        { type: 'emit', event: { type: 'liveness-failed', instance: 5, failures: 3, detail: 'timed out after 2 s' } },
        { type: 'emit', event: { type: 'restarting', reason: 'liveness-failed' } },
        ...stopEffects('liveness-failed'),
      ],
    });
  });

  it('stop and restart', () => {
    expect(transition(at(ready), { type: 'stop' }, env())).toEqual({
      machine: { state: stopping({ since: NOW, spawnedAt: 900 }), ctx },
      effects: [...leave, ...stopEffects('requested')],
    });
    expect(transition(at(ready), { type: 'restart' }, env({}, true))).toEqual({
      machine: { state: stopping({ reason: 'restart', since: NOW, spawnedAt: 900 }), ctx },
      effects: [...leaveLive, { type: 'emit', event: { type: 'restarting', reason: 'reload' } }, ...stopEffects('restart')],
    });
  });
});

describe('backoff', () => {
  it('backoff-elapsed: spawns the next instance after a crash', () => {
    expect(transition(at(backoff), { type: 'backoff-elapsed' }, env())).toEqual({
      machine: { state: { tag: 'spawning', instance: 6, since: NOW }, ctx: { ...ctx, instanceSeq: 6 } },
      effects: [{ type: 'emit', event: { type: 'restarting', reason: 'crash' } }, { type: 'spawn', instance: 6 }],
    });
  });

  it('backoff-elapsed after a stop naija-sup made (startup timeout, liveness): restarting says so, not "crash"', () => {
    for (const cause of ['startup-timeout', 'liveness-failed'] as const) {
      const lastExit = { code: null, signal: 'SIGTERM' as const, cause, summary: 's', fix: 'f', at: 1, uptimeMs: 1, stderrTail: [] };
      const after = transition({ state: backoff, ctx: { ...ctx, lastExit } }, { type: 'backoff-elapsed' }, env());
      expect(after.effects[0]).toEqual({ type: 'emit', event: { type: 'restarting', reason: cause } });
    }
  });

  it('stop: stopped at once; restart: the wait is skipped', () => {
    expect(transition(at(backoff), { type: 'stop' }, env())).toEqual({
      machine: { state: { tag: 'stopped', exitStatus: 0 }, ctx },
      effects: [{ type: 'clear-timer', name: 'backoff' }, ...stoppedWith(0)],
    });
    expect(transition(at(backoff), { type: 'restart' }, env())).toEqual({
      machine: { state: { tag: 'spawning', instance: 6, since: NOW }, ctx: { ...ctx, instanceSeq: 6 } },
      effects: [{ type: 'clear-timer', name: 'backoff' }, { type: 'emit', event: { type: 'restarting', reason: 'reload' } }, { type: 'spawn', instance: 6 }],
    });
  });
});

describe('stopping', () => {
  it('spawned (a stop deferred while spawning): signals now', () => {
    const deferred = stopping({ pid: null, signalled: false, spawnedAt: null });
    expect(transition(at(deferred), { type: 'spawned', pid: 77 }, env())).toEqual({
      machine: { state: stopping({ pid: 77, signalled: true, spawnedAt: NOW }), ctx },
      effects: [{ type: 'signal', signal: 'SIGINT' }, { type: 'set-timer', name: 'stop-timeout', ms: 7000 }],
    });
  });

  it('spawn-failed during a requested stop: stopped, 0', () => {
    const e = exit({ code: 127, cause: 'spawn-failed' });
    expect(transition(at(stopping({ pid: null, signalled: false })), { type: 'spawn-failed', exit: e }, env())).toEqual({
      machine: { state: { tag: 'stopped', exitStatus: 0 }, ctx: { ...ctx, lastExit: e } },
      effects: [{ type: 'emit', event: { type: 'exited', instance: 5, pid: 0, exit: e, expected: true } }, ...stoppedWith(0)],
    });
  });

  it('exited during a requested stop: stopped, 0, graceful unless it took SIGKILL', () => {
    const e = exit({ code: 0, cause: 'clean-exit' });
    const exited: Effect[] = [{ type: 'clear-timer', name: 'stop-timeout' }, { type: 'emit', event: { type: 'exited', instance: 5, pid: 42, exit: e, expected: true } }];
    expect(transition(at(stopping()), { type: 'exited', exit: e }, env())).toEqual({
      machine: { state: { tag: 'stopped', exitStatus: 0 }, ctx: { ...ctx, lastExit: e } },
      effects: [...exited, ...stoppedWith(0, true)],
    });
    expect(transition(at(stopping({ escalated: true })), { type: 'exited', exit: e }, env()).effects).toEqual([...exited, ...stoppedWith(0, false)]);
  });

  it('exited during a stop for a restart: the next instance, counted as a restart, failures reset', () => {
    const e = exit({ code: 0, cause: 'clean-exit' });
    expect(transition(at(stopping({ reason: 'restart' })), { type: 'exited', exit: e }, env())).toEqual({
      machine: { state: { tag: 'spawning', instance: 6, since: NOW }, ctx: { ...ctx, instanceSeq: 6, lastExit: e, restarts: 3, attempt: 0 } },
      effects: [
        { type: 'clear-timer', name: 'stop-timeout' },
        { type: 'emit', event: { type: 'exited', instance: 5, pid: 42, exit: e, expected: true } },
        { type: 'spawn', instance: 6 },
      ],
    });
  });

  it('exited after a startup timeout: the probe\'s answer is the reason, the uptime is the failed start\'s', () => {
    const failure = { summary: 'answers HTTP 500 on /health', fix: 'look at /health' };
    const e = exit({ code: null, signal: 'SIGINT', cause: 'killed', summary: 'killed by SIGINT' });
    const ours: ExitInfo = { ...e, cause: 'startup-timeout', summary: failure.summary, fix: failure.fix, uptimeMs: 50 };
    expect(transition(at(stopping({ reason: 'startup-timeout', failure })), { type: 'exited', exit: e }, env())).toEqual(backoffAfter(ours, [
      { type: 'clear-timer', name: 'stop-timeout' },
      { type: 'emit', event: { type: 'exited', instance: 5, pid: 42, exit: ours, expected: false } },
    ]));
  });

  it('exited after a startup timeout without an answer, or a liveness failure: the generic reason and fix', () => {
    const e = exit({ code: null, signal: 'SIGINT', cause: 'killed' });
    const timedOut = transition(at(stopping({ reason: 'startup-timeout', spawnedAt: null })), { type: 'exited', exit: e }, env());
    expect(timedOut.machine.ctx.lastExit).toEqual({
      ...e,
      cause: 'startup-timeout',
      summary: 'not ready within 3 s (health.startupTimeout)',
      fix: 'check that the server listens on PORT and answers the health probe; raise health.startupTimeout if it is just slow',
      uptimeMs: 0,
    });
    const live = transition(at(stopping({ reason: 'liveness-failed' })), { type: 'exited', exit: e }, env());
    expect(live.machine.ctx.lastExit).toEqual({
      ...e,
      cause: 'liveness-failed',
      summary: 'failed its liveness probe (health.liveness)',
      fix: 'the server stopped answering its liveness probe: look at its log for a hang or an overloaded event loop',
      uptimeMs: 50,
    });
  });

  it('stop while stopping for our own reason: becomes a requested stop, nothing more sent', () => {
    for (const reason of ['restart', 'startup-timeout', 'liveness-failed'] as const) {
      expect(transition(at(stopping({ reason })), { type: 'stop' }, env())).toEqual({ machine: { state: stopping({ reason: 'requested' }), ctx }, effects: [] });
    }
  });

  it('a second requested stop kills at once; after that, or without a pid, nothing', () => {
    expect(transition(at(stopping()), { type: 'stop' }, env())).toEqual({
      machine: { state: stopping({ escalated: true }), ctx },
      effects: [
        { type: 'clear-timer', name: 'stop-timeout' },
        { type: 'emit', event: { type: 'escalated', instance: 5, reason: 'second-signal' } },
        { type: 'signal', signal: 'SIGKILL' },
      ],
    });
    for (const m of [at(stopping({ escalated: true })), at(stopping({ pid: null, signalled: false }))]) {
      expect(transition(m, { type: 'stop' }, env())).toEqual({ machine: m, effects: [] });
    }
  });

  it('stop-timeout: SIGKILL; restart: nothing', () => {
    expect(transition(at(stopping()), { type: 'stop-timeout' }, env())).toEqual({
      machine: { state: stopping({ escalated: true }), ctx },
      effects: [{ type: 'emit', event: { type: 'escalated', instance: 5, reason: 'timeout' } }, { type: 'signal', signal: 'SIGKILL' }],
    });
    const m = at(stopping());
    expect(transition(m, { type: 'restart' }, env())).toEqual({ machine: m, effects: [] });
  });
});

describe('stopped and fatal', () => {
  it.each([{ tag: 'stopped', exitStatus: 0 }, { tag: 'fatal', reason: 'x', exitStatus: 1 }] as const)('$tag: stop and restart change nothing', (state) => {
    const m = at(state);
    expect(transition(m, { type: 'stop' }, env())).toEqual({ machine: m, effects: [] });
    expect(transition(m, { type: 'restart' }, env())).toEqual({ machine: m, effects: [] });
  });
});

describe('the restart policy after an unrequested exit', () => {
  const crash = (e: ExitInfo, over: Partial<RestartConfig>, context: Context = ctx) =>
    transition(at(starting, context), { type: 'exited', exit: e }, env({ restart: { ...restart, ...over } }));
  const before = (e: ExitInfo): Effect[] => [
    { type: 'clear-timer', name: 'startup' },
    { type: 'stop-probe' },
    { type: 'emit', event: { type: 'exited', instance: 5, pid: 42, exit: e, expected: false } },
  ];

  it('policy "never": the child\'s own status, graceful', () => {
    const e = exit({ code: null, signal: 'SIGTERM', cause: 'killed' });
    expect(crash(e, { policy: 'never' })).toEqual({
      machine: { state: { tag: 'stopped', exitStatus: 143 }, ctx: { ...ctx, lastExit: e } },
      effects: [...before(e), ...stoppedWith(143)],
    });
  });

  it.each(['startup-timeout', 'liveness-failed'] as const)('policy "never" after our own kill (%s): fatal, 1, saying the policy', (cause) => {
    const e = exit({ code: null, signal: 'SIGINT', cause, summary: 'not ready within 3 s' });
    const reason = 'not ready within 3 s; restart.policy is "never"';
    expect(crash(e, { policy: 'never' })).toEqual({
      machine: { state: { tag: 'fatal', reason, exitStatus: 1 }, ctx: { ...ctx, lastExit: e } },
      effects: [...before(e), { type: 'emit', event: { type: 'fatal', reason, exit: e, exitStatus: 1 } }, { type: 'exit', status: 1 }],
    });
  });

  it('policy "on-failure": a clean exit stops with 0; policy "always" restarts it', () => {
    const clean = exit({ code: 0, cause: 'clean-exit', summary: 'exited with code 0' });
    expect(crash(clean, { policy: 'on-failure' })).toEqual({
      machine: { state: { tag: 'stopped', exitStatus: 0 }, ctx: { ...ctx, lastExit: clean } },
      effects: [...before(clean), ...stoppedWith(0)],
    });
    expect(crash(clean, { policy: 'always' })).toEqual(backoffAfter(clean, before(clean)));
  });

  it('giving up: fatal with the reason, the exit kept as the last one', () => {
    const e = exit({ cause: 'port-in-use', summary: 'port 8000 is in use' });
    const reason = 'the port is in use by another process; restarting would fail the same way';
    expect(crash(e, {})).toEqual({
      machine: { state: { tag: 'fatal', reason, exitStatus: 1 }, ctx: { ...ctx, lastExit: e } },
      effects: [...before(e), { type: 'emit', event: { type: 'fatal', reason, exit: e, exitStatus: 1 } }, { type: 'exit', status: 1 }],
    });
  });

  it('restarts older than the window are dropped from the history; the backoff event counts those left', () => {
    const e = exit();
    const old = { ...ctx, restartTimes: [NOW - 60_000, NOW - 59_999] };
    const t = crash(e, { maxRestarts: 10 }, old);
    expect(t.machine.ctx.restartTimes).toEqual([NOW - 59_999, NOW]);
    expect(t.effects.at(-2)).toEqual({ type: 'emit', event: { type: 'backoff', delayMs: 100, attempt: 2, restartsInWindow: 2, maxRestarts: 10 } });
  });
});

describe('impossible events', () => {
  it('throw an InternalError naming the event and the state', () => {
    let error: unknown;
    try {
      transition(at(ready), { type: 'spawned', pid: 1 }, env());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InternalError);
    expect((error as Error).message).toContain('supervisor state machine: event "spawned" cannot happen in state "ready"');
  });

  const all: MachineEvent[] = [
    { type: 'start' }, { type: 'spawned', pid: 1 }, { type: 'spawn-failed', exit: exit() }, { type: 'ready', url: 'u' },
    { type: 'startup-timeout' }, { type: 'liveness-failed', failures: 1, detail: 'd' }, { type: 'min-uptime-elapsed' },
    { type: 'exited', exit: exit() }, { type: 'backoff-elapsed' }, { type: 'stop' }, { type: 'stop-timeout' }, { type: 'restart' },
  ];
  const allowed: Record<string, string[]> = {
    idle: ['start', 'stop', 'restart'],
    spawning: ['spawned', 'spawn-failed', 'stop', 'restart'],
    starting: ['ready', 'startup-timeout', 'exited', 'stop', 'restart'],
    ready: ['min-uptime-elapsed', 'exited', 'liveness-failed', 'stop', 'restart'],
    backoff: ['backoff-elapsed', 'stop', 'restart'],
    stopping: ['spawned', 'spawn-failed', 'exited', 'stop', 'stop-timeout', 'restart'],
    stopped: ['stop', 'restart'],
    fatal: ['stop', 'restart'],
  };
  const states: State[] = [{ tag: 'idle' }, spawning, starting, ready, backoff, stopping(), { tag: 'stopped', exitStatus: 0 }, { tag: 'fatal', reason: 'x', exitStatus: 1 }];

  it.each(states.map((s) => [s.tag, s] as const))('%s: exactly the expected events are possible, and each answers a transition', (tag, state) => {
    const possible = all.filter((event) => {
      try {
        // A case that fell through the switch would return undefined here.
        expect(transition(at(state), event, env()), `${tag} × ${event.type}`).toEqual({ machine: expect.objectContaining({ state: expect.anything() }), effects: expect.any(Array) });
        return true;
      } catch (error) {
        expect(error, `${tag} × ${event.type}`).toBeInstanceOf(InternalError);
        return false;
      }
    });
    expect(possible.map((e) => e.type)).toEqual(all.map((e) => e.type).filter((t) => allowed[tag]?.includes(t)));
  });
});
