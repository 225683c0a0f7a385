/**
 * Errors are data, rendered in one place (src/cli/render.ts). A user error carries a stable `E_*`
 * code, a message that says what happened, a `fix` that says what to do, and optional detail lines
 * (for example every config problem at once). The exit status comes from one table.
 */

/** Stable codes for user-facing errors. Never rename one: scripts match on them. */
export const ERROR_CODES = {
  E_USAGE: 2,
  E_CONFIG_NOT_FOUND: 2,
  E_CONFIG_INVALID: 2,
  E_CONFIG_SYNTAX: 2,
  E_NO_COMMAND: 2,
  E_NOT_IMPLEMENTED: 2,
  E_RUN_DIR: 1,
  E_PORT_IN_USE: 1,
  E_PORT_NOT_FREED: 1,
  E_ALREADY_RUNNING: 1,
  E_SPAWN_FAILED: 1,
  E_STARTUP_FAILED: 1,
  E_RELOAD_FAILED: 1,
  E_FATAL: 1,
  E_INTERNAL: 70,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface NaijaSupErrorOptions {
  /** One line telling the user what to do about it. */
  fix?: string | undefined;
  /** Further lines (each config problem, an owner list, a stderr tail…). */
  details?: readonly string[] | undefined;
  /** Override the table's exit status (e.g. 127 when a command does not exist). */
  exitStatus?: number | undefined;
  /**
   * The docs anchor that explains it, when a better one than the code's own section exists: a
   * failed start caused by a classified crash points at the cause's (`docsRef(exit.cause)`).
   */
  docs?: string | undefined;
  cause?: unknown;
}

export class NaijaSupError extends Error {
  override readonly name = 'NaijaSupError';
  readonly code: ErrorCode;
  readonly fix: string | undefined;
  readonly details: readonly string[];
  readonly exitStatus: number;
  readonly docs: string | undefined;

  constructor(code: ErrorCode, message: string, options: NaijaSupErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fix = options.fix;
    this.details = options.details ?? [];
    this.exitStatus = options.exitStatus ?? ERROR_CODES[code];
    this.docs = options.docs;
  }
}

/** A broken invariant inside naija-sup itself: "this is a bug", never the user's fault. */
export class InternalError extends Error {
  override readonly name = 'InternalError';
  readonly code = 'E_INTERNAL' as const;
}

export function isNaijaSupError(value: unknown): value is NaijaSupError {
  return value instanceof NaijaSupError;
}
