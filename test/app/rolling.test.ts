/**
 * The batching of a rolling reload (src/app/rolling.ts, `naija-sup reload --parallel K`): steps
 * are timers (fake clock), so which steps run together, and when the next batch starts, is seen
 * exactly.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchSize, rollInBatches } from '../../src/app/rolling.js';

interface Step { ok: boolean; item: number }

/** A step per item that takes `ms[item]` and fails for the items in `failing`; records who ran when. */
function steps(ms: Record<number, number>, failing: ReadonlySet<number> = new Set()) {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const step = (item: number): Promise<Step> => {
    running += 1;
    most = Math.max(most, running);
    log.push(`start ${item} @${Date.now()}`);
    return new Promise((resolve) => {
      setTimeout(() => {
        running -= 1;
        log.push(`end ${item} @${Date.now()}`);
        resolve({ ok: !failing.has(item), item });
      }, ms[item] ?? 100);
    });
  };
  return { step, log, most: () => most };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('rollInBatches', () => {
  it('K = 2 over 4 items: two at a time, the second pair only once both of the first are done', async () => {
    const s = steps({ 0: 100, 1: 300, 2: 100, 3: 100 });
    const done = rollInBatches([0, 1, 2, 3], 2, s.step);
    await vi.advanceTimersByTimeAsync(299);
    // Item 0 finished at 100, but item 2 waits for item 1 (its batch).
    expect(s.log).toEqual(['start 0 @0', 'start 1 @0', 'end 0 @100']);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.log.slice(3)).toEqual(['end 1 @300', 'start 2 @300', 'start 3 @300']);
    await vi.advanceTimersByTimeAsync(100);
    await expect(done).resolves.toEqual({ done: [0, 1, 2, 3], failed: [] });
    expect(s.most()).toBe(2);
  });

  it('K = 1 is one after the other (the default), K larger than the items runs them all at once', async () => {
    const one = steps({});
    const serial = rollInBatches([0, 1, 2], undefined, one.step);
    await vi.advanceTimersByTimeAsync(300);
    await expect(serial).resolves.toEqual({ done: [0, 1, 2], failed: [] });
    expect(one.most()).toBe(1);
    expect(one.log).toEqual(['start 0 @0', 'end 0 @100', 'start 1 @100', 'end 1 @200', 'start 2 @200', 'end 2 @300']);

    vi.setSystemTime(0);
    const all = steps({});
    const wide = rollInBatches([0, 1, 2], 8, all.step);
    await vi.advanceTimersByTimeAsync(100);
    await expect(wide).resolves.toEqual({ done: [0, 1, 2], failed: [] });
    expect(all.most()).toBe(3);
  });

  it('a failed step stops the rollout after its batch: the batch finishes, no later batch starts, its successes are reported', async () => {
    const s = steps({ 2: 50, 3: 200 }, new Set([2]));
    const done = rollInBatches([0, 1, 2, 3, 4, 5], 2, s.step);
    await vi.advanceTimersByTimeAsync(1000);
    // Batch [0,1] succeeded; batch [2,3]: 2 failed, 3 (still running then) succeeded; [4,5] never ran.
    await expect(done).resolves.toEqual({ done: [0, 1, 3], failed: [{ item: 2, result: { ok: false, item: 2 } }] });
    expect(s.log.filter((l) => l.startsWith('start')).map((l) => l.split(' ')[1])).toEqual(['0', '1', '2', '3']);
    expect(s.log).toContain('end 3 @300');
  });

  it('every failure of the batch is reported, in order', async () => {
    const s = steps({}, new Set([1, 2]));
    await expect(Promise.all([rollInBatches([0, 1, 2], 3, s.step), vi.advanceTimersByTimeAsync(100)]).then(([r]) => r))
      .resolves.toEqual({ done: [0], failed: [{ item: 1, result: { ok: false, item: 1 } }, { item: 2, result: { ok: false, item: 2 } }] });
  });

  it('a step that throws is passed on only once the rest of its batch has ended', async () => {
    let otherEnded = false;
    const step = (item: number): Promise<{ ok: boolean }> => new Promise((resolve, reject) => {
      if (item === 0) setTimeout(() => reject(new Error('boom')), 10);
      else setTimeout(() => { otherEnded = true; resolve({ ok: true }); }, 500);
    });
    const done = rollInBatches([0, 1], 2, step);
    const seen = done.catch((error: unknown) => ({ error, otherEnded }));
    await vi.advanceTimersByTimeAsync(500);
    await expect(seen).resolves.toMatchObject({ error: new Error('boom'), otherEnded: true });
  });

  it('nothing to roll: nothing runs', async () => {
    const s = steps({});
    await expect(rollInBatches([], 2, s.step)).resolves.toEqual({ done: [], failed: [] });
    expect(s.log).toEqual([]);
  });
});

describe('batchSize', () => {
  it('a whole number ≥ 1 is taken; anything else is one at a time', () => {
    expect(batchSize(3)).toBe(3);
    expect(batchSize(1)).toBe(1);
    expect(batchSize(undefined)).toBe(1);
    expect(batchSize(0)).toBe(1);
    expect(batchSize(-2)).toBe(1);
    expect(batchSize(1.5)).toBe(1);
    expect(batchSize(Number.NaN)).toBe(1);
  });
});
