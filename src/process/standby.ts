/**
 * Warm standby (`restart.standby`): a spare Node process, booted ahead of time and parked before the
 * server's code runs, that becomes the next instance when the current one crashes.
 *
 * Why: recovery from a crash is "notice the exit" (the child's exit event, ~1 ms) plus "start the
 * server again", and for a Node server most of the second part is Node booting itself — 100–170 ms on
 * the development machine before a single line of the server runs (docs/benchmarks.md). A standby
 * has already paid that, so a promoted standby only loads and runs the server's own code.
 *
 * How: the standby is the configured command with `NODE_OPTIONS=--require bin/standby-gate.cjs` and
 * one extra pipe. The gate runs before the server's code, writes "a" (armed) and blocks on a read.
 * {@link Standby.release} writes "g" and the server starts; closing the pipe instead (discard, or the
 * supervisor dying, even by SIGKILL) makes the gate exit 0 without running anything. The gate also
 * restores NODE_OPTIONS, so the server's own Node children start normally.
 *
 * Used for restarts after a failure only (src/supervisor/real-deps.ts): a reload or a requested
 * restart starts a fresh process.
 *
 * Only for commands that ARE Node (`node`, `nodejs`, `node20`, or this process's own executable):
 * another program would ignore NODE_OPTIONS and start serving at once, beside the instance.
 * Costs one idle Node process (~40 MiB RSS) for as long as the supervisor runs.
 */

import { EventEmitter } from 'node:events';
export { isNodeCommand } from './node-command.js';
import { spawnInstance, type ChildHandle, type ExitInfo } from './spawn.js';
import { signalGroup } from './terminate.js';
import { packagePath } from '../package-root.js';

/** The gate the standby's Node runs first. */
export const STANDBY_GATE_PATH = packagePath('bin', 'standby-gate.cjs');
/** Environment names the gate reads (and removes). */
export const STANDBY_FD_ENV = 'NAIJA_SUP_STANDBY_FD';
export const STANDBY_SAVED_OPTIONS_ENV = 'NAIJA_SUP_STANDBY_NODE_OPTIONS';

const ARMED = 0x61; // "a"
const GO = 'g';

/** NODE_OPTIONS quoting: a value with spaces or quotes goes in double quotes, `"` and `\` escaped. */
function quoteNodeOption(value: string): string {
  return /[\s"'\\]/.test(value) ? `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"` : value;
}

/**
 * The standby's environment: `env` plus the gate. The user's own NODE_OPTIONS is kept after ours,
 * and saved so the gate can put it back exactly.
 */
export function standbyEnv(env: Record<string, string | undefined>, gateFd: number, gatePath: string = STANDBY_GATE_PATH): Record<string, string | undefined> {
  const own = env['NODE_OPTIONS'];
  return {
    ...env,
    NODE_OPTIONS: `--require ${quoteNodeOption(gatePath)}${own !== undefined && own !== '' ? ` ${own}` : ''}`,
    [STANDBY_FD_ENV]: String(gateFd),
    [STANDBY_SAVED_OPTIONS_ENV]: own ?? '',
  };
}

export interface StandbyOptions {
  command: readonly string[];
  cwd: string;
  /** The instance's environment (the gate's variables are added). */
  env: Record<string, string | undefined>;
  /** fds passed as 3, 4, … exactly as the instance would get them (handoff listener). */
  extraFds?: readonly number[];
  /** Anything that must match for the standby to be used in place of a fresh spawn. */
  fingerprint: string;
  gatePath?: string;
}

export type StandbyState = 'booting' | 'armed' | 'released' | 'gone';

/**
 * One parked Node process. Emits 'armed' once the gate waits, and 'gone' (with the exit) if it ends
 * before it was released.
 */
export class Standby extends EventEmitter<{ armed: []; gone: [exit: ExitInfo | null, why: string] }> {
  readonly fingerprint: string;
  readonly handle: ChildHandle;
  #state: StandbyState = 'booting';
  readonly #onExit: (exit: ExitInfo) => void;
  readonly #exited: Promise<void>;

  constructor(options: StandbyOptions) {
    super();
    this.fingerprint = options.fingerprint;
    const extraFds = options.extraFds ?? [];
    this.handle = spawnInstance({
      command: options.command,
      cwd: options.cwd,
      env: standbyEnv(options.env, 3 + extraFds.length, options.gatePath),
      extraFds,
      extraPipe: true,
    });
    this.#exited = new Promise<void>((resolve) => {
      this.handle.once('exit', () => resolve());
      this.handle.once('error', () => resolve());
    });
    this.#onExit = (exit) => this.#lost(exit, describeExit(exit));
    this.handle.on('exit', this.#onExit);
    this.handle.on('error', (error) => this.#lost(null, `could not be started (${error.code})`));
    const pipe = this.handle.extraPipe;
    if (pipe === null) return; // the spawn failed: 'error' follows
    pipe.on('data', (chunk: Buffer) => {
      if (this.#state === 'booting' && chunk.includes(ARMED)) {
        this.#state = 'armed';
        this.emit('armed');
      }
    });
    // The gate closes its end only by exiting: a parked process that died is lost at once, not
    // when its 'exit' arrives (up to the output flush later), so a crash restart never picks it.
    pipe.once('close', () => this.#lost(null, 'ended (its gate pipe closed)'));
  }

  get state(): StandbyState { return this.#state; }
  get pid(): number | null { return this.handle.pid; }

  /**
   * Lets the parked process run the server. Only an armed standby can be released; the caller owns
   * the returned handle from here on (its exit is no longer the standby's business).
   */
  release(): ChildHandle {
    if (this.#state !== 'armed') throw new Error(`standby is ${this.#state}, not armed`);
    this.#state = 'released';
    this.handle.off('exit', this.#onExit);
    const pipe = this.handle.extraPipe;
    pipe?.end(GO);
    return this.handle;
  }

  /**
   * Ends the parked process: the pipe closes (the gate exits 0 on end of file) and its group gets
   * SIGKILL, identity-checked. Resolves once it has exited, or after `timeoutMs`.
   */
  async discard(timeoutMs = 2000): Promise<void> {
    if (this.#state === 'released') return;
    const wasGone = this.#state === 'gone';
    this.#state = 'gone';
    this.handle.extraPipe?.destroy();
    if (wasGone) return;
    const target = this.handle.groupTarget();
    if (target !== null) signalGroup(target, 'SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
  }

  #lost(exit: ExitInfo | null, why: string): void {
    if (this.#state === 'released' || this.#state === 'gone') return;
    this.#state = 'gone';
    this.handle.extraPipe?.destroy();
    this.emit('gone', exit, why);
  }
}

function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? '?'}`;
}
