/**
 * The runner's view of the outside world (RunnerDeps) and of a spawned instance (InstanceHandle):
 * every effect the Supervisor performs goes through these, so unit tests drive a whole lifecycle
 * with fake children and fake timers, and src/supervisor/real-deps.ts wires the real ones. Apart
 * from runner.ts so that the contract can be read without the Supervisor's machinery; runner.ts
 * re-exports it for its many importers.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { Listening } from './bind-check.js';
import type { CrashCause, SupervisorEvent } from './events.js';
import type { StopFacts } from './classify.js';
import type { ProbeAnswer } from './startup-answers.js';

/** What the runner needs from a spawned instance (src/process/spawn.ts provides it). */
export interface InstanceHandle {
  /** Undefined when the exec failed; an 'error' follows. */
  readonly pid: number | undefined;
  onLine(listener: (stream: 'stdout' | 'stderr', line: string) => void): void;
  onExit(listener: (info: { code: number | null; signal: NodeJS.Signals | null }) => void): void;
  onSpawnError(listener: (error: SpawnFailure) => void): void;
  stderrTail(lines: number): string[];
  /** All the stderr this start kept (bounded), for classification; stderrTail(20) when absent. */
  stderrKept?(): string[];
  /** Closes our ends of its output pipes (a stray that escaped may hold them open forever). */
  closeOutput?(): void;
}

/** A command that could not be started at all: its errno code, a message, and the shell's status (127/126/1). */
export interface SpawnFailure {
  code: string;
  message: string;
  exitStatus: number;
}

export interface ProbeOutcome extends ProbeAnswer {
  latencyMs: number;
}

export interface Classification {
  cause: CrashCause;
  summary: string;
  fix: string;
  failureId?: string | undefined;
}

/** One dependency's result after the wait before a spawn. */
export interface DependencyOutcome {
  name: string;
  target: string;
  ok: boolean;
  attempts: number;
  latencyMs: number;
  detail: string;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RunnerDeps {
  spawn(config: ResolvedConfig): InstanceHandle;
  /** Why `config` cannot be spawned, seen before trying (a reload asks first, so the old instance keeps serving); null when it can. */
  spawnProblem?(config: ResolvedConfig): string | null;
  /** Signals the instance's whole process group, after checking its identity. */
  signalGroup(pid: number, signal: NodeJS.Signals): void;
  /** Live (non-zombie) members of the process group led by `pid`. */
  groupMembers(pid: number): number[];
  /**
   * Stops-side signal: the group AND the descendants that escaped it (setsid), each checked by
   * start time. Falls back to {@link signalGroup}. Forwarded signals (SIGUSR1/2) stay group-only.
   */
  signalInstance?(pid: number, signal: NodeJS.Signals): void;
  /** Live processes of the instance led by `pid`, escaped descendants included; falls back to {@link groupMembers}. */
  instanceMembers?(pid: number): number[];
  /** The instance's processes as known now ({pid, startTime}), for `stop`'s report. */
  instanceProcesses?(pid: number): Array<{ pid: number; startTime: string; pgid: number }>;
  /** The LISTEN sockets held by the instance led by `pid` (its process group); empty when unknown. */
  listening?(pid: number): Listening[];
  probe(kind: 'startup' | 'liveness' | 'readiness', config: ResolvedConfig, signal: AbortSignal): Promise<ProbeOutcome>;
  /**
   * Whether something accepts TCP connections where the startup probe goes (never rejects): the
   * silent check that wakes the next startup probe early (src/supervisor/startup-schedule.ts).
   */
  accepts?(config: ResolvedConfig, signal: AbortSignal): Promise<boolean>;
  /** Waits for config.dependsOn before a spawn (bounded by config.dependencies). */
  waitDependencies?(config: ResolvedConfig, signal: AbortSignal): Promise<DependencyOutcome[]>;
  classify(input: { code: number | null; signal: NodeJS.Signals | null; stderrTail: string[]; stderr?: string[] | undefined; wasReady?: boolean; command?: readonly string[]; port: number; stopping?: StopFacts }): Classification;
  /** Called when an instance gets its pid (write the record and PID file) and when it is gone. */
  instanceStarted?(pid: number, config: ResolvedConfig): void;
  instanceGone?(pid: number, config: ResolvedConfig): void;
  clock: Clock;
  random(): number;
  onEvent(event: SupervisorEvent): void;
  /** Releases what the deps hold beside the instance (the warm standby); awaited before `done` resolves. */
  dispose?(): Promise<void>;
  /** The config changed without a restart (a promoted green gets its real restart policy). */
  configChanged?(config: ResolvedConfig, ready: boolean): void;
}
