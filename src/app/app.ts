/**
 * A running app: the mode that brings the public port to its instances (src/reload/mode.ts:
 * direct, handoff or proxy — opened once, closed last) and the instances it supervises
 * (src/app/instance.ts), each with its own state machine. N = 1 today; running more is a change of
 * N (issue 20), not of this class: stop, forward and reload go to every instance, and the app ends
 * when all of them have.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { HttpProxyStats } from '../reload/http-proxy.js';
import type { InstanceWiring, Mode } from '../reload/mode.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import type { RunnerDeps, Supervisor } from '../supervisor/runner.js';
import { Instance, type ReloadResult } from './instance.js';

export type { ReloadResult } from './instance.js';

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

  constructor(options: AppOptions) {
    this.options = options;
    this.startedAt = (options.now ?? Date.now)();
  }

  /** The instance `status` and the status server report on (the only one, today). */
  private get primary(): Instance | null { return this.instances[0] ?? null; }
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
      this.instances.push(new Instance({ config, mode, makeDeps: this.options.makeDeps, onEvent: this.options.onEvent }));
      if (this.stopRequested) for (const instance of this.instances) instance.stop();
      const statuses = await Promise.all(this.instances.map((i) => i.start()));
      return statuses.find((s) => s !== 0) ?? 0;
    } finally {
      try {
        await mode.close();
      } catch {
        // The listener is ours and going away with the process anyway.
      }
    }
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

  /** A restart with the current config: blue/green in the zero-downtime modes. */
  restart(): Promise<ReloadResult> {
    return this.each((i) => i.restart());
  }

  /** Goes back to the configuration before the last reload, by the same procedure. */
  rollback(): Promise<ReloadResult> {
    return this.each((i) => i.rollback());
  }

  /** Restarts with `config` (SIGHUP, `naija-sup reload`): one instance after the other. */
  reload(config: ResolvedConfig, remember = true): Promise<ReloadResult> {
    return this.each((i) => i.reload(config, remember));
  }

  /** Runs `step` on each instance in turn, stopping at the first that fails. */
  private async each(step: (instance: Instance) => Promise<ReloadResult>): Promise<ReloadResult> {
    if (this.instances.length === 0) return { ok: false, outcome: 'not-running', pid: null };
    let result: ReloadResult = { ok: false, outcome: 'not-running', pid: null };
    for (const instance of this.instances) {
      result = await step(instance);
      if (!result.ok) return result;
    }
    return result;
  }
}
