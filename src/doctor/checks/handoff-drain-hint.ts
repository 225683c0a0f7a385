/**
 * The cheap half of `handoff-drain`, without `--drain`: in `mode: handoff`, a Node entry file whose
 * shutdown is `server.close(…)` (and that does not use naija-sup/node) most likely resets
 * connections on every reload (docs/handoff.md: since Node 19, http.Server#close() also destroys
 * idle keep-alive connections a client may be reusing right then). Only the entry file named on
 * the command line is read, and only when finding it is straightforward (`node [options] file`):
 * a guess about code elsewhere would be noise. The measurement itself is `--drain`.
 */
import { relative, resolve } from 'node:path';
import type { ResolvedConfig } from '../../config/types.js';
import { isNodeBinaryName } from '../executables.js';
import { isSmallFile, readSource } from '../source-files.js';
import type { CheckOutcome } from '../types.js';

/** Node options that take the next argument as their value (`-r ./tracing.js server.js`). */
const OPTIONS_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--env-file', '--title', '--inspect-port']);
/** Node options after which there is no entry file to read. */
const NO_ENTRY = new Set(['-e', '--eval', '-p', '--print', '-', '--test', '-i', '--interactive']);

/** The shutdown that resets connections under handoff: `server.close(` or `.close(() => process.exit`. */
const NAIVE_CLOSE = /\bserver\.close\(|\.close\(\s*\(\s*\)\s*=>\s*process\.exit/;

/**
 * The script of `node [options] file [args]` (absolute), when the command is that and the file
 * exists; else null. The command's first token must be a node binary (`node`, `/usr/bin/node20`…).
 */
export function nodeEntryFile(command: readonly string[], cwd: string): string | null {
  const [first, ...rest] = command;
  if (first === undefined || !isNodeBinaryName(first)) return null;
  for (let i = 0; i < rest.length; i += 1) {
    const token = rest[i] as string;
    if (NO_ENTRY.has(token) || token.startsWith('--eval=') || token.startsWith('--print=')) return null;
    if (OPTIONS_WITH_VALUE.has(token)) {
      i += 1;
      continue;
    }
    if (token.startsWith('-')) continue;
    const path = resolve(cwd, token);
    for (const candidate of [path, `${path}.js`]) if (isSmallFile(candidate)) return candidate;
    return null;
  }
  return null;
}


/** Whether `source` shuts its server down the naive way and does not use naija-sup/node. */
export function looksLikeNaiveShutdown(source: string): boolean {
  return NAIVE_CLOSE.test(source) && !source.includes('naija-sup/node');
}

/** The outcome without `--drain`: a warning for a naive Node shutdown in handoff mode, else a skip naming `--drain`. */
export function staticDrainHint(config: ResolvedConfig): CheckOutcome {
  const measure = '`naija-sup doctor --drain` starts the app and measures whether a handoff reload resets connections';
  if (config.mode !== 'handoff') {
    return { status: 'skip', summary: `not measured (mode "${config.mode}"): ${measure}` };
  }
  const entry = nodeEntryFile(config.command, config.cwd);
  const source = entry === null ? null : readSource(entry);
  if (entry === null || source === null || !looksLikeNaiveShutdown(source)) {
    return { status: 'skip', summary: `not measured: ${measure}` };
  }
  const shown = relative(config.cwd, entry) || entry;
  return {
    status: 'warn',
    summary: `${shown} shuts down with server.close(…), which may reset connections on reload; run \`naija-sup doctor --drain\` to measure`,
    details: [
      'under mode "handoff" the old instance closes its own connections: since Node 19, http.Server#close() also destroys idle keep-alive ones a client may be reusing right then',
    ],
    fix: 'Run `naija-sup doctor --drain` to measure; to fix it, give the server to `serve()` from `naija-sup/node` (docs/handoff.md), or use `mode: proxy`.',
  };
}
