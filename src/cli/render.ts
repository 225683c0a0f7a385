/**
 * The one place where errors become text. A NaijaSupError is the user's problem: its code, message,
 * details and fix. Anything else is a naija-sup bug and says so.
 */
import { errorAnchor } from '../docs-ref.js';
import { createRedactor } from '../config/redact.js';
import { ERROR_CODES, isNaijaSupError, type NaijaSupError } from '../errors.js';
import { isoTime } from '../iso-time.js';
import { DETACHED_ENV } from '../process/resident-flags.js';
import type { CliIO } from './context.js';
import { docsLink } from './docs-link.js';

/**
 * Whether to colour output, the one rule for every command: never with NO_COLOR (non-empty,
 * https://no-color.org) or FORCE_COLOR "0"/"false"; always with any other non-empty FORCE_COLOR;
 * otherwise on a terminal only.
 */
export function useColor(io: Pick<CliIO, 'env' | 'isTTY'>): boolean {
  const noColor = io.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  const force = io.env['FORCE_COLOR'];
  if (force === '0' || force === 'false') return false; // chalk's and supports-color's reading
  if (force !== undefined && force !== '') return true;
  return io.isTTY;
}

/**
 * An error as text: message and code, details, fix, and last the docs section that explains it
 * (`docs: docs/troubleshooting.md#e_port_in_use`), shown relative to `cwd` when inside it.
 */
export function formatError(error: unknown, cwd = process.cwd()): { text: string; status: number } {
  if (isNaijaSupError(error)) {
    const lines = [`naija-sup: ${error.message} (${error.code})`];
    for (const d of error.details) lines.push(`  - ${d}`);
    if (error.fix) lines.push(`  fix: ${error.fix}`);
    lines.push(`  docs: ${docsLink(error.docs ?? errorAnchor(error.code), cwd)}`);
    return { text: lines.join('\n') + '\n', status: error.exitStatus };
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    text: `naija-sup: internal error (E_INTERNAL). This is a bug in naija-sup; please report it with this output.\n${detail}\n  docs: ${docsLink(errorAnchor('E_INTERNAL'), cwd)}\n`,
    status: ERROR_CODES.E_INTERNAL,
  };
}

export function renderError(io: CliIO, error: unknown): number {
  const { text, status } = formatError(error, io.cwd);
  // An error may quote a URL or the environment: the one redaction rule applies (issue 15).
  const redactor = createRedactor({ envs: [io.env] });
  io.stderr(redactor.text(text));
  // A background supervisor (start -d) writes it once more as a JSON line of its output, which
  // the `start -d` waiting for it reports as its own error (src/cli/detach.ts).
  if (io.env[DETACHED_ENV] === '1' && isNaijaSupError(error)) io.stderr(`${JSON.stringify(errorLine(error, redactor.text))}\n`);
  return status;
}

/** The JSON line of an error: `{"time","event":"error","error":{code,message,details,fix,docs,exitStatus}}`. */
function errorLine(error: NaijaSupError, redact: (text: string) => string): Record<string, unknown> {
  return {
    time: isoTime(Date.now()),
    event: 'error',
    error: {
      code: error.code,
      message: redact(error.message),
      details: error.details.map(redact),
      ...(error.fix === undefined ? {} : { fix: redact(error.fix) }),
      ...(error.docs === undefined ? {} : { docs: error.docs }),
      exitStatus: error.exitStatus,
    },
  };
}
