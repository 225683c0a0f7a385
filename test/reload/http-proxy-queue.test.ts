/**
 * The HTTP proxy's wait queue (src/reload/http-proxy-queue.ts): a request waits until a target is
 * offered or until queueTimeout after its arrival; fake timers, no sockets.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WaitQueue } from '../../src/reload/http-proxy-queue.js';

interface Req {
  start: number;
  name: string;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function tracked(queue: WaitQueue<Req, string>, name: string, arrivedMsAgo = 0) {
  const req: Req = { start: performance.now() - arrivedMsAgo, name };
  const log: string[] = [];
  queue.add(
    req,
    (target) => log.push(`resumed on ${target}`),
    () => log.push('timed out'),
  );
  return { req, log };
}

describe('WaitQueue', () => {
  it('times a request out queueTimeout after its arrival, not after it was queued', async () => {
    const queue = new WaitQueue<Req, string>(1000);
    const early = tracked(queue, 'early', 600);
    const fresh = tracked(queue, 'fresh');
    await vi.advanceTimersByTimeAsync(399);
    expect(early.log).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(early.log).toEqual(['timed out']);
    expect(fresh.log).toEqual([]);
    expect(queue.size).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(fresh.log).toEqual(['timed out']);
    expect(queue.size).toBe(0);
  });

  it('a request that arrived longer ago than the timeout times out at once', async () => {
    const queue = new WaitQueue<Req, string>(1000);
    const late = tracked(queue, 'late', 5000);
    await vi.advanceTimersByTimeAsync(0);
    expect(late.log).toEqual(['timed out']);
  });

  it('offer() resumes, in arrival order, those it finds a target for; the others keep waiting', async () => {
    const queue = new WaitQueue<Req, string>(1000);
    const order: string[] = [];
    const a = tracked(queue, 'a');
    const b = tracked(queue, 'b');
    const c = tracked(queue, 'c');
    queue.offer((req) => {
      order.push(req.name);
      return req.name === 'b' ? null : 'green';
    });
    expect(order).toEqual(['a', 'b', 'c']);
    expect(a.log).toEqual(['resumed on green']);
    expect(b.log).toEqual([]);
    expect(c.log).toEqual(['resumed on green']);
    expect(queue.size).toBe(1);
    // A resumed request's timer is gone: only b times out.
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.log).toEqual(['resumed on green']);
    expect(b.log).toEqual(['timed out']);
  });

  it('remove() ends a wait without calling back; timeoutAll() ends every wait now', async () => {
    const queue = new WaitQueue<Req, string>(1000);
    const gone = tracked(queue, 'gone');
    const x = tracked(queue, 'x');
    const y = tracked(queue, 'y');
    queue.remove(gone.req);
    queue.remove(gone.req); // twice: no-op
    expect(queue.size).toBe(2);
    queue.timeoutAll();
    expect([x.log, y.log]).toEqual([['timed out'], ['timed out']]);
    expect(queue.size).toBe(0);
    await vi.advanceTimersByTimeAsync(2000);
    expect([gone.log, x.log, y.log]).toEqual([[], ['timed out'], ['timed out']]);
  });

  it('a callback that removes another waiting request keeps offer() from resuming it', () => {
    const queue = new WaitQueue<Req, string>(1000);
    const second = { start: performance.now(), name: 'second' };
    const log: string[] = [];
    queue.add({ start: performance.now(), name: 'first' }, () => queue.remove(second), () => undefined);
    queue.add(second, () => log.push('second resumed'), () => log.push('second timed out'));
    queue.offer(() => 'green');
    expect(log).toEqual([]);
    expect(queue.size).toBe(0);
  });
});
