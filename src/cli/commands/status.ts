/**
 * `naija-sup status [--json]`: asks the running supervisor over its control socket. Exit 0 when it
 * runs; 3 when not (the LSB convention), saying why and what it cleaned up (a stale socket, a
 * stale PID file). Never prints an environment value: the snapshot has none.
 *
 * Fast by construction: with `--name` nothing but the small client modules load (no config loader).
 */
import type { StatusSnapshot } from '../../control/protocol.js';
import { connectControl, inspectStale, locateApp, requestFailure, type StaleInspection } from '../../control/client.js';
import { formatDuration } from '../../elapsed.js';
import { describeExitShort } from '../../exit-text.js';
import type { CliIO } from '../context.js';
import type { ControlOptions } from '../main.js';

/** LSB: "program is not running". */
export const NOT_RUNNING = 3;

function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}

function ago(iso: string, now: number): string {
  const at = Date.parse(iso);
  return Number.isFinite(at) ? `${formatDuration(now - at)} ago` : iso;
}

/** The human table of a running supervisor. */
export function renderStatus(s: StatusSnapshot, now = Date.now()): string {
  const rows: [string, string][] = [
    ['name', s.name],
    ['state', s.state],
    ['url', `${s.url} (port ${s.port}, host ${s.host}, mode ${s.mode})`],
    ['supervisor', `pid ${s.supervisorPid}, up ${formatDuration(s.uptimeMs)}`],
    ['instance', s.instancePid === null ? 'none running' : `pid ${s.instancePid}${s.instanceUptimeMs === null ? '' : `, up ${formatDuration(s.instanceUptimeMs)}`}`],
    ...(s.standbyPid === undefined ? [] : [['standby', `pid ${s.standbyPid}, parked before the server's code (restart.standby)`] as [string, string]]),
    ['restarts', String(s.restarts)],
    ['last exit', s.lastExit === null
      ? 'none'
      : `${describeExitShort(s.lastExit)} [${s.lastExit.cause}], ${ago(s.lastExit.at, now)}`],
    ['health', s.health === null
      ? 'no probe yet'
      : `${s.health.ok ? 'ok' : 'failing'}, ${formatDuration(s.health.latencyMs)}, ${ago(s.health.at, now)}: ${s.health.detail}`],
    ['memory', s.rss === null ? 'unknown' : `${formatBytes(s.rss)} RSS (instance group)`],
    ['cpu', s.cpuPercent === null ? 'unknown' : `${s.cpuPercent.toFixed(1)}%`],
    ['version', s.version],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${k.padEnd(width)}${v}\n`).join('');
}

/** The "not running" lines, with what was cleaned up and what is left. */
export function notRunningLines(name: string, found: Partial<StaleInspection>): string[] {
  const lines = [`${name}: not running`];
  if (found.busy) {
    lines[0] = `${name}: not running yet: a supervisor${found.busy.pid === null ? '' : ` (pid ${found.busy.pid})`} holds its name but its control socket does not answer`;
    lines.push('it is starting right now, or its control socket was deleted (was the run directory removed?)');
  }
  if (found.staleSocketRemoved) lines.push('stale socket removed (its supervisor had died)');
  if (found.staleRecordRemoved) lines.push('stale PID file removed (its process is gone)');
  if (found.supervisorAlive) {
    const pid = found.record ? ` (pid ${found.record.supervisorPid})` : '';
    lines.push(`its supervisor process${pid} is alive but does not answer on the control socket`);
    lines.push(`stop it with: naija-sup stop --name ${name}`);
  } else if (found.orphan) {
    lines.push(`its instance is still running without a supervisor: pid ${found.orphan.pid} on port ${found.orphan.port}`);
    lines.push(`stop it with: naija-sup stop --name ${name}`);
  }
  return lines;
}

export async function statusCommand(io: CliIO, opts: ControlOptions): Promise<number> {
  const location = await locateApp({ cwd: io.cwd, env: io.env, name: opts.name, config: opts.config });
  let found: Partial<StaleInspection> = {};
  // Two rounds: a supervisor may finish starting while we look at what a dead one left.
  for (let round = 0; round < 2 && location.paths !== null; round += 1) {
    const outcome = await connectControl(location.paths.socket);
    if (outcome.kind === 'live') {
      let status: StatusSnapshot | undefined;
      try {
        status = (await outcome.connection.request({ type: 'status' })).status;
      } catch (error) {
        throw requestFailure(error, location.name);
      } finally {
        outcome.connection.close();
      }
      if (status === undefined) throw requestFailure(new Error('the status reply was empty'), location.name);
      io.stdout(opts.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status));
      return 0;
    }
    found = await inspectStale(location.paths, { pidFile: location.pidFile ?? null });
    if (!found.live) break;
  }
  if (opts.json) {
    io.stdout(`${JSON.stringify({
      name: location.name,
      state: 'not-running',
      staleSocketRemoved: found.staleSocketRemoved ?? false,
      stalePidFileRemoved: found.staleRecordRemoved ?? false,
      orphanPid: found.orphan?.pid ?? null,
      starting: found.busy ? { supervisorPid: found.busy.pid } : null,
    }, null, 2)}\n`);
  } else {
    io.stdout(notRunningLines(location.name, found).map((l) => `${l}\n`).join(''));
  }
  return NOT_RUNNING;
}
