/**
 * `naija-sup start`: load the config, check the run dir, supervise the instance in the foreground,
 * and translate signals: SIGINT/SIGTERM stop (a second one kills), SIGHUP re-reads the config and
 * restarts with it, SIGUSR1/SIGUSR2 are forwarded to the instance's group.
 */
import { loadConfig } from '../../config/index.js';
import type { ResolvedConfig } from '../../config/types.js';
import { ensureRunDir } from '../../control/run-dir.js';
import { isNaijaSupError } from '../../errors.js';
import { realDeps } from '../../supervisor/real-deps.js';
import { Supervisor } from '../../supervisor/runner.js';
import type { CliIO } from '../context.js';
import { EventRenderer } from '../event-renderer.js';
import type { StartOptions } from '../main.js';

function flagsFrom(opts: StartOptions, command: string[]) {
  return {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.killExisting !== undefined ? { killExisting: opts.killExisting } : {}),
    ...(opts.pidFile !== undefined ? { pidFile: opts.pidFile } : {}),
    ...(opts.portFallback !== undefined ? { portFallback: opts.portFallback } : {}),
    ...(command.length > 0 ? { command } : {}),
  };
}

export async function startCommand(io: CliIO, opts: StartOptions, command: string[]): Promise<number> {
  const t0 = performance.now();
  const load = () => loadConfig({
    cwd: io.cwd,
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    env: io.env,
    flags: flagsFrom(opts, command),
    requireCommand: true,
  });
  const loaded = await load();
  const config: ResolvedConfig = loaded.config;
  const renderer = new EventRenderer(io, { name: config.name, raw: Boolean(opts.raw), verbose: Boolean(opts.verbose) });
  renderer.handle({ type: 'config-loaded', file: loaded.filepath, durationMs: performance.now() - t0 });

  const runDir = ensureRunDir(io.env);
  const tPre = performance.now();
  // Port preflight (owner lookup, stale instance cleanup) is the preflight issue's work; until it
  // lands a port conflict shows up as the child's own EADDRINUSE, classified with its fix.
  renderer.handle({ type: 'preflight', durationMs: performance.now() - tPre, findings: [] });

  const supervisor = new Supervisor(config, realDeps({ runDir, baseEnv: io.env, onEvent: (e) => renderer.handle(e) }));

  const signals = io.signals;
  const onStop = (): void => supervisor.stop();
  const onHup = (): void => {
    renderer.handle({ type: 'reload-requested', source: 'SIGHUP' });
    load().then(
      (next) => supervisor.restart(next.config),
      (error: unknown) => {
        const lines = isNaijaSupError(error) ? [error.message, ...error.details] : [String(error)];
        renderer.handle({ type: 'reload-rejected', errors: lines });
      },
    );
  };
  const onUsr1 = (): void => { supervisor.forward('SIGUSR1'); };
  const onUsr2 = (): void => { supervisor.forward('SIGUSR2'); };
  signals?.on('SIGINT', onStop);
  signals?.on('SIGTERM', onStop);
  signals?.on('SIGHUP', onHup);
  signals?.on('SIGUSR1', onUsr1);
  signals?.on('SIGUSR2', onUsr2);
  try {
    return await supervisor.start();
  } finally {
    signals?.off('SIGINT', onStop);
    signals?.off('SIGTERM', onStop);
    signals?.off('SIGHUP', onHup);
    signals?.off('SIGUSR1', onUsr1);
    signals?.off('SIGUSR2', onUsr2);
    renderer.close();
  }
}
