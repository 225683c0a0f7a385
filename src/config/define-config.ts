/**
 * The shape of a config file, for JS/TS config files:
 *
 * ```ts
 * // naija-sup.config.mjs
 * import { defineConfig } from 'naija-sup';
 * export default defineConfig({ command: 'node server.js', health: { path: '/healthz' } });
 * ```
 *
 * src/config/schema.ts checks at compile time that this interface and the schema agree.
 */
import type { ProbeType, RestartPolicy } from './types.js';

/** A duration: integer milliseconds, or a string with a unit ("500ms", "5s", "1.5s", "2m", "1h"). */
export type DurationInput = number | string;

/** A stop signal, with or without the "SIG" prefix ("SIGTERM" or "TERM"). */
export type SignalInput =
  | 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2'
  | 'TERM' | 'INT' | 'QUIT' | 'HUP' | 'USR1' | 'USR2';

export interface LivenessInput {
  type?: 'http' | 'tcp';
  path?: string;
  interval?: DurationInput;
  timeout?: DurationInput;
  failureThreshold?: number;
}

/** A config file's content: every key optional; see the configuration reference for each one. */
export interface UserConfig {
  /** The JSON Schema this file follows (for editors); ignored by naija-sup. */
  $schema?: string;
  name?: string;
  command?: string | string[];
  cwd?: string;
  env?: Record<string, string | number | boolean>;
  port?: number;
  host?: string;
  pidFile?: string | null;
  portFallback?: boolean;
  health?: {
    type?: ProbeType;
    path?: string;
    timeout?: DurationInput;
    interval?: DurationInput;
    startupTimeout?: DurationInput;
    log?: string | null;
    liveness?: LivenessInput | null;
  };
  restart?: {
    policy?: RestartPolicy;
    initialDelay?: DurationInput;
    maxDelay?: DurationInput;
    factor?: number;
    maxRestarts?: number;
    window?: DurationInput;
    minUptime?: DurationInput;
  };
  shutdown?: {
    signal?: SignalInput;
    timeout?: DurationInput;
  };
  cleanup?: {
    killExisting?: boolean;
    match?: string | string[];
  };
  bcrypt?: {
    fallback?: boolean;
  };
}

/**
 * Returns `config` unchanged; exists so that JS/TS config files get types and completion.
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
