/**
 * `naija-sup start`: in the foreground it supervises (start-supervising.ts); with `-d` it hands
 * over to a background supervisor (src/cli/detach.ts) and reports when that one is ready.
 */
import { guardOutput, type CliIO } from '../context.js';
import type { StartOptions } from '../options.js';
import { startSupervising } from './start-supervising.js';

export async function startCommand(io: CliIO, opts: StartOptions, command: string[], rawArgv: string[] = []): Promise<number> {
  guardOutput();
  if (opts.detach) {
    const { startDetached } = await import('../detach.js');
    return startDetached(io, rawArgv, { opts, command });
  }
  return startSupervising(io, opts, command);
}
