/**
 * Splits a command line into argv the way a POSIX shell's word splitting and quote removal would
 * (single quotes, double quotes, backslashes, comments) — without running a shell. Anything a
 * shell would *do* rather than quote (pipes, redirections, `$VAR`, backticks) is rejected with a
 * reason, because passing it through literally would fail later in a confusing way
 * (`uvicorn --port $PORT` would receive the text "$PORT").
 */

/** Why a command line could not be split. `index` is the 0-based offset of the problem. */
export class ShellSplitError extends Error {
  override readonly name = 'ShellSplitError';
  readonly index: number;

  constructor(message: string, index: number) {
    super(message);
    this.index = index;
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const OPERATORS = new Set(['|', '&', ';', '<', '>', '(', ')']);
/** Inside double quotes a backslash only escapes these (POSIX 2.2.3). */
const DOUBLE_QUOTE_ESCAPABLE = new Set(['$', '`', '"', '\\', '\n']);

const NO_SHELL_FIX = 'no shell is run: write the command as an array like ["sh", "-c", "…"], or quote the character';

function checkDollar(input: string, i: number): void {
  const next = input[i + 1];
  // A lone "$" (at the end or before a space or quote) is literal in POSIX sh; "$NAME", "${…}",
  // "$(…)", "$1" and "$?" are expansions.
  if (next !== undefined && /[A-Za-z0-9_{(?#@*!$-]/.test(next)) {
    const word = /^\$(\{[^}]*\}?|\([^)]*\)?|[A-Za-z_][A-Za-z0-9_]*|.)/.exec(input.slice(i))?.[0] ?? '$';
    throw new ShellSplitError(`"${word}" would be expanded by a shell, but ${NO_SHELL_FIX} (the server gets PORT and the configured env in its environment)`, i);
  }
}

/**
 * Splits `input` into words.
 * @throws ShellSplitError on an unterminated quote, a trailing backslash, or shell syntax that
 *   would need a shell (`|`, `&`, `;`, `<`, `>`, `(`, `)`, `$NAME`, `` `…` ``).
 */
export function splitCommand(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const end = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < input.length) {
    const c = input[i] as string;
    if (WHITESPACE.has(c)) {
      end();
      i += 1;
    } else if (c === '#' && !inWord) {
      // A comment runs to the end of the line.
      const newline = input.indexOf('\n', i);
      i = newline === -1 ? input.length : newline;
    } else if (c === '\\') {
      const next = input[i + 1];
      if (next === undefined) throw new ShellSplitError('trailing backslash (nothing to escape)', i);
      if (next !== '\n') {
        word += next;
        inWord = true;
      }
      // Backslash-newline is a line continuation: both characters disappear.
      i += 2;
    } else if (c === "'") {
      const close = input.indexOf("'", i + 1);
      if (close === -1) throw new ShellSplitError(`unterminated single quote (opened at character ${i + 1})`, i);
      word += input.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < input.length) {
        const d = input[j] as string;
        if (d === '"') {
          closed = true;
          break;
        }
        if (d === '\\') {
          const next = input[j + 1];
          if (next !== undefined && DOUBLE_QUOTE_ESCAPABLE.has(next)) {
            if (next !== '\n') word += next;
            j += 2;
            continue;
          }
          word += d;
          j += 1;
          continue;
        }
        if (d === '`') throw new ShellSplitError(`"\`" (command substitution) needs a shell, but ${NO_SHELL_FIX}`, j);
        if (d === '$') checkDollar(input, j);
        word += d;
        j += 1;
      }
      if (!closed) throw new ShellSplitError(`unterminated double quote (opened at character ${i + 1})`, i);
      inWord = true;
      i = j + 1;
    } else if (OPERATORS.has(c)) {
      throw new ShellSplitError(`"${c}" is shell syntax, but ${NO_SHELL_FIX}`, i);
    } else if (c === '`') {
      throw new ShellSplitError(`"\`" (command substitution) needs a shell, but ${NO_SHELL_FIX}`, i);
    } else {
      if (c === '$') checkDollar(input, i);
      word += c;
      inWord = true;
      i += 1;
    }
  }
  end();
  return words;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Joins argv into one line that `splitCommand` (and a POSIX shell) reads back to the same words. */
export function joinCommand(argv: readonly string[]): string {
  return argv.map((arg) => (SAFE_WORD.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}
