/**
 * The shape of doctor: a declarative list of checks, each
 * `{id, title, run(ctx)}` returning `{status, summary, details, fix}`. Checks only read: they never
 * kill, rebuild or install; a fix is a command for the user to run. The one exception is asked for
 * by name: `--drain` lets handoff-drain start the app on a private port (and stop it again).
 */
import type { LoadedConfig } from '../config/types.js';
import type { Proc } from '../process/proc-read.js';
import type { ProbeRun } from './probe-run.js';
import type { NodeProbeReport } from './probes/node-probe.js';

/** ok: nothing to do; warn: works, but worth knowing; fail: will break; skip: does not apply here. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** Every check, in the order doctor runs and prints them. */
export const CHECK_IDS = [
  'runtime',
  'config',
  'port',
  'pid-file',
  'run-dir',
  'bcrypt-node',
  'bcrypt-python',
  'health',
  'init',
  'express',
  'handoff-drain',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/** What a check's `run` returns. */
export interface CheckOutcome {
  status: CheckStatus;
  /** One line, no trailing period. */
  summary: string;
  /** Supporting facts, one per line (versions, owners, paths…). */
  details?: string[];
  /** What to do, as a command where there is one. Only for warn and fail. */
  fix?: string;
  /** The id of the matching entry in the shared failure table (src/failures.ts): 'N2', 'P1'… */
  failureId?: string;
}

/** One check's result as doctor reports it (and as `--json` prints it). */
export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  summary: string;
  details: string[];
  fix: string | null;
  failureId: string | null;
  /** Wall time of the check, ms (rounded). */
  durationMs: number;
}

/** A declarative check. `run` may throw: the runner turns that into a `fail`. */
export interface Check {
  id: CheckId;
  title: string;
  run(ctx: DoctorContext): Promise<CheckOutcome> | CheckOutcome;
  /**
   * This check's own deadline, ms, when the default one does not fit (a check that starts the app
   * must outlast its own bounded steps and its cleanup).
   */
  timeoutMs?(ctx: DoctorContext): number;
}

/** The app doctor diagnoses, as far as it is known (from the config, else from the cwd). */
export interface AppFacts {
  /** The app's name (keys the run-dir record); null when the config did not load. */
  name: string | null;
  /** Where the app runs (absolute). */
  cwd: string;
  /** argv of the server command; [] when none is configured. */
  command: string[];
  /** The app's environment: naija-sup's own, then the config's `env`. */
  env: Record<string, string | undefined>;
}

/** Everything a check may look at. Built once per doctor run; `signal` is per check. */
export interface DoctorContext {
  /** naija-sup's own working directory. */
  cwd: string;
  /** naija-sup's own environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** The loaded configuration, or null when it failed to load (see `configError`). */
  loaded: LoadedConfig | null;
  /** Why the config did not load (a NaijaSupError, usually); null when it loaded. */
  configError: unknown;
  app: AppFacts;
  /** The run directory (never created by doctor). */
  runDir: string;
  /** The /proc tree (tests use a fake one). */
  proc: Proc;
  /** Root of the file system, for container markers such as /.dockerenv (tests use a temp dir). */
  rootDir: string;
  /** `--drain`: checks that start the app (handoff-drain) may run. */
  drain: boolean;
  /** Budget of one probe run in the app's runtime, ms. */
  probeTimeoutMs: number;
  /** Aborted when this check runs out of time or doctor finishes. */
  signal: AbortSignal;
  /** The app's node, probed at most once per doctor run (shared by `runtime` and `bcrypt-node`). */
  nodeProbe(): Promise<ProbeRun<NodeProbeReport>>;
}
