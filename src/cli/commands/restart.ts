/**
 * `naija-sup restart` and `naija-sup reload`, through the control socket:
 *
 * - restart: the instance is stopped and started again under the same supervisor;
 * - reload: the supervisor re-reads its config (like SIGHUP) and restarts with it; an invalid
 *   config is rejected with its errors and the instance keeps running.
 *
 * Both wait, bounded by shutdown.timeout + health.startupTimeout (+ a margin) per round of the
 * rolling reload, until an instance other than the old one is ready, and print its pid (each
 * instance's, when the app runs several). Crashes in between are only remembered: the restart
 * policy may still bring it up. Exit 3 when nothing runs.
 *
 * `reload --parallel K` replaces up to K instances at a time (issue 20): ceil(N / K) rounds
 * instead of N. Anything but a whole number ≥ 1 is refused before the app is contacted.
 */
import { describeExit, requestFailure, waitForReady, type ReadyWaiter } from '../../control/client.js';
import { MAX_INSTANCES, type StatusSnapshot, type StreamedEvent } from '../../control/protocol.js';
import { docsRef } from '../../docs-ref.js';
import { formatDuration } from '../../elapsed.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';
import type { ControlOptions } from '../options.js';
import { connectToApp, NOT_RUNNING } from './ls.js';

const MARGIN_MS = 10_000;

/** `--parallel K`: a whole number from 1 to MAX_INSTANCES, or a usage error that says so. */
export function parseParallel(raw: string): number {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_INSTANCES) {
    throw new NaijaSupError('E_USAGE', `reload: --parallel expects a whole number of instances from 1 to ${MAX_INSTANCES}, got "${raw}"`, {
      fix: 'give how many instances to replace at a time, like: naija-sup reload --parallel 2 (1, the default, replaces one after the other)',
    });
  }
  return n;
}

/** How long the whole rolling reload may take: one start and one drain per round of `parallel` instances. */
function rollingTimeoutMs(status: StatusSnapshot, parallel: number): number {
  const rounds = Math.ceil((status.instances?.length ?? 1) / parallel);
  return rounds * (status.shutdownTimeoutMs + status.startupTimeoutMs) + MARGIN_MS;
}

export async function restartCommand(io: CliIO, opts: ControlOptions & { parallel?: string }, kind: 'restart' | 'reload' | 'rollback'): Promise<number> {
  const parallel = opts.parallel === undefined ? undefined : parseParallel(opts.parallel);
  const app = await connectToApp(io, opts, kind);
  if (typeof app === 'number') return app;
  const { connection } = app;
  const started = Date.now();
  try {
    // Events that arrive before the waiter exists are kept and replayed into it.
    const early: StreamedEvent[] = [];
    let sink: (event: StreamedEvent) => void = (event) => { early.push(event); };
    const before = await connection.subscribe((event) => sink(event));
    if (before.state === 'stopped' || before.state === 'fatal') {
      io.stdout(`${app.name}: not running (its supervisor is ${before.state === 'fatal' ? 'giving up' : 'shutting down'})\n`);
      return NOT_RUNNING;
    }
    const timeoutMs = rollingTimeoutMs(before, parallel ?? 1);
    const waiter: ReadyWaiter = waitForReady(connection, { notPid: before.instancePid, timeoutMs });
    for (const event of early) waiter.onEvent(event);
    sink = waiter.onEvent;

    if (kind === 'restart') await connection.request({ type: kind }, 5000);
    else await connection.request(kind === 'reload' && parallel !== undefined ? { type: kind, parallel } : { type: kind }, timeoutMs);
    const result = await waiter.result;
    switch (result.kind) {
      case 'ready': {
        const after = (await connection.request({ type: 'status' })).status;
        const restarts = after ? `, restarts ${after.restarts}` : '';
        const url = after ? `, ${after.url}` : '';
        const verb = kind === 'reload' ? 'reloaded' : kind === 'rollback' ? 'rolled back' : 'restarted';
        io.stdout(`${app.name}: ${verb} (${pidsChange(before, after, result.pid)}${restarts}${url}) in ${formatDuration(Date.now() - started)}\n`);
        return 0;
      }
      case 'fatal':
        throw new NaijaSupError('E_STARTUP_FAILED', `"${app.name}" did not come back after the ${kind}: ${result.reason}; its supervisor gave up`, {
          details: describeExit(result.exit),
          fix: result.exit?.fix ?? `see "naija-sup logs --name ${app.name}"`,
          exitStatus: result.exitStatus || 1,
          docs: result.exit ? docsRef(result.exit.cause) : undefined,
        });
      case 'stopped':
      case 'closed':
        throw new NaijaSupError('E_FATAL', `the supervisor of "${app.name}" stopped during the ${kind}`, {
          fix: `see "naija-sup logs --name ${app.name}"`,
        });
      case 'timeout':
        throw new NaijaSupError('E_STARTUP_FAILED', `"${app.name}" is not ready again ${formatDuration(Date.now() - started)} after the ${kind}; the supervisor keeps trying`, {
          details: describeExit(result.lastExit),
          fix: `follow it with "naija-sup logs -f --name ${app.name}", or stop it with "naija-sup stop --name ${app.name}"`,
        });
      default: {
        const never: never = result;
        throw new Error(`unexpected outcome ${JSON.stringify(never)}`);
      }
    }
  } catch (error) {
    throw requestFailure(error, app.name);
  } finally {
    connection.close();
  }
}

/** "pid 1 → pid 2"; with several instances, every instance's pid before and after. */
function pidsChange(before: StatusSnapshot, after: StatusSnapshot | undefined, readyPid: number | null): string {
  const many = (s: StatusSnapshot | undefined): string | null => (s?.instances && s.instances.length > 1 ? s.instances.map((i) => i.pid ?? '-').join(', ') : null);
  const from = many(before);
  const to = many(after);
  if (from !== null && to !== null) return `${after?.instances?.length ?? 0} instances: pids ${from} → ${to}`;
  return `${before.instancePid === null ? 'no instance' : `pid ${before.instancePid}`} → pid ${readyPid}`;
}
