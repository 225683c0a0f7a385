/**
 * The handoff-drain tests' instrument: servers that share one handed-over socket (fd 3), swapped
 * blue → green under a continuous load of one of three client kinds, the way the runner's handoff
 * reload does it (start green on the same fd, wait until green itself answers, SIGTERM blue, wait
 * until blue is gone). Counts every failed request per kind of failure.
 *
 * Client kinds: client-kinds.ts.
 */
import { handoffEnv } from '../../src/reload/handoff.js';
import { probeHttpAnsweredBy } from '../../src/reload/answered-by.js';
import type { LoadResult } from '../../src/reload/load.js';
import { spawnInstance, type RunningChild } from '../../src/process/spawn.js';
import { terminateGroup, type GroupTarget } from '../../src/process/terminate.js';
import { assertAllGone, childEnv, trackChild, waitFor, waitForLine } from '../helpers/processes.js';
import { startLoads, type ClientKind } from './client-kinds.js';

export { CLIENT_KINDS, type ClientKind } from './client-kinds.js';

export interface Instance {
  pid: number;
  lines: string[];
  /** SIGTERM to the group (SIGKILL after `timeout`); resolves with the exit code (null: by signal). */
  stop(timeout: number): Promise<number | null>;
}

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

/** Starts `recipe` with `fd` as its fd 3 and LISTEN_FDS=1, and waits for its ready line. */
export async function startOnFd(recipe: ServerRecipe, fd: number): Promise<Instance> {
  const handle = spawnInstance({ command: recipe.command, cwd: recipe.cwd, env: childEnv({ ...handoffEnv(), ...recipe.env }), extraFds: [fd] });
  if (handle.pid === null) throw new Error(`spawning ${recipe.command.join(' ')} failed`);
  trackChild(handle);
  const child = handle as RunningChild;
  const lines: string[] = [];
  child.on('line', (stream, line) => lines.push(`${stream}: ${line}`));
  try {
    await waitForLine(child, recipe.ready, 20_000);
  } catch (error) {
    throw new Error(`${recipe.command.join(' ')} did not get ready: ${(error as Error).message}\n${lines.join('\n')}`, { cause: error });
  }
  const target = child.groupTarget() as GroupTarget;
  return {
    pid: child.pid,
    lines,
    async stop(timeout) {
      const exit = child.waitForExit();
      await terminateGroup(target, { timeout });
      return (await exit).code;
    },
  };
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

/** Runs `swaps` blue → green swaps under load; every process it started is gone when it returns. */
export async function swapUnderLoad(options: SwapOptions): Promise<SwapReport> {
  const { recipe, kind, fd, port } = options;
  const slowMs = options.slowMs ?? 1200;
  let blue = await startOnFd(recipe, fd);
  const pids = [blue.pid];
  const exitCodes: (number | null)[] = [];
  const loads = startLoads(port, recipe, kind, slowMs);
  const newPid = recipe.greenAnswers === 'new-pid';
  try {
    const first = blue.pid;
    await waitFor(() => (newPid ? firstNewPid(loads.answeredBy, new Set(), 20) : (loads.answeredBy.get(first) ?? 0) >= 20), {
      timeout: 15_000,
      message: 'the load never reached the first instance',
    });
    for (let i = 0; i < options.swaps; i += 1) {
      const seen = new Set(loads.answeredBy.keys());
      const green = await startOnFd(recipe, fd);
      pids.push(green.pid);
      const greenPid = await waitFor(
        async () => {
          if (newPid) return firstNewPid(loads.answeredBy, seen, 1);
          const probe = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path: recipe.pidPath, timeout: 2000, pids: [blue.pid, green.pid] });
          return probe.answeredBy === green.pid ? green.pid : null;
        },
        { timeout: 15_000, interval: 5, message: `swap ${i + 1}: green (pid ${green.pid}) never answered` },
      );
      if (kind === 'mixed') await slowInFlight(blue, slowMs, i);
      exitCodes.push(await blue.stop(options.stopTimeout ?? 20_000));
      await assertAllGone([blue.pid]);
      const before = loads.answeredBy.get(greenPid) ?? 0;
      await waitFor(() => (loads.answeredBy.get(greenPid) ?? 0) >= before + 20, { timeout: 15_000, message: `swap ${i + 1}: the load never moved to green (pid ${greenPid})` });
      blue = green;
    }
  } finally {
    loads.abort();
    // The last instance stays until the clients are done: a request still in the shared socket's
    // backlog when no instance is left would wait for an answer that never comes.
    await loads.results.catch(() => []);
    exitCodes.push(await blue.stop(options.stopTimeout ?? 20_000));
  }
  await assertAllGone(pids);
  return summarise(await loads.results, kind, pids, exitCodes);
}

/** A pid that answered at least `min` times and is not in `seen`; null when there is none. */
function firstNewPid(answeredBy: Map<number, number>, seen: Set<number>, min: number): number | null {
  for (const [pid, count] of answeredBy) if (!seen.has(pid) && count >= min) return pid;
  return null;
}

/** Waits until a long request arrived at `blue` recently, so that it is in flight when blue is told to stop. */
async function slowInFlight(blue: Instance, slowMs: number, swap: number): Promise<void> {
  const seen = blue.lines.filter((line) => /SLOW|slow request/.test(line)).length;
  await waitFor(() => blue.lines.filter((line) => /SLOW|slow request/.test(line)).length > seen, {
    timeout: slowMs * 4,
    interval: 5,
    message: `swap ${swap + 1}: no long request reached pid ${blue.pid}`,
  });
}

function summarise(results: LoadResult[], kind: ClientKind, pids: number[], exitCodes: (number | null)[]): SwapReport {
  const errors: Record<string, number> = {};
  for (const result of results) for (const [code, n] of Object.entries(result.errors)) errors[code] = (errors[code] ?? 0) + n;
  const slow = kind === 'mixed' ? results[2] : undefined;
  return {
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    errors,
    sampleErrors: results.flatMap((r) => r.sampleErrors).slice(0, 5),
    slowOk: slow?.ok ?? 0,
    exitCodes,
    pids,
  };
}

export function describeReport(report: SwapReport): string {
  return `${report.ok} ok, ${report.failed} failed ${JSON.stringify(report.errors)}, ${report.slowOk} long ok, exits ${JSON.stringify(report.exitCodes)}`;
}
