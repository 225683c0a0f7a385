/**
 * The zero-downtime matrix's instrument (issue 13): the real supervisor (`naija-sup start`, run
 * in-process through the CLI entry by superviseInProcess, JSON event lines, SIGHUP = reload) in
 * front of real servers, reloaded back to back under one of the client kinds of client-kinds.ts.
 *
 * Servers: the example API (examples/express-api, serve()), drain-server.mjs with the naive
 * `server.close(() => process.exit(0))` shutdown or with no SIGTERM handler at all, and Debian's
 * uvicorn (`/usr/bin/python3 -m uvicorn`, pid_app.py). Every process a harness starts is tracked
 * (superviseInProcess samples /proc) and {@link finishSupervised} asserts that none is left.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReloadMode } from '../../src/config/types.js';
import type { LoadResult } from '../../src/reload/load.js';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { jsonEvents, type LogLine } from '../helpers/json-events.js';
import { stopOrFail, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';
import { startLoads, type ClientKind, type LoadRoutes, type SlowAnswer } from './client-kinds.js';
import { RELOAD_FIXTURES_DIR } from './helpers.js';

/** One JSON line of `--log-format json`: `{time, level, event, name, ...fields}` or an output line. */
export type { LogLine };

export type ServerName = 'example' | 'naive' | 'no-handler' | 'uvicorn';

export interface ServerSpec extends LoadRoutes {
  command: string[];
  cwd: string;
  healthPath: string;
  env: Record<string, string>;
}

const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/express-api/', import.meta.url));

export const SERVERS: Record<ServerName, ServerSpec> = {
  example: {
    command: [process.execPath, 'src/server.js'],
    cwd: EXAMPLE_DIR,
    healthPath: '/api/v1/public/ready',
    // Not /ready: it answers 503 while the instance drains, by design.
    pidPath: '/api/v1/public/alive',
    slowPath: (ms) => `/api/v1/public/slow?ms=${ms}`,
    env: { BCRYPT_COST: '4', WARMUP_MS: '0' },
  },
  naive: {
    command: [process.execPath, fixture('reload/drain-server.mjs')],
    cwd: RELOAD_FIXTURES_DIR,
    healthPath: '/health',
    pidPath: '/pid',
    slowPath: (ms) => `/slow?ms=${ms}`,
    env: { SHUTDOWN: 'naive' },
  },
  'no-handler': {
    command: [process.execPath, fixture('reload/drain-server.mjs')],
    cwd: RELOAD_FIXTURES_DIR,
    healthPath: '/health',
    pidPath: '/pid',
    slowPath: (ms) => `/slow?ms=${ms}`,
    env: { SHUTDOWN: 'none' },
  },
  uvicorn: {
    // uvicorn does not read PORT: sh passes it on (README, "Your server"), exec keeps one process.
    command: ['/bin/sh', '-c', 'exec /usr/bin/python3 -m uvicorn --host 127.0.0.1 --port "$PORT" --no-access-log pid_app:asgi'],
    cwd: RELOAD_FIXTURES_DIR,
    healthPath: '/pid',
    pidPath: '/pid',
    slowPath: (ms) => `/slow?ms=${ms}`,
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  },
};

/** A config for `spec` on the public `port`; `extra` is merged on top. */
export function appConfig(spec: ServerSpec, port: number, mode: ReloadMode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { env, ...rest } = extra as { env?: Record<string, string> };
  return {
    name: 'zero-downtime',
    command: spec.command,
    cwd: spec.cwd,
    port,
    host: '127.0.0.1',
    mode,
    health: { path: spec.healthPath, interval: '25ms', timeout: '2s', startupTimeout: '20s' },
    shutdown: { timeout: '10s' },
    env: { ...spec.env, ...env },
    ...rest,
  };
}

export interface Supervised {
  sup: InProcessSupervisor;
  lines(): LogLine[];
  /** The 'event' lines of type `type`, in order. */
  events(type: string): LogLine[];
  waitEvent(type: string, index: number, timeout?: number): Promise<LogLine>;
  /** Instance pids from 'spawned' events, in order (each tracked). */
  instancePids(): number[];
  /** SIGHUP, then the reload's 'reload-finished' event. */
  reload(timeout?: number): Promise<LogLine>;
  /** SIGTERM; resolves with the exit status. */
  stop(): Promise<number>;
}

export function startSupervised(config: Record<string, unknown>): Supervised {
  const sup = superviseInProcess([], { NAIJA_SUP_LOG_FORMAT: 'json' }, (tmp) => {
    writeFileSync(join(tmp, 'naija-sup.config.json'), JSON.stringify(config));
  });
  const { lines, events, waitEvent } = jsonEvents(sup);
  const h: Supervised = {
    sup,
    lines,
    events,
    waitEvent,
    instancePids: () => {
      const pids = events('spawned').map((e) => Number(e['pid']));
      for (const pid of pids) if (!trackedPids.has(pid)) track(pid);
      return pids;
    },
    async reload(timeout = 40_000) {
      const index = events('reload-finished').length;
      sup.signal('SIGHUP');
      return h.waitEvent('reload-finished', index, timeout);
    },
    async stop() {
      sup.signal('SIGTERM');
      return sup.done;
    },
  };
  return h;
}

/**
 * The end of every test (afterEach): stop the supervisor if the test did not, assert that every
 * process it started is gone, then kill whatever is left and remove its temp dir.
 */
export async function finishSupervised(h: Supervised | null): Promise<void> {
  if (h === null) return;
  try {
    h.instancePids();
    await stopOrFail(h.sup.done, () => h.sup.signal('SIGTERM'), 20_000);
    h.sup.sampleProcesses();
    await assertAllGone([...trackedPids.keys()], 15_000);
  } finally {
    killAllTracked();
    h.sup.cleanup();
  }
}

export interface MatrixReport {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  sampleErrors: string[];
  /** Per reload: long requests (mixed) in flight when the new instance became ready (the switch). */
  spanning: number[];
  /** Per reload, ms (the supervisor's durationMs). */
  durations: number[];
  /** Every instance, in order. */
  pids: number[];
}

export interface MatrixOptions {
  h: Supervised;
  port: number;
  spec: ServerSpec;
  kind: ClientKind;
  reloads: number;
  /** Long requests' duration (mixed), ms; default 1100. */
  slowMs?: number;
}

/**
 * Waits for the first instance, starts `kind`'s clients on the public port, and reloads `reloads`
 * times back to back: each reload must end `reloaded` with a new instance that then answers (about
 * 20 answers, a moment of load between reloads) while the old one is gone. Returns the clients'
 * tally once they stopped.
 */
export async function reloadsUnderLoad(options: MatrixOptions): Promise<MatrixReport> {
  const { h, port, spec, kind } = options;
  await h.waitEvent('ready', 0);
  const slow: SlowAnswer[] = [];
  const loads = startLoads(port, spec, kind, options.slowMs ?? 1100, (answer) => slow.push(answer));
  const answers = (pid: number): number => loads.answeredBy.get(pid) ?? 0;
  const switches: number[] = [];
  try {
    const first = h.instancePids()[0]!;
    await waitFor(() => answers(first) >= 20, { timeout: 15_000, message: 'the load never reached the first instance' });
    for (let i = 0; i < options.reloads; i += 1) {
      const before = h.instancePids();
      const finished = await h.reload();
      if (finished['outcome'] !== 'reloaded') throw new Error(`reload ${i + 1}: ${JSON.stringify(finished)}`);
      const green = Number(finished['pid']);
      if (before.includes(green)) throw new Error(`reload ${i + 1}: pid ${green} is not a new instance`);
      await assertAllGone(before, 5000);
      await waitFor(() => answers(green) >= 20, { timeout: 15_000, message: `reload ${i + 1}: pid ${green} never answered` });
      switches.push(readyTime(h, green));
    }
  } finally {
    loads.abort();
  }
  const results = await loads.results;
  // Counted once every long request has ended: one may span several switches.
  return summarise(results, switches.map((at) => inFlightAt(slow, at)), h);
}

/** When instance `pid` was reported ready (ms since the epoch); the switch follows at once. */
function readyTime(h: Supervised, pid: number): number {
  const ready = h.events('ready').find((e) => Number(e['pid']) === pid);
  return ready?.time === undefined ? Number.NaN : Date.parse(ready.time);
}

/** Long requests sent before `at` and answered after it: in flight at that moment. */
function inFlightAt(answers: readonly SlowAnswer[], at: number): number {
  return answers.filter((a) => a.sentAt < at && a.endedAt > at).length;
}

function summarise(results: LoadResult[], spanning: number[], h: Supervised): MatrixReport {
  const errors: Record<string, number> = {};
  for (const result of results) for (const [code, n] of Object.entries(result.errors)) errors[code] = (errors[code] ?? 0) + n;
  return {
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    errors,
    sampleErrors: results.flatMap((r) => r.sampleErrors).slice(0, 5),
    spanning,
    durations: h.events('reload-finished').map((e) => Math.round(Number(e['durationMs']))),
    pids: h.instancePids(),
  };
}

export function describeMatrix(report: MatrixReport): string {
  const spans = report.spanning.some((n) => n > 0) ? `, long requests in flight at each switch ${JSON.stringify(report.spanning)}` : '';
  return `${report.ok + report.failed} requests, ${report.failed} failed ${JSON.stringify(report.errors)}${spans}; reloads ${JSON.stringify(report.durations)} ms`;
}

