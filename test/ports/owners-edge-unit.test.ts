/**
 * findPortOwners at the edges of what /proc and find-process tell (owners-fake-proc.test.ts has the
 * main cases): a bracketed IPv6 host, no boot time, no passwd file, a process with no readable uid,
 * and find-process answers without a uid or a command line.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { findPortOwners, type FindProcessFn, type PortOwnersAnswer } from '../../src/ports/owners.js';
import { createProc } from '../../src/process/proc-read.js';
import { CAPTURED, makeFakeProc, type FakeProc } from './fixtures/fake-proc.js';

let fake: FakeProc | undefined;

afterEach(() => {
  fake?.cleanup();
  fake = undefined;
});

function held(answer: PortOwnersAnswer): Extract<PortOwnersAnswer, { kind: 'held' }> {
  expect(answer.kind).toBe('held');
  return answer as Extract<PortOwnersAnswer, { kind: 'held' }>;
}

describe('findPortOwners edges', () => {
  it('a bracketed IPv6 host is the address inside the brackets', async () => {
    fake = makeFakeProc({ processes: [{ pid: 4100, uid: 1000, argv: ['node', 'v6.js'], sockets: [CAPTURED.lo6.inode] }] });
    const answer = held(await findPortOwners({ port: CAPTURED.lo6.port, host: '[::1]', proc: createProc(fake.root), passwdFile: fake.passwdFile }));
    expect(answer.owners.map((o) => [o.pid, o.addresses])).toEqual([[4100, [`[::1]:${CAPTURED.lo6.port}`]]]);
  });

  it('no /proc/stat boot time: no start date; no passwd file: a uid that is not ours is shown as a number', async () => {
    fake = makeFakeProc({ processes: [{ pid: 4100, uid: 4242, startTime: 5000, argv: ['node', 'a.js'], sockets: [CAPTURED.lo4.inode] }] });
    rmSync(join(fake.root, 'stat'));
    const answer = held(await findPortOwners({ port: CAPTURED.lo4.port, host: '127.0.0.1', proc: createProc(fake.root), passwdFile: join(fake.root, 'no-passwd') }));
    expect(answer.owners[0]).toMatchObject({ pid: 4100, uid: 4242, user: '4242', startTime: 5000, startedAt: undefined });
  });

  it('our own uid missing from the passwd file is named through getpwuid', async () => {
    const uid = process.getuid?.() ?? 0;
    fake = makeFakeProc({ processes: [{ pid: 4100, uid, argv: ['node', 'a.js'], sockets: [CAPTURED.lo4.inode] }] });
    const answer = held(await findPortOwners({ port: CAPTURED.lo4.port, host: '127.0.0.1', proc: createProc(fake.root), passwdFile: join(fake.root, 'no-passwd') }));
    expect(answer.owners[0]?.user).toBe(userInfo().username);
  });

  it('an owner whose status cannot be read has an unknown user', async () => {
    fake = makeFakeProc({ processes: [{ pid: 4100, uid: 1000, argv: ['node', 'a.js'], sockets: [CAPTURED.lo4.inode] }] });
    rmSync(join(fake.root, '4100', 'status'));
    const answer = held(await findPortOwners({ port: CAPTURED.lo4.port, host: '127.0.0.1', proc: createProc(fake.root), passwdFile: fake.passwdFile }));
    expect(answer.owners[0]).toMatchObject({ pid: 4100, uid: undefined, user: 'unknown' });
  });

  it('find-process answers without a uid or a command line: an unknown user, the program name as the command', async () => {
    fake = makeFakeProc({ tcp: null, tcp6: null, processes: [] });
    const find: FindProcessFn = async () => [{ pid: 999, ppid: 1, name: 'server', cmd: '' }];
    const answer = held(await findPortOwners({ port: 8000, host: '127.0.0.1', proc: createProc(fake.root), findProcess: find }));
    expect(answer.owners).toEqual([expect.objectContaining({ pid: 999, uid: undefined, user: 'unknown', cmdline: [], command: 'server' })]);
  });
});
