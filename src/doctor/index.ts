/**
 * `naija-sup doctor` as a library: finds the bcrypt and port problems behind the original outage
 * (and their cousins) in the app's own runtime, without changing anything, and names the fix.
 *
 *   const report = await runDoctor({ cwd, env: process.env });
 *   report.results  // [{id, title, status, summary, details, fix, failureId, durationMs}, …]
 *   doctorExitStatus(report)  // 0 no fail, 1 a fail, 2 the config did not load
 *
 * Checks run concurrently, each under a deadline; probes in the app's runtime have their own
 * (shorter) deadline and are killed when doctor finishes. Read-only throughout: nothing is killed,
 * rebuilt, installed, created or deleted — except with `drain: true`, where the handoff-drain check
 * starts the app's command on a private 127.0.0.1 port and stops every process it started.
 */
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { runDirPath } from '../control/run-dir.js';
import { NaijaSupError } from '../errors.js';
import { PROC, type Proc } from '../process/proc-read.js';
import { ALL_CHECKS } from './checks/index.js';
import { resolveAppNode } from './executables.js';
import type { ProbeRun } from './probe-run.js';
import { runNodeProbe, type NodeProbeReport } from './probes/node-probe.js';
import { runChecks } from './runner.js';
import { CHECK_IDS, type AppFacts, type Check, type CheckId, type CheckResult, type DoctorContext } from './types.js';

export { CHECK_IDS } from './types.js';
export type { AppFacts, Check, CheckId, CheckOutcome, CheckResult, CheckStatus, DoctorContext } from './types.js';
export { ALL_CHECKS } from './checks/index.js';
export { runChecks, runCheck } from './runner.js';
export { DOCTOR_RESULTS_JSON_SCHEMA } from './json-schema.js';

/** Default deadline of one check, ms. */
export const DEFAULT_CHECK_TIMEOUT_MS = 15_000;
/** Default deadline of one probe in the app's runtime, ms (below the check's, so the probe's own cause is reported). */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

export interface DoctorOptions {
  /** The directory naija-sup runs in (config search, default app dir). */
  cwd: string;
  /** naija-sup's environment (process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** `--config`. */
  configPath?: string | undefined;
  /** `-p/--port`: check this port instead of the configured one. */
  port?: number | undefined;
  /** `--only`: run just these checks (validated with {@link parseCheckIds}). */
  only?: readonly CheckId[] | undefined;
  checkTimeoutMs?: number | undefined;
  probeTimeoutMs?: number | undefined;
  /** The /proc tree (tests: a fake one). */
  proc?: Proc | undefined;
  /** Root of the file system for container markers (tests: a temp dir). */
  rootDir?: string | undefined;
  /** `--drain`: also measure whether a handoff reload resets connections (starts the app; adds the handoff-drain check). */
  drain?: boolean | undefined;
  /** Aborting stops every check (and whatever it started) early: Ctrl+C during `--drain`. */
  signal?: AbortSignal | undefined;
  /** Replaces the check list (tests). */
  checks?: readonly Check[] | undefined;
}

export interface DoctorReport {
  results: CheckResult[];
  /** The app's name; null when the config did not load. */
  name: string | null;
  /** The config file used; null when none was found or it did not load. */
  configFile: string | null;
  /** The config did not load: a usage/config error (exit status 2). */
  configFailed: boolean;
}

/**
 * Validates `--only` ids; throws NaijaSupError E_USAGE naming the unknown ones and the valid list.
 * An empty or absent list means every check.
 */
export function parseCheckIds(ids: readonly string[] | undefined): CheckId[] | undefined {
  if (ids === undefined || ids.length === 0) return undefined;
  const known = new Set<string>(CHECK_IDS);
  // "--only port,bcrypt-node" and "--only port bcrypt-node" both work.
  const split = ids.flatMap((id) => id.split(',')).map((id) => id.trim()).filter((id) => id !== '');
  const unknown = split.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new NaijaSupError('E_USAGE', `unknown doctor check${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')}`, {
      fix: `Choose from: ${CHECK_IDS.join(', ')}.`,
    });
  }
  return CHECK_IDS.filter((id) => split.includes(id));
}

/** Exit status for a report: 2 when the config did not load, 1 with any fail, else 0. */
export function doctorExitStatus(report: DoctorReport): number {
  if (report.configFailed) return 2;
  return report.results.some((result) => result.status === 'fail') ? 1 : 0;
}

/** Runs doctor; never rejects for a problem it diagnoses (only for a bug). */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  let loaded: LoadedConfig | null = null;
  let configError: unknown = null;
  try {
    loaded = await loadConfig({
      cwd: options.cwd,
      ...(options.configPath === undefined ? {} : { configPath: options.configPath }),
      env: options.env,
      flags: options.port === undefined ? {} : { port: options.port },
      requireCommand: false,
    });
  } catch (error) {
    configError = error;
  }

  const app: AppFacts =
    loaded === null
      ? { name: null, cwd: options.cwd, command: [], env: { ...options.env } }
      : {
          name: loaded.config.name,
          cwd: loaded.config.cwd,
          command: [...loaded.config.command],
          env: { ...options.env, ...loaded.config.env },
        };
  const probeTimeoutMs = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const done = new AbortController();
  let nodeProbe: Promise<ProbeRun<NodeProbeReport>> | undefined;
  const ctx: DoctorContext = {
    cwd: options.cwd,
    env: options.env,
    loaded,
    configError,
    app,
    runDir: runDirPath({ ...options.env }),
    proc: options.proc ?? PROC,
    rootDir: options.rootDir ?? '/',
    probeTimeoutMs,
    drain: options.drain === true,
    signal: options.signal === undefined ? done.signal : AbortSignal.any([done.signal, options.signal]),
    nodeProbe() {
      nodeProbe ??= runNodeProbe({
        node: resolveAppNode(app.command, app.cwd, app.env).path,
        cwd: app.cwd,
        env: app.env,
        timeoutMs: probeTimeoutMs,
        signal: done.signal,
      });
      return nodeProbe;
    },
  };

  const selected = new Set<CheckId>(options.only ?? CHECK_IDS);
  // A config that does not load is always shown: it is why the exit status is 2.
  if (loaded === null) selected.add('config');
  if (options.drain === true) selected.add('handoff-drain');
  const checks = (options.checks ?? ALL_CHECKS).filter((check) => selected.has(check.id));
  let results: CheckResult[];
  try {
    results = await runChecks(checks, ctx, { timeoutMs: options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS });
  } finally {
    // Kill any probe still running for a check that timed out.
    done.abort();
  }
  return {
    results,
    name: app.name,
    configFile: loaded?.filepath ?? null,
    configFailed: loaded === null,
  };
}
