/**
 * The control target of one foreground `Supervisor` (src/supervisor/runner.ts), as the control
 * socket drives it: status from a StatusTracker fed by the event hub, stop (with a shorter grace
 * period or at once) and restart on the supervisor, reload through the caller. The zero-downtime
 * App has its own (src/app/control-target.ts).
 */
import type { ResolvedConfig } from '../config/types.js';
import type { Proc } from '../process/proc-read.js';
import type { EventHub } from './event-hub.js';
import { StatusTracker, type SupervisorView } from './status-tracker.js';
import type { ControlTarget, ReloadOutcome } from './target.js';

export interface SupervisorTargetOptions {
  /** The supervisor (src/supervisor/runner.ts) to control. */
  supervisor: SupervisorView & { stop(): void; restart(config?: ResolvedConfig): void };
  /** Where the supervisor's events are published (its `onEvent`). */
  hub: EventHub;
  /** Re-reads the config; on success restarts the supervisor with it (the caller's code). */
  reload(): Promise<ReloadOutcome>;
  version: string;
  startedAt?: number;
  proc?: Proc;
}

/**
 * A {@link ControlTarget} for one foreground `Supervisor`: status from a {@link StatusTracker}
 * fed by the hub, stop/restart on the supervisor. `stop({force})` is the supervisor's "second
 * stop" (SIGKILL now); `stop({timeoutMs})` sends that second stop after `timeoutMs` when it is
 * shorter than shutdown.timeout (a longer one cannot extend the supervisor's own deadline).
 * Call `dispose()` when the supervisor is done.
 */
export function createSupervisorTarget(options: SupervisorTargetOptions): ControlTarget & { tracker: StatusTracker; dispose(): void } {
  const { supervisor, hub } = options;
  const tracker = new StatusTracker({
    view: () => supervisor,
    version: options.version,
    ...(options.startedAt === undefined ? {} : { startedAt: options.startedAt }),
    ...(options.proc === undefined ? {} : { proc: options.proc }),
  });
  const unsubscribe = hub.subscribe((event) => tracker.observe(event));
  let escalation: NodeJS.Timeout | null = null;
  return {
    tracker,
    status: () => tracker.snapshot(),
    stop({ timeoutMs, force }) {
      supervisor.stop();
      if (force === true) {
        supervisor.stop();
        return;
      }
      if (timeoutMs !== undefined && timeoutMs < supervisor.currentConfig.shutdown.timeout && escalation === null) {
        escalation = setTimeout(() => supervisor.stop(), timeoutMs);
        escalation.unref();
      }
    },
    restart: () => supervisor.restart(),
    reload: () => options.reload(),
    rollback: () => Promise.resolve({ ok: false, errors: ['rollback needs the zero-downtime App (naija-sup start)'] }),
    subscribe: (listener) => hub.subscribe(listener),
    dispose() {
      unsubscribe();
      if (escalation !== null) clearTimeout(escalation);
    },
  };
}
