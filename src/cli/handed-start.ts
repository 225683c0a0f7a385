/**
 * How the background supervisor of `start -d` learns its options: from its environment, as the
 * `start -d` that spawned it parsed them. Its own module: both entries read it, the CLI's
 * (main.ts) and the background supervisor's (resident-main.ts).
 */
import type { StartOptions } from './options.js';

/**
 * The background supervisor of `start -d` (src/cli/detach.ts: NAIJA_SUP_DETACHED and
 * NAIJA_SUP_START_OPTIONS) gets `start`'s options already parsed and checked by the `start -d`
 * that spawned it: it skips commander, which costs tens of ms before its config is read and
 * memory held for as long as it supervises. Anything unexpected takes the full path.
 */
export function handedStart(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { opts: StartOptions; command: string[] } | null {
  const handed = env['NAIJA_SUP_START_OPTIONS'];
  if (argv[0] !== 'start' || env['NAIJA_SUP_DETACHED'] !== '1' || handed === undefined) return null;
  try {
    const parsed = JSON.parse(handed) as { opts?: unknown; command?: unknown };
    const { opts, command } = parsed;
    if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return null;
    if (!Array.isArray(command) || !command.every((c) => typeof c === 'string')) return null;
    return { opts: { ...(opts as StartOptions), detach: false }, command: command as string[] };
  } catch {
    return null;
  }
}
