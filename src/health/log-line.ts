/**
 * The log-line readiness probe: the server is ready when one of its output lines matches a
 * pattern ("Uvicorn running on", "listening on port \d+"). The process layer splits the output
 * into lines (joining lines split across chunks); this module only matches one line at a time.
 */

import { NaijaSupError } from '../errors.js';

/** A compiled log pattern. */
export interface LogMatcher {
  /** True when `line` (ANSI colour codes and a trailing `\r` removed) matches. Stateless: safe to call on every line. */
  test(line: string): boolean;
  /** The compiled expression, for messages ("waiting for a line matching /ready/i"). Never has the g or y flag. */
  readonly regex: RegExp;
}

/**
 * ANSI escape sequences servers use to colour their logs (uvicorn, pino-pretty, morgan's "dev"
 * format): CSI sequences (`ESC [ … m`, also the one-byte C1 form 0x9B), OSC sequences (titles,
 * hyperlinks, ended by BEL or `ESC \`), and the remaining two-byte escapes (`ESC ( B`, `ESC 7`).
 * Written from ECMA-48's byte ranges: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E.
 */
const ANSI_SEQUENCE = new RegExp(
  [
    '\\u001B\\][^\\u0007\\u001B]*(?:\\u0007|\\u001B\\\\)',
    '(?:\\u001B\\[|\\u009B)[0-?]*[ -/]*[@-~]',
    '\\u001B[ -/]*[0-~]',
  ].join('|'),
  'g',
);

/** `/source/flags`, so a config file (JSON, YAML, env) can ask for flags such as `i`. */
const SLASH_FORM = /^\/(.+)\/([a-z]*)$/s;

/** Removes ANSI escape sequences from one line of output. */
export function stripAnsi(line: string): string {
  return line.replace(ANSI_SEQUENCE, '');
}

/**
 * Compiles `pattern` once and returns a matcher for single lines.
 *
 * - A `RegExp` is used as is, minus the `g` and `y` flags: they make `test()` stateful through
 *   `lastIndex`, so the same line could match once and then not.
 * - A string is a regular-expression source (`"Uvicorn running on"`, `"listening on port \\d+"`), or
 *   `"/source/flags"` to pass flags (`"/application startup complete/i"`).
 *
 * Lines are matched after removing ANSI colour codes and a trailing `\r` (CRLF output, progress
 * redraws), so a pattern written against what the user sees in the terminal matches.
 *
 * @throws NaijaSupError `E_CONFIG_INVALID` when the string is empty or not a valid expression.
 */
export function createLogMatcher(pattern: string | RegExp): LogMatcher {
  const regex = compile(pattern);
  return {
    regex,
    test(line: string): boolean {
      const plain = stripAnsi(line);
      return regex.test(plain.endsWith('\r') ? plain.slice(0, -1) : plain);
    },
  };
}

function compile(pattern: string | RegExp): RegExp {
  if (pattern instanceof RegExp) return new RegExp(pattern.source, withoutStatefulFlags(pattern.flags));
  if (pattern === '') {
    throw new NaijaSupError('E_CONFIG_INVALID', 'The log readiness pattern is empty: it would match the first line of any output.', {
      fix: 'Set the pattern to text the server prints once it is ready, e.g. "Uvicorn running on" or "listening on port".',
    });
  }
  const slash = SLASH_FORM.exec(pattern);
  const source = slash?.[1] ?? pattern;
  const flags = withoutStatefulFlags(slash?.[2] ?? '');
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new NaijaSupError('E_CONFIG_INVALID', `The log readiness pattern ${JSON.stringify(pattern)} is not a valid regular expression.`, {
      fix: 'Escape special characters (\\. \\( \\[) or write the pattern as "/source/flags" with flags from d i m s u v.',
      details: [error instanceof Error ? error.message : String(error)],
      cause: error,
    });
  }
}

function withoutStatefulFlags(flags: string): string {
  return flags.replace(/[gy]/g, '');
}
