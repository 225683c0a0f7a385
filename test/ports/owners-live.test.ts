/**
 * findPortOwners against the real /proc with real holders: Node on `::` and 127.0.0.1, Python's
 * http.server, a pre-fork server, node:cluster, a connected client, a ::1 listener, TIME_WAIT, a
 * free port, an owner this user cannot see, and the find-process fallback. Every process a test
 * starts is killed by its pid and verified gone in afterEach.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { canBind } from '../../src/ports/availability.js';
import { findPortOwners, type PortOwnersAnswer } from '../../src/ports/owners.js';
import { parseProcNetTcp } from '../../src/ports/proc-net.js';
import { CAPTURED, makeFakeProc } from './fixtures/fake-proc.js';
import {
  leaveServerSideTimeWait,
  pollUntil,
  ProcessTracker,
  startNodeFixture,
  startProcess,
  startPythonHttpServer,
  startTimeOf,
  stillOurs,
  type Started,
} from './fixtures/processes.js';

interface HolderInfo {
  pid: number;
  port: number;
  address: string;
}
interface WorkersInfo {
  pid: number;
  port: number;
  workers: number[];
}

const tracker = new ProcessTracker();

function procStatLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
  } catch (error) {
    return `unreadable (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}
const cleanups: Array<() => void> = [];

afterEach(async () => {
  const started = tracker.recorded;
  const survivors = await tracker.killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
  // Each survivor with its /proc/PID/stat line (state, parent, start time): what it was, should one stay.
  expect(survivors.map((pid) => `${pid}: ${procStatLine(pid)}`)).toEqual([]);
  // Each process we started is gone: its pid is free, or names another process since (PIDs wrap).
  expect(stillOurs(started)).toEqual([]);
});

function expectKind<K extends PortOwnersAnswer['kind']>(
  answer: PortOwnersAnswer,
  kind: K,
): Extract<PortOwnersAnswer, { kind: K }> {
  expect(answer.kind, JSON.stringify(answer)).toBe(kind);
  return answer as Extract<PortOwnersAnswer, { kind: K }>;
}

function holdPort(host: string, flag?: string): Promise<Started<HolderInfo>> {
  return startNodeFixture<HolderInfo>(tracker, 'hold-port.mjs', flag === undefined ? [host] : [host, flag]);
}

/** The socket inodes a process holds, read independently of the module under test. */
function socketInodesOf(pid: number): number[] {
  const inodes: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.push(Number(match[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return inodes;
}

function tcpRows() {
  return [
    ...parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'), 4),
    ...parseProcNetTcp(readFileSync('/proc/net/tcp6', 'utf8'), 6),
  ];
}

describe('findPortOwners with real holders', () => {
  it('finds a Node server on `::` (default listen): in tcp6 only, blocking IPv4 hosts too', async () => {
    const holder = await holdPort('default');
    const { port } = holder.info;
    expect(holder.info.address).toBe('::');

    const held = expectKind(await findPortOwners({ port }), 'held');
    expect(held.owners.map((owner) => owner.pid)).toEqual([holder.pid]);
    const owner = held.owners[0];
    expect(owner).toMatchObject({
      pid: holder.pid,
      ppid: process.pid,
      uid: process.getuid?.(),
      user: userInfo().username,
      startTime: startTimeOf(holder.pid),
      cwd: process.cwd(),
      addresses: [`[::]:${port}`],
    });
    expect(owner?.cmdline[0]).toBe(process.execPath);
    expect(owner?.cmdline[1]).toMatch(/hold-port\.mjs$/);
    expect(owner?.command).toBe(owner?.cmdline.join(' '));
    expect(Math.abs((owner?.startedAt ?? 0) - Date.now())).toBeLessThan(15_000);
    expect(held.sockets).toEqual([expect.objectContaining({ family: 6, address: '::', port })]);

    // Dual stack: 127.0.0.1 is taken as well, and a real bind agrees.
    const v4 = expectKind(await findPortOwners({ port, host: '127.0.0.1' }), 'held');
    expect(v4.owners.map((o) => o.pid)).toEqual([holder.pid]);
    expect(await canBind('127.0.0.1', port)).toBe(false);
  });

  it('finds a Node server on 127.0.0.1, which leaves ::1 free', async () => {
    const holder = await holdPort('127.0.0.1');
    const { port } = holder.info;
    const held = expectKind(await findPortOwners({ port, host: '127.0.0.1' }), 'held');
    expect(held.owners.map((o) => [o.pid, o.addresses])).toEqual([[holder.pid, [`127.0.0.1:${port}`]]]);
    expectKind(await findPortOwners({ port }), 'held');
    expectKind(await findPortOwners({ port, host: 'localhost' }), 'held');
    expectKind(await findPortOwners({ port, host: '::1' }), 'free');
    expect(await canBind('::1', port)).toBe(true);
  });

  it('finds /usr/bin/python3 -m http.server --bind 127.0.0.1', async () => {
    const python = await startPythonHttpServer(tracker);
    const held = expectKind(await findPortOwners({ port: python.info.port, host: '127.0.0.1' }), 'held');
    expect(held.owners.map((o) => o.pid)).toEqual([python.pid]);
    expect(held.owners[0]?.cmdline).toEqual([
      '/usr/bin/python3',
      '-u',
      '-m',
      'http.server',
      '0',
      '--bind',
      '127.0.0.1',
    ]);
    expect(held.owners[0]?.cwd).toBe(tmpdir());
  });

  it('finds all three pids of a pre-fork server sharing one listening socket', async () => {
    const prefork = await startNodeFixture<WorkersInfo>(tracker, 'prefork.mjs');
    for (const worker of prefork.info.workers) tracker.track(worker);
    const { port } = prefork.info;
    const all = [prefork.pid, ...prefork.info.workers];

    const held = expectKind(await findPortOwners({ port, host: '127.0.0.1' }), 'held');
    expect(held.owners.map((o) => o.pid).sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
    expect(held.owners[0]?.pid).toBe(prefork.pid); // the parent started first
    expect(held.sockets).toHaveLength(1);
    const inode = held.sockets[0]?.inode ?? -1;
    for (const owner of held.owners) expect(owner.inodes).toEqual([inode]);
    // Independent check: each of the three really has an fd on that inode.
    for (const pid of all) expect(socketInodesOf(pid)).toContain(inode);
    expect(held.owners.filter((o) => o.ppid === prefork.pid).map((o) => o.pid).sort()).toEqual(
      [...prefork.info.workers].sort(),
    );
  });

  it('with node:cluster (round-robin), only the primary holds the listening socket', async () => {
    const cluster = await startNodeFixture<WorkersInfo>(tracker, 'cluster.mjs');
    for (const worker of cluster.info.workers) tracker.track(worker);
    const held = expectKind(await findPortOwners({ port: cluster.info.port, host: '127.0.0.1' }), 'held');
    expect(held.owners.map((o) => o.pid)).toEqual([cluster.pid]);
    const inode = held.sockets[0]?.inode ?? -1;
    for (const worker of cluster.info.workers) expect(socketInodesOf(worker)).not.toContain(inode);
  });

  it('never names a connected client, nor counts the server\'s accepted sockets', async () => {
    const holder = await holdPort('127.0.0.1');
    const { port } = holder.info;
    const client = await startNodeFixture<{ pid: number; localPort: number }>(tracker, 'client.mjs', [
      '127.0.0.1',
      String(port),
    ]);
    // Both ends of the connection are really there, so the assertion below means something. The
    // server's end reads inode 0 until the holder has accept()ed it (it sits in the accept queue
    // first): wait for both to be owned by a socket, not only present.
    const rows = await pollUntil('both ends of the client connection in /proc/net/tcp, each with its socket', () => {
      const found = tcpRows().filter(
        (row) =>
          row.state === 'ESTABLISHED' &&
          ((row.localPort === client.info.localPort && row.remotePort === port) ||
            (row.localPort === port && row.remotePort === client.info.localPort)),
      );
      return found.length === 2 && found.every((row) => row.inode > 0) ? found : undefined;
    });
    expect(rows).toHaveLength(2);

    const held = expectKind(await findPortOwners({ port, host: '127.0.0.1' }), 'held');
    expect(held.owners.map((o) => o.pid)).toEqual([holder.pid]);
    expect(held.owners.map((o) => o.pid)).not.toContain(client.pid);
    expect(held.sockets).toHaveLength(1);
    expect(held.owners[0]?.inodes).toEqual([held.sockets[0]?.inode]);
  });

  it('a ::1 listener does not block 127.0.0.1 (free, and a real bind succeeds) but blocks `::`', async () => {
    const holder = await holdPort('::1');
    const { port } = holder.info;
    // Not held: "free", or "time-wait" when another test's short connections left TIME_WAIT rows on
    // this ephemeral port (seen once in CI) — either way nobody listens for 127.0.0.1.
    const answer = await findPortOwners({ port, host: '127.0.0.1' });
    expect(['free', 'time-wait'], JSON.stringify(answer)).toContain(answer.kind);
    const free = answer as Extract<typeof answer, { kind: 'free' | 'time-wait' }>;
    expect(free.nonConflicting.map((s) => s.endpoint)).toEqual([`[::1]:${port}`]);
    expect(await canBind('127.0.0.1', port)).toBe(true);

    const held = expectKind(await findPortOwners({ port }), 'held');
    expect(held.owners.map((o) => o.pid)).toEqual([holder.pid]);
    expect(await canBind(undefined, port)).toBe(false);
    expect(await canBind('localhost', port)).toBe(false);
  });

  it('reports TIME_WAIT (no owner) after the server closed a connection first and exited', async () => {
    // In this process: a server that ends each accepted connection at once. The side that closes
    // first keeps the TIME_WAIT, and here that is the server side, whose local port is `port`.
    const port = await leaveServerSideTimeWait();

    const answer = await pollUntil(
      'a TIME_WAIT answer',
      async () => {
        const result = await findPortOwners({ port, host: '127.0.0.1' });
        return result.kind === 'time-wait' ? result : undefined;
      },
      { timeoutMs: 5_000, interval: 50 },
    );
    expect(answer.count).toBeGreaterThanOrEqual(1);
    expect(answer.complete).toBe(true);
    // Node set SO_REUSEADDR on the old listener and sets it on the probe: the bind goes through.
    expect(await canBind('127.0.0.1', port)).toBe(true);
  });

  it('reads the whole of a /proc/net/tcp that spans several pages', async () => {
    // 60 listeners × 150 bytes a line: at least three 4 KiB reads of /proc/net/tcp.
    const servers = await Promise.all(
      Array.from({ length: 60 }, async () => {
        const server = net.createServer();
        await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
        return server;
      }),
    );
    cleanups.push(() => servers.forEach((server) => server.close()));
    expect(readFileSync('/proc/net/tcp', 'utf8').length).toBeGreaterThan(8192);
    for (const server of [servers[0], servers[29], servers[59]]) {
      const { port } = server?.address() as net.AddressInfo;
      const held = expectKind(await findPortOwners({ port, host: '127.0.0.1' }), 'held');
      expect(held.owners.map((o) => o.pid)).toEqual([process.pid]);
    }
    // Every one of them, from a single /proc/net read each.
    const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
    const answers = await Promise.all(ports.map((port) => findPortOwners({ port, host: '127.0.0.1' })));
    expect(answers.filter((answer) => answer.kind === 'held')).toHaveLength(60);
  });

  it('reports a port no one uses as free, and a real bind agrees', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const free = expectKind(await findPortOwners({ port, host: '127.0.0.1' }), 'free');
    expect(free).toMatchObject({ complete: true, method: 'procfs' });
    expect(await canBind('127.0.0.1', port)).toBe(true);
  });
});

describe('findPortOwners when the owner is not visible', () => {
  it('says "held, owner not visible" — never "free" — when another user holds the port', async () => {
    if (process.getuid?.() === 0) {
      // As root, run the lookup as `nobody`: /proc/PID/fd of our (root) holder is EACCES for it.
      const holder = await holdPort('127.0.0.1');
      const answer = await lookupAsNobody(holder.info.port, '127.0.0.1');
      const invisible = expectKind(answer, 'held-invisible');
      expect(invisible).toMatchObject({ uid: 0, user: 'root', complete: false });
      expect(invisible.sockets.map((s) => s.endpoint)).toEqual([`127.0.0.1:${holder.info.port}`]);
      expect(invisible.scan?.unreadable).toBeGreaterThan(0);
      expect(invisible.note).toMatch(/not visible to this user/);
    } else {
      // Not root: we cannot start another user's process, but a 000 fd dir gives the same EACCES.
      const fake = makeFakeProc({ processes: [{ pid: 4242, uid: 65534, sockets: [CAPTURED.nobody4.inode] }] });
      cleanups.push(fake.cleanup);
      chmodSync(join(fake.root, '4242', 'fd'), 0o000);
      cleanups.unshift(() => chmodSync(join(fake.root, '4242', 'fd'), 0o755));
      const answer = await findPortOwners({ port: CAPTURED.nobody4.port, proc: createProc(fake.root), passwdFile: fake.passwdFile });
      const invisible = expectKind(answer, 'held-invisible');
      expect(invisible).toMatchObject({ uid: 65534, user: 'nobody', complete: false });
      expect(invisible.scan?.unreadable).toBe(1);
    }
  });
});

describe('findPortOwners off Linux: the find-process fallback (forced with a fake /proc without net/tcp)', () => {
  it('finds the holder through ss/netstat/lsof, and says the answer may be incomplete', async () => {
    const holder = await holdPort('127.0.0.1');
    const empty = mkdtempSync(join(tmpdir(), 'naija-sup-no-proc-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    const held = expectKind(await findPortOwners({ port: holder.info.port, proc: createProc(empty) }), 'held');
    expect(held).toMatchObject({ method: 'find-process', complete: false });
    expect(held.owners.map((o) => o.pid)).toEqual([holder.pid]);
    expect(held.owners[0]?.pgid).toBeUndefined();
  });
});

/**
 * Runs findPortOwners in a child process as uid/gid 65534. The child cannot load TypeScript, so
 * owners.ts and the source files it imports are transpiled (types stripped, nothing checked) into a
 * temp dir it can read.
 */
async function lookupAsNobody(port: number, host: string): Promise<PortOwnersAnswer> {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-nobody-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const root = new URL('../../src/', import.meta.url);
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  // owners.ts and every module it reaches by a relative import, read from what is left once the
  // types are stripped (a type-only import is gone), so a new import needs no edit here.
  const pending = ['ports/owners.ts'];
  const copied = new Set<string>();
  // Bounded: each module of src/ is copied once.
  while (pending.length > 0 && copied.size < 500) {
    const file = pending.pop() as string;
    if (copied.has(file)) continue;
    copied.add(file);
    const { outputText } = ts.transpileModule(readFileSync(new URL(file, root), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    mkdirSync(join(dir, posix.dirname(file)), { recursive: true });
    writeFileSync(join(dir, file.replace(/\.ts$/, '.js')), outputText);
    for (const [, , relative] of outputText.matchAll(/(from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(`${posix.join(posix.dirname(file), relative as string)}.ts`);
    }
  }
  chmodSync(dir, 0o755);
  const script =
    `const { findPortOwners } = await import(${JSON.stringify(pathToFileURL(join(dir, 'ports', 'owners.js')).href)});\n` +
    `const answer = await findPortOwners({ port: ${port}, host: ${JSON.stringify(host)} });\n` +
    `process.stdout.write('READY ' + JSON.stringify(answer) + '\\n');`;
  const child = await startProcess<PortOwnersAnswer>(
    tracker,
    process.execPath,
    ['--input-type=module', '-e', script],
    (line) => (line.startsWith('READY ') ? (JSON.parse(line.slice(6)) as PortOwnersAnswer) : undefined),
    { uid: 65534, gid: 65534, cwd: dir },
  );
  return child.info;
}
