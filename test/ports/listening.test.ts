/**
 * Which LISTEN sockets a group of processes holds (listeningEndpointsOf, over captured /proc/net
 * tables in a fake /proc) and whether a bound address serves the configured host (coversHost): what
 * the supervisor uses to say "it listens on another port" or "on another host".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { coversHost, isWildcard, listeningEndpointsOf } from '../../src/ports/listening.js';
import { createProc } from '../../src/process/proc-read.js';
import { CAPTURED, makeFakeProc, type FakeProc } from './fixtures/fake-proc.js';

let fake: FakeProc | undefined;
afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

describe('listeningEndpointsOf', () => {
  it('only LISTEN sockets of the given pids, each once, by port then address; accepted connections never', () => {
    fake = makeFakeProc({
      processes: [
        // The server: 127.0.0.1 and `::` listeners, and the connection it accepted on the first.
        { pid: 4100, sockets: [CAPTURED.dual.inode, CAPTURED.lo4.inode, CAPTURED.lo4.acceptedInode] },
        // A worker sharing the `::` listener (pre-fork), plus ::1 and 0.0.0.0 listeners of its own.
        { pid: 4101, sockets: [CAPTURED.dual.inode, CAPTURED.lo6.inode, CAPTURED.any4.inode] },
        // Not asked about.
        { pid: 4200, sockets: [CAPTURED.eth4.inode] },
      ],
    });
    expect(listeningEndpointsOf([4100, 4101, 4999], { proc: createProc(fake.root) })).toEqual([
      { address: '0.0.0.0', port: CAPTURED.any4.port, endpoint: `0.0.0.0:${CAPTURED.any4.port}`, pid: 4101 },
      { address: '127.0.0.1', port: CAPTURED.lo4.port, endpoint: `127.0.0.1:${CAPTURED.lo4.port}`, pid: 4100 },
      { address: '::', port: CAPTURED.dual.port, endpoint: `[::]:${CAPTURED.dual.port}`, pid: 4100 },
      { address: '::1', port: CAPTURED.lo6.port, endpoint: `[::1]:${CAPTURED.lo6.port}`, pid: 4101 },
    ]);
  });

  it('no sockets, no fd table, or no tcp6 table (IPv6 disabled): what can be read', () => {
    fake = makeFakeProc({ tcp6: null, processes: [{ pid: 4100, sockets: [] }, { pid: 4101, unreadableFds: true }, { pid: 4102, sockets: [CAPTURED.lo4.inode, CAPTURED.lo6.inode] }] });
    const proc = createProc(fake.root);
    expect(listeningEndpointsOf([4100, 4101], { proc })).toEqual([]);
    expect(listeningEndpointsOf([4102], { proc }).map((e) => e.endpoint)).toEqual([`127.0.0.1:${CAPTURED.lo4.port}`]);
  });
});

describe('coversHost', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', true],
    ['::ffff:127.0.0.1', '127.0.0.1', true],
    ['::1', '[::1]', true],
    ['127.0.0.1', 'localhost', true],
    ['::1', 'localhost', true],
    ['0.0.0.0', 'localhost', false],
    ['0.0.0.0', '::', true],
    ['::', '0.0.0.0', true],
    ['::', '', true],
    ['127.0.0.1', '0.0.0.0', false],
    ['0.0.0.0', '127.0.0.1', false],
    ['192.0.2.2', '127.0.0.1', false],
  ] as const)('%s serves "%s": %s', (address, host, expected) => {
    expect(coversHost(address, host)).toBe(expected);
  });

  it('isWildcard: only 0.0.0.0 and ::', () => {
    expect(['0.0.0.0', '::', '::1', '127.0.0.1'].map(isWildcard)).toEqual([true, true, false, false]);
  });
});
