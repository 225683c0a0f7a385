/**
 * Zero-downtime reload end to end (issue 8): `naija-sup start` with `mode: handoff | proxy` against
 * real servers under a continuous, bounded request loop on loopback (src/reload/load.ts).
 *
 * Most tests drive the supervisor in-process (`run(['start'], io)` with a fake signal source:
 * SIGHUP = reload) and read its JSON event lines; one drives the built binary through the real
 * `reload`, `rollback` and `status --json` commands (`npm run build` first).
 *
 * Servers: the example API (examples/express-api, fd 3 via LISTEN_FDS=1), the Node fixture
 * test/fixtures/reload/fd-server.mjs (with its NEVER_READY / CRASH_* knobs), and the Python one
 * (fd-server.py, /usr/bin/python3). Every process a test starts is gone at its end.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ReloadMode } from '../src/config/types.js';
import { readRecord } from '../src/control/record.js';
import { runLoad, type LoadResult } from '../src/reload/load.js';
import { queuedConnections, waitForAcceptQueueEmpty } from '../src/reload/accept-queue.js';
import { assertAllGone, fixture, killAllTracked, startFixture, track, trackedPids, waitFor } from './helpers/processes.js';
import { jsonEvents, type LogLine } from './helpers/json-events.js';
import { freePort, superviseInProcess, type InProcessSupervisor } from './helpers/supervise.js';

const BIN = fileURLToPath(new URL('../bin/naija-sup.js', import.meta.url));
const EXAMPLE_DIR = fileURLToPath(new URL('../examples/express-api/', import.meta.url));
const NODE_FIXTURE = fixture('reload/fd-server.mjs');
const PY_FIXTURE = fixture('reload/fd-server.py');

/** One JSON line of `--log-format json`: `{time, level, event, name, ...fields}` or an output line. */

interface ServerSpec {
  command: string[];
  cwd: string;
  healthPath: string;
  /** A route that answers 200 with the instance's pid in its body. */
  pidPath: string;
  env: Record<string, string>;
}

const SERVERS: Record<'example' | 'python' | 'node', ServerSpec> = {
  example: {
    command: [process.execPath, 'src/server.js'],
    cwd: EXAMPLE_DIR,
    healthPath: '/api/v1/public/ready',
    // Not /ready: it answers 503 while the instance drains, by design.
    pidPath: '/api/v1/public/alive',
    env: { BCRYPT_COST: '4', WARMUP_MS: '50' },
  },
  python: {
    command: ['/usr/bin/python3', PY_FIXTURE],
    cwd: fileURLToPath(new URL('./fixtures/reload/', import.meta.url)),
    healthPath: '/health',
    pidPath: '/pid',
    env: {},
  },
  node: {
    command: [process.execPath, NODE_FIXTURE],
    cwd: fileURLToPath(new URL('./fixtures/reload/', import.meta.url)),
    healthPath: '/health',
    pidPath: '/pid',
    env: {},
  },
};

/** The pid in a body: `1234` (/pid) or `{"pid":1234,…}` (the example's /alive). */
function pidOf(body: string): number | null {
  const match = /^\s*(\d+)\s*$/.exec(body) ?? /"pid"\s*:\s*(\d+)/.exec(body);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Answers per pid under load. */
class Tally {
  readonly counts = new Map<number, number>();
  last: number | null = null;
  record = (response: { status: number; body: string }): void => {
    const pid = response.status === 200 ? pidOf(response.body) : null;
    if (pid === null) return;
    this.counts.set(pid, (this.counts.get(pid) ?? 0) + 1);
    this.last = pid;
  };
  count(pid: number): number {
    return this.counts.get(pid) ?? 0;
  }
}

function appConfig(server: ServerSpec, port: number, mode: ReloadMode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { env, health, ...rest } = extra as { env?: Record<string, string>; health?: Record<string, unknown> };
  return {
    name: 'reload-e2e',
    command: server.command,
    cwd: server.cwd,
    port,
    host: '127.0.0.1',
    mode,
    health: { path: server.healthPath, interval: '25ms', timeout: '2s', startupTimeout: '20s', ...health },
    shutdown: { timeout: '10s' },
    env: { ...server.env, ...env },
    ...rest,
  };
}

// ── In-process harness ───────────────────────────────────────────────────────────────────────────

interface Harness {
  sup: InProcessSupervisor;
  port: number;
  configPath: string;
  lines(): LogLine[];
  /** The 'event' lines of type `type`, in order. */
  events(type: string): LogLine[];
  waitEvent(type: string, index: number, timeout?: number): Promise<LogLine>;
  /** Instance pids from 'spawned' events, in order. */
  instancePids(): number[];
  rewrite(config: Record<string, unknown>): void;
  /** SIGHUP, then the reload's 'reload-finished' event. */
  reload(timeout?: number): Promise<LogLine>;
  stop(): Promise<number>;
}

let active: { sup: InProcessSupervisor; harness: Harness } | null = null;

function startInProcess(config: Record<string, unknown>): Harness {
  const port = config['port'] as number;
  let configPath = '';
  const sup = superviseInProcess([], { NAIJA_SUP_LOG_FORMAT: 'json' }, (tmp) => {
    configPath = join(tmp, 'naija-sup.config.json');
    writeFileSync(configPath, JSON.stringify(config));
  });
  const { lines, events, waitEvent } = jsonEvents(sup);
  const harness: Harness = {
    sup,
    port,
    configPath,
    lines,
    events,
    waitEvent,
    instancePids: () => {
      const pids = events('spawned').map((e) => Number(e['pid']));
      for (const pid of pids) if (!trackedPids.has(pid)) track(pid);
      return pids;
    },
    rewrite: (next) => writeFileSync(configPath, JSON.stringify(next)),
    async reload(timeout = 40_000) {
      const index = events('reload-finished').length;
      sup.signal('SIGHUP');
      return harness.waitEvent('reload-finished', index, timeout);
    },
    async stop() {
      sup.signal('SIGTERM');
      return sup.done;
    },
  };
  active = { sup, harness };
  return harness;
}

afterEach(async () => {
  const current = active;
  active = null;
  try {
    if (current) {
      current.harness.instancePids();
      current.sup.signal('SIGTERM');
      await Promise.race([current.sup.done.catch(() => 1), new Promise((resolve) => setTimeout(resolve, 15_000))]);
    }
    await assertAllGone([...trackedPids.keys()], 15_000);
  } finally {
    killAllTracked();
    current?.sup.cleanup();
  }
});

/** Starts a load on the public port; `stop()` ends it and resolves with the tally. */
function startLoad(port: number, path: string, options: { keepAlive?: boolean; concurrency?: number } = {}): { tally: Tally; stop(): Promise<LoadResult> } {
  const tally = new Tally();
  const controller = new AbortController();
  const done = runLoad({
    port,
    path,
    concurrency: options.concurrency ?? 4,
    keepAlive: options.keepAlive ?? true,
    durationMs: 120_000,
    requestTimeout: 15_000,
    signal: controller.signal,
    onResponse: tally.record,
  });
  return {
    tally,
    async stop() {
      controller.abort();
      return done;
    },
  };
}

/**
 * Waits until the first instance of `h` is ready, starts a load of one connection per request and
 * lets it reach that instance, runs `body`, then stops the load and returns its result. The load
 * is stopped whatever `body` does.
 */
async function underLoad(
  h: Harness,
  port: number,
  server: ServerSpec,
  body: (blue: number, load: ReturnType<typeof startLoad>) => Promise<void>,
): Promise<LoadResult> {
  await h.waitEvent('ready', 0);
  const blue = h.instancePids()[0]!;
  const load = startLoad(port, server.pidPath, { keepAlive: false });
  try {
    await waitFor(() => load.tally.count(blue) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });
    await body(blue, load);
  } catch (error) {
    await load.stop();
    throw error;
  }
  return load.stop();
}

function describeLoad(result: LoadResult): string {
  return `${result.ok} ok, ${result.failed} failed ${JSON.stringify(result.errors)} in ${result.durationMs} ms (${result.requestsPerSecond} req/s, p99 ${result.latency.p99} ms)${result.sampleErrors.length ? `; ${result.sampleErrors.join(' | ')}` : ''}`;
}

/** Measured numbers, printed once at the end for the report. */
const measured: string[] = [];

// ── 1. Ten reloads under load ────────────────────────────────────────────────────────────────────

describe.each<[ReloadMode, 'example' | 'python']>([
  ['handoff', 'example'],
  ['proxy', 'example'],
  ['handoff', 'python'],
  ['proxy', 'python'],
])('%s mode, %s: 10 reloads under continuous requests', (mode, which) => {
  it('0 failed requests, and every reload puts a new instance in front', { timeout: 120_000 }, async () => {
    const server = SERVERS[which];
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    await h.waitEvent('ready', 0);
    const load = startLoad(port, server.pidPath);
    let result: LoadResult;
    try {
      const first = h.instancePids()[0]!;
      await waitFor(() => load.tally.count(first) >= 20, { timeout: 15_000, message: 'the load never reached the first instance' });
      for (let i = 0; i < 10; i += 1) {
        const before = h.instancePids();
        const finished = await h.reload();
        expect(finished['outcome'], `reload ${i + 1}: ${JSON.stringify(finished)}`).toBe('reloaded');
        const pids = h.instancePids();
        const green = Number(finished['pid']);
        expect(before).not.toContain(green);
        expect(pids).toContain(green);
        await waitFor(() => load.tally.count(green) > 0, { timeout: 15_000, message: `reload ${i + 1}: pid ${green} never answered` });
        // The reload ends when the old instance is gone, not merely told to go.
        await assertAllGone(before, 2000);
      }
    } finally {
      result = await load.stop();
    }
    const durations = h.events('reload-finished').map((e) => Math.round(Number(e['durationMs'])));
    measured.push(`${mode}/${which}: 10 reloads (${durations.join(', ')} ms), ${describeLoad(result)}`);
    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    const pids = h.instancePids();
    expect(pids).toHaveLength(11);
    // Each green continues the numbering: instances 1 to 11, never a second instance 1.
    expect(h.events('spawned').map((e) => e['instance'])).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    for (const pid of pids) expect(load.tally.count(pid), `answers from pid ${pid}`).toBeGreaterThan(0);
    expect(await h.stop()).toBe(0);
    await assertAllGone(pids, 15_000);
  });
});

// ── 2. A green that never gets ready, 3. a green that crashes ─────────────────────────────────────

describe.each<ReloadMode>(['handoff', 'proxy'])('%s mode: a green that fails is rolled back', (mode) => {
  it('never ready → rolled back; the old instance keeps answering with 0 failed requests; the next reload works', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    // A liveness probe on the old instance as well: in handoff mode the never-ready green accepts
    // on the same socket, and its 503s must not count as the old instance's failures.
    const liveness = { liveness: { type: 'http', path: '/health', interval: '50ms', timeout: '1s', failureThreshold: 1 } };
    const config = appConfig(server, port, mode, { health: liveness });
    const h = startInProcess(config);
    // One connection per request: in handoff mode the never-ready green accepts some of them.
    const result = await underLoad(h, port, server, async (blue, load) => {
      h.rewrite(appConfig(server, port, mode, { env: { NEVER_READY: '1' }, health: { ...liveness, startupTimeout: '1500ms' } }));
      const finished = await h.reload();
      expect(finished['outcome'], JSON.stringify(finished)).toBe('rolled-back');
      expect(String(finished['cause'])).toMatch(/not ready within 1\.5 s/);
      expect(finished['pid']).toBe(blue);
      expect(h.events('liveness-failed')).toEqual([]);
      const green = h.instancePids()[1]!;
      expect(green).not.toBe(blue);
      await assertAllGone([green], 5000);
      // Green's record replaced blue's and went with it: blue, still serving, is on record again.
      expect(readRecord(h.sup.runDir, 'reload-e2e')?.pid).toBe(blue);
      const answered = load.tally.count(blue);
      await waitFor(() => load.tally.count(blue) > answered + 20, { timeout: 10_000, message: 'the old instance stopped answering after the rollback' });

      // The swap is ready for another round: a good config reloads.
      h.rewrite(config);
      const next = await h.reload();
      expect(next['outcome'], JSON.stringify(next)).toBe('reloaded');
      const third = Number(next['pid']);
      await waitFor(() => load.tally.count(third) > 0, { timeout: 10_000, message: `pid ${third} never answered` });
    });
    measured.push(`${mode}: never-ready green + 1 reload, ${describeLoad(result)}`);
    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(await h.stop()).toBe(0);
  });

  it('crash right after listening (before the switch) → rolled back with the cause, 0 failed requests', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    const result = await underLoad(h, port, server, async (blue, load) => {
      h.rewrite(appConfig(server, port, mode, { env: { CRASH_AFTER_MS: '0' } }));
      const finished = await h.reload();
      expect(finished['outcome'], JSON.stringify(finished)).toBe('rolled-back');
      expect(String(finished['cause'])).toMatch(/code 1/);
      expect(finished['pid']).toBe(blue);
      await assertAllGone([h.instancePids()[1]!], 5000);
      const answered = load.tally.count(blue);
      await waitFor(() => load.tally.count(blue) > answered + 20, { timeout: 10_000, message: 'the old instance stopped answering after the rollback' });
    });
    measured.push(`${mode}: green crashing before the switch, ${describeLoad(result)}`);
    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(await h.stop()).toBe(0);
  });

  it('crash after the switch, while the old instance drains → the reload fails, a restarted instance serves, nothing is refused', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    const result = await underLoad(h, port, server, async (blue, load) => {
      // A slow request keeps the old instance draining for 6 s; the new one crashes 800 ms after
      // its first passing health probe (so after the switch), once.
      const slow = runLoad({ port, path: '/slow?ms=6000', concurrency: 1, maxRequests: 1, durationMs: 60_000, keepAlive: false });
      await waitFor(() => h.lines().some((l) => l['line'] === `SLOW pid=${blue} ms=6000`), { timeout: 10_000, message: 'the slow request never reached the instance' });
      const onceFile = join(h.sup.tmp, 'crashed-once');
      h.rewrite(appConfig(server, port, mode, { env: { CRASH_AFTER_HEALTH_MS: '800', CRASH_ONCE_FILE: onceFile } }));
      const finished = await h.reload();
      expect(finished['outcome'], JSON.stringify(finished)).toBe('failed');
      expect(String(finished['cause'])).toMatch(/code 1/);
      const [, green] = h.instancePids();
      expect(readFileSync(onceFile, 'utf8')).toBe(String(green));
      // The new instance's restart policy brings up a third one, which keeps running.
      const third = await waitFor(() => h.instancePids()[2], { timeout: 15_000, message: 'the crashed instance was not restarted' });
      await waitFor(() => load.tally.count(third) > 20, { timeout: 15_000, message: `the restarted pid ${third} never answered` });
      const slowResult = await slow;
      expect(slowResult.ok, describeLoad(slowResult)).toBe(1);
      await assertAllGone([blue, green!], 10_000);
    });
    measured.push(`${mode}: green crashing after the switch, ${describeLoad(result)}`);
    // Requests the crashed instance had accepted may be reset; none is refused.
    expect(result.errors['ECONNREFUSED'] ?? 0).toBe(0);
    expect(Object.keys(result.errors).filter((code) => code !== 'ECONNRESET')).toEqual([]);
    expect(await h.stop()).toBe(0);
  });
});

describe.each<ReloadMode>(['handoff', 'proxy'])('%s mode: a stop during a reload', (mode) => {
  it('stops the new and the old instance and exits 0', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    await h.waitEvent('ready', 0);
    h.rewrite(appConfig(server, port, mode, { env: { NEVER_READY: '1' } }));
    h.sup.signal('SIGHUP');
    await h.waitEvent('reload-started', 0);
    const green = await waitFor(() => h.instancePids()[1], { timeout: 15_000, message: 'the new instance never started' });
    const listening = (l: LogLine): boolean => typeof l['line'] === 'string' && l['line'].startsWith('READY ') && l['line'].includes(` pid=${green} `);
    await waitFor(() => h.lines().some(listening), { timeout: 15_000, message: 'the new instance never listened' });
    expect(await h.stop()).toBe(0);
    const finished = h.events('reload-finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]?.['outcome']).toBe('rolled-back');
    await assertAllGone(h.instancePids(), 5000);
  });
});

describe('proxy mode: proxy.responseTimeout from the config', () => {
  it('answers 504 for a request the instance does not answer in time, and serves the next one', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, 'proxy', { proxy: { responseTimeout: '300ms' } }));
    await h.waitEvent('ready', 0);
    const fetchText = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    const slow = await fetchText('/slow?ms=5000');
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body)).toMatchObject({ error: 'gateway_timeout', cause: 'ETIMEDOUT' });
    // Sent once: the instance printed one SLOW line for it (and none came after the 504).
    const slowLines = (): LogLine[] => h.lines().filter((l) => typeof l['line'] === 'string' && l['line'].startsWith('SLOW '));
    await waitFor(() => slowLines().length > 0, { timeout: 5000, message: 'the instance never saw the slow request' });
    const next = await fetchText('/pid');
    expect(next.status).toBe(200);
    expect(pidOf(next.body)).toBe(h.instancePids()[0]);
    expect(slowLines()).toHaveLength(1);
    expect(await h.stop()).toBe(0);
  });
});

// ── 4. kill -9 of the only instance ──────────────────────────────────────────────────────────────

// restart.standby (issue 13): the replacement is a parked Node promoted at once; the proxy holds
// and retries what the killed instance had, so nothing fails either.
describe.each<[ReloadMode, boolean]>([['handoff', false], ['proxy', false], ['proxy', true]])('%s mode (restart.standby %s): kill -9 of the instance under load', (mode, standby) => {
  it('no connection is refused while the supervisor restarts it', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode, standby ? { restart: { standby: true } } : {}));
    // One connection per request, so new connections arrive while nothing accepts.
    const result = await underLoad(h, port, server, async (victim, load) => {
      const parked = standby ? Number((await h.waitEvent('standby', 0))['pid']) : null;
      process.kill(victim, 'SIGKILL');
      const next = await waitFor(() => h.instancePids()[1], { timeout: 15_000, message: 'the killed instance was not restarted' });
      if (parked !== null) expect(h.events('standby').filter((e) => e['state'] === 'promoted').map((e) => e['pid'])).toEqual([parked]);
      if (parked !== null) expect(next).toBe(parked);
      await h.waitEvent('ready', 1);
      await waitFor(() => load.tally.count(next) >= 20, { timeout: 15_000, message: `the restarted pid ${next} never answered` });
    });
    measured.push(`${mode}${standby ? ' + standby' : ''}: kill -9, ${describeLoad(result)}`);
    expect(result.errors['ECONNREFUSED'] ?? 0, describeLoad(result)).toBe(0);
    // Only a request in flight on the killed instance may fail, and only by a reset.
    expect(Object.keys(result.errors).filter((code) => code !== 'ECONNRESET')).toEqual([]);
    // Handoff: at most one per load worker (4, startLoad's default concurrency) that had a request
    // on the instance, plus one that the dying listening socket had queued but nobody accepted
    // (reset as the socket closes): 5. Proxy (HTTP, issue 13): none — requests wait for the
    // replacement, and a GET the dying one reset is retried.
    expect(result.failed, describeLoad(result)).toBeLessThanOrEqual(mode === 'proxy' ? 0 : 5);
    expect(await h.stop()).toBe(0);
  });
});

// ── The proxy's retire step ──────────────────────────────────────────────────────────────────────

describe('waitForAcceptQueueEmpty (proxy mode, before the old instance is stopped)', () => {
  it('sees connections waiting in a listener\'s accept queue and resolves once they are accepted', { timeout: 30_000 }, async () => {
    const server = await startFixture('reload/slow-accept.py', { ACCEPT_AFTER_MS: '3000' });
    const port = server.port!;
    const clients: Socket[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        const client = connect({ host: '127.0.0.1', port });
        client.on('error', () => undefined);
        clients.push(client);
      }
      await waitFor(async () => (await queuedConnections(port)) === 3, { timeout: 5000, message: 'the 3 connections never showed as queued' });
      expect(server.lines.some((l) => l.line === 'ACCEPTING')).toBe(false);
      // Bounded: false when they are still queued at the deadline.
      expect(await waitForAcceptQueueEmpty(port, { timeoutMs: 50 })).toBe(false);
      expect(await waitForAcceptQueueEmpty(port, { timeoutMs: 15_000 })).toBe(true);
      expect(server.lines.some((l) => l.line === 'ACCEPTING')).toBe(true);
      expect(await queuedConnections(port)).toBe(0);
    } finally {
      for (const client of clients) client.destroy();
      await server.stop();
    }
    await assertAllGone([server.pid]);
  });
});

// ── 5, 6 and 2 through the real commands (built binary) ───────────────────────────────────────────

interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

describe('the built binary: reload, rollback and status --json (proxy mode, --mode flag)', () => {
  it('reload changes the env, rollback brings it back, a never-ready reload exits non-zero while status shows both instances; 0 failed requests', { timeout: 120_000 }, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-reload-e2e-'));
    const runDir = join(tmp, 'run');
    const port = await freePort();
    const name = 'reload-e2e-cli';
    const server = SERVERS.node;
    const write = (extra: Record<string, unknown>): void =>
      writeFileSync(join(tmp, 'naija-sup.config.json'), JSON.stringify({ ...appConfig(server, port, 'direct', extra), name }));
    write({ env: { GREETING: 'one' } });
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], LANG: 'C.UTF-8', NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
    const cli = (args: string[], timeoutMs = 60_000): Promise<CliRun> => new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args, '--name', name], { cwd: tmp, env, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });

    // The supervisor in the foreground, as a child of this test: its JSON event lines name every
    // instance it spawns.
    let out = '';
    const supervisor: ChildProcess = spawn(process.execPath, [BIN, 'start', '--mode', 'proxy'], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => supervisor.once('exit', (code) => resolve(code)));
    expect(supervisor.pid).toBeTypeOf('number');
    track(supervisor.pid!);
    const spawned = (): number[] => [...out.matchAll(/"event":"spawned"[^\n]*?"pid":(\d+)/g)].map((m) => Number(m[1]));
    supervisor.stdout!.setEncoding('utf8');
    supervisor.stdout!.on('data', (chunk: string) => {
      out += chunk;
      for (const pid of spawned()) if (!trackedPids.has(pid)) track(pid);
    });
    supervisor.stderr!.setEncoding('utf8');
    supervisor.stderr!.on('data', (chunk: string) => { out += chunk; });

    let last = '';
    const greeting = async (): Promise<string> => {
      const answer = await runLoad({ port, path: '/env?name=GREETING', concurrency: 1, maxRequests: 1, durationMs: 5000, keepAlive: false, onResponse: ({ body }) => { last = body; } });
      return answer.ok === 1 ? last : `(${JSON.stringify(answer.errors)})`;
    };
    let load: ReturnType<typeof startLoad> | null = null;
    let result: LoadResult | null;
    let stopped: CliRun | null;
    try {
      await waitFor(async () => (await greeting()) === 'one', { timeout: 30_000, interval: 50, message: () => `the app never answered on port ${port}:\n${out}` });
      load = startLoad(port, server.pidPath);
      const first = spawned()[0]!;
      await waitFor(() => load!.tally.count(first) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });

      // 5. reload with a changed env, then rollback to the one before.
      write({ env: { GREETING: 'two' } });
      const reloaded = await cli(['reload']);
      expect(reloaded.status, `${reloaded.stdout}${reloaded.stderr}`).toBe(0);
      expect(reloaded.stdout).toMatch(new RegExp(`${name}: reloaded \\(pid ${first} → pid \\d+`));
      expect(await greeting()).toBe('two');
      const rolledBack = await cli(['rollback']);
      expect(rolledBack.status, `${rolledBack.stdout}${rolledBack.stderr}`).toBe(0);
      expect(rolledBack.stdout).toMatch(new RegExp(`${name}: rolled back \\(pid \\d+ → pid \\d+`));
      expect(await greeting()).toBe('one');
      const serving = spawned()[2]!;
      expect(spawned()).toHaveLength(3);
      await waitFor(() => load!.tally.count(serving) > 0, { timeout: 10_000, message: `pid ${serving} never answered` });

      // 2 + 6. A green that never gets ready: while it starts, status shows the mode and both
      // instances; then the reload exits non-zero and the previous instance keeps serving.
      // The green stays in 'starting' for exactly its startupTimeout, from its spawn on. The poll
      // below starts before that (the reload command has not even connected yet) and gives up at
      // half of it, so every snapshot it can take falls in that window unless one `status` run
      // takes longer than the other half (10 s): the snapshot does not race the machine's speed.
      const neverReadyMs = 20_000;
      write({ env: { GREETING: 'three', NEVER_READY: '1' }, health: { startupTimeout: `${neverReadyMs}ms` } });
      const failing = cli(['reload']);
      let during: Record<string, unknown> | null = null;
      await waitFor(async () => {
        const status = await cli(['status', '--json']);
        if (status.status !== 0) return false;
        const snapshot = JSON.parse(status.stdout) as Record<string, unknown>;
        if (snapshot['reloading'] === undefined) return false;
        during = snapshot;
        return true;
      }, { timeout: neverReadyMs / 2, interval: 50, message: 'status --json never showed the reload' });
      const shown = during as unknown as { mode: string; instancePid: number; reloading: { pid: number | null; state: string } };
      expect(shown.mode).toBe('proxy');
      expect(shown.instancePid).toBe(serving);
      expect(shown.reloading.pid, JSON.stringify(shown)).toBeTypeOf('number');
      expect(shown.reloading.pid).not.toBe(serving);
      expect(['spawning', 'starting'], JSON.stringify(shown)).toContain(shown.reloading.state);
      const failed = await failing;
      expect(failed.status, `${failed.stdout}${failed.stderr}`).toBe(1);
      expect(failed.stderr).toMatch(/E_RELOAD_FAILED/);
      expect(failed.stderr).toMatch(new RegExp(`rolled-back.*not ready within ${neverReadyMs / 1000} s`));
      expect(await greeting()).toBe('one');
      const after = (JSON.parse((await cli(['status', '--json'])).stdout)) as Record<string, unknown>;
      expect(after).toMatchObject({ mode: 'proxy', state: 'ready', instancePid: serving });
      expect(after['reloading']).toBeUndefined();
      const answered = load.tally.count(serving);
      await waitFor(() => load!.tally.count(serving) > answered + 20, { timeout: 10_000, message: 'the instance stopped answering after the failed reload' });
    } finally {
      result = load ? await load.stop() : null;
      // `naija-sup stop` from another terminal: graceful, and the supervisor exits 0.
      stopped = await cli(['stop']);
      if (stopped.status !== 0) supervisor.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      rmSync(tmp, { recursive: true, force: true });
    }
    expect(stopped?.status, `${stopped?.stdout}${stopped?.stderr}`).toBe(0);
    expect(await exited, out.slice(-4000)).toBe(0);
    measured.push(`cli (proxy): reload + rollback + failed reload, ${result === null ? 'no load' : describeLoad(result)}`);
    expect(result?.sampleErrors).toEqual([]);
    expect(result?.failed).toBe(0);
    await assertAllGone([supervisor.pid!, ...spawned()], 15_000);
  });
});

afterAll(() => {
  if (measured.length > 0) console.log(`reload-e2e measurements:\n  ${measured.join('\n  ')}`);
});
