import { describe, expect, it } from 'vitest';
import { InternalError } from '../../src/errors.js';
import { swapTransition, type SwapEvent, type SwapState } from '../../src/reload/swap.js';

function run(events: SwapEvent[]) {
  let state: SwapState = { tag: 'idle' };
  const effects = [];
  let now = 0;
  for (const e of events) {
    const t = swapTransition(state, e, (now += 100));
    state = t.state;
    effects.push(...t.effects);
  }
  return { state, effects };
}

describe('blue/green swap', () => {
  it('begin → green ready → switch, promote, drain blue → blue gone → reloaded', () => {
    const { state, effects } = run([{ type: 'begin' }, { type: 'green-ready' }, { type: 'blue-gone' }]);
    expect(effects).toEqual([
      { type: 'start-green' },
      { type: 'switch-to-green' }, { type: 'promote-green' }, { type: 'stop-blue' },
      { type: 'finish', outcome: 'reloaded' },
    ]);
    expect(state).toEqual({ tag: 'done', durationMs: 200 });
  });

  it('traffic never switches before green is ready', () => {
    const { effects } = run([{ type: 'begin' }]);
    expect(effects).not.toContainEqual({ type: 'switch-to-green' });
    expect(effects).not.toContainEqual({ type: 'stop-blue' });
  });

  it('a green that never gets ready is stopped; blue keeps serving; the outcome is a rollback with the cause', () => {
    const { state, effects } = run([{ type: 'begin' }, { type: 'green-failed', cause: 'not ready within 2000 ms' }, { type: 'green-gone' }]);
    expect(effects).toEqual([
      { type: 'start-green' },
      { type: 'stop-green' },
      { type: 'finish', outcome: 'rolled-back', cause: 'not ready within 2000 ms' },
    ]);
    expect(effects).not.toContainEqual({ type: 'stop-blue' });
    expect(state).toEqual({ tag: 'rolled-back', cause: 'not ready within 2000 ms' });
  });

  it('a green that crashes after the switch, while blue drains, fails the reload', () => {
    const { state, effects } = run([{ type: 'begin' }, { type: 'green-ready' }, { type: 'green-failed', cause: 'exited with code 1' }]);
    expect(state).toEqual({ tag: 'failed', cause: 'exited with code 1' });
    expect(effects.at(-1)).toEqual({ type: 'finish', outcome: 'failed', cause: 'exited with code 1' });
  });

  it('blue dying while green starts does not stop the swap', () => {
    const { state } = run([{ type: 'begin' }, { type: 'blue-gone' }]);
    expect(state.tag).toBe('starting-green');
  });

  it('late reports after the end are ignored; impossible events throw', () => {
    const done = run([{ type: 'begin' }, { type: 'green-ready' }, { type: 'blue-gone' }]).state;
    expect(swapTransition(done, { type: 'green-gone' }, 0).effects).toEqual([]);
    expect(() => swapTransition(done, { type: 'begin' }, 0)).toThrow(InternalError);
    expect(() => swapTransition({ tag: 'idle' }, { type: 'green-ready' }, 0)).toThrow(InternalError);
    expect(() => swapTransition({ tag: 'starting-green', since: 0 }, { type: 'begin' }, 0)).toThrow(InternalError);
  });
});
