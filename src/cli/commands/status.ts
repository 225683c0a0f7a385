/**
 * `naija-sup status [--json]`: asks the running supervisor over its control socket. Exit 0 when it
 * runs; 3 when not (the LSB convention), saying why and what it cleaned up (a stale socket, a
 * stale PID file). Never prints an environment value: the snapshot has none.
 *
 * Fast by construction: with `--name` nothing but the small client modules load (no config loader).
 */
import type { HealthSnapshot, StatusSnapshot } from '../../control/protocol.js';
import type { LastRun } from '../../control/record.js';
import { connectControl, inspectStale, requestFailure, type AppLocation, type StaleInspection } from '../../control/client.js';
import { formatDuration } from '../../elapsed.js';
import { docsRef } from '../../docs-ref.js';
import { describeExitShort } from '../../exit-text.js';
import type { CliIO } from '../context.js';
import { docsLink } from '../docs-link.js';
import type { ControlOptions } from '../options.js';
import { NOT_RUNNING, noAppLine, targetApp } from './ls.js';

export { NOT_RUNNING } from './ls.js';

function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}

function ago(iso: string, now: number): string {
  const at = Date.parse(iso);
  return Number.isFinite(at) ? `${formatDuration(now - at)} ago` : iso;
}

function probeText(p: HealthSnapshot, now: number): string {
  return `${p.ok ? 'ok' : 'failing'}, ${formatDuration(p.latencyMs)}, ${ago(p.at, now)}: ${p.detail}`;
}

/** Current health comes only from a liveness or readiness probe; a passed startup probe is history. */
function healthText(s: StatusSnapshot, now: number): string {
  // Older supervisors (before issue 12) send neither field: their `health` is the last probe of any kind.
  const watchedBy = (s as Partial<StatusSnapshot>).healthWatchedBy;
  if (watchedBy === undefined) return s.health === null ? 'no probe yet' : probeText(s.health, now);
  if (watchedBy.length === 0) return 'not watched (no liveness or readiness probe configured)';
  if (s.health === null) return `watched by the ${watchedBy.join(' and ')} probe, no result yet`;
  return `${probeText(s.health, now)} (${s.health.probe} probe)`;
}

/**
 * An app with several instances (issue 20): the rows above are instance 0's; then one row per
 * instance (pid, state, restarts, RSS, CPU) and the app's total.
 */
function instanceRows(s: StatusSnapshot): [string, string][] {
  if (!s.instances || !s.total) return [];
  const usage = (rss: number | null, cpu: number | null): string => `${rss === null ? '-' : formatBytes(rss)} RSS, ${cpu === null ? '-' : `${cpu.toFixed(1)}%`} cpu`;
  return [
    ...s.instances.map((i): [string, string] => [`instance #${i.index}`, `${i.pid === null ? 'no process' : `pid ${i.pid}`}, ${i.state}, restarts ${i.restarts}, ${usage(i.rss, i.cpuPercent)}${i.lastExit ? `; last exit: ${i.lastExit}` : ''}`]),
    ['total', `${s.total.ready}/${s.total.instances} ready, restarts ${s.total.restarts}, ${usage(s.total.rss, s.total.cpuPercent)}`],
  ];
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
    ['health', healthText(s, now)],
    ['last probe', (s.lastProbe ?? null) === null ? 'none yet' : `${s.lastProbe?.probe ?? ''}, ${s.lastProbe ? probeText(s.lastProbe, now) : ''}`],
    ['memory', s.rss === null ? 'unknown' : `${formatBytes(s.rss)} RSS (instance group)`],
    ['cpu', s.cpuPercent === null ? 'unknown' : `${s.cpuPercent.toFixed(1)}%`],
    ...instanceRows(s),
    ...(s.webhooks ?? []).map((w): [string, string] => ['webhook', `${w.url}: ${w.failing ? `FAILING (${w.lastError ?? 'no answer'})` : 'ok'}, ${w.delivered} delivered, ${w.failed} failed`]),
    ['version', s.version],
    ...(s.diskProblems ?? []).map((p): [string, string] => ['disk', `cannot write ${p.path} (since ${ago(p.since, now)}): ${p.message}; retrying`]),
    ...(s.warnings ?? []).map((w): [string, string] => ['warning', `${ago(w.at, now)}${w.count > 1 ? ` (${w.count} times)` : ''}: ${w.message}`]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${k.padEnd(width)}${v}\n`).join('');
}

/** "gave up 3 min ago: <reason>; restarts N; last exit …", then its fix and stderr tail. */
export function gaveUpLines(last: LastRun, now = Date.now(), cwd = process.cwd()): string[] {
  const exit = last.lastExit;
  const lastExit = exit === null ? '' : `; last exit: ${describeExitShort(exit)} [${exit.cause}], ${ago(exit.at, now)}`;
  const lines = [`gave up ${ago(last.at, now)}: ${last.reason}; restarts ${last.restarts}${lastExit}`];
  if (exit !== null && exit.stderrTail.length > 0) {
    lines.push('last stderr lines:');
    for (const line of exit.stderrTail.slice(-10)) lines.push(`  ${line}`);
  }
  if (exit !== null && exit.fix !== '') lines.push(`fix: ${exit.fix}`);
  if (exit !== null) lines.push(`docs: ${docsLink(docsRef(exit.cause), cwd)}`);
  return lines;
}

/** The "not running" lines, with what was cleaned up and what is left. */
export function notRunningLines(name: string, found: Partial<StaleInspection>, lastRun: LastRun | null = null, cwd = process.cwd()): string[] {
  const lines = [`${name}: not running`];
  if (lastRun !== null && !found.busy) {
    const [first, ...rest] = gaveUpLines(lastRun, Date.now(), cwd);
    lines[0] = `${name}: not running — ${first ?? ''}`;
    lines.push(...rest);
  }
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
  const target = await targetApp(io, opts, 'status');
  if (target.kind === 'none') {
    io.stdout(opts.json ? `${JSON.stringify({ name: null, state: 'not-running', reason: 'no app running' }, null, 2)}\n` : noAppLine(io));
    return NOT_RUNNING;
  }
  const location = target.location;
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
  const lastRun = await readLastRunOf(location);
  if (opts.json) {
    io.stdout(`${JSON.stringify({
      name: location.name,
      state: 'not-running',
      staleSocketRemoved: found.staleSocketRemoved ?? false,
      stalePidFileRemoved: found.staleRecordRemoved ?? false,
      orphanPid: found.orphan?.pid ?? null,
      starting: found.busy ? { supervisorPid: found.busy.pid } : null,
      gaveUp: lastRun,
    }, null, 2)}\n`);
  } else {
    io.stdout(notRunningLines(location.name, found, lastRun, io.cwd).map((l) => `${l}\n`).join(''));
  }
  return NOT_RUNNING;
}

/** What the app's supervisor left when it gave up (src/control/record.ts), if anything. */
export async function readLastRunOf(location: AppLocation): Promise<LastRun | null> {
  if (location.paths === null) return null;
  const { readLastRun } = await import('../../control/record.js');
  return readLastRun(location.paths.runDir, location.name);
}
