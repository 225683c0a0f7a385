/**
 * The accept-queue reader (src/reload/accept-queue.ts) on scripted /proc/net/tcp tables: what
 * counts as queued, a machine without IPv6 or without /proc, and proxy mode's wait for the queue
 * to empty (or its deadline).
 */
import { describe, expect, it } from 'vitest';
import type { Proc } from '../../src/process/proc-read.js';
import { queuedConnections, waitForAcceptQueueEmpty } from '../../src/reload/accept-queue.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/** One /proc/net/tcp row: 127.0.0.1:`port` ← 127.0.0.1:`from`, state code, inode. */
function row(port: number, from: number, state: string, inode: number): string {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  return `   0: 0100007F:${hex(port)} 0100007F:${hex(from)} ${state} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 20 4 0 10 -1`;
}

/** A /proc whose tcp table is `tables()` at each read (tcp6: `tcp6`). */
function proc(tables: () => string | null, tcp6: string | null = null): Proc {
  return { netTableAsync: (name: 'tcp' | 'tcp6') => Promise.resolve(name === 'tcp' ? tables() : tcp6) } as unknown as Proc;
}

const table = (...rows: string[]): string => [HEADER, ...rows].join('\n');

describe('queuedConnections', () => {
  it('counts connections to the port that no process accepted yet (inode 0), on a machine without IPv6', async () => {
    const text = table(
      row(8000, 0, '0A', 555), // the listening socket
      row(8000, 50_001, '01', 0), // queued
      row(8000, 50_002, '03', 0), // SYN_RECV: queued
      row(8000, 50_003, '01', 777), // accepted
      row(8000, 50_004, '06', 0), // TIME_WAIT: gone, not queued
      row(9000, 50_005, '01', 0), // another port
    );
    await expect(queuedConnections(8000, { proc: proc(() => text, null) })).resolves.toBe(2);
  });

  it('is null without /proc/net/tcp and tcp6', async () => {
    await expect(queuedConnections(8000, { proc: proc(() => null, null) })).resolves.toBeNull();
  });
});

describe('waitForAcceptQueueEmpty', () => {
  it('says true once the queue has emptied', async () => {
    let reads = 0;
    const p = proc(() => {
      reads += 1;
      return reads < 3 ? table(row(8000, 50_001, '01', 0)) : table();
    });
    await expect(waitForAcceptQueueEmpty(8000, { timeoutMs: 10_000, intervalMs: 1, proc: p })).resolves.toBe(true);
    expect(reads).toBe(3);
  });

  it('says false at the deadline while a connection stays queued', async () => {
    const p = proc(() => table(row(8000, 50_001, '01', 0)));
    await expect(waitForAcceptQueueEmpty(8000, { timeoutMs: 50, intervalMs: 5, proc: p })).resolves.toBe(false);
  });

  it('without /proc, waits the fallback time and says true', async () => {
    let reads = 0;
    const p = proc(() => {
      reads += 1;
      return null;
    });
    await expect(waitForAcceptQueueEmpty(8000, { timeoutMs: 10_000, fallbackMs: 5, proc: p })).resolves.toBe(true);
    await expect(waitForAcceptQueueEmpty(8000, { timeoutMs: 10_000, proc: p })).resolves.toBe(true);
    expect(reads).toBe(2);
  });
});
