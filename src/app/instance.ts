/**
 * One instance of an app (src/app/app.ts owns N of them; N = 1 today): its current Supervisor —
 * its own state machine, restarts, probes and standby — and, when the app's mode allows one, its
 * blue/green swap (src/reload/swap.ts). The mode (src/reload/mode.ts) is the app's and shared: the
 * instance asks it for each new process's config and wiring, switches traffic through it and
 * retires old processes through it, without knowing which mode it is.
 *
 * A reload starts green beside blue with restart policy "never" (a failed green is a rollback, not
 * a crash loop), switches traffic once green passed its startup probe, drains blue, and promotes
 * green with the real restart policy.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import { Supervisor, type RunnerDeps } from '../supervisor/runner.js';
import type { InstanceWiring, Mode } from '../reload/mode.js';
import { swapTransition, type SwapEffect, type SwapEvent, type SwapState } from '../reload/swap.js';


export interface InstanceOptions {
  config: ResolvedConfig;
  /** The app's mode, already open. */
  mode: Mode;
  makeDeps(wiring: InstanceWiring, onEvent: (event: SupervisorEvent) => void): RunnerDeps;
  onEvent(event: SupervisorEvent): void;
  /** Its number among the app's instances, 0…N−1 (NAIJA_SUP_INSTANCE; its slot in the proxy). */
  index?: number;
  /**
   * Whether the proxy sends it requests before its first process is ready (default true): the
   * app's first instance, so that requests arriving during the start go to it rather than time out
   * in the queue. Any other waits for its startup probe: the ready ones serve meanwhile.
   */
  earlyTraffic?: boolean;
}

export interface ReloadResult {
  ok: boolean;
  outcome: 'reloaded' | 'restarted' | 'rolled-back' | 'failed' | 'busy' | 'not-running';
  cause?: string;
  pid: number | null;
}

function isTerminal(sup: Supervisor): boolean {
  return sup.state.tag === 'stopped' || sup.state.tag === 'fatal';
}

export class Instance {
  private config: ResolvedConfig;
  private previous: ResolvedConfig | null = null;
  private readonly options: InstanceOptions;
  private readonly listener: Mode;
  private current: Supervisor | null = null;
  private green: Supervisor | null = null;
  private swap: SwapState = { tag: 'idle' };
  private swapDone: ((result: ReloadResult) => void) | null = null;
  private greenConfig: ResolvedConfig | null = null;
  /**
   * Old blues told to drain. A swap can end (a green that crashed after the switch fails it) while
   * its blue still drains: the app must still escalate it on a second stop and wait for it before
   * it ends, or the blue would outlive its supervisor.
   */
  private readonly retiring = new Set<Supervisor>();
  /** Each supervisor's deps, to rewrite blue's instance record after a rollback. */
  private readonly depsOf = new Map<Supervisor, RunnerDeps>();
  /** Wakes a waitForReadyOrExit() on its supervisor's ready, backoff, fatal and stopped events. */
  private readonly stateWatchers = new Map<Supervisor, Set<() => void>>();
  private finished = false;
  /** Resolves once start() has a current supervisor, or has ended without one. */
  private readonly begun: Promise<void>;
  private markBegun!: () => void;
  private stopRequested = false;
  private secondStop = false;
  private resolveDone!: (status: number) => void;
  private rejectDone!: (error: unknown) => void;
  readonly done: Promise<number>;

  /** Its number among the app's instances, 0…N−1. */
  readonly index: number;

  constructor(options: InstanceOptions) {
    this.options = options;
    this.index = options.index ?? 0;
    this.config = options.config;
    this.listener = options.mode;
    this.begun = new Promise((resolve) => { this.markBegun = resolve; });
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
  }

  get currentConfig(): ResolvedConfig { return this.config; }
  get supervisor(): Supervisor | null { return this.current; }
  get greenSupervisor(): Supervisor | null { return this.green; }
  /** The configuration a rollback would go back to (App undoes a failed rolling reload with it). */
  get previousConfig(): ResolvedConfig | null { return this.previous; }
  set previousConfig(config: ResolvedConfig | null) { this.previous = config; }
  get reloading(): boolean { return this.swap.tag === 'starting-green' || this.swap.tag === 'draining-blue' || this.swap.tag === 'rolling-back'; }

  async start(): Promise<number> {
    try {
      const instanceConfig = await this.listener.instanceConfig(this.config);
      // Stopped before it began (a Ctrl+C while the mode opened): nothing to start.
      if (this.stopRequested) {
        await this.finish(0);
        return this.done;
      }
      const sup = this.makeSupervisor(instanceConfig, 'current');
      this.current = sup;
      this.markBegun();
      if (this.options.earlyTraffic !== false) this.listener.switchTo(this.index, instanceConfig);
      void sup.start();
    } catch (error) {
      await this.finish(null, error);
    }
    return this.done;
  }

  stop(): void {
    this.stopRequested = true;
    // An old blue that is already draining keeps draining; a second request escalates both.
    if (this.green && (this.green.state.tag !== 'stopping' || this.secondStop)) this.green.stop();
    for (const blue of this.retiring) if (blue !== this.green && this.secondStop) blue.stop();
    this.current?.stop();
    this.secondStop = true;
  }

  forward(signal: NodeJS.Signals): number | null {
    return this.current?.forward(signal) ?? null;
  }

  /** Resolves true once this instance's first process is ready, false if it gave up on that start. */
  async waitReady(): Promise<boolean> {
    await this.begun;
    return this.current === null ? false : (await this.waitForReadyOrExit(this.current)).ok;
  }

  /** A restart with the current config: blue/green in the zero-downtime modes. */
  restart(): Promise<ReloadResult> {
    return this.reload(this.config, false);
  }

  /** Goes back to the configuration before the last reload, by the same procedure. */
  rollback(): Promise<ReloadResult> {
    if (!this.previous) return Promise.resolve({ ok: false, outcome: 'failed', cause: 'no earlier configuration to go back to (no reload changed it)', pid: this.current?.instancePid ?? null });
    return this.reload(this.previous, true);
  }

  /** Restarts with `config` (SIGHUP, `naija-sup reload`). */
  async reload(config: ResolvedConfig, remember = true): Promise<ReloadResult> {
    const current = this.current;
    if (!current || this.finished || this.stopRequested) return { ok: false, outcome: 'not-running', pid: null };
    if (this.reloading) return { ok: false, outcome: 'busy', cause: 'a reload is already in progress', pid: current.instancePid };
    const before = this.config;
    const t0 = Date.now();
    this.options.onEvent({ type: 'reload-started', mode: this.config.mode, bluePid: current.instancePid });
    if (config.mode !== this.config.mode) {
      // The listener (or its absence) is chosen at start: a reload cannot add, drop or swap it.
      const cause = `mode cannot change on reload (${this.config.mode} → ${config.mode}); stop and start the supervisor to change it`;
      this.options.onEvent({ type: 'reload-finished', outcome: 'failed', cause, durationMs: Date.now() - t0, pid: current.instancePid });
      return { ok: false, outcome: 'failed', cause, pid: current.instancePid };
    }
    const adopted = this.listener.adoptReload(this.config, config);
    if (adopted.warning) this.options.onEvent({ type: 'warning', ...adopted.warning });
    config = adopted.config;
    // A config that validates but cannot be exec'd fails the reload before anything is stopped.
    const problem = this.depsOf.get(current)?.spawnProblem?.(config) ?? null;
    if (problem !== null) {
      const cause = `the new configuration cannot be started: ${problem}`;
      this.options.onEvent({ type: 'reload-finished', outcome: 'failed', cause, durationMs: Date.now() - t0, pid: current.instancePid });
      return { ok: false, outcome: 'failed', cause, pid: current.instancePid };
    }
    if (!this.listener.zeroDowntime || current.state.tag !== 'ready') {
      // Direct mode, or nothing ready to keep serving: a plain restart.
      if (remember && config !== before) this.previous = before;
      // Behind the proxy every instance listens on a private port of its own: never the public one.
      const instanceConfig = await this.listener.instanceConfig(config);
      this.config = config;
      current.restart(instanceConfig);
      this.listener.switchTo(this.index, instanceConfig);
      const result = await this.waitForReadyOrExit(current);
      this.options.onEvent({ type: 'reload-finished', outcome: result.ok ? 'restarted' : 'failed', cause: result.cause, durationMs: Date.now() - t0, pid: result.pid });
      return result.ok ? { ok: true, outcome: 'restarted', pid: result.pid } : { ok: false, outcome: 'failed', cause: result.cause, pid: result.pid };
    }
    return new Promise<ReloadResult>((resolve) => {
      this.swapDone = (result) => {
        if (result.ok && remember && config !== before) this.previous = before;
        this.options.onEvent({ type: 'reload-finished', outcome: result.outcome === 'reloaded' ? 'reloaded' : result.outcome === 'rolled-back' ? 'rolled-back' : 'failed', cause: result.cause, durationMs: Date.now() - t0, pid: result.pid });
        resolve(result);
      };
      this.greenConfig = config;
      this.swap = { tag: 'idle' };
      this.dispatchSwap({ type: 'begin' });
    });
  }

  /**
   * Resolves once `sup` is ready (ok) or has given up on this start (backoff, fatal, stopped). Woken
   * by the supervisor's own events (see makeSupervisor), not by polling its state.
   */
  private waitForReadyOrExit(sup: Supervisor): Promise<{ ok: boolean; cause?: string; pid: number | null }> {
    return new Promise((resolve) => {
      const settled = (): boolean => {
        const s = sup.state.tag;
        if (s === 'ready') resolve({ ok: true, pid: sup.instancePid });
        else if (s === 'fatal' || s === 'stopped') resolve({ ok: false, cause: sup.context.lastExit?.summary ?? s, pid: null });
        else if (s === 'backoff') resolve({ ok: false, cause: sup.context.lastExit?.summary ?? 'the new instance exited', pid: null });
        else return false;
        return true;
      };
      if (settled()) return;
      // Several may wait on one supervisor (two reloads asked for at once): each settles alone.
      const watchers = this.stateWatchers.get(sup) ?? new Set<() => void>();
      this.stateWatchers.set(sup, watchers);
      const watcher = (): void => {
        if (!settled()) return;
        watchers.delete(watcher);
        if (watchers.size === 0) this.stateWatchers.delete(sup);
      };
      watchers.add(watcher);
    });
  }

  private dispatchSwap(event: SwapEvent): void {
    const t = swapTransition(this.swap, event, Date.now());
    this.swap = t.state;
    for (const effect of t.effects) this.performSwap(effect);
  }

  private performSwap(effect: SwapEffect): void {
    switch (effect.type) {
      case 'start-green':
        void this.startGreen();
        return;
      case 'switch-to-green':
        this.listener.switchTo(this.index, this.green?.currentConfig ?? null);
        return;
      case 'promote-green': {
        const blue = this.current;
        const green = this.green;
        if (!green || !this.greenConfig) return;
        // Green now carries the real restart policy and the app's history (blue's restarts and
        // last exit, read now: blue may have crashed and restarted while green started), and blue
        // is on its way out.
        green.setConfig({ ...green.currentConfig, restart: this.greenConfig.restart });
        if (blue) green.inherit(blue.context);
        this.config = this.greenConfig;
        this.current = green;
        this.green = blue;
        return;
      }
      case 'stop-blue': {
        // After promotion `this.green` holds the old blue.
        const blue = this.green;
        if (blue && isTerminal(blue)) queueMicrotask(() => this.dispatchSwap({ type: 'blue-gone' }));
        else if (blue) {
          this.retiring.add(blue);
          const ready = this.listener.retire(blue.currentConfig);
          void ready.catch(() => undefined).then(() => {
            // A stop of the whole app (or blue's own end) may have come first: a second stop()
            // would escalate to SIGKILL.
            if (!isTerminal(blue) && blue.state.tag !== 'stopping') blue.stop();
          });
        }
        return;
      }
      case 'stop-green':
        this.green?.stop();
        return;
      case 'finish': {
        const pid = this.current?.instancePid ?? null;
        const done = this.swapDone;
        if (effect.outcome === 'rolled-back' && this.current && pid !== null) {
          // Green's record (and PID file) replaced blue's when it started, and went away with it:
          // blue serves on, so it must be on record again (a later start finds its orphans by it).
          this.depsOf.get(this.current)?.instanceStarted?.(pid, this.current.currentConfig);
        }
        this.swapDone = null;
        this.green = null;
        this.greenConfig = null;
        done?.({ ok: effect.outcome === 'reloaded', outcome: effect.outcome, cause: effect.cause, pid });
        return;
      }
      default: {
        const never: never = effect;
        throw new Error(`unknown swap effect ${JSON.stringify(never)}`);
      }
    }
  }

  private async startGreen(): Promise<void> {
    const base = this.greenConfig ?? this.config;
    let instanceConfig: ResolvedConfig;
    try {
      instanceConfig = await this.listener.instanceConfig(base);
    } catch (error) {
      this.abandonGreen(`no private port for the new instance: ${(error as Error)?.message ?? String(error)}`);
      return;
    }
    // A stop that arrived while the private port was being chosen: starting green now would
    // outlive the stop (App.stop only knows the instances that exist).
    if (this.stopRequested || this.finished) {
      this.abandonGreen('the supervisor is stopping');
      return;
    }
    // A green that fails is a rollback, never a crash loop: no restarts until it is promoted.
    const green = this.makeSupervisor({ ...instanceConfig, restart: { ...instanceConfig.restart, policy: 'never' } }, 'green');
    this.green = green;
    void green.start();
  }

  /** Green could not even be started: a rollback with nothing to stop. */
  private abandonGreen(cause: string): void {
    if (this.swap.tag !== 'starting-green') return;
    this.dispatchSwap({ type: 'green-failed', cause });
    // dispatchSwap moved the state on: read it again (TypeScript still narrows the field).
    if ((this.swap as SwapState).tag === 'rolling-back') this.dispatchSwap({ type: 'green-gone' });
  }

  private makeSupervisor(config: ResolvedConfig, role: 'current' | 'green'): Supervisor {
    const base = this.listener.wiring();
    // Each process knows which instance it is (a per-instance log file, a cron on instance 0 only).
    const wiring: InstanceWiring = { ...base, extraEnv: { ...base.extraEnv, NAIJA_SUP_INSTANCE: String(this.index) } };
    let sup: Supervisor | null = null;
    const onEvent = (event: SupervisorEvent): void => {
      if (sup !== null && (event.type === 'ready' || event.type === 'backoff' || event.type === 'fatal' || event.type === 'stopped')) {
        for (const watcher of [...(this.stateWatchers.get(sup) ?? [])]) watcher();
      }
      // Only the current instance's end speaks for the app: a green that failed is reported as a
      // rollback, an old blue that drained as part of the reload.
      const speaksForApp = sup === null || sup === this.current;
      if ((event.type === 'fatal' || event.type === 'stopped') && !speaksForApp && !this.stopRequested) return;
      // Behind the proxy the instance's own URL is a private one: the ready line shows the public one.
      this.options.onEvent(event.type === 'ready' ? { ...event, url: this.listener.publicUrl(event.url) } : event);
      // Traffic follows readiness: a current instance that crashed takes none (behind the HTTP
      // proxy requests wait, and one that failed on the dying instance is retried) until its
      // replacement is ready.
      if (sup && sup === this.current) {
        if (event.type === 'exited' && !event.expected) this.listener.switchTo(this.index, null);
        else if (event.type === 'ready') this.listener.switchTo(this.index, sup.currentConfig);
      }
      if (role === 'green' && sup && sup === this.green && this.swap.tag === 'starting-green') {
        if (event.type === 'ready') this.dispatchSwap({ type: 'green-ready' });
      }
      // Promoted green crashed while blue drains. Its own restart policy (the real one since the
      // promotion) brings up a replacement, so its supervisor does not end and `done` would never
      // tell: the crash itself fails the reload.
      if (sup && sup === this.current && this.swap.tag === 'draining-blue' && event.type === 'exited' && !event.expected) {
        this.dispatchSwap({ type: 'green-failed', cause: event.exit.summary });
      }
    };
    const deps = this.options.makeDeps(wiring, onEvent);
    // A green continues the numbering after the current instance (instance 2 after 1, not 1 again).
    const instanceSeq = role === 'green' ? (this.current?.context.instanceSeq ?? 0) : 0;
    sup = new Supervisor(config, deps, { instanceSeq, privatePort: this.listener.privatePorts });
    this.depsOf.set(sup, deps);
    const self = sup;
    self.done.then(
      (status) => this.onSupervisorDone(self, status),
      (error: unknown) => void this.finish(null, error),
    );
    return self;
  }

  private onSupervisorDone(sup: Supervisor, status: number): void {
    this.retiring.delete(sup);
    this.depsOf.delete(sup);
    if (this.reloading) {
      if (sup === this.green) {
        // Before promotion `green` is the new instance; after it, the old blue that drains.
        if (this.swap.tag === 'starting-green') {
          this.dispatchSwap({ type: 'green-failed', cause: sup.context.lastExit?.summary ?? 'the new instance did not get ready' });
        }
        if (this.swap.tag === 'rolling-back') this.dispatchSwap({ type: 'green-gone' });
        else if (this.swap.tag === 'draining-blue') this.dispatchSwap({ type: 'blue-gone' });
      } else if (sup === this.current) {
        if (this.swap.tag === 'starting-green') this.dispatchSwap({ type: 'blue-gone' });
        else if (this.swap.tag === 'draining-blue') this.dispatchSwap({ type: 'green-failed', cause: sup.context.lastExit?.summary ?? 'the new instance exited' });
      }
    }
    // Is everything over? The app ends when its current instance's supervisor has ended and no
    // swap could still bring up another one.
    const currentLive = this.current !== null && !isTerminal(this.current);
    const greenLive = this.green !== null && !isTerminal(this.green);
    if (!currentLive && (!greenLive || !this.reloading)) {
      const state = this.current?.state;
      const final = state && (state.tag === 'stopped' || state.tag === 'fatal') ? state.exitStatus : status;
      if (greenLive) this.green?.stop();
      void this.finish(final);
    }
  }

  private async finish(status: number | null, error?: unknown): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.markBegun();
    // Old blues still draining (a failed swap) end before the app does; each is bounded by its own
    // stop timeout and SIGKILL.
    await Promise.allSettled([...this.retiring].map((blue) => blue.done));
    if (status === null) this.rejectDone(error);
    else this.resolveDone(status);
  }
}
