/**
 * The supervisor's lifecycle as a pure transition function over a tagged union of states.
 *
 * ```
 *   idle ──start──▶ spawning ──spawned──▶ starting ──ready──▶ ready
 *                     │                      │                  │
 *                     │ spawn-failed         │ exited /         │ exited / liveness-failed
 *                     ▼                      │ startup-timeout  │
 *                   fatal ◀─never ready── backoff ◀─────────────┘  (restart policy)
 *                         or limit hit
 *                                           │
 *                                           └──backoff-elapsed──▶ spawning
 *
 *   any live state ──stop──▶ stopping ──exited──▶ stopped            (a second stop: SIGKILL now)
 *   starting/ready ──restart──▶ stopping(restart) ──exited──▶ spawning (SIGHUP / reload)
 * ```
 *
 * `transition(machine, event, env)` returns the next machine and the effects to perform; it does no
 * I/O, reads no clock (`env.now`) and draws no randomness (`env.random`). The runner
 * (runner.ts) performs the effects and feeds events back. Every state × event pair is decided
 * below; a pair that cannot happen throws an InternalError instead of being ignored.
 *
 * Timers are named; the machine clears each one when it leaves the state that armed it, so a timer
 * event can only arrive in the state that expects it.
 */
import { formatDuration } from '../elapsed.js';
import { InternalError } from '../errors.js';
import type { RestartConfig, ShutdownConfig } from '../config/types.js';
import { backoffDelay, backoffReason, giveUpReason, restartsInWindow } from './backoff.js';
import type { ExitInfo, SupervisorEvent } from './events.js';

export type TimerName = 'startup' | 'backoff' | 'min-uptime' | 'stop-timeout';

/** Why an instance is being stopped. Only 'requested' ends the supervisor. */
export type StopReason = 'requested' | 'startup-timeout' | 'liveness-failed' | 'restart';

export type State =
  | { tag: 'idle' }
  /** spawn() was called; the pid is not known yet (a failed exec reports asynchronously). */
  | { tag: 'spawning'; instance: number; since: number }
  | { tag: 'starting'; instance: number; pid: number; since: number; spawnedAt: number }
  | { tag: 'ready'; instance: number; pid: number; since: number; readyAt: number }
  | { tag: 'backoff'; until: number; delayMs: number }
  | {
      tag: 'stopping';
      /** The instance being stopped; its pid is null while it is still spawning. */
      instance: number;
      pid: number | null;
      reason: StopReason;
      /** True once SIGKILL was sent: a further stop has nothing left to do. */
      escalated: boolean;
      /** True once the stop signal was sent (exactly once per instance). */
      signalled: boolean;
      since: number;
      /** When the instance was spawned; for a startup-timeout stop, the uptime of the failed start. */
      spawnedAt: number | null;
      /** For a startup-timeout stop: what the probe last answered, which is the failure's reason. */
      failure?: ProbeFailure | undefined;
    }
  | { tag: 'stopped'; exitStatus: number }
  | { tag: 'fatal'; reason: string; exitStatus: number };

/** Data that outlives a single state: counters, history and the last exit. */
export interface Context {
  /** Sequence number of the current/last instance (1, 2, …). */
  instanceSeq: number;
  /** Restarts performed by the policy or on request since the supervisor started. */
  restarts: number;
  /** Timestamps of policy restarts, for the sliding-window start limit. */
  restartTimes: number[];
  /**
   * Consecutive failures since the instance was last stable for minUptime; drives the backoff.
   * Until the first ready it is also the number of failed starts, which restart.startRetries bounds.
   */
  attempt: number;
  /**
   * Whether any instance of this supervisor was ever ready. It decides which end a crash loop
   * may have: a server that never got ready has a wrong command or config, and a terminal user
   * should hear so after a few attempts; one that served once is worth restarting for as long as
   * it takes (a database down for an hour), so its loop only slows down to restart.maxDelay.
   */
  everReady: boolean;
  lastExit: ExitInfo | null;
}

export interface Machine {
  state: State;
  ctx: Context;
}

export type MachineEvent =
  | { type: 'start' }
  | { type: 'spawned'; pid: number }
  | { type: 'spawn-failed'; exit: ExitInfo }
  /** `how`: what made it ready, for the ready line ("answers HTTP 404 on /"). */
  | { type: 'ready'; url: string; how?: string | undefined }
  /** `failure`: the startup probe's last answer as a reason and fix, when it got one worth naming. */
  | { type: 'startup-timeout'; failure?: ProbeFailure | undefined }
  | { type: 'liveness-failed'; failures: number; detail: string }
  | { type: 'min-uptime-elapsed' }
  | { type: 'exited'; exit: ExitInfo }
  | { type: 'backoff-elapsed' }
  | { type: 'stop'; force?: boolean }
  | { type: 'stop-timeout' }
  | { type: 'restart' };

/** Why a start was not ready, from the probe's last answer (issue 12: the answer is the reason). */
export interface ProbeFailure {
  summary: string;
  fix: string;
}

export type Effect =
  | { type: 'spawn'; instance: number }
  /** Signal the current instance's whole process group. */
  | { type: 'signal'; signal: NodeJS.Signals }
  | { type: 'start-probe' }
  | { type: 'stop-probe' }
  | { type: 'start-liveness' }
  | { type: 'stop-liveness' }
  | { type: 'set-timer'; name: TimerName; ms: number }
  | { type: 'clear-timer'; name: TimerName }
  | { type: 'emit'; event: SupervisorEvent }
  /** The supervisor is done: the runner resolves with this status. */
  | { type: 'exit'; status: number };

export interface MachineEnv {
  now: number;
  random: () => number;
  restart: RestartConfig;
  shutdown: ShutdownConfig;
  health: { startupTimeout: number; liveness: boolean };
}

export interface Transition {
  machine: Machine;
  effects: Effect[];
}

/**
 * The machine before its first event. `instanceSeq`: the number before the first instance's (0, so
 * it is instance 1); a reload's new supervisor continues after the old one's, so logs and events
 * never show two instances 1.
 */
export function initialMachine(instanceSeq = 0): Machine {
  return {
    state: { tag: 'idle' },
    ctx: { instanceSeq, restarts: 0, restartTimes: [], attempt: 0, everReady: false, lastExit: null },
  };
}

/** Exit status in the shell's convention: the code, or 128 + the signal's number. */
export function shellStatus(exit: Pick<ExitInfo, 'code' | 'signal'>, signalNumbers: Record<string, number>): number {
  if (exit.code !== null) return exit.code;
  if (exit.signal !== null) return 128 + (signalNumbers[exit.signal] ?? 0);
  return 1;
}

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
};

function impossible(state: State, event: MachineEvent): never {
  throw new InternalError(`supervisor state machine: event "${event.type}" cannot happen in state "${state.tag}"`);
}

export function transition(machine: Machine, event: MachineEvent, env: MachineEnv): Transition {
  const { state } = machine;
  switch (state.tag) {
    case 'idle': return onIdle(machine, state, event, env);
    case 'spawning': return onSpawning(machine, state, event, env);
    case 'starting': return onStarting(machine, state, event, env);
    case 'ready': return onReady(machine, state, event, env);
    case 'backoff': return onBackoff(machine, state, event, env);
    case 'stopping': return onStopping(machine, state, event, env);
    case 'stopped':
    case 'fatal': return onTerminal(machine, state, event);
    default: {
      const never: never = state;
      throw new InternalError(`unknown state ${JSON.stringify(never)}`);
    }
  }
}

// ── helpers that build transitions ──────────────────────────────────────────────────────────────

function spawnNext(machine: Machine, env: MachineEnv, effects: Effect[]): Transition {
  const instance = machine.ctx.instanceSeq + 1;
  return {
    machine: { state: { tag: 'spawning', instance, since: env.now }, ctx: { ...machine.ctx, instanceSeq: instance } },
    effects: [...effects, { type: 'spawn', instance }],
  };
}

function beginStop(machine: Machine, instance: number, pid: number | null, spawnedAt: number | null, reason: StopReason, env: MachineEnv, effects: Effect[], failure?: ProbeFailure): Transition {
  const out: Effect[] = [...effects];
  const signalNow = pid !== null;
  out.push({ type: 'emit', event: { type: 'stopping', instance, signal: env.shutdown.signal, timeoutMs: env.shutdown.timeout, reason } });
  if (signalNow) {
    out.push({ type: 'signal', signal: env.shutdown.signal });
    out.push({ type: 'set-timer', name: 'stop-timeout', ms: env.shutdown.timeout });
  }
  return {
    machine: {
      state: { tag: 'stopping', instance, pid, reason, escalated: false, signalled: signalNow, since: env.now, spawnedAt, ...(failure ? { failure } : {}) },
      ctx: machine.ctx,
    },
    effects: out,
  };
}

function finishStopped(machine: Machine, exitStatus: number, graceful: boolean, effects: Effect[]): Transition {
  return {
    machine: { state: { tag: 'stopped', exitStatus }, ctx: machine.ctx },
    effects: [...effects, { type: 'emit', event: { type: 'stopped', exitStatus, graceful } }, { type: 'exit', status: exitStatus }],
  };
}

function goFatal(machine: Machine, reason: string, exit: ExitInfo | null, effects: Effect[]): Transition {
  const exitStatus = 1;
  return {
    machine: { state: { tag: 'fatal', reason, exitStatus }, ctx: { ...machine.ctx, lastExit: exit ?? machine.ctx.lastExit } },
    effects: [...effects, { type: 'emit', event: { type: 'fatal', reason, exit, exitStatus } }, { type: 'exit', status: exitStatus }],
  };
}

/**
 * An instance ended without a stop being requested (a crash, a failed start, or our own kill for a
 * startup timeout or failed liveness): apply the restart policy.
 */
function afterUnrequestedExit(machine: Machine, exit: ExitInfo, env: MachineEnv, effects: Effect[]): Transition {
  const ctx: Context = { ...machine.ctx, lastExit: exit };
  const m: Machine = { state: machine.state, ctx };
  const policy = env.restart.policy;
  const killedByUs = exit.cause === 'startup-timeout' || exit.cause === 'liveness-failed';

  if (policy === 'never') {
    // The supervisor passes the child's status through, like a shell; when it killed the child
    // itself (startup timeout, liveness), that is a failure of the start: 1.
    const status = killedByUs ? 1 : shellStatus(exit, SIGNAL_NUMBERS);
    if (killedByUs) return goFatal(m, `${exit.summary}; restart.policy is "never"`, exit, effects);
    return finishStopped(m, status, true, effects);
  }
  if (policy === 'on-failure' && exit.cause === 'clean-exit') {
    return finishStopped(m, 0, true, effects);
  }
  // Whether to stop instead (a cause no restart fixes, a server that never got ready after
  // restart.startRetries, a restart.maxRestarts the user set) is backoff.ts's rule.
  const attempt = ctx.attempt + 1;
  const giveUp = giveUpReason(exit, { attempt, everReady: ctx.everReady, restartTimes: ctx.restartTimes }, env.now, env.restart);
  if (giveUp !== null) return goFatal(m, giveUp, exit, effects);
  const delayMs = backoffDelay(attempt, env.restart, env.random);
  const restartTimes = [...restartsInWindow(ctx.restartTimes, env.now, env.restart.window), env.now];
  return {
    machine: {
      state: { tag: 'backoff', until: env.now + delayMs, delayMs },
      ctx: { ...ctx, attempt, restartTimes, restarts: ctx.restarts + 1 },
    },
    effects: [
      ...effects,
      { type: 'emit', event: { type: 'backoff', delayMs, attempt, restartsInWindow: restartTimes.length, maxRestarts: env.restart.maxRestarts } },
      { type: 'set-timer', name: 'backoff', ms: delayMs },
    ],
  };
}

function exitedEvent(state: { instance: number; pid: number | null }, exit: ExitInfo, expected: boolean): Effect {
  return { type: 'emit', event: { type: 'exited', instance: state.instance, pid: state.pid ?? 0, exit, expected } };
}

// ── one handler per state ───────────────────────────────────────────────────────────────────────

function onIdle(machine: Machine, state: Extract<State, { tag: 'idle' }>, event: MachineEvent, env: MachineEnv): Transition {
  switch (event.type) {
    case 'start':
    case 'restart':
      return spawnNext(machine, env, []);
    case 'stop':
      return finishStopped(machine, 0, true, []);
    case 'spawned': case 'spawn-failed': case 'ready': case 'startup-timeout': case 'liveness-failed':
    case 'min-uptime-elapsed': case 'exited': case 'backoff-elapsed': case 'stop-timeout':
      return impossible(state, event);
  }
}

function onSpawning(machine: Machine, state: Extract<State, { tag: 'spawning' }>, event: MachineEvent, env: MachineEnv): Transition {
  switch (event.type) {
    case 'spawned':
      return {
        machine: { state: { tag: 'starting', instance: state.instance, pid: event.pid, since: env.now, spawnedAt: env.now }, ctx: machine.ctx },
        effects: [
          { type: 'emit', event: { type: 'spawned', instance: state.instance, pid: event.pid, durationMs: env.now - state.since } },
          { type: 'start-probe' },
          { type: 'set-timer', name: 'startup', ms: env.health.startupTimeout },
        ],
      };
    case 'spawn-failed':
      // The command does not exist or cannot be executed: no restart can fix that. The exit
      // status follows the shell: 127 not found, 126 not executable.
      return {
        machine: { state: { tag: 'fatal', reason: event.exit.summary, exitStatus: event.exit.code ?? 1 }, ctx: { ...machine.ctx, lastExit: event.exit } },
        effects: [
          exitedEvent({ instance: state.instance, pid: null }, event.exit, false),
          { type: 'emit', event: { type: 'fatal', reason: event.exit.summary, exit: event.exit, exitStatus: event.exit.code ?? 1 } },
          { type: 'exit', status: event.exit.code ?? 1 },
        ],
      };
    case 'stop':
      // A stop that arrives before the pid is known is deferred until spawn (as wireit does).
      return beginStop(machine, state.instance, null, null, 'requested', env, []);
    case 'restart':
      // Already starting a fresh instance with the current config: nothing more to do.
      return { machine, effects: [] };
    case 'start': case 'ready': case 'startup-timeout': case 'liveness-failed': case 'min-uptime-elapsed':
    case 'exited': case 'backoff-elapsed': case 'stop-timeout':
      return impossible(state, event);
  }
}

function onStarting(machine: Machine, state: Extract<State, { tag: 'starting' }>, event: MachineEvent, env: MachineEnv): Transition {
  switch (event.type) {
    case 'ready': {
      const effects: Effect[] = [
        { type: 'clear-timer', name: 'startup' },
        { type: 'stop-probe' },
        { type: 'emit', event: { type: 'ready', instance: state.instance, pid: state.pid, readyInMs: env.now - state.spawnedAt, url: event.url, ...(event.how ? { how: event.how } : {}) } },
        { type: 'set-timer', name: 'min-uptime', ms: env.restart.minUptime },
      ];
      if (env.health.liveness) effects.push({ type: 'start-liveness' });
      return {
        machine: { state: { tag: 'ready', instance: state.instance, pid: state.pid, since: state.since, readyAt: env.now }, ctx: { ...machine.ctx, everReady: true } },
        effects,
      };
    }
    case 'startup-timeout':
      return beginStop(machine, state.instance, state.pid, state.spawnedAt, 'startup-timeout', env, [
        { type: 'stop-probe' },
        { type: 'emit', event: { type: 'restarting', reason: 'startup-timeout' } },
      ], event.failure);
    case 'exited':
      // A failed start: it died before any probe passed.
      return afterUnrequestedExit(machine, event.exit, env, [
        { type: 'clear-timer', name: 'startup' },
        { type: 'stop-probe' },
        exitedEvent(state, event.exit, false),
      ]);
    case 'stop':
      return beginStop(machine, state.instance, state.pid, state.spawnedAt, 'requested', env, [
        { type: 'clear-timer', name: 'startup' },
        { type: 'stop-probe' },
      ]);
    case 'restart':
      return beginStop(machine, state.instance, state.pid, state.spawnedAt, 'restart', env, [
        { type: 'clear-timer', name: 'startup' },
        { type: 'stop-probe' },
        { type: 'emit', event: { type: 'restarting', reason: 'reload' } },
      ]);
    case 'start': case 'spawned': case 'spawn-failed': case 'liveness-failed': case 'min-uptime-elapsed':
    case 'backoff-elapsed': case 'stop-timeout':
      return impossible(state, event);
  }
}

function onReady(machine: Machine, state: Extract<State, { tag: 'ready' }>, event: MachineEvent, env: MachineEnv): Transition {
  const leave: Effect[] = [{ type: 'clear-timer', name: 'min-uptime' }];
  if (env.health.liveness) leave.push({ type: 'stop-liveness' });
  switch (event.type) {
    case 'min-uptime-elapsed':
      // Stable long enough: the next crash starts the backoff from the beginning again.
      return { machine: { state, ctx: { ...machine.ctx, attempt: 0 } }, effects: [] };
    case 'exited':
      return afterUnrequestedExit(machine, event.exit, env, [...leave, exitedEvent(state, event.exit, false)]);
    case 'liveness-failed':
      return beginStop(machine, state.instance, state.pid, state.since, 'liveness-failed', env, [
        ...leave,
        { type: 'emit', event: { type: 'liveness-failed', instance: state.instance, failures: event.failures, detail: event.detail } },
        { type: 'emit', event: { type: 'restarting', reason: 'liveness-failed' } },
      ]);
    case 'stop':
      return beginStop(machine, state.instance, state.pid, state.since, 'requested', env, leave);
    case 'restart':
      return beginStop(machine, state.instance, state.pid, state.since, 'restart', env, [
        ...leave,
        { type: 'emit', event: { type: 'restarting', reason: 'reload' } },
      ]);
    case 'start': case 'spawned': case 'spawn-failed': case 'ready': case 'startup-timeout':
    case 'backoff-elapsed': case 'stop-timeout':
      return impossible(state, event);
  }
}

function onBackoff(machine: Machine, state: Extract<State, { tag: 'backoff' }>, event: MachineEvent, env: MachineEnv): Transition {
  switch (event.type) {
    case 'backoff-elapsed':
      return spawnNext(machine, env, [{ type: 'emit', event: { type: 'restarting', reason: backoffReason(machine.ctx.lastExit) } }]);
    case 'stop':
      // Nothing runs: stopping is immediate.
      return finishStopped(machine, 0, true, [{ type: 'clear-timer', name: 'backoff' }]);
    case 'restart':
      // An explicit restart skips the remaining wait.
      return spawnNext(machine, env, [{ type: 'clear-timer', name: 'backoff' }, { type: 'emit', event: { type: 'restarting', reason: 'reload' } }]);
    case 'start': case 'spawned': case 'spawn-failed': case 'ready': case 'startup-timeout': case 'liveness-failed':
    case 'min-uptime-elapsed': case 'exited': case 'stop-timeout':
      return impossible(state, event);
  }
}

function onStopping(machine: Machine, state: Extract<State, { tag: 'stopping' }>, event: MachineEvent, env: MachineEnv): Transition {
  switch (event.type) {
    case 'spawned': {
      // The deferred stop: the pid is known now, so signal it.
      const effects: Effect[] = [
        { type: 'signal', signal: env.shutdown.signal },
        { type: 'set-timer', name: 'stop-timeout', ms: env.shutdown.timeout },
      ];
      return { machine: { state: { ...state, pid: event.pid, signalled: true, spawnedAt: env.now }, ctx: machine.ctx }, effects };
    }
    case 'spawn-failed':
      return afterStoppedInstance(machine, state, event.exit, env, []);
    case 'exited':
      return afterStoppedInstance(machine, state, event.exit, env, [{ type: 'clear-timer', name: 'stop-timeout' }]);
    case 'stop': {
      if (state.reason !== 'requested') {
        // We were stopping it for our own reasons; now the user wants out: same signal, no restart.
        return { machine: { state: { ...state, reason: 'requested' }, ctx: machine.ctx }, effects: [] };
      }
      // A second stop request: kill at once (a user pressing Ctrl+C twice means it).
      if (state.escalated || state.pid === null) return { machine, effects: [] };
      return {
        machine: { state: { ...state, escalated: true }, ctx: machine.ctx },
        effects: [
          { type: 'clear-timer', name: 'stop-timeout' },
          { type: 'emit', event: { type: 'escalated', instance: state.instance, reason: 'second-signal' } },
          { type: 'signal', signal: 'SIGKILL' },
        ],
      };
    }
    case 'stop-timeout':
      return {
        machine: { state: { ...state, escalated: true }, ctx: machine.ctx },
        effects: [
          { type: 'emit', event: { type: 'escalated', instance: state.instance, reason: 'timeout' } },
          { type: 'signal', signal: 'SIGKILL' },
        ],
      };
    case 'restart':
      // Already on the way down; a stop for restart will restart anyway, a requested stop wins.
      return { machine, effects: [] };
    case 'start': case 'ready': case 'startup-timeout': case 'liveness-failed': case 'min-uptime-elapsed': case 'backoff-elapsed':
      return impossible(state, event);
  }
}

function afterStoppedInstance(machine: Machine, state: Extract<State, { tag: 'stopping' }>, exit: ExitInfo, env: MachineEnv, effects: Effect[]): Transition {
  switch (state.reason) {
    case 'requested': {
      // Exits during a requested stop never restart. The stop succeeded: status 0.
      const out = [...effects, exitedEvent(state, exit, true)];
      return finishStopped({ state, ctx: { ...machine.ctx, lastExit: exit } }, 0, !state.escalated, out);
    }
    case 'restart': {
      const out = [...effects, exitedEvent(state, exit, true)];
      const ctx: Context = { ...machine.ctx, lastExit: exit, restarts: machine.ctx.restarts + 1, attempt: 0 };
      return spawnNext({ state, ctx }, env, out);
    }
    case 'startup-timeout':
    case 'liveness-failed': {
      const cause = state.reason;
      // A probe that got an answer names it; the generic advice is for a server that never answered.
      const summary = cause === 'startup-timeout'
        ? state.failure?.summary ?? `not ready within ${formatDuration(env.health.startupTimeout)} (health.startupTimeout)`
        : 'failed its liveness probe (health.liveness)';
      const fix = cause === 'startup-timeout'
        ? state.failure?.fix ?? 'check that the server listens on PORT and answers the health probe; raise health.startupTimeout if it is just slow'
        : 'the server stopped answering its liveness probe: look at its log for a hang or an overloaded event loop';
      const ours: ExitInfo = { ...exit, cause, summary, fix, uptimeMs: state.spawnedAt === null ? 0 : env.now - state.spawnedAt };
      return afterUnrequestedExit(machine, ours, env, [...effects, exitedEvent(state, ours, false)]);
    }
    default: {
      const never: never = state.reason;
      throw new InternalError(`unknown stop reason ${String(never)}`);
    }
  }
}

function onTerminal(machine: Machine, state: Extract<State, { tag: 'stopped' | 'fatal' }>, event: MachineEvent): Transition {
  switch (event.type) {
    case 'stop':
    case 'restart':
      // The supervisor is already done; late signals are harmless.
      return { machine, effects: [] };
    case 'start': case 'spawned': case 'spawn-failed': case 'ready': case 'startup-timeout': case 'liveness-failed':
    case 'min-uptime-elapsed': case 'exited': case 'backoff-elapsed': case 'stop-timeout':
      return impossible(state, event);
  }
}
