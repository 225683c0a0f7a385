/**
 * Keeps the warm standby (`restart.standby`, src/process/standby.ts) for one supervisor: parks a
 * spare once the instance is ready, hands it to the next spawn after a failure, discards it when
 * it cannot be used, and waits for every spare it started before the supervisor ends.
 *
 * It follows the supervisor only through its events (see {@link StandbyKeeper.observe}), so the
 * runner and its state machine know nothing about it.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { ChildHandle } from '../process/spawn.js';
import type { Standby } from '../process/standby.js';
import type { SupervisorEvent } from './events.js';

/** A spare that was lost this many times is not started again (a gate that cannot work here). */
const MAX_LOSSES = 3;
/** Longest a spare may take to boot and reach its gate. */
const ARM_TIMEOUT_MS = 15_000;

type RestartReason = Extract<SupervisorEvent, { type: 'restarting' }>['reason'];

export interface StandbyKeeperOptions {
  /** The instance's environment and the fingerprint a spare must match to stand in for it. */
  spec(config: ResolvedConfig): { env: Record<string, string | undefined>; fingerprint: string };
  /** fds passed as 3, 4, … (handoff mode's listening socket). */
  extraFds: readonly number[];
  onEvent(event: SupervisorEvent): void;
}

export class StandbyKeeper {
  readonly #options: StandbyKeeperOptions;
  #standby: Standby | null = null;
  #losses = 0;
  #module: Promise<typeof import('../process/standby.js')> | null = null;
  #closed = false;
  #ready = false;
  #lastConfig: ResolvedConfig | null = null;
  // Why the next spawn happens: a spare stands in only for an instance that failed (crash,
  // liveness, startup timeout). A reload or a requested restart starts a fresh process: the user
  // asked for it, and may have changed what Node reads at boot (an --env-file, a wrapper's
  // NODE_OPTIONS).
  #restartReason: RestartReason | null = null;
  /** Discards in flight, so dispose() can wait until every spare has exited. */
  readonly #discarding = new Set<Promise<void>>();

  constructor(options: StandbyKeeperOptions) {
    this.#options = options;
  }

  /**
   * Sees every supervisor event; `forward` passes it on. A 'stopped' or 'fatal' discards the spare
   * first, so the supervisor's last line is that it stopped; a 'ready' parks a spare after it.
   */
  observe(event: SupervisorEvent, forward: () => void): void {
    if (event.type === 'restarting') this.#restartReason = event.reason;
    if (event.type === 'fatal' || event.type === 'stopped') {
      this.#closed = true;
      this.#drop('the supervisor stopped');
    }
    if (event.type === 'ready') this.#ready = true;
    if (event.type === 'exited' || event.type === 'stopping' || event.type === 'restarting') this.#ready = false;
    forward();
    if (event.type === 'ready' && this.#lastConfig !== null) this.#prepareSafely(this.#lastConfig);
  }

  /**
   * For a spawn of `config`: the parked spare, released, when this spawn replaces a failed instance
   * and the spare matches `fingerprint`; otherwise null (and a spare that cannot be used is ended).
   */
  take(config: ResolvedConfig, fingerprint: string): ChildHandle | null {
    this.#lastConfig = config;
    const parked = this.#standby;
    const reason = this.#restartReason;
    this.#restartReason = null;
    if (parked === null) return null;
    const failed = reason === 'crash' || reason === 'liveness-failed' || reason === 'startup-timeout';
    if (failed && parked.state === 'armed' && parked.fingerprint === fingerprint) {
      this.#standby = null;
      const handle = parked.release();
      this.#options.onEvent({ type: 'standby', state: 'promoted', pid: parked.pid });
      return handle;
    }
    this.#drop(!failed ? 'a reload or restart starts a fresh process' : parked.fingerprint !== fingerprint ? 'the configuration changed' : 'it was not ready yet');
    return null;
  }

  /**
   * The supervisor's config changed without a restart: a promoted green gets its real restart
   * policy only now (it ran as "never" while on trial), after its ready event, so park its spare here.
   */
  configChanged(config: ResolvedConfig, ready: boolean): void {
    this.#lastConfig = config;
    if (ready && this.#ready) this.#prepareSafely(config);
  }

  /** Ends the spare and resolves once every spare this keeper started has exited. */
  async dispose(): Promise<void> {
    this.#closed = true;
    this.#drop('the supervisor stopped');
    await Promise.all([...this.#discarding]);
  }

  #discard(parked: Standby): void {
    const done: Promise<void> = parked.discard().finally(() => this.#discarding.delete(done));
    this.#discarding.add(done);
  }

  #drop(detail: string): void {
    const parked = this.#standby;
    this.#standby = null;
    if (parked === null) return;
    this.#options.onEvent({ type: 'standby', state: 'discarded', pid: parked.pid, detail });
    this.#discard(parked);
  }

  #lose(parked: Standby, detail: string): void {
    if (this.#standby === parked) this.#standby = null;
    this.#losses += 1;
    this.#options.onEvent({ type: 'standby', state: 'lost', pid: parked.pid, detail: `the standby ${detail} before it was needed` });
    if (this.#losses >= MAX_LOSSES) {
      this.#options.onEvent({
        type: 'warning',
        message: `warm standby turned off: it was lost ${this.#losses} times`,
        fix: 'check that the command runs node directly (not a shim) and that NODE_OPTIONS may use --require here; crash restarts still work, without the head start',
      });
    }
  }

  #prepareSafely(config: ResolvedConfig): void {
    // A spare that cannot even be spawned (EMFILE, ENOMEM) must never take the supervisor down.
    this.#prepare(config).catch((error: unknown) => {
      this.#losses += 1;
      this.#options.onEvent({ type: 'warning', message: `could not start the warm standby: ${(error as Error).message}` });
    });
  }

  async #prepare(config: ResolvedConfig): Promise<void> {
    // None when nothing would ever be restarted (policy never), or when one is already parked.
    if (!config.restart.standby || config.restart.policy === 'never' || this.#standby !== null || this.#losses >= MAX_LOSSES) return;
    this.#module ??= import('../process/standby.js');
    const { Standby: StandbyProcess, isNodeCommand } = await this.#module;
    if (this.#closed || this.#standby !== null || !isNodeCommand(config.command)) return;
    const { env, fingerprint } = this.#options.spec(config);
    const parked = new StandbyProcess({ command: config.command, cwd: config.cwd, env, extraFds: this.#options.extraFds, fingerprint });
    this.#standby = parked;
    // A process that never reaches the gate (a `node` shim that ignores NODE_OPTIONS would be
    // running the server unparked) is ended and counted as lost.
    const armTimer = setTimeout(() => {
      if (this.#standby !== parked || parked.state !== 'booting') return;
      this.#lose(parked, `did not reach the gate within ${ARM_TIMEOUT_MS / 1000} s`);
      this.#discard(parked);
    }, ARM_TIMEOUT_MS);
    armTimer.unref();
    parked.once('armed', () => {
      clearTimeout(armTimer);
      this.#options.onEvent({ type: 'standby', state: 'armed', pid: parked.pid });
    });
    parked.once('gone', (_exit, why) => {
      clearTimeout(armTimer);
      this.#lose(parked, why);
    });
  }
}
