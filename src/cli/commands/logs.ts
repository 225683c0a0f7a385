/**
 * `naija-sup logs [-n N] [-f]`: the supervisor's events and the instance's output from the run
 * dir's rotating log files (src/control/log-files.ts), whether or not the supervisor still runs.
 * `-f` keeps printing new lines, across rotations, until Ctrl+C (SIGINT) or SIGTERM. Terminal
 * escapes in the lines are removed or shown escaped unless `--raw`.
 */
import { readLogTail, existingLogFiles } from '../../control/log-files.js';
import { followLog } from '../../control/log-follow.js';
import type { CliIO } from '../context.js';
import type { ControlOptions } from '../options.js';
import { terminalSafe } from '../terminal-text.js';
import { NOT_RUNNING, noAppLine, targetApp } from './ls.js';

export interface LogsOptions extends ControlOptions {
  lines?: number;
  follow?: boolean;
  /** Print the server's bytes unchanged, terminal escapes included. */
  raw?: boolean;
}

export const DEFAULT_LOG_LINES = 50;

export async function logsCommand(io: CliIO, opts: LogsOptions): Promise<number> {
  const target = await targetApp(io, opts, 'logs');
  if (target.kind === 'none') {
    io.stderr(`naija-sup: ${noAppLine(io)}`);
    return NOT_RUNNING;
  }
  const location = target.location;
  const paths = location.paths;
  const hasFiles = paths !== null && existingLogFiles(paths.runDir, location.name).length > 0;
  if (!hasFiles && !opts.follow) {
    io.stderr(`naija-sup: no log for "${location.name}" yet${paths ? ` (looked for ${paths.log})` : ' (the run directory does not exist)'}\n`);
    return 1;
  }
  // The log holds the server's bytes: escapes in them must not drive the terminal (src/cli/terminal-text.ts).
  const show = opts.raw ? (line: string): string => line : terminalSafe;
  let position = null;
  if (paths !== null && hasFiles) {
    const tail = readLogTail(paths.runDir, location.name, opts.lines ?? DEFAULT_LOG_LINES);
    if (tail.lines.length > 0) io.stdout(tail.lines.map((line) => `${show(line)}\n`).join(''));
    position = tail.position;
  }
  if (!opts.follow || paths === null) {
    if (paths === null) io.stderr(`naija-sup: "${location.name}" has no run directory yet; start it first\n`);
    return paths === null ? 1 : 0;
  }

  const abort = new AbortController();
  const stop = (): void => abort.abort();
  io.signals?.on('SIGINT', stop);
  io.signals?.on('SIGTERM', stop);
  try {
    await followLog({
      dir: paths.runDir,
      name: location.name,
      signal: abort.signal,
      from: position,
      onLine: (line) => io.stdout(`${show(line)}\n`),
    });
  } finally {
    io.signals?.off('SIGINT', stop);
    io.signals?.off('SIGTERM', stop);
  }
  return 0;
}
