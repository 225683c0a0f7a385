/**
 * The supervisor's typed events: the one stream that the CLI renderer (human or JSON lines), and
 * later the metrics, `status` and the control socket's event stream, all consume (README.md
 * "Design"). The core emits these; it never prints.
 */

/** Why an instance exited, as classified from its exit status and stderr tail. */
export type CrashCause =
  | 'clean-exit'
  | 'exit-code'
  | 'killed'
  | 'port-in-use'
  | 'native-module'
  | 'module-not-found'
  | 'permission-denied'
  | 'startup-timeout'
  | 'liveness-failed'
  | 'dependency-unavailable'
  | 'spawn-failed';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  cause: CrashCause;
  /** One line: "exited with code 1", "killed by SIGKILL (possibly the out-of-memory killer)". */
  summary: string;
  /** One line telling the user what to do. */
  fix: string;
  /** Wall-clock ms epoch of the exit. */
  at: number;
  /** How long the instance ran, ms. */
  uptimeMs: number;
  /** The last lines of the instance's stderr (at most 20). */
  stderrTail: string[];
  /** The id of the known failure (src/failures.ts) that matched, if any. */
  failureId?: string | undefined;
}

/** Which probe produced a 'probe' event (issue 7); an event without `probe` is a startup probe. */
export type ProbeKind = 'startup' | 'liveness' | 'readiness';

export type SupervisorEvent =
  | { type: 'config-loaded'; file: string | null; durationMs: number }
  | { type: 'preflight'; durationMs: number; findings: string[] }
  | { type: 'spawning'; instance: number; command: string[]; port: number }
  | { type: 'spawned'; instance: number; pid: number; durationMs: number }
  /**
   * `changed`: a startup probe whose answer differs from the one before (the first answer counts as
   * changed); `status`: the HTTP status when the server answered one.
   */
  | { type: 'probe'; instance: number; ok: boolean; detail: string; latencyMs: number; first: boolean; probe?: ProbeKind | undefined; changed?: boolean | undefined; status?: number | undefined }
  /** The readiness probe (health.readiness) flipped while the instance runs: /ready follows it, nothing restarts. */
  | { type: 'readiness-changed'; instance: number; ready: boolean; detail: string }
  /** One dependency's result after the wait before a spawn (src/dependencies/wait.ts). */
  | { type: 'dependency'; name: string; target: string; ok: boolean; attempts: number; latencyMs: number; detail: string }
  /** `how`: what made it ready when that is worth saying ("answers HTTP 404 on /; set health.path for a real health check"). */
  | { type: 'ready'; instance: number; pid: number; readyInMs: number; url: string; how?: string | undefined }
  | { type: 'exited'; instance: number; pid: number; exit: ExitInfo; expected: boolean }
  | { type: 'backoff'; delayMs: number; attempt: number; restartsInWindow: number; maxRestarts: number | null }
  | { type: 'restarting'; reason: 'crash' | 'reload' | 'liveness-failed' | 'startup-timeout' }
  | { type: 'liveness-failed'; instance: number; failures: number; detail: string }
  | { type: 'stopping'; instance: number | null; signal: NodeJS.Signals; timeoutMs: number; reason: string }
  | { type: 'escalated'; instance: number | null; reason: 'timeout' | 'second-signal' }
  | { type: 'stopped'; exitStatus: number; graceful: boolean }
  | { type: 'fatal'; reason: string; exit: ExitInfo | null; exitStatus: number }
  | { type: 'reload-requested'; source: 'SIGHUP' | 'control' }
  | { type: 'reload-rejected'; errors: string[] }
  | { type: 'signal-forwarded'; signal: NodeJS.Signals; pid: number }
  | { type: 'record-written'; recordPath: string; pidFile: string | null }
  /** `file`: which write failed (absent: the record); `path`: the file. */
  | { type: 'record-error'; message: string; file?: 'record' | 'pid-file' | undefined; path?: string | undefined }
  | { type: 'output'; instance: number; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'warning'; message: string; fix?: string }
  /** Blue/green (handoff and proxy modes). */
  | { type: 'reload-started'; mode: 'direct' | 'handoff' | 'proxy'; bluePid: number | null }
  | { type: 'reload-finished'; outcome: 'reloaded' | 'restarted' | 'rolled-back' | 'failed'; cause?: string; durationMs: number; pid: number | null }
  | { type: 'listener'; mode: 'handoff' | 'proxy'; address: string }
  /** The status HTTP server listens (/alive /ready /health /metrics). */
  | { type: 'status-server'; url: string }
  /** A start failed on a port conflict: who holds the port, one line each (pid, user, command, age). */
  | { type: 'port-holders'; port: number; lines: string[] }
  /** The warm standby (restart.standby): parked and waiting, made the instance, lost, or ended by us. */
  | { type: 'standby'; state: 'armed' | 'promoted' | 'lost' | 'discarded'; pid: number | null; detail?: string };
