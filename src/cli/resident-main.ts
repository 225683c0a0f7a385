/**
 * The background supervisor's entry: the process `start -d` spawns (src/cli/detach.ts), which
 * supervises for days. scripts/bundle.mjs builds it into dist/resident/main.cjs, one CommonJS file
 * of what a supervising `start` can reach and nothing else: no commander, doctor, export, import,
 * `start -d`'s hand-over or the other commands. bin/naija-sup.js runs it for NAIJA_SUP_DETACHED=1.
 *
 * Why not the ESM chunks, which load only what a run uses: Node's ESM loader itself (its own
 * modules and a record per chunk) stays in the process. Why not the start bundle: it holds the
 * text of the whole CLI. The figures are in scripts/bundle.mjs.
 */
import { defaultIO, guardOutput, type CliIO } from './context.js';
import { handedStart } from './handed-start.js';
import { startSupervising } from './commands/start-supervising.js';

/**
 * Supervises with the options `start -d` handed over and returns the exit status; null when the
 * process was not handed any (then the bin runs the whole CLI, which says what is wrong).
 */
export async function runResident(argv: readonly string[], io: CliIO = defaultIO()): Promise<number | null> {
  const handed = handedStart(argv, io.env);
  if (handed === null) return null;
  try {
    guardOutput();
    return await startSupervising(io, handed.opts, handed.command);
  } catch (error) {
    return (await import('./render.js')).renderError(io, error);
  }
}
