/**
 * A config file that cannot be read, and how that becomes the message a user sees: the file as
 * they would type its path, the line, the line itself (clipped: a hostile one-line file must not
 * become a megabyte of output) and what to fix. The loaders (load.ts, module-loaders.ts) throw
 * ConfigFileError with what they know; readConfigFile turns it into a NaijaSupError once the
 * display path is known.
 */
import { NaijaSupError } from '../errors.js';
import { displayPath } from './resolve.js';

/** A problem with one file, turned into a NaijaSupError once the display path is known. */
export class ConfigFileError extends Error {
  constructor(
    readonly kind: 'syntax' | 'load',
    readonly filepath: string,
    readonly reason: string,
    readonly line: number | undefined,
    readonly lineText: string | undefined,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** Line `line` (1-based) of `content`, without its line ending; undefined when there is none. */
export function sourceLine(content: string, line: number | undefined): string | undefined {
  if (line === undefined) return undefined;
  return content.split('\n')[line - 1]?.replace(/\r$/, '');
}

/** A source line quoted in a message: a hostile one-line file must not become a megabyte of output. */
const MAX_QUOTED_LINE = 200;

function clip(line: string): string {
  return line.length <= MAX_QUOTED_LINE ? line : `${line.slice(0, MAX_QUOTED_LINE)}… (${line.length} characters)`;
}

/** E_CONFIG_SYNTAX (a syntax error) or E_CONFIG_INVALID (a file that does not load), naming file and line. */
export function toNaijaSupError(error: ConfigFileError, cwd: string): NaijaSupError {
  const file = displayPath(error.filepath, cwd);
  const at = error.line === undefined ? '' : ` at line ${error.line}`;
  const details = error.line !== undefined && error.lineText !== undefined ? [`${file}:${error.line}: ${clip(error.lineText.trim())}`] : [];
  if (error.kind === 'syntax') {
    return new NaijaSupError('E_CONFIG_SYNTAX', `syntax error in ${file}${at}: ${error.reason}`, {
      details,
      fix: `correct ${file}${at}${error.hint}`,
      cause: error.cause,
    });
  }
  return new NaijaSupError('E_CONFIG_INVALID', `could not load ${file}${at}: ${error.reason}`, {
    details,
    fix: error.hint !== '' ? `fix ${file}${error.hint}` : `fix ${file}${at} so that it loads: naija-sup imports it and reads its default export`,
    cause: error.cause,
  });
}
