/**
 * Runs checks concurrently, each under its own deadline, and returns their results in the order
 * the checks were given. A check that throws becomes a `fail` naming the error; a check that does
 * not finish in time becomes a `fail` naming the timeout, and its signal is aborted so any probe it
 * started is killed. doctor never hangs on a check.
 */
import { formatDuration } from '../elapsed.js';
import { isNaijaSupError } from '../errors.js';
import type { Check, CheckOutcome, CheckResult, DoctorContext } from './types.js';

export interface RunChecksOptions {
  /** Per-check deadline, ms. */
  timeoutMs: number;
  /** Injected clock for durations (ms). */
  now?: () => number;
}

/** Runs `checks` against `ctx`; never rejects. */
export async function runChecks(checks: readonly Check[], ctx: DoctorContext, options: RunChecksOptions): Promise<CheckResult[]> {
  return Promise.all(checks.map((check) => runCheck(check, ctx, options)));
}

/** Runs one check under its deadline; never rejects. */
export async function runCheck(check: Check, ctx: DoctorContext, options: RunChecksOptions): Promise<CheckResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const timeoutMs = check.timeoutMs?.(ctx) ?? options.timeoutMs;
  const controller = new AbortController();
  const signal = AbortSignal.any([ctx.signal, controller.signal]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({
        status: 'fail',
        summary: `the check did not finish within ${formatDuration(timeoutMs)}`,
        details: ['something it waits for hangs (a runtime loading a native module, a server that accepts but never answers…)'],
        fix: `Run the check alone to see where it stops: \`naija-sup doctor --only ${check.id}\`.`,
      });
    }, timeoutMs);
  });
  let outcome: CheckOutcome;
  try {
    // Promise.resolve().then: a check that throws synchronously is caught like one that rejects.
    outcome = await Promise.race([Promise.resolve().then(() => check.run({ ...ctx, signal })), deadline]);
  } catch (error) {
    outcome = errorOutcome(error);
  } finally {
    clearTimeout(timer);
  }
  return {
    id: check.id,
    title: check.title,
    status: outcome.status,
    summary: outcome.summary,
    details: outcome.details ?? [],
    fix: outcome.status === 'warn' || outcome.status === 'fail' ? (outcome.fix ?? null) : null,
    failureId: outcome.failureId ?? null,
    durationMs: Math.max(0, Math.round(now() - started)),
  };
}

function errorOutcome(error: unknown): CheckOutcome {
  if (isNaijaSupError(error)) {
    return {
      status: 'fail',
      summary: error.message,
      details: [...error.details],
      ...(error.fix === undefined ? {} : { fix: error.fix }),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: 'fail',
    summary: `the check itself crashed: ${message}`,
    details: error instanceof Error && error.stack !== undefined ? error.stack.split('\n').slice(1, 4).map((line) => line.trim()) : [],
    fix: 'This is a bug in naija-sup doctor; please report it with this output.',
  };
}
