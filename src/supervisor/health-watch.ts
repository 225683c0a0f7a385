/**
 * The probes that run while an instance is ready: readiness (decides traffic, never restarts) and
 * liveness (its failures restart the instance). Each is a loop of probe → event → timer that ends
 * when its AbortSignal fires; the runner (runner.ts) starts and aborts them as the machine enters
 * and leaves `ready`, and keeps the last result for status and /health. Apart from the runner
 * because they only need the probe, the clock and the event sink, not the machine.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { ProbeOutcome, RunnerDeps } from './runner-deps.js';

/** What a probe loop needs from the runner. */
export interface ProbeLoop {
  deps: Pick<RunnerDeps, 'probe' | 'onEvent' | 'clock'>;
  /** The config the loop was started with (a reload starts a new instance, and new loops). */
  config: ResolvedConfig;
  /** Ends the loop: checked before and after every probe. */
  signal: AbortSignal;
  /** Keeps `result` as the last probe of any kind (the runner's lastProbeResult). */
  record(result: ProbeOutcome, kind: 'readiness' | 'liveness'): void;
  /** A probe that threw: an internal error, the runner fails. */
  fail(error: unknown): void;
}

/**
 * Readiness while ready (Kubernetes semantics): failureThreshold consecutive failures → not ready
 * for traffic (no restart); successThreshold consecutive successes → ready again. `readiness.ok`
 * is the verdict the runner reads (readyForTraffic).
 */
export function watchReadiness(
  loop: ProbeLoop,
  spec: NonNullable<ResolvedConfig['health']['readiness']>,
  instance: number,
  readiness: { ok: boolean },
): void {
  const { deps } = loop;
  let failures = 0;
  let successes = 0;
  const tick = async (): Promise<void> => {
    const result = await probeAndReport(loop, 'readiness', instance);
    if (result === null) return;
    if (result.ok) { successes += 1; failures = 0; } else { failures += 1; successes = 0; }
    if (readiness.ok && failures >= spec.failureThreshold) {
      readiness.ok = false;
      deps.onEvent({ type: 'readiness-changed', instance, ready: false, detail: result.detail });
    } else if (!readiness.ok && successes >= spec.successThreshold) {
      readiness.ok = true;
      deps.onEvent({ type: 'readiness-changed', instance, ready: true, detail: result.detail });
    }
    schedule(loop, tick, spec.interval);
  };
  schedule(loop, tick, spec.interval);
}

/**
 * Liveness while ready: failureThreshold consecutive failures → `failed` (the runner tells the
 * machine, which restarts the instance) and the loop ends. `instance()` is read at every probe.
 */
export function watchLiveness(
  loop: ProbeLoop,
  liveness: NonNullable<ResolvedConfig['health']['liveness']>,
  instance: () => number,
  failed: (failures: number, detail: string) => void,
): void {
  let failures = 0;
  const tick = async (): Promise<void> => {
    const result = await probeAndReport(loop, 'liveness', instance());
    if (result === null) return;
    failures = result.ok ? 0 : failures + 1;
    if (failures >= liveness.failureThreshold) {
      failed(failures, result.detail);
      return;
    }
    schedule(loop, tick, liveness.interval);
  };
  schedule(loop, tick, liveness.interval);
}

/** One periodic probe, recorded and reported as a 'probe' event; null once the loop was aborted. */
async function probeAndReport(loop: ProbeLoop, kind: 'readiness' | 'liveness', instance: number): Promise<ProbeOutcome | null> {
  const { deps, config, signal } = loop;
  if (signal.aborted) return null;
  const result = await deps.probe(kind, config, signal);
  if (signal.aborted) return null;
  loop.record(result, kind);
  deps.onEvent({ type: 'probe', probe: kind, instance, ok: result.ok, detail: result.detail, latencyMs: result.latencyMs, first: false });
  return result;
}

/** The next tick after `interval`; a throw ends the loop through loop.fail. */
function schedule(loop: ProbeLoop, tick: () => Promise<void>, interval: number): void {
  loop.deps.clock.setTimeout(() => { void tick().catch((e: unknown) => loop.fail(e)); }, interval);
}
