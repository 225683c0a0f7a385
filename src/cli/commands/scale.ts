/**
 * `naija-sup scale N`, through the control socket (issue 20): the app runs N instances from now
 * on. New ones start beside the others and must get ready; the highest-numbered stop gracefully
 * (behind the proxy they get no new request first). The instances that stay are not touched. Needs
 * mode "handoff" or "proxy" for more than one. Exit 3 when nothing runs.
 */
import { requestFailure } from '../../control/client.js';
import { MAX_INSTANCES } from '../../control/protocol.js';
import { formatDuration } from '../../elapsed.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';
import type { ControlOptions } from '../options.js';
import { connectToApp } from './ls.js';

const MARGIN_MS = 10_000;

/** The count from the command line: an integer from 1 to MAX_INSTANCES. */
export function parseInstanceCount(raw: string): number {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_INSTANCES) {
    throw new NaijaSupError('E_USAGE', `scale: expected a number of instances from 1 to ${MAX_INSTANCES}, got "${raw}"`, {
      fix: 'give how many instances to run, like: naija-sup scale 4',
    });
  }
  return n;
}

export async function scaleCommand(io: CliIO, opts: ControlOptions, raw: string): Promise<number> {
  const count = parseInstanceCount(raw);
  const app = await connectToApp(io, opts, 'scale');
  if (typeof app === 'number') return app;
  const { connection } = app;
  const started = Date.now();
  try {
    const before = (await connection.request({ type: 'status' })).status;
    const from = before?.instances?.length ?? 1;
    const timeoutMs = (before?.shutdownTimeoutMs ?? 30_000) + (before?.startupTimeoutMs ?? 30_000) + MARGIN_MS;
    const reply = await connection.request({ type: 'scale', instances: count }, timeoutMs);
    const pids = reply.status?.instances?.map((i) => i.pid ?? '-').join(', ') ?? String(reply.status?.instancePid ?? '-');
    io.stdout(`${app.name}: ${from} → ${count} instance${count === 1 ? '' : 's'} (pids ${pids}) in ${formatDuration(Date.now() - started)}\n`);
    return 0;
  } catch (error) {
    throw requestFailure(error, app.name);
  } finally {
    connection.close();
  }
}
