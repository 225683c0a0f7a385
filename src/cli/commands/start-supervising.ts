/**
 * A supervising `start` (the foreground one, and the background supervisor of `start -d`): read
 * the config, call the one core entry point (`supervise()`, src/app/supervise.ts), render its
 * events, and translate signals: SIGINT/SIGTERM stop (a second one kills), SIGHUP re-reads the
 * config and reloads (or, in the foreground on a terminal, stops: the terminal closed),
 * SIGUSR1/SIGUSR2 are forwarded to the instance's group. Apart from `start -d`'s hand-over
 * (start.ts), so the background supervisor's bundle (src/cli/resident-main.ts) never holds it.
 */
import type { Supervision } from '../../app/supervise.js';
// Not config/index.js: that also holds the JSON Schema and README generators, which a
// supervisor that lives for days never uses.
import { loadConfig } from '../../config/load.js';
import { envTwinName } from '../../config/schema.js';
import type { ConfigFlags } from '../../config/resolve.js';
import type { LoadedConfig } from '../../config/types.js';
import type { SupervisorEvent } from '../../supervisor/events.js';
import type { CliIO } from '../context.js';
import type { EventRenderer } from '../event-renderer.js';
import type { StartOptions } from '../options.js';
import { boundYoungGeneration, instanceEnv } from '../resident.js';
import { packageVersion } from '../../package-root.js';
import { readPortTablesAhead } from '../../ports/tables-ahead.js';
import { monotonicMs } from '../../clock.js';

function flagsFrom(opts: StartOptions, command: string[]): ConfigFlags {
  return {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.killExisting !== undefined ? { killExisting: opts.killExisting } : {}),
    ...(opts.pidFile !== undefined ? { pidFile: opts.pidFile } : {}),
    ...(opts.portFallback !== undefined ? { portFallback: opts.portFallback } : {}),
    ...(opts.statusPort !== undefined ? { statusPort: opts.statusPort } : {}),
    ...(opts.logFormat !== undefined ? { logFormat: opts.logFormat } : {}),
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    ...(command.length > 0 ? { command } : {}),
  };
}

function ownVersion(): string {
  try {
    return packageVersion();
  } catch {
    return '0.0.0';
  }
}

type Renderer = Pick<EventRenderer, 'handle' | 'close'>;

/**
 * What only a supervising `start` needs (own-output rotation, the terminal check, the port's
 * origin): imported beside the supervisor while the config is read, so that `start -d`'s
 * foreground, which hands over before any of it is used, never loads them.
 */
async function foregroundModules(): Promise<{
  own: typeof import('../own-output.js');
  terminal: typeof import('../../process/terminal.js');
  resolve: typeof import('../../config/resolve.js');
}> {
  const [own, terminal, resolve] = await Promise.all([import('../own-output.js'), import('../../process/terminal.js'), import('../../config/resolve.js')]);
  return { own, terminal, resolve };
}

type RendererModule = typeof import('../event-renderer.js') | typeof import('../json-renderer.js');

/**
 * The one renderer this start uses: human lines on a terminal, JSON lines otherwise (the config's
 * logFormat decides once it is read). Only that one is loaded (the background supervisor of
 * `start -d` never holds the human renderer and its colours); the likely one loads beside the
 * config, the other only if the config chose it.
 */
/** The one rule for the output's form: JSON when chosen, else human lines on a terminal only. */
function wantsHuman(chosen: string | null | undefined, isTTY: boolean): boolean {
  return (chosen ?? (isTTY ? 'human' : 'json')) !== 'json';
}

function rendererModule(human: boolean): Promise<RendererModule> {
  return human ? import('../event-renderer.js') : import('../json-renderer.js');
}

async function makeRenderer(io: CliIO, opts: StartOptions, loaded: LoadedConfig, guess: { human: boolean; module: Promise<RendererModule> }, portOrigin: () => string | null): Promise<Renderer> {
  const { config } = loaded;
  const human = wantsHuman(config.logFormat, io.isTTY);
  const module = await (human === guess.human ? guess.module : rendererModule(human));
  if ('JsonRenderer' in module) return new module.JsonRenderer(io, { name: config.name, verbose: Boolean(opts.verbose) });
  return new module.EventRenderer(io, { name: config.name, raw: Boolean(opts.raw), verbose: Boolean(opts.verbose), portOrigin: portOrigin() }, await module.paletteFor(io));
}

/** Supervises until stopped; returns the exit status. The caller guarded the output (guardOutput). */
export async function startSupervising(io: CliIO, opts: StartOptions, command: string[]): Promise<number> {
  // Before the supervisor's modules load and allocate (src/cli/resident.ts says why); only when
  // this start owns the process: one run inside another program (tests) leaves its heap alone.
  if (io.signals === process) await boundYoungGeneration();
  // The port check's socket tables, read on the thread pool while the config loads (~3 ms of
  // kernel time off the path to the spawn; src/ports/tables-ahead.ts says what it trades).
  readPortTablesAhead();
  // Imported only here: `start -d` itself never supervises (the background process does). Not
  // awaited yet: the supervisor's modules load while the config file is read and checked.
  const superviseModule = import('../../app/supervise.js');
  const modules = foregroundModules();
  // The flag or the environment may already say; the config file can still decide otherwise.
  const guessHuman = wantsHuman(opts.logFormat ?? io.env[envTwinName('logFormat')], io.isTTY);
  const guess = { human: guessHuman, module: rendererModule(guessHuman) };
  const t0 = monotonicMs();
  const load = (): Promise<LoadedConfig> => loadConfig({
    cwd: io.cwd,
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    env: io.env,
    flags: flagsFrom(opts, command),
    requireCommand: true,
  });
  const loaded = await load().catch(async (error: unknown) => {
    // Settled before the error goes up: an unawaited import that fails later would be unhandled.
    await Promise.all([superviseModule.catch(() => undefined), modules.catch(() => undefined), guess.module.catch(() => undefined)]);
    throw error;
  });
  const configLoadMs = monotonicMs() - t0;
  const [{ supervise }, { own: ownOutput, terminal, resolve }] = await Promise.all([superviseModule, modules]);
  const { config } = loaded;
  const renderer = await makeRenderer(io, opts, loaded, guess, () => resolve.portOrigin(loaded, io.cwd));
  // Detached (src/cli/detach.ts), our stdout is a file that never rotates: the server's output
  // goes only to the rotating log in the run dir.
  const detached = io.env['NAIJA_SUP_DETACHED'] === '1';
  const env = instanceEnv(io.env);
  const own = detached ? ownOutput.ownOutputRotator({ maxSize: config.logs.maxSize, maxFiles: config.logs.maxFiles }) : null;
  const onEvent = (e: SupervisorEvent): void => {
    if (detached && e.type === 'output') return;
    renderer.handle(e);
    own?.check();
  };
  const running = supervise({ loaded, reloadConfig: load, env, onEvent, configLoadMs, force: Boolean(opts.force), version: ownVersion() });
  const unlisten = listenToSignals(io, running, terminal.hasControllingTerminal);
  try {
    return await running.done;
  } finally {
    unlisten();
    renderer.close();
  }
}

/** Signals to the supervisor, as a terminal, `kill` or an init send them. Returns the unsubscribe. */
function listenToSignals(io: CliIO, running: Supervision, hasControllingTerminal: () => boolean): () => void {
  const signals = io.signals;
  if (!signals) return () => undefined;
  // Closing the terminal sends SIGHUP: in the foreground on a terminal it stops (gracefully, once:
  // a hangup may deliver it twice), as every foreground CLI does. Detached (setsid), under
  // systemd or nohup there is no terminal to close and SIGHUP keeps meaning "reload". Asked now:
  // by the time a hangup's SIGHUP is handled, the kernel has detached the terminal already.
  const hupStops = io.signals === process && io.isTTY && hasControllingTerminal();
  let hungUp = false;
  const onStop = (): void => running.stop();
  const onHup = (): void => {
    if (hupStops) {
      if (hungUp) return;
      hungUp = true;
      running.report({ type: 'warning', message: 'SIGHUP in the foreground with a controlling terminal (the terminal closed): stopping', fix: 'to reload instead, use "naija-sup reload"' });
      running.stop();
      return;
    }
    running.report({ type: 'reload-requested', source: 'SIGHUP' });
    void running.reload();
  };
  const onUsr1 = (): void => running.forward('SIGUSR1');
  const onUsr2 = (): void => running.forward('SIGUSR2');
  const handlers: Array<[NodeJS.Signals, () => void]> = [['SIGINT', onStop], ['SIGTERM', onStop], ['SIGHUP', onHup], ['SIGUSR1', onUsr1], ['SIGUSR2', onUsr2]];
  for (const [name, handler] of handlers) signals.on(name, handler);
  return () => { for (const [name, handler] of handlers) signals.off(name, handler); };
}
