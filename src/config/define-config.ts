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
import type { LogFormat, ProbeType, ReloadMode, RestartPolicy } from './types.js';

/** A duration: integer milliseconds, or a string with a unit ("500ms", "5s", "1.5s", "2m", "1h"). */
export type DurationInput = number | string;

/** A size: integer bytes, or a string with a binary unit ("512KB", "10MB", "1GB"; 1 KB = 1024 B). */
export type SizeInput = number | string;

/** A stop signal, with or without the "SIG" prefix ("SIGTERM" or "TERM"). */
export type SignalInput =
  | 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2'
  | 'TERM' | 'INT' | 'QUIT' | 'HUP' | 'USR1' | 'USR2';

export interface LivenessInput {
  type?: 'auto' | 'http' | 'tcp';
  path?: string;
  interval?: DurationInput;
  timeout?: DurationInput;
  failureThreshold?: number;
}

/** The readiness probe's fields; each missing one takes its default (most repeat the `health.*` key of the same name). */
export interface ReadinessInput {
  type?: ProbeType;
  path?: string;
  log?: string | null;
  interval?: DurationInput;
  timeout?: DurationInput;
  failureThreshold?: number;
  successThreshold?: number;
}

/** `health.startup`: the top-level startup-probe keys of `health`, spelled as one object. */
export interface StartupInput {
  type?: ProbeType;
  path?: string;
  log?: string | null;
  interval?: DurationInput;
  timeout?: DurationInput;
  startupTimeout?: DurationInput;
}

/** A dependency waited for before each start: a TCP "host:port" or an http(s) URL, never both. */
export type DependencyInput =
  | { name: string; tcp: string; http?: null }
  | { name: string; http: string; tcp?: null };

/** A config file's content: every key optional; see the configuration reference for each one. */
export interface UserConfig {
  /** The JSON Schema this file follows (for editors); ignored by naija-sup. */
  $schema?: string;
  name?: string;
  command?: string | string[];
  cwd?: string;
  env?: Record<string, string | number | boolean>;
  redact?: string | string[];
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
    /** true: on, with every field at its default; false or null: off. */
    readiness?: ReadinessInput | boolean | null;
    startup?: StartupInput;
  };
  restart?: {
    policy?: RestartPolicy;
    initialDelay?: DurationInput;
    maxDelay?: DurationInput;
    factor?: number;
    startRetries?: number;
    maxRestarts?: number | null;
    window?: DurationInput;
    minUptime?: DurationInput;
    standby?: boolean;
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
  dependsOn?: DependencyInput[];
  dependencies?: {
    timeout?: DurationInput;
    retries?: number;
  };
  status?: {
    port?: number | null;
    host?: string;
    maxConnections?: number;
    token?: string | null;
  };
  alerts?: {
    crashRate?: number | null;
    webhook?: string | string[] | null;
    notReadyFor?: DurationInput;
  };
  logFormat?: LogFormat | null;
  logs?: {
    maxSize?: SizeInput;
    maxFiles?: number;
  };
  mode?: ReloadMode;
  instances?: number | 'max';
  proxy?: {
    protocol?: 'http' | 'tcp';
    queueTimeout?: DurationInput;
    responseTimeout?: DurationInput;
    forwardedHeaders?: boolean;
  };
}

/**
 * Returns `config` unchanged; exists so that JS/TS config files get types and completion.
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
