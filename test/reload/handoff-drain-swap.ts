/**
 * The handoff-drain tests' instrument: servers that share one handed-over socket (fd 3), swapped
 * blue → green under a continuous load of one of three client kinds, the way the runner's handoff
 * reload does it (start green on the same fd, wait until green itself answers, SIGTERM blue, wait
 * until blue is gone). Counts every failed request per kind of failure.
 *
 * Client kinds: client-kinds.ts.
 */
import { swapOnSharedSocket, type DrainInstance } from '../../src/reload/drain-check.js';
import { assertAllGone, childEnv, trackChild, waitFor } from '../helpers/processes.js';
import { startLoads, type ClientKind, type Loads } from './client-kinds.js';

export { CLIENT_KINDS, type ClientKind } from './client-kinds.js';

export interface ServerRecipe {
  command: string[];
  cwd: string;
  env?: Record<string, string>;
  /** A line on stdout or stderr that says the server accepts on the socket. */
  ready: RegExp;
  /** Answers 200 with the instance's pid as its whole body. */
  pidPath: string;
  /** Answers 200 after about `ms`. */
  slowPath: (ms: number) => string;
  /**
   * How to tell that green answers: `probe` asks the kernel which process holds the accepted
   * connection (probeHttpAnsweredBy, for single-process servers); `new-pid` waits for a pid in the
   * answers that was not seen before green started (servers whose workers answer, like gunicorn).
   */
  greenAnswers?: 'probe' | 'new-pid';
}

export interface SwapReport {
  /** Every client's requests together. */
  failed: number;
  ok: number;
  errors: Record<string, number>;
  sampleErrors: string[];
  /** Long requests answered (mixed only), and how many of them by an instance after its SIGTERM. */
  slowOk: number;
  /** Exit code of each retired instance, in order. */
  exitCodes: (number | null)[];
  pids: number[];
}

export interface SwapOptions {
  recipe: ServerRecipe;
  kind: ClientKind;
  /** The shared socket: its fd and port. */
  fd: number;
  port: number;
  swaps: number;
  /** Long requests' duration in the mixed kind, ms; default 1200. */
  slowMs?: number;
  /** How long a retiring instance may drain before SIGKILL, ms; default 20,000. */
  stopTimeout?: number;
}

/**
 * Runs `swaps` blue → green swaps under load with src/reload/drain-check.ts (the procedure
 * `naija-sup doctor --drain` runs), plus the waits these tests need: the load reached blue, moved
 * to green after each swap, and (mixed) a long request is in flight at each SIGTERM. Every process
 * it started is gone when it returns.
 */
export async function swapUnderLoad(options: SwapOptions): Promise<SwapReport> {
  const { recipe, kind } = options;
  const slowMs = options.slowMs ?? 1200;
  const newPid = recipe.greenAnswers === 'new-pid';
  const slowSeen = new Map<number, number>();
  const slowLast = new Map<number, number>();
  let loads: Loads | undefined;
  const answeredBy = (): Map<number, number> => loads?.answeredBy ?? new Map<number, number>();
  let seen = new Set<number>();
  let greenPid = 0;
  const report = await swapOnSharedSocket({
    command: recipe.command,
    cwd: recipe.cwd,
    env: childEnv(recipe.env),
    fd: options.fd,
    port: options.port,
    swaps: options.swaps,
    ready: { line: recipe.ready, probe: newPid ? undefined : { path: recipe.pidPath, anyAnswer: false } },
    loads: (port) => (loads = startLoads(port, recipe, kind, slowMs)),
    readyTimeout: 20_000,
    stopTimeout: options.stopTimeout ?? 20_000,
    settleMs: 0,
    requestTimeout: 20_000,
    timeout: 9 * 60_000,
    hooks: {
      spawned: trackChild,
      line: (instance, _stream, line) => {
        if (!/SLOW|slow request/.test(line)) return;
        slowSeen.set(instance.pid, (slowSeen.get(instance.pid) ?? 0) + 1);
        slowLast.set(instance.pid, performance.now());
      },
      loadStarted: async (blue) => {
        await waitFor(() => (newPid ? firstNewPid(answeredBy(), new Set(), 20) : (answeredBy().get(blue.pid) ?? 0) >= 20), {
          timeout: 15_000,
          message: 'the load never reached the first instance',
        });
        seen = new Set(answeredBy().keys());
      },
      greenAnswers: async (_blue, green, swap) => {
        greenPid = newPid
          ? await waitFor(() => firstNewPid(answeredBy(), seen, 1), { timeout: 15_000, interval: 5, message: `swap ${swap + 1}: green (pid ${green.pid}) never answered` })
          : green.pid;
      },
      beforeRetire: async (blue, swap) => {
        if (kind === 'mixed') await slowInFlight(blue, { count: slowSeen, last: slowLast }, slowMs, swap);
      },
      afterRetire: async (blue, _green, swap) => {
        await assertAllGone([blue.pid]);
        const before = answeredBy().get(greenPid) ?? 0;
        // Mixed load on a one-worker sync server (gunicorn) answers a fast request only between
        // the 1.2 s ones: a handful is proof enough that the load moved, 20 took over 15 s there.
        const moved = kind === 'mixed' ? 5 : 20;
        await waitFor(() => (answeredBy().get(greenPid) ?? 0) >= before + moved, { timeout: 20_000, message: `swap ${swap + 1}: the load never moved to green (pid ${greenPid})` });
        seen = new Set(answeredBy().keys());
      },
    },
  });
  await assertAllGone(report.pids);
  return {
    failed: report.failed,
    ok: report.ok,
    errors: report.errors,
    sampleErrors: report.sampleErrors,
    slowOk: kind === 'mixed' ? (report.loads[2]?.ok ?? 0) : 0,
    exitCodes: [...report.retired, report.last].map((instance) => instance.code),
    pids: report.pids,
  };
}

/** A pid that answered at least `min` times and is not in `seen`; null when there is none. */
function firstNewPid(answeredBy: Map<number, number>, seen: Set<number>, min: number): number | null {
  for (const [pid, count] of answeredBy) if (!seen.has(pid) && count >= min) return pid;
  return null;
}

/**
 * Returns once a long request is in flight at `blue`, so that it is when blue is told to stop: one
 * that arrived less than `slowMs` − 300 ms ago (the SIGTERM follows at once), or else the next to
 * arrive. Once green listens on the shared socket the kernel gives each new connection to whichever
 * process accepts first, and the fresh green, idle, wins most; so waiting only for a new arrival at
 * blue failed now and then ("no long request reached", once in a few CI runs) while one was in
 * flight there all along.
 */
async function slowInFlight(blue: DrainInstance, slow: { count: Map<number, number>; last: Map<number, number> }, slowMs: number, swap: number): Promise<void> {
  const arrived = slow.last.get(blue.pid);
  if (arrived !== undefined && performance.now() - arrived < slowMs - 300) return;
  const seen = slow.count.get(blue.pid) ?? 0;
  await waitFor(() => (slow.count.get(blue.pid) ?? 0) > seen, {
    timeout: slowMs * 4,
    interval: 5,
    message: `swap ${swap + 1}: no long request reached pid ${blue.pid}`,
  });
}

export function describeReport(report: SwapReport): string {
  return `${report.ok} ok, ${report.failed} failed ${JSON.stringify(report.errors)}, ${report.slowOk} long ok, exits ${JSON.stringify(report.exitCodes)}`;
}
