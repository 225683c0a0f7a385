/**
 * The real outside world for each instance of a running app: src/supervisor/real-deps.ts, plus the
 * waits and probes that depend on the mode's wiring (dependencies before each spawn; in handoff
 * mode, "which instance answered?"). Heavy modules load only when the config needs them.
 */
import type { ResolvedConfig } from '../config/types.js';
import { RecordBook } from '../control/record-book.js';
import type { InstanceWiring } from '../reload/mode.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import { realDeps } from '../supervisor/real-deps.js';
import type { DependencyOutcome, RunnerDeps } from '../supervisor/runner.js';

export interface InstanceDepsOptions {
  runDir: string;
  /** The environment every instance inherits under config.env. */
  baseEnv: NodeJS.ProcessEnv;
}

async function waitDependencies(config: ResolvedConfig, signal: AbortSignal): Promise<DependencyOutcome[]> {
  const { waitForDependencies } = await import('../dependencies/wait.js');
  const results = await waitForDependencies(config.dependsOn, { timeout: config.dependencies.timeout, retries: config.dependencies.retries, signal });
  return results.map((r) => ({ name: r.name, target: r.target, ok: r.ok, attempts: r.attempts, latencyMs: r.latencyMs, detail: r.detail }));
}

/** The factory an App calls for each instance it starts. */
export function instanceDeps(options: InstanceDepsOptions): (wiring: InstanceWiring, onEvent: (event: SupervisorEvent) => void) => RunnerDeps {
  // One record for every process of the app: a supervisor SIGKILLed mid-reload leaves none unnamed.
  const book = new RecordBook(options.runDir);
  return (wiring, onEvent) => realDeps({
    runDir: options.runDir,
    book,
    baseEnv: options.baseEnv,
    onEvent,
    extraFds: wiring.extraFds,
    extraEnv: wiring.extraEnv,
    publicPort: wiring.publicPort,
    ...(wiring.verifyAnsweredBy
      ? {
          probeAnsweredBy: async ({ kind, ...input }) => {
            const { probeInstanceOnSharedSocket } = await import('../reload/answered-by.js');
            return probeInstanceOnSharedSocket(kind, input);
          },
        }
      : {}),
    waitDependencies,
  });
}
