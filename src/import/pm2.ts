/**
 * `naija-sup import pm2`: one app of a PM2 ecosystem file → a naija-sup config object, and the list of
 * what could not be carried over, each with why and what to do instead. Pure: the CLI loads the
 * file (src/cli/commands/import.ts) and writes the result.
 *
 * PM2's keys, as its ecosystem file documents them: name, script, args, interpreter,
 * interpreter_args / node_args, cwd, env (env_<name> are applied with `--env <name>`), instances,
 * exec_mode, watch, ignore_watch, max_memory_restart, cron_restart, autorestart, max_restarts,
 * min_uptime, restart_delay, exp_backoff_restart_delay, kill_timeout, listen_timeout, wait_ready,
 * shutdown_with_message, stop_exit_codes, and the log keys. Durations are milliseconds (numbers) or
 * strings such as "10s", "1m", "2h".
 */
import { formatDuration, tryParseDuration } from '../config/duration.js';
import { isSecretName } from '../config/redact.js';
import { splitCommand } from '../config/shell-split.js';

export interface Pm2App {
  [key: string]: unknown;
}

export interface Pm2Import {
  /** The naija-sup config, ready for JSON.stringify. */
  config: Record<string, unknown>;
  /** PM2 keys that were not carried over: `key: why, and what to do instead`. */
  notCarried: string[];
  /** Keys that were carried over but mean something slightly different in naija-sup. */
  notes: string[];
}

const WHY: Record<string, string> = {
  instances: 'naija-sup supervises one server process; run several copies behind a load balancer (replicas in Kubernetes, several units) or use Node\'s cluster module in the app',
  exec_mode: 'cluster mode shares one port between PM2-forked workers; naija-sup runs one process (see instances)',
  watch: 'naija-sup does not restart on file changes (that is for development: node --watch, nodemon); `naija-sup reload` after a deploy',
  ignore_watch: 'goes with watch, which is not carried over',
  watch_delay: 'goes with watch, which is not carried over',
  cron_restart: 'no scheduled restarts: run `naija-sup restart --name NAME` from a systemd timer, cron or a Kubernetes CronJob',
  max_memory_restart: 'no restart on a memory threshold: set a memory limit on the container or unit (MemoryMax=, resources.limits.memory)',
  shutdown_with_message: 'naija-sup stops with a signal (shutdown.signal), never an IPC message',
  stop_exit_codes: 'restart.policy decides from the exit: "on-failure" does not restart an exit with code 0',
  out_file: 'naija-sup writes the server\'s output to its run dir (naija-sup logs), rotated by logs.maxSize and logs.maxFiles',
  error_file: 'see out_file',
  log_file: 'see out_file',
  log_date_format: 'naija-sup\'s JSON log lines (--log-format json) carry a timestamp',
  merge_logs: 'one process: nothing to merge',
  combine_logs: 'one process: nothing to merge',
  time: 'see log_date_format',
  increment_var: 'goes with instances, which is not carried over',
  instance_var: 'goes with instances, which is not carried over',
  vizion: 'PM2\'s version metadata; nothing to carry',
  source_map_support: 'pass --enable-source-maps to node in the command instead',
};

/** Keys this importer maps (see {@link importPm2App}). */
const MAPPED = new Set(['name', 'script', 'args', 'interpreter', 'interpreter_args', 'node_args', 'cwd', 'env', 'autorestart', 'max_restarts',
  'min_uptime', 'kill_timeout', 'listen_timeout', 'restart_delay', 'exp_backoff_restart_delay', 'wait_ready']);

function words(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value.trim() !== '') return splitCommand(value);
  return [];
}

/** A PM2 duration (ms number, or "10s"/"1m"/"2h") as naija-sup writes it; null when it is not one. */
export function pm2Duration(value: unknown): string | null {
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return formatDuration(Number(value));
  const ms = tryParseDuration(typeof value === 'number' ? Math.round(value) : value);
  return ms === undefined ? null : formatDuration(ms);
}

/** script + args + interpreter as one argv, the way PM2 would run it. */
export function pm2Command(app: Pm2App): string[] {
  const script = typeof app['script'] === 'string' ? app['script'] : '';
  const args = words(app['args']);
  const interpreterArgs = [...words(app['interpreter_args']), ...words(app['node_args'])];
  const interpreter = typeof app['interpreter'] === 'string' ? app['interpreter'] : null;
  if (interpreter === 'none') return [...words(script), ...args];
  if (interpreter !== null) return [interpreter, ...interpreterArgs, script, ...args];
  if (/\.(m|c)?js$/.test(script)) return ['node', ...interpreterArgs, script, ...args];
  if (/\.ts$/.test(script)) return ['npx', 'tsx', ...interpreterArgs, script, ...args];
  if (/\.py$/.test(script)) return ['python3', ...interpreterArgs, script, ...args];
  // A binary or a command on PATH ("npm" with args "start", "uvicorn"…).
  return [...words(script), ...args];
}

function setDuration(target: Record<string, unknown>, key: string, pm2Key: string, app: Pm2App, notCarried: string[]): boolean {
  if (app[pm2Key] === undefined) return false;
  const d = pm2Duration(app[pm2Key]);
  if (d === null) {
    notCarried.push(`${pm2Key}: ${JSON.stringify(app[pm2Key])} is not a duration (milliseconds, or "10s", "1m")`);
    return false;
  }
  target[key] = d;
  return true;
}

function restartSection(app: Pm2App, notCarried: string[], notes: string[]): Record<string, unknown> {
  const restart: Record<string, unknown> = {};
  if (app['autorestart'] === false) restart['policy'] = 'never';
  if (typeof app['max_restarts'] === 'number') {
    restart['maxRestarts'] = app['max_restarts'];
    notes.push('max_restarts → restart.maxRestarts: PM2 counts restarts of a process that ran less than min_uptime; naija-sup counts restarts within restart.window (1 min), and restart.startRetries limits a server that never got ready');
  }
  setDuration(restart, 'minUptime', 'min_uptime', app, notCarried);
  if (app['exp_backoff_restart_delay'] !== undefined) {
    // PM2 multiplies the delay by 1.5 after each crash, up to 15 s.
    if (setDuration(restart, 'initialDelay', 'exp_backoff_restart_delay', app, notCarried)) Object.assign(restart, { factor: 1.5, maxDelay: '15s' });
    if (app['restart_delay'] !== undefined) notCarried.push('restart_delay: exp_backoff_restart_delay takes precedence, as in PM2');
  } else if (setDuration(restart, 'initialDelay', 'restart_delay', app, notCarried)) {
    // A fixed delay, as in PM2.
    restart['factor'] = 1;
  }
  return restart;
}

function healthSection(app: Pm2App, notCarried: string[], notes: string[]): Record<string, unknown> {
  const health: Record<string, unknown> = {};
  setDuration(health, 'startupTimeout', 'listen_timeout', app, notCarried);
  if (app['wait_ready'] === true) {
    notes.push('wait_ready: PM2 waits for process.send(\'ready\'); naija-sup waits for a probe instead: set health.path to a route that answers 200 once the server can serve (until then, any HTTP answer on / counts)');
  }
  return health;
}

/** Converts one PM2 app; see {@link Pm2Import}. */
export function importPm2App(app: Pm2App): Pm2Import {
  const notCarried: string[] = [];
  const notes: string[] = [];
  const config: Record<string, unknown> = { $schema: './node_modules/naija-sup/naija-sup.schema.json' };
  if (typeof app['name'] === 'string') config['name'] = app['name'];
  config['command'] = pm2Command(app);
  if (typeof app['cwd'] === 'string') config['cwd'] = app['cwd'];
  const env: Record<string, string> = {};
  if (app['env'] !== null && typeof app['env'] === 'object') {
    for (const [k, v] of Object.entries(app['env'] as Record<string, unknown>)) {
      // A config file is committed and printed: secrets stay in the deployment's environment.
      if (isSecretName(k)) notCarried.push(`env.${k}: looks like a secret, so it is not written to the config; set it in the environment naija-sup runs in (the server inherits it)`);
      else env[k] = String(v);
    }
  }
  // naija-sup gives the server PORT itself, from `port`.
  if (env['PORT'] !== undefined && /^\d+$/.test(env['PORT'])) {
    config['port'] = Number(env['PORT']);
    delete env['PORT'];
  }
  if (Object.keys(env).length > 0) config['env'] = env;
  const health = healthSection(app, notCarried, notes);
  if (Object.keys(health).length > 0) config['health'] = health;
  const restart = restartSection(app, notCarried, notes);
  if (Object.keys(restart).length > 0) config['restart'] = restart;
  const shutdown: Record<string, unknown> = {};
  if (setDuration(shutdown, 'timeout', 'kill_timeout', app, notCarried)) config['shutdown'] = shutdown;
  for (const key of Object.keys(app)) {
    if (MAPPED.has(key)) continue;
    if (key === 'instances' && (app[key] === 1 || app[key] === '1')) continue;
    if (key === 'exec_mode' && /^fork(_mode)?$/.test(String(app[key]))) continue;
    if ((key === 'watch' || key === 'autorestart') && app[key] === false) continue;
    if (key.startsWith('env_')) {
      notCarried.push(`${key}: PM2 applies it with --env ${key.slice(4)}; give those values in the deployment's environment, or copy them into env`);
      continue;
    }
    notCarried.push(`${key}: ${WHY[key] ?? 'no naija-sup equivalent'}`);
  }
  return { config, notCarried, notes };
}
