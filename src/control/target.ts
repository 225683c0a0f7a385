/**
 * What the control socket may ask of a running supervisor: the interface src/control/server.ts
 * serves and src/control/request-handlers.ts calls. Its own module because both sides — the
 * server and the adapters that implement it (supervisor-target.ts for one foreground Supervisor,
 * src/app/control-target.ts for an App) — need it, and neither should import the other for a type.
 */
import type { SupervisorEvent } from '../supervisor/events.js';
import type { StatusSnapshot } from './protocol.js';

/** What a reload answers: the new config was taken (and the restart begun), or its errors. */
/** `failed`: the config was fine but the new instance did not take over (a rollback). */
export type ReloadOutcome = { ok: true } | { ok: false; errors: string[]; kind?: 'invalid-config' | 'failed' };

/** What a `reload` request may ask for besides the reload itself. */
export interface ReloadOptions {
  parallel?: number;
}

/** The supervisor as the control server sees it. src/cli/commands/start.ts adapts the real one. */
export interface ControlTarget {
  status(): StatusSnapshot;
  /** Graceful stop; `force` kills the group at once; `timeoutMs` shortens the grace period. */
  stop(options: { timeoutMs?: number; force?: boolean }): void;
  restart(): void;
  /** `parallel`: how many instances a rolling reload replaces at a time (default 1). */
  reload(options?: ReloadOptions): Promise<ReloadOutcome>;
  /** Goes back to the configuration before the last reload (issue 8). */
  rollback(): Promise<ReloadOutcome>;
  /** Registers a listener for every supervisor event; returns the unsubscribe function. */
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
  /** Runs `instances` instances from now on (issue 20); absent: this supervisor cannot. */
  scale?(instances: number): Promise<ReloadOutcome>;
}
