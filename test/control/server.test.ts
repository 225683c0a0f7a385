/**
 * The control server in this test process, around a real Supervisor (realDeps) supervising a real
 * fixture on 127.0.0.1: the protocol and its errors, the socket's mode, the run dir checks, stale
 * sockets and racing starts. The CLI clients against a separate supervisor process are in
 * test/cli-control.test.ts.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectControl, fetchStatus, type ControlConnection } from '../../src/control/client.js';
import { controlPaths } from '../../src/control/paths.js';
import type { StatusSnapshot, StreamedEvent } from '../../src/control/protocol.js';
import { checkRunDir, ensureRunDir } from '../../src/control/run-dir.js';
import { createEventHub, createSupervisorTarget, startControlServer, type ControlServer, type ReloadOutcome } from '../../src/control/server.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { NaijaSupError } from '../../src/errors.js';
import { spawnInstance } from '../../src/process/spawn.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { FIXTURES_DIR, assertAllGone, childEnv, fixtureCommand, killAllTracked, track, trackChild, trackedPids, waitFor, waitForLine } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  const pids = [...trackedPids.keys()];
  try {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await assertAllGone(pids, 10_000);
  } finally {
    killAllTracked();
  }
});

function tempDir(prefix = 'naija-sup-ctl-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Hosted {
  config: ResolvedConfig;
  runDir: string;
  socket: string;
  server: ControlServer;
  supervisor: Supervisor;
  events: SupervisorEvent[];
  done: Promise<number>;
  reloadResult: { next: ReloadOutcome };
}

/** A supervisor with its control server in this process, like `naija-sup start` wires them. */
async function host(overrides: Record<string, unknown> = {}, runDir?: string): Promise<Hosted> {
  const dir = runDir ?? ensureRunDir({ NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
  const port = await freePort();
  const config = resolveConfig({
    file: { name: 'api', command: fixtureCommand('healthy-server.mjs'), port, host: '127.0.0.1', health: { path: '/health', interval: '25ms' }, shutdown: { timeout: '5s' }, ...overrides },
    filepath: join(FIXTURES_DIR, '.naija-suprc.json'),
    cwd: FIXTURES_DIR,
    env: {},
    requireCommand: true,
  }).config;
  const hub = createEventHub();
  const events: SupervisorEvent[] = [];
  hub.subscribe((event) => {
    events.push(event);
    if (event.type === 'spawned') track(event.pid);
  });
  const supervisor = new Supervisor(config, realDeps({ runDir: dir, baseEnv: childEnv(), onEvent: (e) => hub.publish(e) }));
  const reloadResult: { next: ReloadOutcome } = { next: { ok: true } };
  const target = createSupervisorTarget({
    supervisor,
    hub,
    version: '0.0.0-test',
    reload: () => {
      if (reloadResult.next.ok) supervisor.restart();
      return Promise.resolve(reloadResult.next);
    },
  });
  const paths = controlPaths(dir, config.name);
  const server = await startControlServer({ socketPath: paths.socket, target, name: config.name });
  const done = supervisor.start();
  cleanups.push(async () => {
    supervisor.stop();
    await done;
    target.dispose();
    await server.close();
  });
  await waitFor(() => supervisor.state.tag === 'ready', { timeout: 15_000, message: () => `state ${supervisor.state.tag}: ${JSON.stringify(events.slice(-3))}` });
  return { config, runDir: dir, socket: paths.socket, server, supervisor, events, done, reloadResult };
}

/** Writes raw bytes to the socket and collects reply lines until `count` arrived or it closed. */
function raw(socketPath: string, payload: string | Buffer, count: number): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    let closed = false;
    const lines = (): unknown[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${lines().length} of ${count} replies within 5 s: ${text}`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (lines().length >= count && !closed) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ lines: lines(), closed: false });
      }
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ lines: lines(), closed: true });
    });
    socket.on('error', () => undefined);
    socket.write(payload);
  });
}

/** A socket file whose owner was SIGKILLed: what a crashed supervisor leaves behind. */
async function makeStaleSocket(socket: string): Promise<void> {
  const owner = spawnInstance({
    command: [process.execPath, '-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('LISTENING'))`],
    cwd: tmpdir(),
    env: childEnv(),
  });
  trackChild(owner);
  await waitForLine(owner, /LISTENING/);
  process.kill(owner.pid as number, 'SIGKILL');
  await assertAllGone([owner.pid as number]);
  // The kernel tears the dead listener's socket down a moment after the process is gone: wait
  // (bounded) until a connect is refused, so the socket file is really stale.
  await waitFor(async () => {
    const outcome = await connectControl(socket);
    if (outcome.kind === 'live') outcome.connection.close();
    return outcome.kind === 'stale';
  }, { timeout: 5000, message: `the socket ${socket} still accepts after its owner was killed` });
}

async function live(socketPath: string): Promise<ControlConnection> {
  const outcome = await connectControl(socketPath);
  if (outcome.kind !== 'live') throw new Error(`no supervisor at ${socketPath}: ${outcome.kind}`);
  cleanups.push(() => outcome.connection.close());
  return outcome.connection;
}

describe('control server: status and the socket', () => {
  it('answers status with every field, typed, and no environment value', async () => {
    const h = await host({ env: { API_SECRET: 'hunter2-top-secret' } });
    const status = (await fetchStatus(h.socket)) as StatusSnapshot;
    expect(status).toEqual({
      name: 'api',
      state: 'ready',
      supervisorPid: process.pid,
      supervisorStartTime: expect.stringMatching(/^\d+$/) as string,
      instancePid: expect.any(Number) as number,
      instanceStartTime: expect.stringMatching(/^\d+$/) as string,
      bootId: expect.any(String) as string,
      port: h.config.port,
      host: '127.0.0.1',
      mode: 'direct',
      url: `http://127.0.0.1:${h.config.port}`,
      uptimeMs: expect.any(Number) as number,
      instanceUptimeMs: expect.any(Number) as number,
      restarts: 0,
      lastExit: null,
      // No liveness or readiness probe: the passed startup probe is history, not the current health.
      health: null,
      lastProbe: { ok: true, detail: expect.any(String) as string, latencyMs: expect.any(Number) as number, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string, probe: 'startup' },
      healthWatchedBy: [],
      cwd: h.config.cwd,
      rss: expect.any(Number) as number,
      cpuPercent: expect.any(Number) as number,
      startupTimeoutMs: h.config.health.startupTimeout,
      shutdownTimeoutMs: 5000,
      version: '0.0.0-test',
      // Every process of the instance (escaped descendants included): here the server alone.
      processes: [{ pid: expect.any(Number) as number, startTime: expect.stringMatching(/^\d+$/) as string }],
      // The supervisor's own memory (issue 14): here the test process's.
      supervisorMemory: { rss: expect.any(Number) as number, heapTotal: expect.any(Number) as number, heapUsed: expect.any(Number) as number, external: expect.any(Number) as number, arrayBuffers: expect.any(Number) as number },
    });
    expect(status.instancePid).toBe(h.supervisor.instancePid);
    expect(status.processes?.[0]?.pid).toBe(status.instancePid);
    expect(status.rss).toBeGreaterThan(1024 * 1024);
    expect(status.supervisorMemory?.heapUsed).toBeGreaterThan(0);
    expect(status.supervisorMemory?.rss).toBeGreaterThan(status.supervisorMemory?.heapUsed ?? 0);
    expect(JSON.stringify(status)).not.toContain('hunter2');
  });

  it('creates the socket 0600 in a 0700 run dir, and removes it on close', async () => {
    const h = await host();
    expect(lstatSync(h.socket).isSocket()).toBe(true);
    expect(lstatSync(h.socket).mode & 0o777).toBe(0o600);
    expect(lstatSync(h.runDir).mode & 0o777).toBe(0o700);
    expect(h.server.staleSocketRemoved).toBe(false);
    h.supervisor.stop();
    await h.done;
    await h.server.close();
    expect(() => lstatSync(h.socket)).toThrow(/ENOENT/);
    expect(await connectControl(h.socket)).toEqual({ kind: 'absent' });
  });

  it('keeps the socket path under 108 bytes for a very long run dir', async () => {
    const deep = join(tempDir(), 'a-rather-long-directory-name-'.repeat(4), 'run');
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    const runDir = ensureRunDir({ NAIJA_SUP_RUN_DIR: deep });
    const paths = controlPaths(runDir, 'api');
    expect(Buffer.byteLength(join(runDir, 'api.sock'))).toBeGreaterThan(107);
    expect(paths.socketDir).not.toBe(runDir);
    const h = await host({}, runDir); // the server makes (and checks) the short socket directory
    expect(lstatSync(paths.socketDir).mode & 0o777).toBe(0o700);
    expect(h.socket).toBe(paths.socket);
    expect((await fetchStatus(h.socket))?.state).toBe('ready');
  });
});

describe('control server: protocol errors never crash the supervisor', () => {
  it('answers malformed, unknown, wrong-version and bad requests, then keeps serving the same connection', async () => {
    const h = await host();
    const pid = h.supervisor.instancePid;
    const { lines, closed } = await raw(h.socket, [
      '{"v":1,"id":1,',
      '{"v":1,"id":2,"type":"explode"}',
      '{"v":9,"id":3,"type":"status"}',
      '{"v":1,"id":4,"type":"stop","timeoutMs":"soon"}',
      'null',
      '{"v":1,"id":5,"type":"status"}',
      '',
    ].join('\n'), 6);
    expect(closed).toBe(false);
    expect(lines).toMatchObject([
      { v: 1, id: null, ok: false, error: { code: 'E_MALFORMED' } },
      { v: 1, id: 2, ok: false, error: { code: 'E_UNKNOWN_TYPE' } },
      { v: 1, id: 3, ok: false, error: { code: 'E_VERSION' } },
      { v: 1, id: 4, ok: false, error: { code: 'E_BAD_REQUEST' } },
      { v: 1, id: null, ok: false, error: { code: 'E_MALFORMED' } },
      { v: 1, id: 5, ok: true, status: { state: 'ready', instancePid: pid } },
    ]);
    expect(h.supervisor.state.tag).toBe('ready');
  });

  it('refuses a line over 64 KiB with E_TOO_LARGE, closes that connection, and serves the next one', async () => {
    const h = await host();
    const pid = h.supervisor.instancePid;
    const { lines, closed } = await raw(h.socket, Buffer.alloc(70 * 1024, 0x61), 2);
    expect(closed).toBe(true);
    expect(lines).toEqual([{ v: 1, id: null, ok: false, error: { code: 'E_TOO_LARGE', message: expect.stringContaining('65536') as string } }]);
    // Also when the oversized line does end in a newline, and when it arrives in small pieces.
    const big = await raw(h.socket, `{"v":1,"id":1,"type":"status","pad":"${'b'.repeat(66_000)}"}\n`, 2);
    expect(big.lines).toMatchObject([{ error: { code: 'E_TOO_LARGE' } }]);
    expect(big.closed).toBe(true);
    const status = await fetchStatus(h.socket);
    expect(status).toMatchObject({ state: 'ready', instancePid: pid });
    expect(h.supervisor.state.tag).toBe('ready');
  });

  it('streams events, and refuses a second stream on the same connection', async () => {
    const h = await host();
    const connection = await live(h.socket);
    const seen: StreamedEvent[] = [];
    const first = await connection.subscribe((event) => seen.push(event));
    expect(first.state).toBe('ready');
    await expect(connection.request({ type: 'events' })).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
    const other = await live(h.socket);
    const ack = await other.request({ type: 'restart' });
    expect(ack.status?.instancePid).toBe(first.instancePid);
    await waitFor(() => seen.some((e) => e.type === 'ready' && e['pid'] !== first.instancePid), { timeout: 15_000, message: () => seen.map((e) => e.type).join(',') });
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['stopping', 'exited', 'spawning', 'spawned', 'ready']));
    // The instance's output is streamed too (detach shows it when a start fails).
    const output = seen.filter((e) => e.type === 'output').map((e) => e['line']);
    expect(output).toEqual(expect.arrayContaining([expect.stringMatching(/^DRAINING/), expect.stringMatching(/^READY port=/)]));
    const after = (await fetchStatus(h.socket)) as StatusSnapshot;
    expect(after.restarts).toBe(1);
    expect(after.instancePid).not.toBe(first.instancePid);
    expect(after.lastExit).toMatchObject({ code: 0, signal: null, cause: 'clean-exit' });
  });

  it('a rejected reload answers E_RELOAD_REJECTED with the errors, and the instance keeps running', async () => {
    const h = await host();
    const pid = h.supervisor.instancePid;
    h.reloadResult.next = { ok: false, errors: ['port: expected a port number 1–65535, got "nope"'] };
    const connection = await live(h.socket);
    await expect(connection.request({ type: 'reload' })).rejects.toMatchObject({
      code: 'E_RELOAD_REJECTED',
      details: ['port: expected a port number 1–65535, got "nope"'],
    });
    expect(h.supervisor.state.tag).toBe('ready');
    expect(h.supervisor.instancePid).toBe(pid);
  });

  it('stop through the socket stops the instance and ends the supervisor', async () => {
    const h = await host();
    const pid = h.supervisor.instancePid as number;
    const connection = await live(h.socket);
    const ack = await connection.request({ type: 'stop' });
    expect(ack.status?.instancePid).toBe(pid);
    await expect(h.done).resolves.toBe(0);
    await assertAllGone([pid]);
  });
});

describe('one supervisor per name', () => {
  it('a second server for the same socket gets E_ALREADY_RUNNING naming the running pid', async () => {
    const h = await host();
    const error = await startControlServer({ socketPath: h.socket, target: {} as never, name: 'api' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NaijaSupError);
    expect(error).toMatchObject({ code: 'E_ALREADY_RUNNING' });
    expect((error as NaijaSupError).message).toContain(`supervisor pid ${process.pid}`);
    expect((error as NaijaSupError).message).toContain(`instance pid ${String(h.supervisor.instancePid)}`);
    expect((await fetchStatus(h.socket))?.state).toBe('ready');
  });

  it('removes a stale socket left by a SIGKILLed owner, and says so', async () => {
    const runDir = ensureRunDir({ NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
    const socket = controlPaths(runDir, 'api').socket;
    await makeStaleSocket(socket);
    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(await connectControl(socket)).toEqual({ kind: 'stale' });

    const h = await host({}, runDir);
    expect(h.server.staleSocketRemoved).toBe(true);
    expect((await fetchStatus(h.socket))?.supervisorPid).toBe(process.pid);
  });

  it('of racing starts, exactly one wins, even over a stale socket', async () => {
    const runDir = ensureRunDir({ NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
    const socket = controlPaths(runDir, 'api').socket;
    const status = { state: 'ready' } as StatusSnapshot;
    const target = { status: () => status, stop: () => undefined, restart: () => undefined, reload: () => Promise.resolve({ ok: true as const }), rollback: () => Promise.resolve({ ok: true as const }), subscribe: () => () => undefined };
    for (let round = 0; round < 3; round += 1) {
      if (round > 0) await makeStaleSocket(socket);
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => startControlServer({ socketPath: socket, target, name: 'api' })));
      const winners = results.filter((r): r is PromiseFulfilledResult<ControlServer> => r.status === 'fulfilled');
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(winners).toHaveLength(1);
      expect(losers.map((r) => (r.reason as NaijaSupError).code)).toEqual(Array(5).fill('E_ALREADY_RUNNING'));
      expect((await fetchStatus(socket))?.state).toBe('ready');
      const winner = (winners[0] as PromiseFulfilledResult<ControlServer>).value;
      expect(winner.staleSocketRemoved).toBe(round > 0);
      await winner.close();
    }
  });
});

describe('the run dir', () => {
  it('is refused with the wrong mode, naming the fix', async () => {
    const dir = join(tempDir(), 'run');
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o755);
    const env = { NAIJA_SUP_RUN_DIR: dir };
    expect(() => ensureRunDir(env)).toThrow(expect.objectContaining({ code: 'E_RUN_DIR', message: expect.stringContaining('mode 755') as string, fix: `chmod 700 ${dir}` }) as Error);
    expect(() => checkRunDir(env)).toThrow(expect.objectContaining({ code: 'E_RUN_DIR' }) as Error);
  });

  it('is refused when another user owns it', () => {
    const isRoot = process.getuid?.() === 0;
    let dir = '/';
    if (isRoot) {
      // As root, make one that belongs to "nobody"; otherwise / (root's) is one we do not own.
      dir = join(tempDir(), 'run');
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 65534, 65534);
    }
    const env = { NAIJA_SUP_RUN_DIR: dir };
    expect(() => ensureRunDir(env)).toThrow(expect.objectContaining({ code: 'E_RUN_DIR', message: expect.stringMatching(/belongs to uid \d+, not to you/) as string }) as Error);
    expect(() => checkRunDir(env)).toThrow(expect.objectContaining({ code: 'E_RUN_DIR' }) as Error);
  });

  it('is not created by clients: a missing one means nothing runs', () => {
    const dir = join(tempDir(), 'missing');
    expect(checkRunDir({ NAIJA_SUP_RUN_DIR: dir })).toBeNull();
    expect(() => lstatSync(dir)).toThrow(/ENOENT/);
  });
});
