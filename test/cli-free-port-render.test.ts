/**
 * What `naija-sup free-port` prints for results that real holders rarely produce on this machine:
 * TIME_WAIT, an owner this user cannot see, several owners with little known about them, a
 * supervised instance, refusals, a survivor of SIGKILL, a dry run with --host. The results are
 * built here and rendered by renderFreePort; cli-free-port.test.ts runs the command for real.
 */
import { describe, expect, it } from 'vitest';
import { renderFreePort } from '../src/cli/commands/free-port.js';
import type { FreePortResult, OwnerView } from '../src/ports/free-port.js';
import type { PortOwnersAnswer } from '../src/ports/owners.js';

function capture(color = false) {
  let out = '';
  let err = '';
  const io = {
    stdout: (text: string) => {
      out += text;
    },
    stderr: (text: string) => {
      err += text;
    },
    env: color ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' },
    isTTY: false,
  };
  return { io, out: () => out, err: () => err };
}

const base = { port: 8000, host: undefined, complete: true, method: 'procfs' as const, nonConflicting: [] };

function result(before: PortOwnersAnswer, rest: Partial<FreePortResult> = {}): FreePortResult {
  return { port: 8000, host: undefined, before, owners: [], stopped: [], refused: [], free: false, durationMs: 5, ...rest };
}

function owner(overrides: Partial<OwnerView> = {}): OwnerView {
  return {
    pid: 700,
    pgid: 700,
    ppid: 1,
    uid: 1000,
    user: 'alice',
    startTime: 3000,
    startedAt: undefined,
    cmdline: ['node', 'server.js'],
    command: 'node server.js',
    cwd: '/srv/app',
    addresses: ['127.0.0.1:8000'],
    inodes: [1],
    ageMs: 65_000,
    ours: null,
    ...overrides,
  };
}

describe('free-port output', () => {
  it('TIME_WAIT only, with a listener on another address, and a bind that still fails', () => {
    const { io, out, err } = capture();
    const before: PortOwnersAnswer = {
      ...base,
      kind: 'time-wait',
      count: 2,
      nonConflicting: [{ family: 6, address: '::1', port: 8000, endpoint: '[::1]:8000', uid: 1000, inode: 5 }],
    };
    renderFreePort(io, result(before, { host: '127.0.0.1', reason: '2 connection(s) in TIME_WAIT block the bind' }), {});
    expect(out()).toBe(
      'no process listens on port 8000; 2 connection(s) are in TIME_WAIT (no owner, they expire within ~60 s)\n' +
        '  (also listening, without blocking 127.0.0.1:8000: [::1]:8000)\n',
    );
    expect(err()).toBe('naija-sup: port 8000 is not free: 2 connection(s) in TIME_WAIT block the bind\n');
  });

  it('an owner this user cannot see; no reason at all reads "unknown reason"', () => {
    const { io, out, err } = capture();
    const before: PortOwnersAnswer = {
      ...base,
      kind: 'held-invisible',
      complete: false,
      uid: 0,
      user: 'root',
      sockets: [{ family: 4, address: '0.0.0.0', port: 8000, endpoint: '0.0.0.0:8000', uid: 0, inode: 9 }],
    };
    renderFreePort(io, result(before), {});
    expect(out()).toBe('port 8000 is held (0.0.0.0:8000), but its owner is not visible to this user\n');
    expect(err()).toBe('naija-sup: port 8000 is not free: unknown reason\n');
  });

  it('a dry run over two owners: what is known of each, a supervised one marked, and what would be signalled', () => {
    const { io, out, err } = capture();
    const owners = [
      owner({ ours: { name: 'api', supervisorPid: 690, supervisorAlive: false } }),
      owner({ pid: 701, pgid: undefined, ppid: 0, ageMs: undefined, addresses: [], command: '', cwd: undefined, ours: { name: 'api', supervisorPid: 690, supervisorAlive: true } }),
    ];
    const before: PortOwnersAnswer = { ...base, kind: 'held', owners, sockets: [], unownedSockets: [], note: 'one more socket has no owner' };
    renderFreePort(
      io,
      result(before, {
        host: '127.0.0.1',
        owners,
        wouldSignal: [
          { pid: 700, command: 'node server.js', scope: 'group' },
          { pid: 701, command: '?', scope: 'process' },
        ],
        reason: 'dry run: 2 process(es) hold the port; nothing was stopped',
      }),
      { dryRun: true },
    );
    expect(out()).toBe(
      [
        'port 8000 (127.0.0.1:8000) is held by 2 processes:',
        '  pid 700  user alice  up 1m 5s  pgid 700  ppid 1  127.0.0.1:8000  naija-sup instance of "api" (supervisor pid 690, gone)',
        '      node server.js',
        '      cwd /srv/app',
        '  pid 701  user alice  naija-sup instance of "api" (supervisor pid 690, running)',
        '      (no command line)',
        '  note: one more socket has no owner',
        'would signal 2 processes:',
        '  pid 700 (with its process group 700): node server.js',
        '  pid 701 (by pid): ?',
        'dry run: nothing was stopped. To stop them: naija-sup free-port 8000 --host 127.0.0.1',
        '',
      ].join('\n'),
    );
    expect(err()).toBe('naija-sup: port 8000 is not free: dry run: 2 process(es) hold the port; nothing was stopped\n');
  });

  it('a dry run where the holder is a supervisor: marked as such, and no free-port offered that would refuse', () => {
    const { io, out } = capture();
    const owners = [owner({ pid: 690, ours: { name: 'api', supervisorPid: 690, supervisorAlive: true } })];
    const before: PortOwnersAnswer = { ...base, kind: 'held', owners, sockets: [], unownedSockets: [] };
    const refused = [{ pid: 690, command: 'node naija-sup.js start', user: 'alice', reason: 'it is the naija-sup supervisor of "api": stop it with `naija-sup stop -n api`' }];
    renderFreePort(io, result(before, { owners, refused, wouldSignal: [], reason: 'dry run: 1 process(es) hold the port; nothing was stopped; 1 of them may not be stopped' }), { dryRun: true });
    const text = out();
    expect(text).toContain('127.0.0.1:8000  naija-sup supervisor of "api"\n');
    expect(text).toContain('cannot stop pid 690 (alice): it is the naija-sup supervisor of "api": stop it with `naija-sup stop -n api`');
    expect(text).toContain('dry run: nothing was stopped; free-port would stop nothing while a holder above may not be stopped');
    expect(text).not.toContain('To stop it: naija-sup free-port');
  });

  it('refusals in yellow, a survivor of SIGKILL in red, the failure on stderr in red', () => {
    const { io, out, err } = capture(true);
    const owners = [owner()];
    const before: PortOwnersAnswer = { ...base, kind: 'held', owners, sockets: [], unownedSockets: [] };
    renderFreePort(
      io,
      result(before, {
        owners,
        refused: [{ pid: 701, command: 'x', user: 'www-data', reason: "it belongs to user www-data (uid 33); only root with --force stops another user's process" }],
        stopped: [
          {
            pid: 700,
            pgid: 700,
            scope: 'group',
            pids: [700],
            command: 'node server.js',
            user: 'alice',
            reason: 'port-owner',
            signal: 'SIGTERM',
            outcome: 'survived',
            forced: true,
            durationMs: 5000,
            detail: 'still running after SIGKILL: 700',
          },
        ],
        reason: 'still running after SIGKILL: 700',
      }),
      {},
    );
    expect(out()).toContain("\u001b[33mcannot stop pid 701 (www-data): it belongs to user www-data (uid 33); only root with --force stops another user's process\u001b[39m\n");
    expect(out()).toContain('\u001b[31mstopped process group 700 (pids 700: node server.js): still running after SIGKILL: 700 in 5000 ms\u001b[39m\n');
    expect(err()).toBe('\u001b[31mnaija-sup: port 8000 is not free: still running after SIGKILL: 700\u001b[39m\n');
  });

  it('free at the end, with the caveat as the reason', () => {
    const { io, out, err } = capture();
    renderFreePort(io, result({ ...base, kind: 'free' }, { free: true, reason: 'nothing holds the port, but this user cannot bind it (EACCES)' }), {});
    expect(out()).toBe('nothing listens on port 8000 (checked for a bind on [::]:8000)\nport 8000 is free. (nothing holds the port, but this user cannot bind it (EACCES))\n');
    expect(err()).toBe('');
  });
});
