/**
 * `naija-sup stop [--timeout DUR] [--force]`: parses, finds the app, and calls the core's
 * `stopApp()` (src/control/stop-app.ts), showing the lines it reports.
 */
import { parseDuration } from '../../config/duration.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';
import type { StopOptions } from '../options.js';
import { NOT_RUNNING, noAppLine, targetApp } from './ls.js';
import { notRunningLines } from './status.js';

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (error) {
    throw new NaijaSupError('E_USAGE', `--timeout: ${(error as Error).message}`, { fix: 'give a duration like 10s, 500ms or 2m' });
  }
}

export async function stopCommand(io: CliIO, opts: StopOptions): Promise<number> {
  const timeoutMs = parseTimeout(opts.timeout);
  // Loaded while the app is looked for: this command's start-up is part of every stop's wait.
  const stopAppModule = import('../../control/stop-app.js');
  stopAppModule.catch(() => undefined); // awaited below when there is an app to stop
  const target = await targetApp(io, opts, 'stop');
  if (target.kind === 'none') {
    // Not "stopped": nothing names an app here, so the user's app may well be running elsewhere.
    io.stdout(noAppLine(io));
    return NOT_RUNNING;
  }
  const { stopApp } = await stopAppModule;
  return stopApp(target.location, { timeoutMs, force: opts.force === true }, {
    out: (text) => io.stdout(text),
    notRunningNotes: (name, found) => notRunningLines(name, found).slice(1),
  });
}
