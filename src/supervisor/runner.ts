/**
 * The runner performs the state machine's effects (spawn, signal, probe, timers) and feeds the
 * outcomes back as events. Everything that touches the outside world is injected (`RunnerDeps`), so
 * unit tests drive a whole lifecycle with fake timers and fake children, and src/supervisor/real-deps.ts
 * wires the real ones.
 *
 * Events are queued: an effect that produces an event synchronously (a spawn that reports its pid)
 * is handled after the current transition has finished, never re-entrantly.
 *
 * Beside it: the deps' types (runner-deps.ts), the readiness and liveness loops (health-watch.ts),
 * and how an instance's end becomes an ExitInfo after its group is cleared (instance-exit.ts).
 */
import type { ResolvedConfig } from '../config/types.js';
import { InternalError } from '../errors.js';
import type { ExitInfo } from './events.js';
import { judgeListening, type BindFinding } from './bind-check.js';
import { watchLiveness, watchReadiness, type ProbeLoop } from './health-watch.js';
import { clearGroupAfterExit, dependencyExit, fdShortageExit, spawnFailedExit } from './instance-exit.js';
import { inheritHistory } from './backoff.js';
import { initialMachine, transition, type Effect, type Machine, type MachineEnv, type MachineEvent, type TimerName } from './machine.js';
import type { InstanceHandle, ProbeOutcome, RunnerDeps, SpawnFailure } from './runner-deps.js';
import { readyDescription, StartupAnswers } from './startup-answers.js';
import { FD_SHORTAGE_FIX, isTransientSpawnError, spawnRetryDelay } from './spawn-retry.js';
import { StartupSchedule, startupProbeDelay } from './startup-schedule.js';
import { formatDuration } from '../elapsed.js';

// The outside world as the runner sees it is runner-deps.ts; exported from here too, because the
// App, the real deps, the dependency wait, the metrics and src/index.ts name these types beside
// the Supervisor.
export type {
  Classification,
  Clock,
  DependencyOutcome,
  InstanceHandle,
  ProbeOutcome,
  RunnerDeps,
  SpawnFailure,
} from './runner-deps.js';

interface Live {
  instance: number;
  handle: InstanceHandle;
  pid: number | null;
  spawnedAt: number;
  exited: boolean;
  /** The signals sent to it on the way down, and why SIGKILL was (its exit is told by them). */
  sent: NodeJS.Signals[];
  escalation: 'timeout' | 'second-signal' | null;
}

/** The 7th refusal in a row: 560 ms after the spawn with the default health.interval. */
const OTHER_PORT_CHECK_AFTER = 7;
const OTHER_HOST_CHECK_DELAY_MS = 250;

export class Supervisor {
  private machine: Machine;
  private config: ResolvedConfig;
  private readonly deps: RunnerDeps;
  private readonly queue: MachineEvent[] = [];
  private draining = false;
  private readonly timers = new Map<TimerName, unknown>();
  private live: Live | null = null;
  private probeAbort: AbortController | null = null;
  /** The other-host look after `ready`; cleared when the instance exits, so it never holds up a stop. */
  private bindCheckTimer: unknown = null;
  private livenessAbort: AbortController | null = null;
  private readinessAbort: AbortController | null = null;
  private dependencyAbort: AbortController | null = null;
  /** The readiness probe's verdict while ready (true when no readiness probe is configured). */
  private readonly readiness = { ok: true };
  private lastProbe: (ProbeOutcome & { at: number; kind: string }) | null = null;
  private logMatcher: RegExp | null = null;
  private firstProbe = true;
  /** The current start's probe answers, for its failure's reason (reset at each spawn). */
  private startupAnswers = new StartupAnswers();
  /** Consecutive spawns that failed for want of file descriptors, and the retry waiting. */
  private spawnRetries = 0;
  private pendingSpawnRetry: { exit: ExitInfo; timer: unknown } | null = null;
  /** Findings already said, so each is said once per supervisor, not at every restart. */
  private readonly saidFindings = new Set<string>();
  private resolveDone!: (status: number) => void;
  private rejectDone!: (error: unknown) => void;
  /** Resolves with the supervisor's exit status. */
  readonly done: Promise<number>;

  /** Behind the proxy: the instance's port is a private one naija-sup chose. */
  private readonly privatePort: boolean;

  /** `instanceSeq`: instances are numbered from instanceSeq + 1 (see initialMachine). */
  constructor(config: ResolvedConfig, deps: RunnerDeps, options: { instanceSeq?: number; privatePort?: boolean } = {}) {
    this.config = config;
    this.deps = deps;
    this.privatePort = options.privatePort ?? false;
    this.machine = initialMachine(options.instanceSeq ?? 0);
    this.done = new Promise<number>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
  }

  /** Takes over the history of the supervisor it replaces, at a blue/green promotion (backoff.ts, inheritHistory). */
  inherit(from: Pick<Machine['ctx'], 'restarts' | 'lastExit'>): void { this.machine = { ...this.machine, ctx: inheritHistory(this.machine.ctx, from) }; }

  get state(): Machine['state'] { return this.machine.state; }
  get context(): Machine['ctx'] { return this.machine.ctx; }
  get currentConfig(): ResolvedConfig { return this.config; }
  /** Ready for traffic: the startup probe passed and the readiness probe (if any) is passing. */
  get readyForTraffic(): boolean { return this.machine.state.tag === 'ready' && this.readiness.ok; }
  /** The last probe result of any kind, for status and /health. */
  get lastProbeResult(): (ProbeOutcome & { at: number; kind: string }) | null { return this.lastProbe; }

  start(): Promise<number> {
    this.dispatch({ type: 'start' });
    return this.done;
  }

  /** A graceful stop; a second call kills at once. */
  stop(): void {
    this.dependencyAbort?.abort();
    this.dispatch({ type: 'stop' });
    this.cancelSpawnRetry();
  }

  /** Replaces the config used from the next transition on, without restarting (a promoted green). */
  setConfig(config: ResolvedConfig): void {
    this.config = config;
    this.deps.configChanged?.(config, this.machine.state.tag === 'ready');
  }

  /** The instance's processes (escaped descendants included) as known now; [] when none runs. */
  instanceProcesses(): Array<{ pid: number; startTime: string; pgid: number }> {
    const pid = this.live?.pid;
    return pid === null || pid === undefined || !this.deps.instanceProcesses ? [] : this.deps.instanceProcesses(pid);
  }

  /** The running instance's pid, or null. */
  get instancePid(): number | null {
    return this.live && !this.live.exited ? this.live.pid : null;
  }

  /** Restart the instance with `config` (SIGHUP / reload): the next spawn uses it. */
  restart(config?: ResolvedConfig): void {
    if (config) this.config = config;
    this.dispatch({ type: 'restart' });
  }

  /** Forward a signal (SIGUSR1, SIGUSR2) to the instance's group. Returns the pid, or null when none runs. */
  forward(signal: NodeJS.Signals): number | null {
    const pid = this.live && !this.live.exited ? this.live.pid : null;
    if (pid === null) return null;
    this.deps.signalGroup(pid, signal);
    this.deps.onEvent({ type: 'signal-forwarded', signal, pid });
    return pid;
  }

  private env(): MachineEnv {
    return {
      now: this.deps.clock.now(),
      random: this.deps.random,
      restart: this.config.restart,
      shutdown: this.config.shutdown,
      health: { startupTimeout: this.config.health.startupTimeout, liveness: this.config.health.liveness !== null },
    };
  }

  private dispatch(event: MachineEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const before = this.machine.state.tag;
        const result = transition(this.machine, next, this.env());
        this.machine = result.machine;
        for (const effect of result.effects) this.perform(effect);
        // The readiness probe runs exactly while the machine is ready (it decides traffic, not restarts).
        const after = this.machine.state.tag;
        if (before !== 'ready' && after === 'ready') this.startReadiness();
        if (before === 'ready' && after !== 'ready') {
          this.readinessAbort?.abort();
          this.readinessAbort = null;
          this.readiness.ok = true;
        }
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.draining = false;
    }
  }

  /** An internal error: kill what runs (it must not outlive us) and reject. */
  private fail(error: unknown): void {
    this.queue.length = 0;
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    if (this.pendingSpawnRetry !== null) this.deps.clock.clearTimeout(this.pendingSpawnRetry.timer);
    this.probeAbort?.abort();
    this.clearBindCheck();
    this.livenessAbort?.abort();
    if (this.live?.pid && !this.live.exited) {
      try { this.signalInstance(this.live.pid, 'SIGKILL'); } catch { /* best effort while failing */ }
    }
    if (this.deps.dispose === undefined) {
      this.rejectDone(error);
      return;
    }
    this.deps.dispose().then(() => this.rejectDone(error), () => this.rejectDone(error));
  }

  private perform(effect: Effect): void {
    switch (effect.type) {
      case 'spawn': return this.doSpawn(effect.instance);
      case 'signal':
        if (this.live?.pid && (!this.live.exited || this.members(this.live.pid).length > 0)) {
          this.live.sent.push(effect.signal);
          this.signalInstance(this.live.pid, effect.signal);
        }
        return;
      case 'start-probe': return this.startProbe();
      case 'stop-probe':
        this.probeAbort?.abort();
        this.probeAbort = null;
        this.logMatcher = null;
        return;
      case 'start-liveness': return this.startLiveness();
      case 'stop-liveness':
        this.livenessAbort?.abort();
        this.livenessAbort = null;
        return;
      case 'set-timer': return this.setTimer(effect.name, effect.ms);
      case 'clear-timer': return this.clearTimer(effect.name);
      case 'emit':
        if (effect.event.type === 'escalated' && this.live !== null) this.live.escalation = effect.event.reason;
        return this.deps.onEvent(effect.event);
      case 'exit':
        for (const name of [...this.timers.keys()]) this.clearTimer(name);
        if (this.deps.dispose === undefined) {
          this.resolveDone(effect.status);
          return;
        }
        {
          const status = effect.status;
          this.deps.dispose().then(() => this.resolveDone(status), () => this.resolveDone(status));
        }
        return;
      default: {
        const never: never = effect;
        throw new InternalError(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  private setTimer(name: TimerName, ms: number): void {
    this.clearTimer(name);
    // Built when the timer fires: a startup timeout carries what the probe answered by then.
    const event = (): MachineEvent => name === 'startup' ? { type: 'startup-timeout', failure: this.startupAnswers.failure(this.config) }
      : name === 'backoff' ? { type: 'backoff-elapsed' }
      : name === 'min-uptime' ? { type: 'min-uptime-elapsed' }
      : { type: 'stop-timeout' };
    this.timers.set(name, this.deps.clock.setTimeout(() => {
      this.timers.delete(name);
      this.dispatch(event());
    }, ms));
  }

  private clearTimer(name: TimerName): void {
    const handle = this.timers.get(name);
    if (handle !== undefined) {
      this.deps.clock.clearTimeout(handle);
      this.timers.delete(name);
    }
  }

  private doSpawn(instance: number): void {
    const config = this.config;
    if (config.dependsOn.length > 0 && this.deps.waitDependencies) {
      void this.spawnAfterDependencies(instance, config).catch((e: unknown) => this.fail(e));
      return;
    }
    this.spawnNow(instance, config);
  }

  /** Dependencies first (issue 7): a dependency that never answers fails the start, naming it. */
  private async spawnAfterDependencies(instance: number, config: ResolvedConfig): Promise<void> {
    const abort = new AbortController();
    this.dependencyAbort = abort;
    const results = await this.deps.waitDependencies!(config, abort.signal);
    this.dependencyAbort = null;
    for (const r of results) this.deps.onEvent({ type: 'dependency', ...r });
    const failed = results.filter((r) => !r.ok);
    if (abort.signal.aborted || this.machine.state.tag !== 'spawning' || failed.length > 0) {
      this.dispatch({ type: 'spawn-failed', exit: dependencyExit(failed) });
      return;
    }
    this.spawnNow(instance, config);
  }

  private spawnNow(instance: number, config: ResolvedConfig): void {
    this.deps.onEvent({ type: 'spawning', instance, command: config.command, port: config.port });
    const spawnedAt = this.deps.clock.now();
    const handle = this.deps.spawn(config);
    const live: Live = { instance, handle, pid: handle.pid ?? null, spawnedAt, exited: false, sent: [], escalation: null };
    this.live = live;
    this.firstProbe = true;
    this.startupAnswers = new StartupAnswers();

    handle.onLine((stream, line) => {
      this.deps.onEvent({ type: 'output', instance, stream, line });
      if (this.live === live && this.logMatcher && this.logMatcher.test(line)) {
        this.logMatcher = null;
        this.dispatch({ type: 'ready', url: `log line /${config.health.log ?? ''}/` });
      }
    });
    handle.onSpawnError((error) => {
      if (live.exited) return;
      live.exited = true;
      if (isTransientSpawnError(error.code) && this.machine.state.tag === 'spawning') {
        this.retrySpawn(instance, error);
        return;
      }
      this.dispatch({ type: 'spawn-failed', exit: spawnFailedExit(error, config) });
    });
    handle.onExit((info) => {
      if (live.exited) return;
      live.exited = true;
      void this.afterLeaderExit(live, info);
    });
    if (live.pid !== null) {
      this.spawnRetries = 0;
      this.deps.instanceStarted?.(live.pid, config);
      this.dispatch({ type: 'spawned', pid: live.pid });
    }
  }

  /** Out of file descriptors: not the command's fault, and it passes. Try again later, saying why. */
  private retrySpawn(instance: number, error: SpawnFailure): void {
    this.spawnRetries += 1;
    const delay = spawnRetryDelay(this.spawnRetries, this.config.restart, this.deps.random);
    this.deps.onEvent({ type: 'warning', message: `${error.message}; trying again in ${formatDuration(delay)} (attempt ${this.spawnRetries + 1})`, fix: FD_SHORTAGE_FIX });
    const exit = fdShortageExit(error);
    this.pendingSpawnRetry = {
      exit,
      timer: this.deps.clock.setTimeout(() => {
        this.pendingSpawnRetry = null;
        if (this.machine.state.tag === 'spawning') this.spawnNow(instance, this.config);
        else this.dispatch({ type: 'spawn-failed', exit });
      }, delay),
    };
  }

  /** A stop while a spawn waits to be retried: nothing runs, so the machine hears the failure now. */
  private cancelSpawnRetry(): void {
    const pending = this.pendingSpawnRetry;
    if (pending === null || this.machine.state.tag === 'spawning') return;
    this.pendingSpawnRetry = null;
    this.deps.clock.clearTimeout(pending.timer);
    this.dispatch({ type: 'spawn-failed', exit: pending.exit });
  }

  /**
   * The group leader exited. Before the machine hears of it, make sure nothing of its group is left:
   * a wrapper (`sh -c`, npm) or a pre-fork parent can die and leave a worker holding the port.
   */
  private async afterLeaderExit(live: Live, info: { code: number | null; signal: NodeJS.Signals | null }): Promise<void> {
    const wasReady = this.machine.state.tag === 'ready';
    try {
      this.probeAbort?.abort();
      this.clearBindCheck();
      const pid = live.pid;
      if (pid !== null) {
        await clearGroupAfterExit(pid, this.machine.state.tag === 'stopping', {
          members: (p) => this.members(p),
          signal: (p, signal) => this.signalInstance(p, signal),
          clock: this.deps.clock,
          config: () => this.config,
        });
        this.deps.instanceGone?.(pid, this.config);
      }
      // Whatever still holds the pipes (a stray that survived SIGKILL) must not keep us alive.
      live.handle.closeOutput?.();
      const stderrTail = live.handle.stderrTail(20);
      // What naija-sup sent it while stopping it, so a death by those signals is told as asked for.
      const stopping = this.machine.state.tag === 'stopping' ? { sent: live.sent, escalation: live.escalation } : undefined;
      const c = this.deps.classify({ code: info.code, signal: info.signal, stderrTail, stderr: live.handle.stderrKept?.(), wasReady, command: this.config.command, port: this.config.port, ...(stopping ? { stopping } : {}) });
      const now = this.deps.clock.now();
      const exit: ExitInfo = {
        code: info.code, signal: info.signal, cause: c.cause, summary: c.summary, fix: c.fix,
        at: Date.now(), uptimeMs: now - live.spawnedAt, stderrTail, failureId: c.failureId,
      };
      this.dispatch({ type: 'exited', exit });
    } catch (error) {
      this.fail(error);
    }
  }

  private members(pid: number): number[] {
    return this.deps.instanceMembers ? this.deps.instanceMembers(pid) : this.deps.groupMembers(pid);
  }

  private signalInstance(pid: number, signal: NodeJS.Signals): void {
    if (this.deps.signalInstance) this.deps.signalInstance(pid, signal);
    else this.deps.signalGroup(pid, signal);
  }

  private startProbe(): void {
    const config = this.config;
    if (config.health.type === 'log') {
      this.logMatcher = new RegExp(config.health.log ?? '');
      return;
    }
    const abort = new AbortController();
    this.probeAbort = abort;
    const instance = this.live?.instance;
    const accepts = this.deps.accepts?.bind(this.deps);
    const schedule = new StartupSchedule(this.deps.clock, abort.signal, accepts && ((signal) => accepts(config, signal)));
    const attempt = async (): Promise<void> => {
      if (abort.signal.aborted) return;
      const result = await this.deps.probe('startup', config, abort.signal);
      if (abort.signal.aborted || this.live?.instance !== instance) return;
      this.lastProbe = { ...result, at: Date.now(), kind: 'startup' };
      const changed = this.startupAnswers.count(result);
      this.deps.onEvent({
        type: 'probe', probe: 'startup', instance: instance ?? 0, ok: result.ok, detail: result.detail, latencyMs: result.latencyMs,
        first: this.firstProbe, changed, ...(result.status === undefined ? {} : { status: result.status }),
      });
      this.firstProbe = false;
      if (result.ok) {
        this.dispatch({ type: 'ready', ...readyDescription(config, result) });
        // Looked at a moment later, not now: it reads /proc/net/tcp (10–40 ms on a host with
        // thousands of sockets), and right after `ready` a `start -d` asks for the status.
        this.bindCheckTimer = this.deps.clock.setTimeout(() => {
          this.bindCheckTimer = null;
          if (this.live?.instance === instance) this.checkListening(config, 'other-host');
        }, OTHER_HOST_CHECK_DELAY_MS);
        return;
      }
      // Nothing answers where it should: does the server listen somewhere else? Looked at after
      // OTHER_PORT_CHECK_AFTER refusals (not in the first half second, while a server is usually
      // still booting: the /proc read would slow the start it watches), then now and then.
      const times = this.startupAnswers.times;
      if (result.status === undefined && (times === OTHER_PORT_CHECK_AFTER || times % 40 === 0)) this.checkListening(config, 'other-port');
      const nothingAnswered = result.status === undefined;
      schedule.wait(startupProbeDelay(this.startupAnswers.attempts, config.health.interval), nothingAnswered, () => { void attempt().catch((e: unknown) => this.fail(e)); });
    };
    void attempt().catch((e: unknown) => this.fail(e));
  }

  private clearBindCheck(): void {
    if (this.bindCheckTimer !== null) this.deps.clock.clearTimeout(this.bindCheckTimer);
    this.bindCheckTimer = null;
  }

  /**
   * Where does the instance listen? A finding of `kind` is said once (a warning) and, for a server
   * on another port, becomes the reason if the start times out.
   */
  private checkListening(config: ResolvedConfig, kind: BindFinding['kind']): void {
    const pid = this.live?.pid;
    if (pid === null || pid === undefined || !this.deps.listening) return;
    const finding = judgeListening(this.deps.listening(pid), { port: config.port, host: config.host, privatePort: this.privatePort });
    if (finding?.kind !== kind) return;
    if (kind === 'other-port') this.startupAnswers.bindFinding = finding;
    if (this.saidFindings.has(finding.message)) return;
    this.saidFindings.add(finding.message);
    this.deps.onEvent({ type: 'warning', message: finding.message, fix: finding.fix });
  }

  /** Readiness while ready (health-watch.ts): it decides traffic (readyForTraffic), never restarts. */
  private startReadiness(): void {
    const spec = this.config.health.readiness;
    if (!spec) return;
    const abort = new AbortController();
    this.readinessAbort = abort;
    this.readiness.ok = true;
    watchReadiness(this.probeLoop(abort.signal), spec, this.live?.instance ?? 0, this.readiness);
  }

  /** Liveness while ready (health-watch.ts): enough failures in a row restart the instance. */
  private startLiveness(): void {
    const liveness = this.config.health.liveness;
    if (!liveness) return;
    const abort = new AbortController();
    this.livenessAbort = abort;
    watchLiveness(this.probeLoop(abort.signal), liveness, () => this.live?.instance ?? 0, (failures, detail) => {
      this.dispatch({ type: 'liveness-failed', failures, detail });
    });
  }

  private probeLoop(signal: AbortSignal): ProbeLoop {
    return {
      deps: this.deps,
      config: this.config,
      signal,
      record: (result, kind) => { this.lastProbe = { ...result, at: Date.now(), kind }; },
      fail: (error) => this.fail(error),
    };
  }
}
