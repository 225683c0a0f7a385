/**
 * The socket tables read ahead of the port check (src/ports/tables-ahead.ts): findPortOwners of
 * the real /proc takes them once, and only while they are fresh. A listener this test opens after
 * the tables were read is what tells the snapshot from a fresh read.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { monotonicMs } from '../../src/clock.js';
import { findPortOwners } from '../../src/ports/owners.js';
import { MAX_AGE_MS, readPortTablesAhead, takePortTablesAhead } from '../../src/ports/tables-ahead.js';
import type { Proc } from '../../src/process/proc-read.js';

const servers: net.Server[] = [];
afterEach(async () => {
  takePortTablesAhead(); // none left for the next test
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A listener on a port of the kernel's choosing, on 127.0.0.1: a port no table read before it shows. */
async function listenNew(): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('the socket tables read ahead', () => {
  it('are what the next port check of the real /proc sees, once: the check after it reads again', async () => {
    const tables = readPortTablesAhead();
    expect(tables).not.toBeNull();
    await tables;
    const port = await listenNew();
    // The snapshot predates the listener: this check is answered from it.
    expect((await findPortOwners({ port, host: '127.0.0.1' })).kind).toBe('free');
    const now = await findPortOwners({ port, host: '127.0.0.1' });
    expect(now.kind).toBe('held');
    expect(now.kind === 'held' && now.owners.map((o) => o.pid)).toEqual([process.pid]);
  });

  it('are believed only when they say "free": an owner they show is looked for again, and may be gone', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await readPortTablesAhead();
    // Gone since the snapshot (as an owner preflight stopped, or one that was exiting, would be).
    await new Promise((resolve) => server.close(resolve));
    expect((await findPortOwners({ port, host: '127.0.0.1' })).kind).toBe('free');
    expect(takePortTablesAhead()).toBeNull();
  });

  it('are dropped when older than MAX_AGE_MS, and the check reads the tables itself', async () => {
    // A read just inside the limit is still taken. Both ends on one given clock: on a loaded
    // machine the /proc read alone may take longer than any margin on the real one.
    const t0 = monotonicMs();
    await readPortTablesAhead(undefined, () => t0);
    expect(takePortTablesAhead(() => t0 + MAX_AGE_MS)).not.toBeNull();
    // The module's own clock (src/clock.ts) on both sides: a read stamped before the limit is old.
    await readPortTablesAhead(undefined, () => monotonicMs() - MAX_AGE_MS - 1);
    const port = await listenNew();
    expect((await findPortOwners({ port, host: '127.0.0.1' })).kind).toBe('held');
  });

  it('are left alone by a check of another /proc tree (a test\'s fake one)', async () => {
    await readPortTablesAhead();
    const fake = { real: false, netTable: () => null } as unknown as Proc;
    // No tcp table in the fake tree: find-process answers (never mind what), the real tables stay.
    await findPortOwners({ port: 1, host: '127.0.0.1', proc: fake, findProcess: async () => [] });
    expect(takePortTablesAhead()).not.toBeNull();
  });

  it('are taken by their age on the clock given: fresh at MAX_AGE_MS, gone after', async () => {
    const reads: string[] = [];
    const proc = { netTableAsync: async (name: string) => { reads.push(name); return `${name} text`; } } as unknown as Proc;
    let t = 1_000;
    readPortTablesAhead(proc, () => t);
    t += MAX_AGE_MS;
    expect(await takePortTablesAhead(() => t)).toEqual({ tcp: 'tcp text', tcp6: 'tcp6 text' });
    expect(takePortTablesAhead(() => t)).toBeNull();
    readPortTablesAhead(proc, () => t);
    t += MAX_AGE_MS + 1;
    expect(takePortTablesAhead(() => t)).toBeNull();
    expect(reads).toEqual(['tcp', 'tcp6', 'tcp', 'tcp6']);
  });
});
