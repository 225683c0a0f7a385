/**
 * One fan-out point for a supervisor's events: the log writer, the terminal renderer, the status
 * tracker and every `events` subscriber of the control socket listen to the same stream. A
 * listener that throws (a broken socket) is ignored, so no subscriber can break the supervisor.
 */
import type { SupervisorEvent } from '../supervisor/events.js';

/** Fans the supervisor's events out to the log writer, the renderer and control subscribers. */
export interface EventHub {
  publish(event: SupervisorEvent): void;
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
}

export function createEventHub(): EventHub {
  const listeners = new Set<(event: SupervisorEvent) => void>();
  return {
    publish(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // A failing subscriber (a broken socket) must never break the supervisor.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}
