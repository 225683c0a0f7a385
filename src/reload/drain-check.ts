/**
 * Does a server's shutdown reset connections under socket handoff (issue 13)? The supervisor
 * cannot tell: a handoff reload only sees the old instance exit, never the requests its clients
 * lost. This module measures it the way a handoff reload runs, with clients of its own:
 *
 *   bind a private socket → start blue on it (fd 3, LISTEN_FDS=1) → wait until blue answers →
 *   start a keep-alive load → for each swap: start green on the same fd, wait until green itself
 *   answers, SIGTERM blue, wait until blue is gone, keep the load going `settleMs` → stop the load
 *   → stop the last instance.
 *
 * and counts every request, failures by code (`ECONNRESET`…), each old instance's exit and drain
 * time. `naija-sup doctor --drain` (src/doctor/checks/handoff-drain.ts) and the handoff-drain tests
 * (test/reload/handoff-drain-swap.ts) share it. Nothing here prints.
 *
 * Bounded and clean: every wait has a deadline, the whole run has one, and every process it
 * started is stopped (SIGTERM, SIGKILL after `stopTimeout`) on every path, errors included. The
 * socket is bound on 127.0.0.1 only, and the load generator refuses anything but loopback.
 */
import { monotonicMs } from '../clock.js';
import { NaijaSupError } from '../errors.js';
import { spawnInstance, type ChildHandle, type ExitInfo, type OutputStream } from '../process/spawn.js';
import { abortableSleep, terminateGroup, type GroupTarget, type TerminateOutcome } from '../process/terminate.js';
import { answeredByVerdict, probeHttpAnsweredBy, type AnsweredByResult } from './answered-by.js';
import { createHandoffListener, handoffEnv } from './handoff.js';
import { LOAD_LIMITS, runLoad, type LoadResult } from './load.js';

/** An instance as the hooks see it. */
export interface DrainInstance {
  readonly pid: number;
  /** Its last output lines (`stdout: …`, `stderr: …`), oldest first. */
  tail(): string[];
}

/**
 * How to tell that an instance accepts on the socket: a line on its output, then (or only) a
 * probe that THIS instance answered (the kernel names who accepted the connection:
 * src/reload/answered-by.ts). `anyAnswer`: any status below 500, or a bare accept, counts (the
 * default health rule); otherwise 200–399.
 */
export interface DrainReadiness {
  line?: RegExp | undefined;
  probe?: { path: string; anyAnswer: boolean } | undefined;
}

/** One group of clients: `concurrency` workers, each one request at a time. */
export interface DrainLoad {
  path: string;
  concurrency: number;
  keepAlive: boolean;
}

/** Clients started by the caller instead (tests with their own client kinds); same contract as {@link runLoad}'s results. */
export type DrainLoadStarter = (port: number) => { results: Promise<LoadResult[]>; abort(): void };

/** Extra waits for the tests; each runs under the whole run's deadline (they should have their own). */
export interface DrainHooks {
  /** Every process spawned, at once (tests track them). */
  spawned?(handle: ChildHandle): void;
  line?(instance: DrainInstance, stream: OutputStream, line: string): void;
  /** After the load started on the first instance. */
  loadStarted?(blue: DrainInstance): Promise<void>;
  /** After green is ready (readiness), before blue is stopped. */
  greenAnswers?(blue: DrainInstance, green: DrainInstance, swap: number): Promise<void>;
  /** Right before blue's SIGTERM. */
  beforeRetire?(blue: DrainInstance, swap: number): Promise<void>;
  /** After blue is gone and the load ran `settleMs` more. */
  afterRetire?(blue: DrainInstance, green: DrainInstance, swap: number): Promise<void>;
}

export interface DrainSwapOptions {
  /** argv of the server; never run through a shell. */
  command: readonly string[];
  cwd: string;
  /** The instance's whole environment; LISTEN_FDS=1 is added. */
  env: Record<string, string | undefined>;
  /** The shared socket (src/reload/handoff.ts): its fd and its port on 127.0.0.1. */
  fd: number;
  port: number;
  /** Blue → green swaps; default 3. */
  swaps?: number;
  ready: DrainReadiness;
  /** Default: 4 keep-alive clients on `/`. */
  loads?: readonly DrainLoad[] | DrainLoadStarter;
  /** Deadline for one instance to answer, ms; default 30,000. */
  readyTimeout?: number;
  /** How long an instance may drain after its stop signal before SIGKILL, ms; default 10,000. */
  stopTimeout?: number;
  /** The graceful stop signal (the config's shutdown.signal); default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long the load goes on after each old instance is gone, ms; default 1000. */
  settleMs?: number;
  /** A request not answered within this many ms fails with ETIMEDOUT; default 5000. */
  requestTimeout?: number;
  /** Deadline of the whole run (cleanup excluded, see {@link drainCleanupBound}), ms; default 120,000. */
  timeout?: number;
  /** Stops the run (every process is still stopped before it settles). */
  signal?: AbortSignal | undefined;
  onResponse?: ((response: { status: number; body: string; latencyMs: number }) => void) | undefined;
  hooks?: DrainHooks;
}

/** How one instance ended. */
export interface RetiredInstance {
  pid: number;
  /** null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From SIGTERM until the whole group was gone, ms. */
  drainMs: number;
  /** SIGKILL was needed: it did not exit within `stopTimeout`. */
  forced: boolean;
  outcome: TerminateOutcome;
}

export interface DrainSwapReport {
  requests: number;
  ok: number;
  failed: number;
  /** Failures by code: `ECONNRESET`, `ETIMEDOUT`, `HTTP_503`… */
  errors: Record<string, number>;
  /** Failures that are not an HTTP status: the connection was reset, refused or never answered. */
  connectionFailures: number;
  sampleErrors: string[];
  /** Each load group's own tally, in `loads` order. */
  loads: LoadResult[];
  /** Each swap's old instance, in order. */
  retired: RetiredInstance[];
  /** The last instance, stopped after the load ended. */
  last: RetiredInstance;
  /** Every instance started, in order. */
  pids: number[];
}

const TAIL_LINES = 20;
/** Between two readiness probes, ms. */
const PROBE_INTERVAL_MS = 50;
/** Longest wait for 'exit' after the group is gone (the output flush is 200 ms). */
const EXIT_EVENT_TIMEOUT_MS = 5000;
/** terminateGroup's wait after SIGKILL (its default). */
const KILL_WAIT_MS = 5000;

/** A started instance. */
interface Live extends DrainInstance {
  handle: ChildHandle;
  target: GroupTarget;
  exit: ExitInfo | null;
  exited: Promise<ExitInfo | null>;
  /** Whether the readiness line has been seen. */
  sawLine: boolean;
}

/** The settled options plus the run's state. */
interface Run {
  options: DrainSwapOptions;
  readyTimeout: number;
  stopTimeout: number;
  settleMs: number;
  requestTimeout: number;
  timeout: number;
  /** Aborted by the caller's signal or the run's deadline. */
  signal: AbortSignal;
  live: Set<Live>;
  pids: number[];
}

/**
 * How long the cleanup after a failed or aborted run may take at most, ms: stopping what runs
 * (in parallel) and letting in-flight requests end. A caller's own deadline must leave this much.
 */
export function drainCleanupBound(options: Pick<DrainSwapOptions, 'stopTimeout' | 'requestTimeout'>): number {
  return (options.stopTimeout ?? 10_000) + KILL_WAIT_MS + EXIT_EVENT_TIMEOUT_MS + (options.requestTimeout ?? 5000);
}

/**
 * Runs the swaps on the given shared socket and returns the tally; every process it started is
 * gone when it settles.
 *
 * @throws NaijaSupError `E_SPAWN_FAILED` (the command cannot start), `E_STARTUP_FAILED` (an
 *   instance exited or did not answer in time), `E_RELOAD_FAILED` (the run's deadline passed or it
 *   was aborted).
 */
export async function swapOnSharedSocket(options: DrainSwapOptions): Promise<DrainSwapReport> {
  const deadline = new AbortController();
  const timeout = options.timeout ?? 120_000;
  const timer = setTimeout(() => deadline.abort(), timeout);
  const run: Run = {
    options,
    readyTimeout: options.readyTimeout ?? 30_000,
    stopTimeout: options.stopTimeout ?? 10_000,
    settleMs: options.settleMs ?? 1000,
    requestTimeout: options.requestTimeout ?? 5000,
    timeout,
    signal: options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal]),
    live: new Set(),
    pids: [],
  };
  let loads: Loads | null = null;
  try {
    let blue = await startInstance(run, 'the first instance');
    loads = startLoads(run);
    await options.hooks?.loadStarted?.(blue);
    const retired: RetiredInstance[] = [];
    for (let swap = 0; swap < (options.swaps ?? 3); swap += 1) blue = await swapOnce(run, blue, swap, retired);
    // The last instance stays until the clients are done: a request still in the socket's backlog
    // when no instance is left would wait for an answer that never comes.
    loads.abort();
    const results = await loads.results;
    const last = await stopInstance(run, blue);
    return summarise(results, retired, last, run.pids);
  } finally {
    clearTimeout(timer);
    // Only after a failure is anything still running. The clients end first, while an instance
    // still answers them (stopped first, it would leave a request in the backlog to time out).
    loads?.abort();
    await loads?.results.catch(() => []);
    await Promise.all([...run.live].map((instance) => stopInstance(run, instance)));
  }
}

/** One blue → green swap; returns green. */
async function swapOnce(run: Run, blue: Live, swap: number, retired: RetiredInstance[]): Promise<Live> {
  const hooks = run.options.hooks;
  const green = await startInstance(run, `swap ${swap + 1}: the new instance`);
  await hooks?.greenAnswers?.(blue, green, swap);
  await hooks?.beforeRetire?.(blue, swap);
  checkRunning(run, `swap ${swap + 1}`);
  retired.push(await stopInstance(run, blue));
  await abortableSleep(run.settleMs, run.signal);
  checkRunning(run, `swap ${swap + 1}`);
  await hooks?.afterRetire?.(blue, green, swap);
  return green;
}

/**
 * Binds a private socket on 127.0.0.1 (a port the kernel chooses), points PORT and HOST at it so a
 * server that ignores the inherited socket cannot reach any other address, runs
 * {@link swapOnSharedSocket}, and closes the socket.
 */
export async function measureHandoffDrain(options: Omit<DrainSwapOptions, 'fd' | 'port'>): Promise<DrainSwapReport> {
  const listener = createHandoffListener({ host: '127.0.0.1', port: 0 });
  try {
    const env = { ...options.env, PORT: String(listener.port), HOST: '127.0.0.1' };
    return await swapOnSharedSocket({ ...options, env, fd: listener.fd, port: listener.port });
  } finally {
    listener.close();
  }
}

function checkRunning(run: Run, step: string): void {
  if (!run.signal.aborted) return;
  const byDeadline = run.options.signal?.aborted !== true;
  throw new NaijaSupError(
    'E_RELOAD_FAILED',
    byDeadline ? `The handoff drain measurement did not finish within ${Math.round(run.timeout / 1000)} s (at ${step}).` : `The handoff drain measurement was stopped (at ${step}).`,
  );
}

/** Spawns one instance on the shared socket and waits until it answers. */
async function startInstance(run: Run, what: string): Promise<Live> {
  const { command, cwd, env, fd } = run.options;
  checkRunning(run, `starting ${what}`);
  const handle = spawnInstance({ command, cwd, env: { ...env, ...handoffEnv() }, extraFds: [fd] });
  const target = handle.groupTarget();
  if (handle.pid === null || target === null) {
    const error = await handle.waitForExit().then(() => null, (reason: unknown) => reason as Error);
    throw new NaijaSupError('E_SPAWN_FAILED', `Cannot start ${command.join(' ')}: ${error?.message ?? 'the spawn failed'}.`, {
      fix: 'Check `command` and `cwd` in the config: `naija-sup start` would fail the same way.',
    });
  }
  run.options.hooks?.spawned?.(handle);
  const lines: string[] = [];
  const instance: Live = {
    pid: handle.pid,
    handle,
    target,
    exit: null,
    exited: handle.waitForExit().catch(() => null),
    sawLine: run.options.ready.line === undefined,
    tail: () => [...lines],
  };
  void instance.exited.then((info) => {
    instance.exit = info ?? { code: null, signal: null };
  });
  handle.on('line', (stream, line) => {
    lines.push(`${stream}: ${line}`);
    if (lines.length > TAIL_LINES) lines.shift();
    if (!instance.sawLine && run.options.ready.line?.test(line) === true) instance.sawLine = true;
    run.options.hooks?.line?.(instance, stream, line);
  });
  run.live.add(instance);
  run.pids.push(instance.pid);
  await waitUntilAnswers(run, instance, what);
  return instance;
}

/** Polls until `instance` shows its readiness line and itself answers the probe; bounded by readyTimeout. */
async function waitUntilAnswers(run: Run, instance: Live, what: string): Promise<void> {
  const until = monotonicMs() + run.readyTimeout;
  const { probe, line } = run.options.ready;
  let last = line === undefined ? 'no answer yet' : `no line matching ${String(line)} yet`;
  for (;;) {
    if (instance.exit !== null) throw exitedEarly(run, instance, what);
    checkRunning(run, `waiting for ${what}`);
    const left = until - monotonicMs();
    if (left <= 0) throw neverAnswered(run, instance, what, last);
    if (instance.sawLine && probe === undefined) return;
    if (instance.sawLine && probe !== undefined) {
      const result = await probeHttpAnsweredBy({
        host: '127.0.0.1',
        port: run.options.port,
        path: probe.path,
        timeout: Math.max(1, Math.min(1000, left)),
        pids: [instance.pid],
        anyAnswer: probe.anyAnswer,
        signal: run.signal,
      });
      if (answers(result, instance.pid, probe.anyAnswer)) return;
      last = `GET ${probe.path}: ${result.detail}`;
    }
    await abortableSleep(Math.min(PROBE_INTERVAL_MS, Math.max(1, left)), run.signal);
  }
}

/**
 * The supervisor's startup rule on a shared socket (probeInstanceOnSharedSocket, one probe at a
 * time so the deadline holds): this instance itself accepted and answered; where /proc cannot
 * tell who accepted, the answer alone.
 */
function answers(result: AnsweredByResult, pid: number, anyAnswer: boolean): boolean {
  const verdict = answeredByVerdict(result, [pid]);
  if (verdict === 'unknown') return result.ok;
  if (verdict !== 'mine') return false;
  return result.ok || (anyAnswer && (result.status === undefined || result.status < 500));
}

function exitedEarly(run: Run, instance: Live, what: string): NaijaSupError {
  const exit = instance.exit as ExitInfo;
  const how = exit.signal === null ? `exited with code ${String(exit.code)}` : `was ended by ${exit.signal}`;
  return new NaijaSupError('E_STARTUP_FAILED', `${what} (pid ${instance.pid}) ${how} before it answered on the inherited socket (fd 3).`, {
    fix: 'Read its output below. Under socket handoff the server must listen on fd 3 when LISTEN_FDS=1 (docs/handoff.md); a server that cannot should use `mode: proxy`.',
    details: tailDetails(run, instance),
  });
}

function neverAnswered(run: Run, instance: Live, what: string, last: string): NaijaSupError {
  return new NaijaSupError('E_STARTUP_FAILED', `${what} (pid ${instance.pid}) did not answer on the inherited socket (fd 3) within ${Math.round(run.readyTimeout / 1000)} s.`, {
    fix: 'Under socket handoff the server must listen on fd 3 when LISTEN_FDS=1 (docs/handoff.md); check health.path, or use `mode: proxy` for a server that cannot.',
    details: [`last probe: ${last}`, ...tailDetails(run, instance)],
  });
}

function tailDetails(run: Run, instance: Live): string[] {
  const tail = instance.tail();
  return [`command: ${run.options.command.join(' ')}`, ...(tail.length === 0 ? ['(no output)'] : tail.map((line) => `  ${line}`))];
}

/** The stop signal to the instance's group, SIGKILL after stopTimeout; resolves once it is gone. */
async function stopInstance(run: Run, instance: Live): Promise<RetiredInstance> {
  run.live.delete(instance);
  const result = await terminateGroup(instance.target, { signal: run.options.stopSignal ?? 'SIGTERM', timeout: run.stopTimeout, killTimeout: KILL_WAIT_MS });
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    instance.exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), EXIT_EVENT_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  // A descendant that left the group may still hold our pipes; nothing more is read from them.
  instance.handle.closeOutput();
  return {
    pid: instance.pid,
    code: exit?.code ?? null,
    signal: exit?.signal ?? null,
    drainMs: Math.round(result.durationMs),
    forced: result.forced,
    outcome: result.outcome,
  };
}

interface Loads {
  results: Promise<LoadResult[]>;
  abort(): void;
}

function startLoads(run: Run): Loads {
  const given = run.options.loads;
  if (typeof given === 'function') return given(run.options.port);
  const controller = new AbortController();
  const groups = given ?? [{ path: '/', concurrency: 4, keepAlive: true }];
  // The run's own deadline ends it; the load's is only a backstop.
  const durationMs = Math.min(run.timeout + 60_000, LOAD_LIMITS.maxDurationMs);
  const results = Promise.all(
    groups.map((group) =>
      runLoad({
        port: run.options.port,
        host: '127.0.0.1',
        path: group.path,
        concurrency: group.concurrency,
        keepAlive: group.keepAlive,
        durationMs,
        requestTimeout: run.requestTimeout,
        signal: controller.signal,
        onResponse: run.options.onResponse,
      }),
    ),
  );
  return { results, abort: () => controller.abort() };
}

function summarise(results: LoadResult[], retired: RetiredInstance[], last: RetiredInstance, pids: number[]): DrainSwapReport {
  const errors: Record<string, number> = {};
  for (const result of results) for (const [code, n] of Object.entries(result.errors)) errors[code] = (errors[code] ?? 0) + n;
  const connectionFailures = Object.entries(errors)
    .filter(([code]) => !code.startsWith('HTTP_'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    requests: results.reduce((sum, r) => sum + r.total, 0),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    errors,
    connectionFailures,
    sampleErrors: results.flatMap((r) => r.sampleErrors).slice(0, 5),
    loads: results,
    retired,
    last,
    pids,
  };
}
