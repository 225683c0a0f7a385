/**
 * The resolved configuration: what every other module reads. It is produced by
 * `resolveConfig()` (src/config/resolve.ts) from defaults < file < environment < flags, validated
 * against the one schema (src/config/schema.ts). Durations are milliseconds here, whatever form the
 * user wrote them in ("5s", 5000).
 */

export type RestartPolicy = 'on-failure' | 'always' | 'never';
/** 'auto': any HTTP answer below 500, or a TCP accept from a server that does not speak HTTP (the default without a health.path). */
export type ProbeType = 'auto' | 'http' | 'tcp' | 'log';
/** How the public port reaches the instance (issue 8): the child binds it, inherits it as fd 3, or sits behind a proxy. */
export type ReloadMode = 'direct' | 'handoff' | 'proxy';
export type LogFormat = 'human' | 'json';

/**
 * A periodic probe with Kubernetes semantics: `failureThreshold` consecutive failures flip it to
 * failing, `successThreshold` consecutive successes flip it back.
 */
export interface ProbeSpec {
  type: ProbeType;
  /** For 'http'. */
  path: string;
  /** Regex source for 'log'. */
  log: string | null;
  interval: number;
  timeout: number;
  failureThreshold: number;
  successThreshold: number;
}

/** A dependency checked before each spawn (issue 7). Exactly one of `tcp` / `http` is set. */
export interface DependencyConfig {
  name: string;
  /** "host:port". */
  tcp: string | null;
  /** A URL; 200–399 is up. */
  http: string | null;
}

export interface LivenessConfig {
  /** 'http' probes `path` (200–399); 'auto' takes any answer below 500; 'tcp' connects to the port. */
  type: 'auto' | 'http' | 'tcp';
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
  /** Liveness probe while ready; null = off. Failing → restart with cause liveness-failed. */
  liveness: LivenessConfig | null;
  /** Readiness probe while running; null = off. Failing → not ready (status /ready 503), no restart. */
  readiness: ProbeSpec | null;
}

export interface RestartConfig {
  policy: RestartPolicy;
  initialDelay: number;
  maxDelay: number;
  factor: number;
  /** Failed starts retried before the first ready; one more is fatal ("never got ready"). */
  startRetries: number;
  /** Restarts allowed within `window` (then fatal); null = no limit once the server was ready. */
  maxRestarts: number | null;
  window: number;
  minUptime: number;
  /** Keep a warm standby Node process for crash restarts (src/process/standby.ts). */
  standby: boolean;
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
  /** More variable names (or parts of names) whose values are never printed (src/config/redact.ts). */
  redact: string[];
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
  /** Dependencies waited for before each spawn (issue 7). */
  dependsOn: DependencyConfig[];
  dependencies: {
    /** Per-attempt budget (DB_CONNECTION_TIMEOUT, default 10 s). */
    timeout: number;
    /** Attempts after the first (REDIS_RETRY_ATTEMPTS, default 3), with backoff. */
    retries: number;
  };
  /** The opt-in status HTTP server (issue 7): null port = off. */
  status: { port: number | null; host: string; /** Connections the status server holds at once. */ maxConnections: number; /** Asked for on /health, /metrics and the dashboard; null = none. */ token: string | null };
  alerts: {
    /** Crashes per minute above which a warning is logged; null = off. */
    crashRate: number | null;
    /** Webhook URLs that receive alerts (issue 17); empty = none. */
    webhook: string[];
    /** ms not ready before a "not ready" alert. */
    notReadyFor: number;
  };
  /** Supervisor log format; null = human on a TTY, JSON otherwise (decided by the CLI). */
  logFormat: LogFormat | null;
  /** Log files in the run dir (issue 5). */
  logs: { maxSize: number; maxFiles: number };
  mode: ReloadMode;
  /** How many instances serve the app (issue 20); "max": one per CPU the supervisor may use. */
  instances: number | 'max';
  /** The proxy of proxy mode (issue 13). */
  proxy: { protocol: 'http' | 'tcp'; queueTimeout: number; responseTimeout: number; forwardedHeaders: boolean };
}

/** Where a resolved value came from, for `naija-sup config`. */
export type ValueSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'env'; variable: string }
  | { kind: 'flag'; flag: string };

/** A valid value that a higher layer overrode (PORT in the environment over `port` in the file). */
export interface ShadowedValue {
  source: ValueSource;
  value: unknown;
}

export interface LoadedConfig {
  config: ResolvedConfig;
  /** Dot-path → source, for every leaf key. */
  sources: Record<string, ValueSource>;
  /** Dot-path → the valid values the winner overrode, highest layer first; absent keys overrode nothing. */
  shadowed?: Record<string, ShadowedValue[]>;
  /** The config file used, or null when none was found. */
  filepath: string | null;
}
