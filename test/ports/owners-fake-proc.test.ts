/**
 * findPortOwners against a fake procfs tree (captured /proc/net text + hand-made /proc/PID
 * entries): every answer kind and its edge cases, with no processes and no sockets.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { findPortOwners, type FindProcessFn, type PortOwnersAnswer } from '../../src/ports/owners.js';
import { isNaijaSupError } from '../../src/errors.js';
import { BTIME, CAPTURED, makeFakeProc, type FakeProc, type FakeProcOptions } from './fixtures/fake-proc.js';

let fake: FakeProc | undefined;

afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

function setup(options: FakeProcOptions): FakeProc {
  fake = makeFakeProc(options);
  return fake;
}

function lookup(port: number, host?: string, extra: { findProcess?: FindProcessFn } = {}): Promise<PortOwnersAnswer> {
  if (fake === undefined) throw new Error('setup() first');
  return findPortOwners({ port, host, proc: createProc(fake.root), passwdFile: fake.passwdFile, ...extra });
}

function expectKind<K extends PortOwnersAnswer['kind']>(
  answer: PortOwnersAnswer,
  kind: K,
): Extract<PortOwnersAnswer, { kind: K }> {
  expect(answer.kind).toBe(kind);
  return answer as Extract<PortOwnersAnswer, { kind: K }>;
}

describe('findPortOwners on a fake /proc: held', () => {
  it('names the listener, not its clients nor its own accepted connections', async () => {
    setup({
      processes: [
        {
          pid: 4100,
          ppid: 4000,
          pgid: 4100,
          uid: 1000,
          startTime: 5000,
          argv: ['node', 'dist/server.js', '--port', '41259'],
          cwd: '/srv/api',
          sockets: [CAPTURED.dual.inode, ...CAPTURED.dual.acceptedInodes],
        },
        { pid: 4200, argv: ['curl', 'http://127.0.0.1:41259/'], sockets: [CAPTURED.dual.clientInode] },
        { pid: 4300, argv: ['curl', 'http://[fd00::2]:41259/'], sockets: [CAPTURED.dual.v6ClientInode] },
      ],
    });
    const held = expectKind(await lookup(CAPTURED.dual.port), 'held');
    expect(held.owners).toEqual([
      {
        pid: 4100,
        pgid: 4100,
        ppid: 4000,
        uid: 1000,
        user: 'dev',
        startTime: 5000,
        startedAt: BTIME * 1000 + 50_000,
        cmdline: ['node', 'dist/server.js', '--port', '41259'],
        command: 'node dist/server.js --port 41259',
        cwd: '/srv/api',
        addresses: [`[::]:${CAPTURED.dual.port}`],
        inodes: [CAPTURED.dual.inode],
      },
    ]);
    expect(held.sockets).toEqual([
      {
        family: 6,
        address: '::',
        port: CAPTURED.dual.port,
        endpoint: `[::]:${CAPTURED.dual.port}`,
        uid: 0,
        inode: CAPTURED.dual.inode,
      },
    ]);
    expect(held).toMatchObject({ method: 'procfs', complete: true, unownedSockets: [], nonConflicting: [] });
    expect(held.scan).toEqual({ processes: 3, unreadable: 0, relevantUnreadable: 0, vanished: 0 });
  });

  it('finds every pid sharing one inode (pre-fork), oldest first', async () => {
    setup({
      processes: [
        { pid: 5302, ppid: 5300, pgid: 5300, startTime: 902, sockets: [CAPTURED.lo4.inode, CAPTURED.lo4.acceptedInode] },
        { pid: 5300, ppid: 1, pgid: 5300, startTime: 900, argv: ['gunicorn', 'app:app'], sockets: [CAPTURED.lo4.inode] },
        { pid: 5301, ppid: 5300, pgid: 5300, startTime: 901, sockets: [CAPTURED.lo4.inode] },
        { pid: 5400, sockets: [CAPTURED.lo4.clientInode] },
      ],
    });
    const held = expectKind(await lookup(CAPTURED.lo4.port, '127.0.0.1'), 'held');
    expect(held.owners.map((owner) => owner.pid)).toEqual([5300, 5301, 5302]);
    expect(held.owners.every((owner) => owner.pgid === 5300)).toBe(true);
    expect(held.owners[0]?.addresses).toEqual([`127.0.0.1:${CAPTURED.lo4.port}`]);
    expect(held.complete).toBe(true);
  });

  it('finds a killed process that is still exiting (empty fd table, a thread still holds the socket), marked exiting', async () => {
    setup({ processes: [{ pid: 5500, argv: [], exitingThreads: 3, sockets: [CAPTURED.lo4.inode] }, { pid: 5501 }] });
    const held = expectKind(await lookup(CAPTURED.lo4.port, '127.0.0.1'), 'held');
    expect(held.owners).toHaveLength(1);
    expect(held.owners[0]).toMatchObject({ pid: 5500, exiting: true, inodes: [CAPTURED.lo4.inode], command: '' });
  });

  it('a live owner is not marked exiting', async () => {
    setup({ processes: [{ pid: 5502, sockets: [CAPTURED.lo4.inode] }] });
    const held = expectKind(await lookup(CAPTURED.lo4.port, '127.0.0.1'), 'held');
    expect(held.owners[0]?.exiting).toBeUndefined();
  });

  it('parses stat after the last ")" when comm contains spaces and parentheses', async () => {
    setup({
      processes: [{ pid: 77, ppid: 76, pgid: 70, comm: 'my (weird) srv) x', startTime: 4242, sockets: [CAPTURED.any4.inode] }],
    });
    const held = expectKind(await lookup(CAPTURED.any4.port, '127.0.0.1'), 'held');
    expect(held.owners[0]).toMatchObject({ pid: 77, ppid: 76, pgid: 70, startTime: 4242 });
  });

  it('leaves cwd undefined and cmdline empty when they cannot be read (kernel thread, zombie)', async () => {
    setup({ processes: [{ pid: 90, argv: [], sockets: [CAPTURED.any4.inode] }] });
    const held = expectKind(await lookup(CAPTURED.any4.port), 'held');
    expect(held.owners[0]).toMatchObject({ cmdline: [], command: '', cwd: undefined, user: 'root' });
  });

  it('falls back to the numeric uid when passwd has no entry', async () => {
    setup({ processes: [{ pid: 91, uid: 4321, sockets: [CAPTURED.any4.inode] }] });
    const held = expectKind(await lookup(CAPTURED.any4.port), 'held');
    expect(held.owners[0]?.user).toBe('4321');
  });

  it('collects several conflicting sockets and their owners (IPv4 and dual-stack on one port)', async () => {
    const port = 8000;
    const tcp =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 9001 1 0 100 0 0 10 0\n';
    const tcp6 =
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000000000000000000001000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 9002 1 0 100 0 0 10 0\n';
    setup({
      tcp,
      tcp6,
      processes: [
        { pid: 10, uid: 1000, sockets: [9001] },
        { pid: 11, uid: 1000, sockets: [9002] },
      ],
    });
    const all = expectKind(await lookup(port), 'held');
    expect(all.sockets.map((s) => s.endpoint)).toEqual(['127.0.0.1:8000', '[::1]:8000']);
    expect(all.owners.map((o) => [o.pid, o.addresses])).toEqual([
      [10, ['127.0.0.1:8000']],
      [11, ['[::1]:8000']],
    ]);
    const localhost = expectKind(await lookup(port, 'localhost'), 'held');
    expect(localhost.owners.map((o) => o.pid)).toEqual([10, 11]);
    const v4 = expectKind(await lookup(port, '127.0.0.1'), 'held');
    expect(v4.owners.map((o) => o.pid)).toEqual([10]);
    expect(v4.nonConflicting.map((s) => s.endpoint)).toEqual(['[::1]:8000']);
  });
});

describe('findPortOwners on a fake /proc: free and host semantics', () => {
  it('a ::1 listener leaves 127.0.0.1 free but blocks `::` and localhost', async () => {
    setup({ processes: [{ pid: 300, sockets: [CAPTURED.lo6.inode] }] });
    const free = expectKind(await lookup(CAPTURED.lo6.port, '127.0.0.1'), 'free');
    expect(free.complete).toBe(true);
    expect(free.nonConflicting.map((s) => s.endpoint)).toEqual([`[::1]:${CAPTURED.lo6.port}`]);
    expect(free.scan).toBeUndefined(); // nothing to look for: no fd scan at all
    expectKind(await lookup(CAPTURED.lo6.port), 'held');
    expectKind(await lookup(CAPTURED.lo6.port, 'localhost'), 'held');
    expectKind(await lookup(CAPTURED.lo6.port, '::1'), 'held');
  });

  it('a listener on ::ffff:127.0.0.1 blocks 127.0.0.1 but not ::1', async () => {
    setup({ processes: [{ pid: 301, sockets: [CAPTURED.mapped.inode] }] });
    const held = expectKind(await lookup(CAPTURED.mapped.port, '127.0.0.1'), 'held');
    expect(held.owners[0]?.addresses).toEqual([`[::ffff:127.0.0.1]:${CAPTURED.mapped.port}`]);
    expectKind(await lookup(CAPTURED.mapped.port, '::1'), 'free');
  });

  it('a port nobody uses is free', async () => {
    setup({ processes: [{ pid: 302, sockets: [CAPTURED.any4.inode] }] });
    const free = expectKind(await lookup(1), 'free');
    expect(free).toMatchObject({ complete: true, method: 'procfs', nonConflicting: [] });
  });

  it('a specific-address listener does not block another specific address', async () => {
    setup({ processes: [{ pid: 303, sockets: [CAPTURED.eth4.inode] }] });
    expectKind(await lookup(CAPTURED.eth4.port, '127.0.0.1'), 'free');
    expectKind(await lookup(CAPTURED.eth4.port, '0.0.0.0'), 'held');
    expectKind(await lookup(CAPTURED.eth4.port, '192.0.2.2'), 'held');
  });

  it('treats a missing /proc/net/tcp6 (IPv6 disabled) as empty', async () => {
    setup({ tcp6: null, processes: [{ pid: 304, sockets: [CAPTURED.lo4.inode, CAPTURED.dual.inode] }] });
    expectKind(await lookup(CAPTURED.lo4.port), 'held');
    expectKind(await lookup(CAPTURED.dual.port), 'free');
  });

  it('with bindv6only=1, a `::` listener does not block IPv4 hosts', async () => {
    setup({ bindv6only: '1', processes: [{ pid: 305, sockets: [CAPTURED.dual.inode] }] });
    expectKind(await lookup(CAPTURED.dual.port, '127.0.0.1'), 'free');
    expectKind(await lookup(CAPTURED.dual.port, '0.0.0.0'), 'free');
    expectKind(await lookup(CAPTURED.dual.port, '::1'), 'held');
    expectKind(await lookup(CAPTURED.dual.port), 'held');
  });

  it('without the bindv6only file, assumes the kernel default 0 (dual stack)', async () => {
    setup({ bindv6only: null, processes: [{ pid: 306, sockets: [CAPTURED.dual.inode] }] });
    expectKind(await lookup(CAPTURED.dual.port, '127.0.0.1'), 'held');
  });

  it('rejects a host name that does not resolve with E_CONFIG_INVALID', async () => {
    setup({ processes: [{ pid: 307, sockets: [CAPTURED.lo4.inode] }] });
    // .invalid never resolves (RFC 6761).
    const error = await lookup(CAPTURED.lo4.port, 'no-such-host.invalid').catch((e: unknown) => e);
    expect(isNaijaSupError(error) && error.code).toBe('E_CONFIG_INVALID');
  });
});

describe('findPortOwners on a fake /proc: time-wait', () => {
  it('reports TIME_WAIT rows on the port with no owner', async () => {
    setup({ processes: [] });
    const answer = expectKind(await lookup(CAPTURED.timeWait4.port, '127.0.0.1'), 'time-wait');
    expect(answer).toMatchObject({ count: 2, complete: true });
    expect(answer.note).toMatch(/TIME_WAIT/);
  });

  it('applies the host rules to TIME_WAIT rows too (mapped counts as IPv4)', async () => {
    setup({ processes: [] });
    expect(expectKind(await lookup(CAPTURED.timeWait6.port, '127.0.0.1'), 'time-wait').count).toBe(1);
    expect(expectKind(await lookup(CAPTURED.timeWait6.port, '::1'), 'time-wait').count).toBe(1);
    expect(expectKind(await lookup(CAPTURED.timeWait6.port), 'time-wait').count).toBe(2);
    expectKind(await lookup(CAPTURED.timeWait4.port, '::1'), 'free');
  });

  it('ignores a client-side TIME_WAIT whose remote port is the port', async () => {
    const tcp =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:D431 0100007F:1F40 06 00000000:00000000 03:00001752 00000000     0        0 0 3 0\n';
    setup({ tcp, processes: [] });
    expectKind(await lookup(8000), 'free');
  });

  it('prefers "held" when a listener and TIME_WAIT rows coexist', async () => {
    const tcp =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9100 1 0 100 0 0 10 0\n' +
      '   1: 0100007F:1F40 0100007F:D431 06 00000000:00000000 03:00001752 00000000     0        0 0 3 0\n';
    setup({ tcp, processes: [{ pid: 12, sockets: [9100] }] });
    expect(expectKind(await lookup(8000), 'held').owners.map((o) => o.pid)).toEqual([12]);
  });
});

describe('findPortOwners on a fake /proc: held-invisible and completeness', () => {
  it('says "held, owner not visible" when no readable process holds the socket — never "free"', async () => {
    setup({ processes: [{ pid: 400, uid: 0, unreadableFds: true }, { pid: 401, sockets: [CAPTURED.any4.inode] }] });
    const answer = expectKind(await lookup(CAPTURED.nobody4.port, '127.0.0.1'), 'held-invisible');
    expect(answer).toMatchObject({ uid: 65534, user: 'nobody', complete: false });
    expect(answer.sockets.map((s) => s.endpoint)).toEqual([`127.0.0.1:${CAPTURED.nobody4.port}`]);
    expect(answer.note).toMatch(/not visible to this user/);
    expect(answer.scan).toMatchObject({ processes: 2, unreadable: 1 });
  });

  it('is held-invisible even when every process is readable (owner in another PID namespace)', async () => {
    setup({ processes: [{ pid: 402, sockets: [CAPTURED.any4.inode] }] });
    const answer = expectKind(await lookup(CAPTURED.nobody6.port), 'held-invisible');
    expect(answer.uid).toBe(65534);
  });

  it('marks "held" incomplete when a process of the owner\'s uid could not be read', async () => {
    // The fake /proc/PID dirs belong to whoever runs the test, so an unreadable one "has" our uid:
    // give the socket and owner that uid too, so it is relevant.
    const uid = process.getuid?.() ?? 0;
    const tcp =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      `   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000 ${uid}        0 9200 1 0 100 0 0 10 0\n`;
    setup({ tcp, processes: [{ pid: 20, uid, sockets: [9200] }, { pid: 21, unreadableFds: true }] });
    const held = expectKind(await lookup(8000), 'held');
    expect(held.complete).toBe(false);
    expect(held.scan).toMatchObject({ unreadable: 1, relevantUnreadable: 1 });
    expect(held.note).toMatch(/may be incomplete/);
  });

  it('lists sockets without a visible owner next to the owned ones', async () => {
    setup({ processes: [{ pid: 22, sockets: [CAPTURED.any4.inode] }] });
    // Target `::` conflicts with every listener of port 34517: only the 0.0.0.0 one exists there.
    const held = expectKind(await lookup(CAPTURED.any4.port), 'held');
    expect(held.unownedSockets).toEqual([]);
    const tcp =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9300 1 0 100 0 0 10 0\n' +
      '   1: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9301 1 0 100 0 0 10 0\n';
    fake?.cleanup();
    setup({ tcp, processes: [{ pid: 23, sockets: [9300] }] });
    const partial = expectKind(await lookup(8000), 'held');
    expect(partial.owners.map((o) => o.pid)).toEqual([23]);
    expect(partial.unownedSockets.map((s) => s.endpoint)).toEqual(['0.0.0.0:8000']);
    expect(partial.complete).toBe(false);
    expect(partial.note).toBe('the owner list may be incomplete: no visible owner for 0.0.0.0:8000');
  });
});

describe('findPortOwners without /proc/net/tcp: the find-process fallback', () => {
  it('returns find-process\'s single owner, marked incomplete', async () => {
    setup({ tcp: null, tcp6: null, processes: [] });
    const find = vi.fn<FindProcessFn>(async () => [
      { pid: 999, ppid: 1, uid: 65534, name: 'node', cmd: 'node server.js --port 8000' },
    ]);
    const held = expectKind(await lookup(8000, '127.0.0.1', { findProcess: find }), 'held');
    expect(find).toHaveBeenCalledWith('port', 8000);
    expect(held).toMatchObject({ method: 'find-process', complete: false, sockets: [] });
    expect(held.owners).toEqual([
      expect.objectContaining({
        pid: 999,
        ppid: 1,
        uid: 65534,
        pgid: undefined,
        startTime: undefined,
        cmdline: ['node', 'server.js', '--port', '8000'],
        command: 'node server.js --port 8000',
      }),
    ]);
    expect(held.note).toMatch(/one owner at most/);
  });

  it('never calls an empty find-process result complete', async () => {
    setup({ tcp: null, tcp6: null, processes: [] });
    const free = expectKind(await lookup(8000, undefined, { findProcess: async () => [] }), 'free');
    expect(free).toMatchObject({ method: 'find-process', complete: false });
    expect(free.note).toMatch(/bind probe/);
  });
});

describe('findPortOwners on a large socket table', () => {
  it('reads past the first chunk: a listener after 1000 TIME_WAIT rows is found', async () => {
    const header =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    const timeWait = Array.from(
      { length: 1000 },
      (_, i) =>
        `${String(i).padStart(4)}: 0100007F:${(20000 + i).toString(16).toUpperCase()} 0100007F:1F40 06 00000000:00000000 03:00001752 00000000     0        0 0 3 0`.padEnd(
          149,
        ) + '\n',
    ).join('');
    const listener =
      '1000: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9400 1 0 100 0 0 10 0\n';
    setup({ tcp: header + timeWait + listener, processes: [{ pid: 30, sockets: [9400] }] });
    expect(expectKind(await lookup(8001), 'held').owners.map((o) => o.pid)).toEqual([30]);
  });
});

describe('findPortOwners input checks', () => {
  it('rejects a port outside 1–65535 as a bug', async () => {
    setup({ processes: [] });
    await expect(lookup(0)).rejects.toThrow(/1–65535/);
    await expect(lookup(70000)).rejects.toThrow(/1–65535/);
    await expect(lookup(80.5)).rejects.toThrow(/1–65535/);
  });
});
