/**
 * port, pid-file and run-dir against real processes and files: a port held by our orphan (record
 * with a dead supervisor), by our running instance, by a foreign process, in TIME_WAIT; stale and
 * reused records; a stale PID file; run dirs that are missing, too open, a symlink.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { writeRecord } from '../../src/control/record.js';
import { readProcStat } from '../../src/process/identity.js';
import { parseProcNetTcp } from '../../src/ports/index.js';
import { assertAllGone, killAllTracked, startFixture, waitFor } from '../helpers/processes.js';
import { deadPid, doctor, doctorOne, freePort, goneSupervisor, recordFor, removeTemps, tempDir, thisProcessAsSupervisor, writeJson } from './helpers.js';

afterEach(() => {
  killAllTracked();
});
afterAll(() => {
  removeTemps();
});

/**
 * A free port with no rows at all in /proc/net/tcp{,6}: on a busy machine an ephemeral port may
 * still carry some client's TIME_WAIT, which doctor rightly reports. Bounded attempts.
 */
async function quietPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await freePort();
    const rows = [
      ...parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'), 4),
      ...parseProcNetTcp(readFileSync('/proc/net/tcp6', 'utf8'), 6),
    ];
    if (!rows.some((row) => row.localPort === port)) return port;
  }
  throw new Error('no quiet port in 50 attempts');
}

/** An app folder whose config names `port` on 127.0.0.1, with its own run dir. */
function appFor(port: number, extra: Record<string, unknown> = {}): { app: string; runDir: string; env: Record<string, string> } {
  const app = tempDir();
  const runDir = join(tempDir(), 'run');
  mkdirSync(runDir, { mode: 0o700 });
  writeJson(join(app, 'naija-sup.config.json'), { name: 'port-app', command: ['node', 'server.js'], port, host: '127.0.0.1', ...extra });
  return { app, runDir, env: { NAIJA_SUP_RUN_DIR: runDir } };
}

describe('port', () => {
  it('free', async () => {
    const port = await quietPort();
    const { app, env } = appFor(port);
    expect(await doctorOne(app, 'port', env)).toMatchObject({ status: 'ok', summary: `127.0.0.1:${port} is free`, fix: null });
  });

  it('held by a foreign process: fail, naming pid, user and command, and what would free it', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const { app, env } = appFor(port);
    const result = await doctorOne(app, 'port', env);
    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:${port} is held by pid ${holder.pid} \\(\\w+: .*hold-port\\.mjs\\), not started by naija-sup: \`naija-sup start\` would fail with EADDRINUSE$`),
    );
    expect(result.details[0]).toMatch(new RegExp(`^pid ${holder.pid} \\(ppid \\d+, pgid ${holder.pgid}\\) user \\w+, started .*: .*hold-port\\.mjs — listens on 127\\.0\\.0\\.1:${port}$`));
    expect(result.fix).toBe(
      `If it is a stale server, stop it gracefully: \`naija-sup free-port ${port}\` (or \`kill -TERM ${holder.pid}\`), or let start do it: \`naija-sup start --kill-existing\`; otherwise choose another port: \`naija-sup start --port ${port + 1}\`.`,
    );
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it('held by a process matching cleanup.match: warn, start will stop it', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const { app, env } = appFor(port, { cleanup: { match: ['hold-port.mjs'] } });
    const result = await doctorOne(app, 'port', env);
    expect(result).toMatchObject({ status: 'warn', fix: `Nothing to do if it is a stale server; to stop it now: \`naija-sup free-port ${port}\`.` });
    expect(result.summary).toMatch(/`naija-sup start` will stop it \(its command matches cleanup\.match \(hold-port\.mjs\)\)$/);
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it('held by our orphan (record matches, supervisor gone): warn, start stops it first; pid-file agrees', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const { app, runDir, env } = appFor(port);
    const supervisor = goneSupervisor();
    writeRecord(runDir, recordFor('port-app', holder.pid, port, supervisor));
    const [portResult, pidResult] = await doctor(app, ['port', 'pid-file'], env);
    expect(portResult).toMatchObject({
      status: 'warn',
      summary: `127.0.0.1:${port} is held by an orphaned instance of port-app (pid ${holder.pid}): its supervisor (pid ${supervisor.pid}) is gone`,
      fix: `\`naija-sup start\` stops it first (the record matches it); to stop it now: \`kill -TERM -${holder.pgid}\` (its whole process group).`,
    });
    expect(pidResult).toMatchObject({
      status: 'warn',
      summary: `orphaned instance: pid ${holder.pid} still runs, but its supervisor (pid ${supervisor.pid}) is gone`,
      fix: portResult?.fix,
    });
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it('held by our running instance (record matches, supervisor alive): ok', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const { app, runDir, env } = appFor(port);
    writeRecord(runDir, recordFor('port-app', holder.pid, port, thisProcessAsSupervisor()));
    const [portResult, pidResult] = await doctor(app, ['port', 'pid-file'], env);
    expect(portResult).toMatchObject({
      status: 'ok',
      summary: `127.0.0.1:${port} is held by port-app's running instance (pid ${holder.pid}), supervised by pid ${process.pid}`,
    });
    expect(pidResult).toMatchObject({ status: 'ok', summary: `port-app is running: instance pid ${holder.pid}, supervisor pid ${process.pid}` });
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it('held by our running supervisor (proxy mode: it listens, its instance is elsewhere): ok, never "not started by naija-sup"', async () => {
    // The "supervisor" holds the port; the "instance" is another process of ours.
    const supervisor = await startFixture('hold-port.mjs');
    const instance = await startFixture('hold-port.mjs');
    const port = supervisor.port as number;
    const { app, runDir, env } = appFor(port, { mode: 'proxy' });
    writeRecord(runDir, recordFor('port-app', instance.pid, port, { pid: supervisor.pid, startTime: readProcStat(supervisor.pid)?.startTime ?? '' }));
    const [portResult] = await doctor(app, ['port'], env);
    expect(portResult).toMatchObject({
      status: 'ok',
      summary: `127.0.0.1:${port} is held by port-app's running supervisor (pid ${supervisor.pid}), which listens on it for its instance (proxy or handoff mode)`,
    });
    // The same pid under another start time (a reused pid) is not ours: foreign, as before.
    writeRecord(runDir, recordFor('port-app', instance.pid, port, { pid: supervisor.pid, startTime: '1' }));
    expect((await doctor(app, ['port'], env))[0]).toMatchObject({ status: 'fail', summary: expect.stringMatching(/not started by naija-sup/) });
    await supervisor.stop();
    await instance.stop();
    await assertAllGone([supervisor.pid, instance.pid]);
  });

  it('TIME_WAIT only: warn, no owner, nothing to stop', async () => {
    // The server closes first, so its side (local port = the port) ends in TIME_WAIT.
    const server: Server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve, reject) => {
      const client = connect(port, '127.0.0.1');
      client.on('error', reject);
      client.on('close', () => resolve());
      client.resume();
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await waitFor(() =>
      parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'), 4).some((row) => row.localPort === port && row.state === 'TIME_WAIT'),
    );
    const { app, env } = appFor(port);
    const result = await doctorOne(app, 'port', env);
    expect(result.status).toBe('warn');
    expect(result.summary).toMatch(new RegExp(`^no process listens on 127\\.0\\.0\\.1:${port}, but \\d+ connection\\(s\\) are in TIME_WAIT \\(no owner; they expire within ~60 s\\)$`));
    expect(result.fix).toBe('Nothing to stop: Node and uvicorn set SO_REUSEADDR and bind anyway; a server without it gets EADDRINUSE until they expire, so wait a minute.');
  });

  it('an IPv6-only listener on ::1 does not block 127.0.0.1 but is reported', async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '::1', PORT: String(await quietPort()) });
    const port = holder.port as number;
    const { app, env } = appFor(port);
    const result = await doctorOne(app, 'port', env);
    expect(result).toMatchObject({ status: 'warn', summary: `127.0.0.1:${port} is free, but another server listens on [::1]:${port} (IPv4/IPv6 mismatch)` });
    await holder.stop();
    await assertAllGone([holder.pid]);
  });
});

describe('pid-file', () => {
  it('no record and no PID file: ok', async () => {
    const { app, env } = appFor(8000);
    expect(await doctorOne(app, 'pid-file', env)).toMatchObject({ status: 'ok', summary: 'no instance of port-app is recorded; nothing stale' });
  });

  it('a stale record (instance gone): warn with the rm command', async () => {
    const { app, runDir, env } = appFor(8000);
    const pid = deadPid();
    writeRecord(runDir, { ...recordFor('port-app', process.pid, 8000, goneSupervisor()), pid, startTime: '1' });
    const result = await doctorOne(app, 'pid-file', env);
    expect(result).toMatchObject({
      status: 'warn',
      summary: `stale record: instance pid ${pid} is gone`,
      fix: `Harmless: \`naija-sup start\` replaces it. To remove it now: \`rm ${join(runDir, 'port-app.json')}\`.`,
    });
  });

  it('PID reuse: the record\'s pid now belongs to another process', async () => {
    const { app, runDir, env } = appFor(8000);
    // This test process has the pid, but not the recorded start time.
    writeRecord(runDir, { ...recordFor('port-app', process.pid, 8000, goneSupervisor()), startTime: '1' });
    const result = await doctorOne(app, 'pid-file', env);
    expect(result).toMatchObject({
      status: 'warn',
      summary: `stale record: pid ${process.pid} now belongs to another process (PID reuse); naija-sup will not signal it`,
      fix: `Remove the stale record: \`rm ${join(runDir, 'port-app.json')}\`.`,
    });
  });

  it('a stale PID file (its pid is gone): warn with the rm command', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'api.pid');
    const pid = deadPid();
    writeFileSync(pidFile, `${pid}\n`);
    const { app, env } = appFor(8000, { pidFile });
    const result = await doctorOne(app, 'pid-file', env);
    expect(result).toMatchObject({
      status: 'warn',
      summary: `stale PID file: ${pidFile} names pid ${pid}, which is gone`,
      fix: `Remove it: \`rm ${pidFile}\` (start writes a new one).`,
    });
  });

  it('a PID file naming a live process with no record: warn, never signalled', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'api.pid');
    writeFileSync(pidFile, `${process.pid}\n`);
    const { app, env } = appFor(8000, { pidFile });
    const result = await doctorOne(app, 'pid-file', env);
    expect(result.status).toBe('warn');
    expect(result.summary).toMatch(new RegExp(`^the PID file names pid ${process.pid} \\(.+\\), which naija-sup cannot confirm is its instance`));
    expect(result.fix).toMatch(/naija-sup never signals a PID from a plain PID file\.$/);
  });
});

describe('run-dir (read-only: lstat, never created)', () => {
  it('missing: ok, and doctor does not create it', async () => {
    const runDir = join(tempDir(), 'not-yet');
    const result = await doctorOne(tempDir(), 'run-dir', { NAIJA_SUP_RUN_DIR: runDir });
    expect(result).toMatchObject({ status: 'ok', summary: `${runDir} does not exist yet; \`naija-sup start\` creates it (mode 700)` });
    expect(existsSync(runDir)).toBe(false);
  });

  it('mode 755: fail with chmod 700', async () => {
    const runDir = join(tempDir(), 'open');
    mkdirSync(runDir);
    chmodSync(runDir, 0o755);
    const result = await doctorOne(tempDir(), 'run-dir', { NAIJA_SUP_RUN_DIR: runDir });
    expect(result).toMatchObject({ status: 'fail', summary: `${runDir} has mode 755; it must be 700 (no access for group and others)`, fix: `chmod 700 ${runDir}` });
  });

  it('a symlink in its place: fail', async () => {
    const base = tempDir();
    const runDir = join(base, 'link');
    mkdirSync(join(base, 'real'), { mode: 0o700 });
    symlinkSync(join(base, 'real'), runDir);
    const result = await doctorOne(tempDir(), 'run-dir', { NAIJA_SUP_RUN_DIR: runDir });
    expect(result).toMatchObject({ status: 'fail', summary: `${runDir} is not a directory (a symlink is in its place)` });
    expect(result.fix).toContain(`rm ${runDir}`);
  });

  it('yours and 700: ok; doctor leaves it as it was', async () => {
    const runDir = join(tempDir(), 'good');
    mkdirSync(runDir, { mode: 0o700 });
    const result = await doctorOne(tempDir(), 'run-dir', { NAIJA_SUP_RUN_DIR: runDir });
    expect(result).toMatchObject({ status: 'ok', summary: `${runDir} is yours, mode 700` });
    expect(readdirSync(runDir)).toEqual([]);
  });
});
