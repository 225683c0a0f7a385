/**
 * The resolved configuration: what every other module reads. It is produced by
 * `resolveConfig()` (src/config/resolve.ts) from defaults < file < environment < flags, validated
 * against the one schema (src/config/schema.ts). Durations are milliseconds here, whatever form the
 * user wrote them in ("5s", 5000).
 */

export type RestartPolicy = 'on-failure' | 'always' | 'never';
export type ProbeType = 'http' | 'tcp' | 'log';

export interface LivenessConfig {
  /** 'http' probes `path`; 'tcp' connects to the port. */
  type: 'http' | 'tcp';
  path: string;
  interval: number;
  timeout: number;
  failureThreshold: number;
}

export interface HealthConfig {
  /** How readiness is judged: an HTTP GET of `path` (200–399), a TCP connect, or a stdout/stderr line matching `log`. */
  type: ProbeType;
  path: string;
  /** Per-attempt timeout, ms. */
  timeout: number;
  /** Time between attempts, ms. */
  interval: number;
  /** Total budget for the instance to become ready, ms. */
  startupTimeout: number;
  /** Regex source for the 'log' probe (null unless type is 'log'). */
  log: string | null;
  /** Liveness probe while ready; null = off. */
  liveness: LivenessConfig | null;
}

export interface RestartConfig {
  policy: RestartPolicy;
  initialDelay: number;
  maxDelay: number;
  factor: number;
  maxRestarts: number;
  window: number;
  minUptime: number;
}

export interface ShutdownConfig {
  signal: NodeJS.Signals;
  timeout: number;
}

export interface CleanupConfig {
  killExisting: boolean;
  /** Substrings or /regex/flags of stale server command lines (e.g. "start_server.py"). */
  match: string[];
}

export interface ResolvedConfig {
  name: string;
  /** argv: a string command is split as a POSIX shell would (quotes, escapes), never run through a shell. */
  command: string[];
  /** Absolute. */
  cwd: string;
  env: Record<string, string>;
  port: number;
  host: string;
  /** Absolute path of the plain PID file, or null for none. */
  pidFile: string | null;
  portFallback: boolean;
  health: HealthConfig;
  restart: RestartConfig;
  shutdown: ShutdownConfig;
  cleanup: CleanupConfig;
  bcrypt: { fallback: boolean };
}

/** Where a resolved value came from, for `naija-sup config`. */
export type ValueSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'env'; variable: string }
  | { kind: 'flag'; flag: string };

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Dot-path → source, for every leaf key. */
  sources: Record<string, ValueSource>;
  /** The config file used, or null when none was found. */
  filepath: string | null;
}
