/**
 * The blue/green swap as a pure transition function (issue 8; README.md "Zero-downtime reload").
 *
 * ```
 *   idle ──begin──▶ starting-green ──green-ready──▶ draining-blue ──blue-gone──▶ done
 *                        │                              │
 *                        │ green-failed                 │ green-failed (crashed mid-swap)
 *                        ▼                              ▼
 *                   rolling-back ──green-gone──▶ rolled-back     failed (no instance left: the
 *                                                               current supervisor's restart
 *                                                               policy takes over)
 * ```
 *
 * Blue keeps serving until green has passed its startup probe; only then does traffic switch
 * (new connections go to green: the proxy's target changes, or — in handoff mode — both accept on
 * the shared socket until blue stops accepting), and blue is drained with its stop signal. If green
 * never gets ready or dies before the switch, green is stopped and blue keeps serving: a rollback.
 */
import { InternalError } from '../errors.js';

export type SwapState =
  | { tag: 'idle' }
  | { tag: 'starting-green'; since: number }
  | { tag: 'rolling-back'; cause: string }
  | { tag: 'draining-blue'; since: number; blueGone: boolean }
  | { tag: 'done'; durationMs: number }
  | { tag: 'rolled-back'; cause: string }
  | { tag: 'failed'; cause: string };

export type SwapEvent =
  | { type: 'begin' }
  | { type: 'green-ready' }
  | { type: 'green-failed'; cause: string }
  | { type: 'green-gone' }
  | { type: 'blue-gone' };

export type SwapEffect =
  | { type: 'start-green' }
  | { type: 'switch-to-green' }
  | { type: 'stop-blue' }
  | { type: 'stop-green' }
  | { type: 'promote-green' }
  | { type: 'finish'; outcome: 'reloaded' | 'rolled-back' | 'failed'; cause?: string };

export interface SwapTransition {
  state: SwapState;
  effects: SwapEffect[];
}

function impossible(state: SwapState, event: SwapEvent): never {
  throw new InternalError(`blue/green swap: event "${event.type}" cannot happen in state "${state.tag}"`);
}

export function swapTransition(state: SwapState, event: SwapEvent, now: number): SwapTransition {
  switch (state.tag) {
    case 'idle':
      if (event.type === 'begin') return { state: { tag: 'starting-green', since: now }, effects: [{ type: 'start-green' }] };
      return impossible(state, event);
    case 'starting-green':
      switch (event.type) {
        case 'green-ready':
          return {
            state: { tag: 'draining-blue', since: state.since, blueGone: false },
            effects: [{ type: 'switch-to-green' }, { type: 'promote-green' }, { type: 'stop-blue' }],
          };
        case 'green-failed':
          return { state: { tag: 'rolling-back', cause: event.cause }, effects: [{ type: 'stop-green' }] };
        case 'blue-gone':
          // Blue died while green was starting: nothing to drain; green's own readiness decides.
          return { state, effects: [] };
        case 'begin': case 'green-gone':
          return impossible(state, event);
      }
      break;
    case 'rolling-back':
      switch (event.type) {
        case 'green-gone':
        case 'green-failed':
          return {
            state: { tag: 'rolled-back', cause: state.cause },
            effects: [{ type: 'finish', outcome: 'rolled-back', cause: state.cause }],
          };
        case 'blue-gone':
          return { state, effects: [] };
        case 'begin': case 'green-ready':
          return impossible(state, event);
      }
      break;
    case 'draining-blue':
      switch (event.type) {
        case 'blue-gone':
          return { state: { tag: 'done', durationMs: now - state.since }, effects: [{ type: 'finish', outcome: 'reloaded' }] };
        case 'green-failed':
          // Green crashed after the switch, while blue drains: green is already the current
          // instance, so its own supervisor's restart policy handles it; the reload failed.
          return { state: { tag: 'failed', cause: event.cause }, effects: [{ type: 'finish', outcome: 'failed', cause: event.cause }] };
        case 'green-gone':
          return { state, effects: [] };
        case 'begin': case 'green-ready':
          return impossible(state, event);
      }
      break;
    case 'done':
    case 'rolled-back':
    case 'failed':
      // Late reports after the swap finished are expected (a group that empties after we moved on).
      if (event.type === 'blue-gone' || event.type === 'green-gone' || event.type === 'green-failed') return { state, effects: [] };
      return impossible(state, event);
    default: {
      const never: never = state;
      throw new InternalError(`unknown swap state ${JSON.stringify(never)}`);
    }
  }
  throw new InternalError('unreachable');
}
