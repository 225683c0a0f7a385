/**
 * What the control socket (src/control/server.ts) may do to a running app: status, stop, restart,
 * reload, rollback, scale and the event stream, adapted from the App and its status tracker.
 */
import type { ReloadOptions, ReloadOutcome, ControlTarget, EventHub, StatusTracker } from '../control/server.js';
import type { App, ReloadResult } from './app.js';

export interface ControlTargetOptions {
  app(): App | null;
  tracker: StatusTracker;
  hub: EventHub;
  /** Re-reads the configuration and reloads the app with it (`parallel` instances at a time). */
  reload(options?: ReloadOptions): Promise<ReloadOutcome>;
  /** The graceful stop's own timeout: a shorter one asked for by `stop --timeout` escalates sooner. */
  shutdownTimeoutMs(): number;
}

/** A reload's result as the control protocol reports it. */
export function reloadOutcome(verb: string, result: ReloadResult): ReloadOutcome {
  return result.ok ? { ok: true } : { ok: false, kind: 'failed', errors: [`${verb} ${result.outcome}${result.cause ? `: ${result.cause}` : ''}`] };
}

export function controlTarget(options: ControlTargetOptions): ControlTarget {
  const { tracker, hub } = options;
  // Ten `stop` commands at once ask for one graceful stop: a second app.stop() means "kill now"
  // (Ctrl+C twice), so only the first plain stop is passed on; --force still escalates.
  let stopAsked = false;
  // Ten restarts at once must not interleave their stops. One asked for while a restart still stops
  // the old instance joins it (its caller saw the old pid; the new one answers it); one asked for
  // later (its caller may have seen the new instance already) is queued into ONE more restart.
  let restarting = false;
  let restartQueued = false;
  const restart = (): void => {
    const app = options.app();
    if (!app) return;
    if (restarting) {
      if (app.supervisor?.state.tag !== 'stopping') restartQueued = true;
      return;
    }
    restarting = true;
    void app.restart().catch(() => undefined).finally(() => {
      restarting = false;
      if (!restartQueued) return;
      restartQueued = false;
      restart();
    });
  };
  return {
    status: () => {
      const snapshot = tracker.snapshot();
      const app = options.app();
      const green = app?.greenSupervisor;
      return green && app?.reloading ? { ...snapshot, reloading: { pid: green.instancePid, state: green.state.tag } } as typeof snapshot : snapshot;
    },
    stop: ({ force, timeoutMs }) => {
      const app = options.app();
      if (!stopAsked) app?.stop();
      stopAsked ||= app !== null;
      if (force) app?.stop();
      // A shorter grace period than shutdown.timeout: the second stop (SIGKILL) comes earlier.
      else if (timeoutMs !== undefined && timeoutMs < options.shutdownTimeoutMs()) setTimeout(() => options.app()?.stop(), timeoutMs).unref();
    },
    restart,
    reload: options.reload,
    rollback: async () => {
      const app = options.app();
      if (!app) return { ok: false, errors: ['the supervisor is still starting'] };
      return reloadOutcome('rollback', await app.rollback());
    },
    subscribe: (listener) => hub.subscribe(listener),
    scale: async (instances) => {
      const app = options.app();
      if (!app) return { ok: false, errors: ['the supervisor is still starting'] };
      const result = await app.scale(instances);
      return result.ok ? { ok: true } : { ok: false, kind: 'failed', errors: [result.cause ?? 'failed'] };
    },
  };
}
