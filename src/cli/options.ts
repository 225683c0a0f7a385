/**
 * The options commander hands to the commands. main.ts declares the flags and the command modules
 * take the parsed options; the types live here, not in main.ts, because main.ts imports every
 * command module (lazily) and a command importing main.ts back would close a circle.
 */

/** Options that `start` (and later `doctor`) pass to config resolution as the "flags" layer. */
export interface StartOptions {
  config?: string;
  port?: number;
  host?: string;
  verbose?: boolean;
  raw?: boolean;
  killExisting?: boolean;
  pidFile?: string;
  portFallback?: boolean;
  detach?: boolean;
  statusPort?: number;
  logFormat?: 'human' | 'json';
  mode?: 'direct' | 'handoff' | 'proxy';
  force?: boolean;
}

/** Options shared by the commands that talk to a running supervisor. */
export interface ControlOptions {
  config?: string;
  name?: string;
  json?: boolean;
}

/** `stop`'s options: a shorter grace period, or a kill at once. */
export interface StopOptions extends ControlOptions {
  timeout?: string;
  force?: boolean;
}
