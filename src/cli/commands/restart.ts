/**
 * `naija-sup restart` and `naija-sup reload`, through the control socket:
 *
 * - restart: the instance is stopped and started again under the same supervisor;
 * - reload: the supervisor re-reads its config (like SIGHUP) and restarts with it; an invalid
 *   config is rejected with its errors and the instance keeps running.
 *
 * Both wait, bounded by shutdown.timeout + health.startupTimeout (+ a margin), until an instance
 * other than the old one is ready, and print its pid. Crashes in between are only remembered: the
 * restart policy may still bring it up. Exit 3 when nothing runs.
 */
import { describeExit, requestFailure, waitForReady, type ReadyWaiter } from '../../control/client.js';
import type { StreamedEvent } from '../../control/protocol.js';
import { docsRef } from '../../docs-ref.js';
import { formatDuration } from '../../elapsed.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';
import type { ControlOptions } from '../options.js';
import { connectToApp, NOT_RUNNING } from './ls.js';

const MARGIN_MS = 10_000;

export async function restartCommand(io: CliIO, opts: ControlOptions, kind: 'restart' | 'reload' | 'rollback'): Promise<number> {
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
    const waiter: ReadyWaiter = waitForReady(connection, {
      notPid: before.instancePid,
      timeoutMs: before.shutdownTimeoutMs + before.startupTimeoutMs + MARGIN_MS,
    });
    for (const event of early) waiter.onEvent(event);
    sink = waiter.onEvent;

    await connection.request({ type: kind }, kind === 'restart' ? 5000 : before.shutdownTimeoutMs + before.startupTimeoutMs + MARGIN_MS);
    const result = await waiter.result;
    switch (result.kind) {
      case 'ready': {
        const after = (await connection.request({ type: 'status' })).status;
        const restarts = after ? `, restarts ${after.restarts}` : '';
        const url = after ? `, ${after.url}` : '';
        const old = before.instancePid === null ? 'no instance' : `pid ${before.instancePid}`;
        io.stdout(`${app.name}: ${kind === 'reload' ? 'reloaded' : kind === 'rollback' ? 'rolled back' : 'restarted'} (${old} → pid ${result.pid}${restarts}${url}) in ${formatDuration(Date.now() - started)}\n`);
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
