/**
 * A running app: the mode that brings the public port to its instances (src/reload/mode.ts:
 * direct, handoff or proxy — opened once, closed last) and the N instances it supervises
 * (src/app/instance.ts, `instances` in the config; issue 20), each with its own state machine,
 * restarts and blue/green swap. Stop and forward go to every instance; reload, restart and
 * rollback go to one after the other (a rolling reload: each instance's new process must be ready
 * and take traffic before its old one is drained; `reload --parallel K` replaces K at a time), and
 * a failed step undoes the steps before it.
 * `scale` adds or stops instances without touching the others. The app ends when all have ended.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { HttpProxyStats } from '../reload/http-proxy.js';
import type { InstanceWiring, Mode } from '../reload/mode.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import type { RunnerDeps, Supervisor } from '../supervisor/runner.js';
import { instanceCount } from './cpus.js';
import { Instance, type ReloadResult } from './instance.js';
import { rollInBatches } from './rolling.js';

export type { ReloadResult } from './instance.js';

export interface ScaleResult {
  ok: boolean;
  cause?: string;
  /** How many instances the app has now. */
  instances: number;
}

export interface AppOptions {
  config: ResolvedConfig;
  makeDeps(wiring: InstanceWiring, onEvent: (event: SupervisorEvent) => void): RunnerDeps;
  /** Opens the mode config.mode names (src/reload/mode.ts openMode). */
  openMode(config: ResolvedConfig): Promise<Mode>;
  onEvent(event: SupervisorEvent): void;
  now?: () => number;
}

export class App {
  private readonly options: AppOptions;
  private mode: Mode | null = null;
  private readonly instances: Instance[] = [];
  private readonly startedAt: number;
  /** A stop that came while the mode was opening: the instances get it as soon as they exist. */
  private stopRequested = false;
  /** Instances being stopped by a scale down: their end is not the app's. */
  private readonly scaledDown = new Set<Instance>();
  /** The exit statuses of the instances that ended, and the wake-up of start() when all have. */
  private readonly statuses: number[] = [];
  private allEnded: (() => void) | null = null;
  private live = 0;
  private failure: { error: unknown } | null = null;
  /** A rolling reload, restart, rollback or scale in progress: one at a time. */
  private busy = false;

  constructor(options: AppOptions) {
    this.options = options;
    this.startedAt = (options.now ?? Date.now)();
  }

  /** The instance the top-level fields of `status` and the status server report on. */
  private get primary(): Instance | null { return this.instances[0] ?? null; }
  /** Every instance, in index order (status shows each). */
  get members(): readonly Instance[] { return this.instances; }
  /** Instances listen on private ports naija-sup chose (proxy mode): the public port is naija-sup's. */
  get privatePorts(): boolean { return this.mode?.privatePorts === true; }
  get currentConfig(): ResolvedConfig { return this.primary?.currentConfig ?? this.options.config; }
  get supervisor(): Supervisor | null { return this.primary?.supervisor ?? null; }
  get greenSupervisor(): Supervisor | null { return this.primary?.greenSupervisor ?? null; }
  get reloading(): boolean { return this.instances.some((i) => i.reloading); }
  get supervisorStartedAt(): number { return this.startedAt; }
  /** The HTTP proxy's counts per instance (proxy mode), or null. */
  proxyStats(): HttpProxyStats | null { return this.mode?.stats?.() ?? null; }

  /** Opens the mode, runs the instances until they end; resolves with the exit status. */
  async start(): Promise<number> {
    const { config } = this.options;
    const mode = await this.options.openMode(config);
    this.mode = mode;
    try {
      if (mode.name !== 'direct' && mode.address !== null) this.options.onEvent({ type: 'listener', mode: mode.name, address: mode.address });
      const ended = new Promise<void>((resolve) => { this.allEnded = resolve; });
      const count = instanceCount(config.instances);
      for (let index = 0; index < count; index += 1) this.launch(index, config);
      if (this.stopRequested) for (const instance of this.instances) instance.stop();
      await ended;
      if (this.failure) throw this.failure.error;
      return this.statuses.find((s) => s !== 0) ?? 0;
    } finally {
      try {
        await mode.close();
      } catch {
        // The listener is ours and going away with the process anyway.
      }
    }
  }

  /** Creates and starts instance `index`; when it ends it leaves the app (the last one ends it). */
  private launch(index: number, config: ResolvedConfig): Instance {
    const mode = this.mode as Mode;
    const earlyTraffic = this.instances.length === 0;
    const instance = new Instance({ config, mode, index, earlyTraffic, makeDeps: this.options.makeDeps, onEvent: this.options.onEvent });
    this.instances.push(instance);
    this.live += 1;
    // An instance that gave up stays listed (status shows it fatal) while the others serve on.
    const leave = (status: number): void => {
      this.live -= 1;
      if (!this.scaledDown.delete(instance)) this.statuses.push(status);
      if (this.live === 0) this.allEnded?.();
    };
    instance.start().then(leave, (error: unknown) => {
      // As before with one instance: the app's start() rejects with it.
      this.failure ??= { error };
      this.allEnded?.();
    });
    return instance;
  }

  /** A graceful stop of every instance; a second call kills at once. */
  stop(): void {
    this.stopRequested = true;
    for (const instance of this.instances) instance.stop();
  }

  forward(signal: NodeJS.Signals): number | null {
    let pid: number | null = null;
    for (const instance of this.instances) pid = instance.forward(signal) ?? pid;
    return pid;
  }

  /** A restart with the current config: blue/green in the zero-downtime modes, one instance at a time. */
  restart(): Promise<ReloadResult> {
    return this.rolling((i) => i.restart(), false, 1);
  }

  /** Goes back to the configuration before the last reload, by the same procedure. */
  rollback(): Promise<ReloadResult> {
    return this.rolling((i) => i.rollback(), true, 1);
  }

  /**
   * Restarts with `config` (SIGHUP, `naija-sup reload`): `parallel` instances at a time (default
   * one after the other; `reload --parallel K`).
   */
  reload(config: ResolvedConfig, remember = true, parallel = 1): Promise<ReloadResult> {
    return this.rolling((i) => i.reload(config, remember), true, parallel);
  }

  /**
   * Runs `step` on the instances `parallel` at a time (src/app/rolling.ts), stopping after the
   * first batch with a failed step. Each step is one instance's blue/green swap: its new process is
   * ready and takes traffic before its old one is drained, so the others serve throughout. When the
   * configuration changes (`undoable`), a failed step leaves that instance on its old process (its
   * own rollback) and the instances already replaced — the failed batch's included — go back to the
   * configuration they had, the same way: the app ends as it began.
   */
  private async rolling(step: (instance: Instance) => Promise<ReloadResult>, undoable: boolean, parallel: number): Promise<ReloadResult> {
    if (this.instances.length === 0) return { ok: false, outcome: 'not-running', pid: null };
    if (this.busy) {
      // One instance answers for itself, as it always did ("a reload is already in progress").
      const only = this.instances.length === 1 ? this.instances[0] : undefined;
      if (only) return step(only);
      return { ok: false, outcome: 'busy', cause: 'a reload, restart or scale is already in progress', pid: this.primary?.supervisor?.instancePid ?? null };
    }
    this.busy = true;
    try {
      // What each instance would go back to: taken before any step (busy keeps anything else out).
      const before = this.instances.filter((i) => !this.scaledDown.has(i))
        .map((instance) => ({ instance, config: instance.currentConfig, previous: instance.previousConfig }));
      let last: ReloadResult = { ok: false, outcome: 'not-running', pid: null };
      const rolled = await rollInBatches(before, parallel, async (b) => (last = await step(b.instance)));
      const first = rolled.failed[0];
      if (first === undefined) return last;
      if (undoable && rolled.done.length > 0) await this.undo(rolled.done, parallel);
      if (rolled.done.length === 0 || !undoable) return first.result;
      const why = rolled.failed.map((f) => `instance ${f.item.instance.index}: ${f.result.cause ?? f.result.outcome}`).join('; ');
      const back = rolled.done.map((r) => r.instance.index);
      return { ...first.result, cause: `${why}; instance${back.length === 1 ? '' : 's'} ${back.join(', ')} went back to the configuration before` };
    } finally {
      this.busy = false;
    }
  }

  /** Puts the instances a failed rolling reload had replaced back on their configuration, newest first, `parallel` at a time. */
  private async undo(replaced: readonly { instance: Instance; config: ResolvedConfig; previous: ResolvedConfig | null }[], parallel: number): Promise<void> {
    await rollInBatches([...replaced].reverse(), parallel, async ({ instance, config, previous }) => {
      await instance.reload(config, false);
      instance.previousConfig = previous;
      // Undo goes on whatever one instance does: each is put back as far as it can be.
      return { ok: true };
    });
  }

  /**
   * Runs `count` instances from now on (`naija-sup scale`): new ones start beside the others, the
   * highest-numbered stop gracefully (the proxy sends them nothing new first). The others are not
   * touched. Resolves once every new instance is ready (or has failed to get ready).
   */
  async scale(count: number): Promise<ScaleResult> {
    const mode = this.mode;
    if (!mode || this.stopRequested) return { ok: false, cause: 'the app is not running', instances: this.instances.length };
    if (!Number.isInteger(count) || count < 1) return { ok: false, cause: `expected an integer ≥ 1, got ${count}`, instances: this.instances.length };
    if (count > 1 && mode.name === 'direct') return { ok: false, cause: 'mode "direct" runs one instance (each would bind the port itself); set mode to "handoff" or "proxy" to run more', instances: this.instances.length };
    if (this.busy) return { ok: false, cause: 'a reload, restart or scale is already in progress', instances: this.instances.length };
    this.busy = true;
    try {
      const config = this.currentConfig;
      const started: Instance[] = [];
      while (this.instances.length < count) started.push(this.launch(this.instances.length, config));
      const stopping = this.instances.splice(count);
      for (const instance of stopping) {
        this.scaledDown.add(instance);
        // No new traffic first (proxy), then the stop once what was sent its way can finish.
        mode.switchTo(instance.index, null);
        const sup = instance.supervisor;
        if (sup) await mode.retire(sup.currentConfig).catch(() => undefined);
        instance.stop();
      }
      const ready = await Promise.all(started.map((i) => i.waitReady()));
      const failed = started.filter((_, k) => !ready[k]);
      await Promise.all(stopping.map((i) => i.done));
      if (failed.length > 0) return { ok: false, cause: `instance${failed.length === 1 ? '' : 's'} ${failed.map((i) => i.index).join(', ')} did not get ready`, instances: this.instances.length };
      return { ok: true, instances: this.instances.length };
    } finally {
      this.busy = false;
    }
  }
}
