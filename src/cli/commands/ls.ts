/**
 * `naija-sup ls [--json]`: every app of this user, from the run dir (src/control/apps.ts): name,
 * state, instance pid, port, uptime, restarts and folder. Exit 0, also when there is none.
 *
 * Also how `status`, `stop`, `restart` and `logs` find their app when nothing names one (no
 * `--name`, no config in the folder): the only running app is the target; none or several is said
 * plainly instead of acting on the folder's name ("tmp: not running" while the app keeps serving).
 */
import { sep } from 'node:path';
import type { AppEntry } from '../../control/apps.js';
import { connectControl, locateApp, locationOf, type AppLocation, type ControlConnection } from '../../control/client.js';
import { formatElapsed } from '../../elapsed.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';
import type { ControlOptions } from '../options.js';

/** LSB: "program is not running". */
export const NOT_RUNNING = 3;

function uptime(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : formatElapsed(ms);
}

function stateText(app: AppEntry, now: number): string {
  if (app.gaveUp === null) return app.state;
  const at = Date.parse(app.gaveUp.at);
  return Number.isFinite(at) ? `gave up ${uptime(Math.max(0, now - at))} ago` : 'gave up';
}

/** The apps as aligned columns, a header first. */
export function renderApps(apps: readonly AppEntry[], now = Date.now()): string[] {
  const rows = [
    ['NAME', 'STATE', 'PID', 'PORT', 'UPTIME', 'RESTARTS', 'CWD'],
    ...apps.map((a) => [
      a.name,
      stateText(a, now),
      a.pid === null ? '-' : String(a.pid),
      a.port === null ? '-' : String(a.port),
      uptime(a.uptimeMs),
      a.restarts === null ? '-' : String(a.restarts),
      a.cwd ?? '-',
    ]),
  ];
  // An app with several instances (issue 20): a line for each under its own, "name#index".
  for (let at = rows.length - 1; at >= 1; at -= 1) {
    const app = apps[at - 1];
    const each = (app?.instances ?? []).map((i) => [`  ${app?.name ?? ''}#${i.index}`, i.state, i.pid === null ? '-' : String(i.pid), '', '', String(i.restarts), '']);
    rows.splice(at + 1, 0, ...each);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd());
}

export async function lsCommand(io: CliIO, opts: { json?: boolean }): Promise<number> {
  const { listApps } = await import('../../control/apps.js');
  const apps = await listApps(io.env);
  if (opts.json) {
    io.stdout(`${JSON.stringify(apps, null, 2)}\n`);
    return 0;
  }
  if (apps.length === 0) {
    io.stdout('no apps (start one with "naija-sup start")\n');
    return 0;
  }
  io.stdout(renderApps(apps).map((l) => `${l}\n`).join(''));
  return 0;
}

export type Target =
  | { kind: 'app'; location: AppLocation }
  /** Nothing names an app here and none runs: the caller says so (exit {@link NOT_RUNNING}). */
  | { kind: 'none' };

/**
 * The app a control command acts on: `--name`, else the config (or package.json name) of the
 * folder; else the only app running (said on stderr, stdout stays parseable). Several running →
 * E_USAGE (exit 2) listing them.
 */
export async function targetApp(io: CliIO, opts: ControlOptions, command: string): Promise<Target> {
  let location: AppLocation;
  try {
    location = await locateApp({ cwd: io.cwd, env: io.env, name: opts.name, config: opts.config });
  } catch (error) {
    throw await withRunningHere(error, io, command);
  }
  if (location.named) return { kind: 'app', location };
  const { listApps } = await import('../../control/apps.js');
  const running = await listApps(io.env, { runningOnly: true });
  if (running.length === 0) return { kind: 'none' };
  if (running.length === 1) {
    const only = running[0] as AppEntry;
    io.stderr(`naija-sup: ${only.name} (the only app running; no config in ${io.cwd})\n`);
    return { kind: 'app', location: locationOf(only.name, io.env, { named: true }) };
  }
  throw new NaijaSupError('E_USAGE', `${running.length} apps are running and no config in ${io.cwd} names one: pass --name`, {
    details: renderApps(running),
    fix: `naija-sup ${command} --name ${(running[0] as AppEntry).name} (or run it in the app's folder)`,
  });
}

/** Config errors: the config names the app, so while it does not load only --name reaches it. */
const CONFIG_ERRORS = new Set(['E_CONFIG_SYNTAX', 'E_CONFIG_INVALID', 'E_CONFIG_NOT_FOUND']);

/**
 * A config that does not load, said with the apps that run from this folder: a typo made while
 * the app runs must not leave the user without a way to reach it. `--name` does not read the
 * config; a reload or restart would read it (and refuse it) in the supervisor, which keeps serving.
 */
async function withRunningHere(error: unknown, io: CliIO, command: string): Promise<unknown> {
  if (!(error instanceof NaijaSupError) || !CONFIG_ERRORS.has(error.code)) return error;
  const { listApps } = await import('../../control/apps.js');
  // From this folder, or from one below it (a config's own `cwd: ./server`).
  const here = (await listApps(io.env, { runningOnly: true })).filter((app) => app.cwd !== null && (app.cwd === io.cwd || app.cwd.startsWith(`${io.cwd}${sep}`)));
  const first = here[0];
  if (first === undefined) return error;
  const names = here.map((app) => `${app.name} (pid ${app.pid ?? '-'}, port ${app.port ?? '-'})`).join(', ');
  // A reload re-reads the config in the supervisor, which would refuse it the same way.
  const reach = command === 'reload'
    ? `meanwhile ${names} keeps running from this folder, untouched, on the config it started with: reload once the config loads (\`naija-sup config\` checks it)`
    : `meanwhile ${names} keeps running from this folder, untouched, and \`naija-sup ${command} --name ${first.name}\` reaches it without reading the config`;
  return new NaijaSupError(error.code, error.message, {
    details: error.details,
    fix: error.fix === undefined ? reach : `${error.fix}; ${reach}`,
    exitStatus: error.exitStatus,
    ...(error.docs === undefined ? {} : { docs: error.docs }),
    cause: error,
  });
}

/** What a control command prints when there is no app to act on. */
export function noAppLine(io: CliIO): string {
  return `no app running (no config in ${io.cwd} names one; "naija-sup ls" lists every app)\n`;
}

/**
 * The live control connection of the app a command names (restart, reload, rollback, scale), or
 * the exit status after saying why there is none: no app named here, or it is not running.
 */
export async function connectToApp(io: CliIO, opts: ControlOptions, command: string): Promise<{ name: string; connection: ControlConnection } | number> {
  const target = await targetApp(io, opts, command);
  if (target.kind === 'none') {
    io.stdout(noAppLine(io));
    return NOT_RUNNING;
  }
  const location = target.location;
  const outcome = location.paths === null ? { kind: 'absent' as const } : await connectControl(location.paths.socket);
  if (outcome.kind !== 'live') {
    io.stdout(`${location.name}: not running (start it with "naija-sup start")\n`);
    return NOT_RUNNING;
  }
  return { name: location.name, connection: outcome.connection };
}
