/**
 * `naija-sup probe [--name N]`: the container health check. Exit 0 when the app's supervisor says its
 * server is ready (state `ready`, and its last liveness/readiness probe, if any, passed), 1 otherwise
 * — also when no supervisor answers. One line on stdout says why (Docker keeps it in `docker inspect`).
 *
 * It runs every few seconds, so it stays small: main.ts sends `probe --name N` here without loading
 * commander, and this module imports the control client only (no config loader with `--name`, no
 * renderer). It asks the supervisor rather than the server: the supervisor already probes the
 * server by the config's rules (HTTP path, TCP, log line), and knows about restarts in progress.
 */
import { connectControl, locateApp } from '../../control/client.js';
import type { StatusSnapshot } from '../../control/protocol.js';
import type { CliIO } from '../context.js';

export const PROBE_TIMEOUT_MS = 2000;

/** Whether a status means "send it traffic", and the one line that says so. */
export function probeVerdict(status: StatusSnapshot): { ok: boolean; line: string } {
  if (status.state !== 'ready') return { ok: false, line: `${status.name}: not ready (${status.state})` };
  const health = status.health;
  if (health !== null && !health.ok) return { ok: false, line: `${status.name}: ${health.probe} probe failing: ${health.detail}` };
  return { ok: true, line: `${status.name}: ready (pid ${status.instancePid ?? '-'})` };
}

export async function probeCommand(io: CliIO, opts: { name?: string | undefined; config?: string | undefined }): Promise<number> {
  try {
    const location = await locateApp({ cwd: io.cwd, env: io.env, name: opts.name, config: opts.config });
    if (location.paths === null) {
      io.stdout(`${location.name}: not running (no run directory)\n`);
      return 1;
    }
    const outcome = await connectControl(location.paths.socket, PROBE_TIMEOUT_MS);
    if (outcome.kind !== 'live') {
      io.stdout(`${location.name}: not running (no supervisor answers)\n`);
      return 1;
    }
    try {
      const reply = await outcome.connection.request({ type: 'status' }, PROBE_TIMEOUT_MS);
      if (reply.status === undefined) throw new Error('the status reply was empty');
      const verdict = probeVerdict(reply.status);
      io.stdout(`${verdict.line}\n`);
      return verdict.ok ? 0 : 1;
    } finally {
      outcome.connection.close();
    }
  } catch (error) {
    // A health check has two answers; the reason goes to stderr.
    io.stderr(`naija-sup probe: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
