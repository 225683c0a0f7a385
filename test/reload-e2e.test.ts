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
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ReloadMode } from '../src/config/types.js';
import { runLoad, type LoadResult } from '../src/reload/load.js';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from './helpers/processes.js';
import { freePort, superviseInProcess, type InProcessSupervisor } from './helpers/supervise.js';

const BIN = fileURLToPath(new URL('../bin/naija-sup.js', import.meta.url));
const EXAMPLE_DIR = fileURLToPath(new URL('../examples/express-api/', import.meta.url));
const NODE_FIXTURE = fixture('reload/fd-server.mjs');
const PY_FIXTURE = fixture('reload/fd-server.py');

/** One JSON line of `--log-format json`: `{time, level, event, name, ...fields}` or an output line. */
type LogLine = Record<string, unknown> & { event?: string };

interface ServerSpec {
  label: string;
  command: string[];
  cwd: string;
  healthPath: string;
  /** A route that answers 200 with the instance's pid in its body. */
  pidPath: string;
  env: Record<string, string>;
}

const SERVERS: Record<'example' | 'python' | 'node', ServerSpec> = {
  example: {
    label: 'the example API',
    command: [process.execPath, 'src/server.js'],
    cwd: EXAMPLE_DIR,
    healthPath: '/api/v1/public/ready',
    // Not /ready: it answers 503 while the instance drains, by design.
    pidPath: '/api/v1/public/alive',
    env: { BCRYPT_COST: '4', WARMUP_MS: '50' },
  },
  python: {
    label: 'the Python server',
    command: ['/usr/bin/python3', PY_FIXTURE],
    cwd: fileURLToPath(new URL('./fixtures/reload/', import.meta.url)),
    healthPath: '/health',
    pidPath: '/pid',
    env: {},
  },
  node: {
    label: 'the Node fixture',
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
  let parsedUpTo = 0;
  const parsed: LogLine[] = [];
  const lines = (): LogLine[] => {
    const text = sup.stdout();
    const end = text.lastIndexOf('\n') + 1;
    if (end > parsedUpTo) {
      for (const line of text.slice(parsedUpTo, end).split('\n')) {
        if (line.trim() === '') continue;
        try {
          parsed.push(JSON.parse(line) as LogLine);
        } catch {
          // Not a JSON line (nothing else is expected on stdout); ignore it.
        }
      }
      parsedUpTo = end;
    }
    return parsed;
  };
  const events = (type: string): LogLine[] => lines().filter((line) => line.event === type);
  const harness: Harness = {
    sup,
    port,
    configPath,
    lines,
    events,
    waitEvent: (type, index, timeout = 30_000) =>
      waitFor(() => events(type)[index], {
        timeout,
        interval: 10,
        message: () => `no "${type}" event #${index + 1}; log:\n${sup.stdout().slice(-6000)}\n${sup.stderr().slice(-2000)}`,
      }),
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
    let result: LoadResult | null = null;
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
    measured.push(`${mode}/${which}: 10 reloads, ${describeLoad(result)}`);
    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    const pids = h.instancePids();
    expect(pids).toHaveLength(11);
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
    const config = appConfig(server, port, mode);
    const h = startInProcess(config);
    await h.waitEvent('ready', 0);
    const blue = h.instancePids()[0]!;
    // One connection per request: in handoff mode the never-ready green accepts some of them.
    const load = startLoad(port, server.pidPath, { keepAlive: false });
    let result: LoadResult | null = null;
    try {
      await waitFor(() => load.tally.count(blue) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });
      h.rewrite(appConfig(server, port, mode, { env: { NEVER_READY: '1' }, health: { startupTimeout: '1500ms' } }));
      const finished = await h.reload();
      expect(finished['outcome'], JSON.stringify(finished)).toBe('rolled-back');
      expect(String(finished['cause'])).toMatch(/not ready within 1500 ms/);
      expect(finished['pid']).toBe(blue);
      const green = h.instancePids()[1]!;
      expect(green).not.toBe(blue);
      await assertAllGone([green], 5000);
      const answered = load.tally.count(blue);
      await waitFor(() => load.tally.count(blue) > answered + 20, { timeout: 10_000, message: 'the old instance stopped answering after the rollback' });

      // The swap is ready for another round: a good config reloads.
      h.rewrite(config);
      const next = await h.reload();
      expect(next['outcome'], JSON.stringify(next)).toBe('reloaded');
      const third = Number(next['pid']);
      await waitFor(() => load.tally.count(third) > 0, { timeout: 10_000, message: `pid ${third} never answered` });
    } finally {
      result = await load.stop();
    }
    measured.push(`${mode}: never-ready green + 1 reload, ${describeLoad(result)}`);
    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(await h.stop()).toBe(0);
  });

  it('crash right after listening (before the switch) → rolled back with the cause, 0 failed requests', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    await h.waitEvent('ready', 0);
    const blue = h.instancePids()[0]!;
    const load = startLoad(port, server.pidPath, { keepAlive: false });
    let result: LoadResult | null = null;
    try {
      await waitFor(() => load.tally.count(blue) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });
      h.rewrite(appConfig(server, port, mode, { env: { CRASH_AFTER_MS: '0' } }));
      const finished = await h.reload();
      expect(finished['outcome'], JSON.stringify(finished)).toBe('rolled-back');
      expect(String(finished['cause'])).toMatch(/code 1/);
      expect(finished['pid']).toBe(blue);
      await assertAllGone([h.instancePids()[1]!], 5000);
      const answered = load.tally.count(blue);
      await waitFor(() => load.tally.count(blue) > answered + 20, { timeout: 10_000, message: 'the old instance stopped answering after the rollback' });
    } finally {
      result = await load.stop();
    }
    measured.push(`${mode}: green crashing before the switch, ${describeLoad(result)}`);
    expect(result.sampleErrors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(await h.stop()).toBe(0);
  });

  it('crash after the switch, while the old instance drains → the reload fails, a restarted instance serves, nothing is refused', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    await h.waitEvent('ready', 0);
    const blue = h.instancePids()[0]!;
    const load = startLoad(port, server.pidPath, { keepAlive: false });
    let result: LoadResult | null = null;
    try {
      await waitFor(() => load.tally.count(blue) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });
      // A slow request keeps the old instance draining for 4 s; the new one crashes 300 ms after
      // its first passing health probe (so after the switch), once.
      const slow = runLoad({ port, path: '/slow?ms=4000', concurrency: 1, maxRequests: 1, durationMs: 60_000, keepAlive: false });
      await waitFor(() => h.lines().some((l) => l.event === 'probe') || true, { timeout: 1000 });
      const onceFile = join(h.sup.tmp, 'crashed-once');
      h.rewrite(appConfig(server, port, mode, { env: { CRASH_AFTER_HEALTH_MS: '300', CRASH_ONCE_FILE: onceFile } }));
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
    } finally {
      result = await load.stop();
    }
    measured.push(`${mode}: green crashing after the switch, ${describeLoad(result)}`);
    // Requests the crashed instance had accepted may be reset; none is refused.
    expect(result.errors['ECONNREFUSED'] ?? 0).toBe(0);
    expect(Object.keys(result.errors).filter((code) => code !== 'ECONNRESET')).toEqual([]);
    expect(await h.stop()).toBe(0);
  });
});

// ── 4. kill -9 of the only instance ──────────────────────────────────────────────────────────────

describe.each<ReloadMode>(['handoff', 'proxy'])('%s mode: kill -9 of the instance under load', (mode) => {
  it('no connection is refused while the supervisor restarts it', { timeout: 60_000 }, async () => {
    const server = SERVERS.node;
    const port = await freePort();
    const h = startInProcess(appConfig(server, port, mode));
    await h.waitEvent('ready', 0);
    const victim = h.instancePids()[0]!;
    // One connection per request, so new connections arrive while nothing accepts.
    const load = startLoad(port, server.pidPath, { keepAlive: false });
    let result: LoadResult | null = null;
    try {
      await waitFor(() => load.tally.count(victim) >= 20, { timeout: 15_000, message: 'the load never reached the instance' });
      process.kill(victim, 'SIGKILL');
      const next = await waitFor(() => h.instancePids()[1], { timeout: 15_000, message: 'the killed instance was not restarted' });
      await h.waitEvent('ready', 1);
      await waitFor(() => load.tally.count(next) >= 20, { timeout: 15_000, message: `the restarted pid ${next} never answered` });
    } finally {
      result = await load.stop();
    }
    measured.push(`${mode}: kill -9, ${describeLoad(result)}`);
    expect(result.errors['ECONNREFUSED'] ?? 0, describeLoad(result)).toBe(0);
    // Only a request in flight on the killed instance may fail, and only by a reset.
    expect(Object.keys(result.errors).filter((code) => code !== 'ECONNRESET')).toEqual([]);
    expect(result.failed).toBeLessThanOrEqual(4);
    expect(await h.stop()).toBe(0);
  });
});

afterAll(() => {
  if (measured.length > 0) console.log(`reload-e2e measurements:\n  ${measured.join('\n  ')}`);
});
