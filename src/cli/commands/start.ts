/**
 * `naija-sup start`: parse, call the one core entry point (`supervise()`, src/app/supervise.ts),
 * render its events, and translate signals: SIGINT/SIGTERM stop (a second one kills), SIGHUP
 * re-reads the config and reloads (or, in the foreground on a terminal, stops: the terminal
 * closed), SIGUSR1/SIGUSR2 are forwarded to the instance's group.
 */
import type { Supervision } from '../../app/supervise.js';
// Not config/index.js: that also holds the JSON Schema and README generators, which a
// supervisor that lives for days never uses.
import { loadConfig } from '../../config/load.js';
import type { ConfigFlags } from '../../config/resolve.js';
import type { LoadedConfig } from '../../config/types.js';
import type { SupervisorEvent } from '../../supervisor/events.js';
import { guardOutput, type CliIO } from '../context.js';
import type { EventRenderer } from '../event-renderer.js';
import type { StartOptions } from '../options.js';
import { boundYoungGeneration, instanceEnv } from '../resident.js';
import { packageVersion } from '../../package-root.js';

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
 * What only a supervising `start` needs (its renderers, own-output rotation, the terminal check):
 * imported beside the supervisor while the config is read, so that `start -d`'s foreground, which
 * hands over before any of it is used, never loads them.
 */
async function foregroundModules(): Promise<{
  events: typeof import('../event-renderer.js');
  json: typeof import('../json-renderer.js');
  own: typeof import('../own-output.js');
  terminal: typeof import('../../process/terminal.js');
  resolve: typeof import('../../config/resolve.js');
}> {
  const [events, json, own, terminal, resolve] = await Promise.all([
    import('../event-renderer.js'), import('../json-renderer.js'), import('../own-output.js'), import('../../process/terminal.js'), import('../../config/resolve.js'),
  ]);
  return { events, json, own, terminal, resolve };
}

export async function startCommand(io: CliIO, opts: StartOptions, command: string[], rawArgv: string[] = []): Promise<number> {
  guardOutput();
  if (opts.detach) {
    const { startDetached } = await import('../detach.js');
    return startDetached(io, rawArgv, { opts, command });
  }
  // Before the supervisor's modules load and allocate (src/cli/resident.ts says why); only when
  // this start owns the process: one run inside another program (tests) leaves its heap alone.
  if (io.signals === process) boundYoungGeneration();
  // Imported only here: `start -d` itself never supervises (the background process does). Not
  // awaited yet: the supervisor's modules load while the config file is read and checked.
  const superviseModule = import('../../app/supervise.js');
  const modules = foregroundModules();
  const t0 = performance.now();
  const load = (): Promise<LoadedConfig> => loadConfig({
    cwd: io.cwd,
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    env: io.env,
    flags: flagsFrom(opts, command),
    requireCommand: true,
  });
  const loaded = await load().catch(async (error: unknown) => {
    // Settled before the error goes up: an unawaited import that fails later would be unhandled.
    await Promise.all([superviseModule.catch(() => undefined), modules.catch(() => undefined)]);
    throw error;
  });
  const configLoadMs = performance.now() - t0;
  const [{ supervise }, { events, json, own: ownOutput, terminal, resolve }] = await Promise.all([superviseModule, modules]);
  const { config } = loaded;
  const format = config.logFormat ?? (io.isTTY ? 'human' : 'json');
  const renderer: Renderer = format === 'json'
    ? new json.JsonRenderer(io, { name: config.name, verbose: Boolean(opts.verbose) })
    : new events.EventRenderer(io, { name: config.name, raw: Boolean(opts.raw), verbose: Boolean(opts.verbose), portOrigin: resolve.portOrigin(loaded, io.cwd) }, await events.paletteFor(io));
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
