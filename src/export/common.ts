/**
 * What every deployment export shares: the input (a resolved config, never its secret values), the
 * runtime the command runs on, the env names a platform must provide, and the durations each
 * target wants in its own unit. Pure: no file is read, nothing is printed.
 */
import { isSecretName } from '../config/redact.js';
import type { ResolvedConfig, RestartPolicy } from '../config/types.js';
import { supervisorEnv, supervisorNodeFlags } from '../process/resident-flags.js';

export interface ExportInput {
  config: ResolvedConfig;
  /** The config file, relative to the app's folder and in POSIX form ("naija-sup.config.json"). */
  configFile: string;
  /** naija-sup's version: the tarball the images install (`npm pack` → naija-sup-<version>.tgz). */
  version: string;
  /** systemd: the app's folder on the server (default: the config's cwd). */
  workdir?: string | undefined;
  /** systemd: the user the service runs as (default: the app's name). */
  user?: string | undefined;
}

export type Runtime = 'node' | 'python';

const NODE_WORDS = /^(node|nodejs|npm|npx|yarn|pnpm|tsx|ts-node|bun|nest|next|fastify)$/;
const PYTHON_WORDS = /^(python[0-9.]*|uvicorn|gunicorn|hypercorn|daphne|flask|fastapi|pip|poetry|uv|waitress-serve)$/;

/**
 * The runtime of the server, from its command: the first word that names a Node or Python tool,
 * looking inside `sh -c '…'` too ("sh -c 'exec uvicorn app:app'" is Python). A script path
 * counts by its extension. Unknown commands are taken as Node (naija-sup itself needs Node).
 */
export function detectRuntime(command: readonly string[]): Runtime {
  const words = command.flatMap((arg) => arg.split(/[\s;&|()'"]+/)).filter((w) => w !== '');
  for (const word of words) {
    const base = word.slice(word.lastIndexOf('/') + 1);
    if (NODE_WORDS.test(base) || /\.(m|c)?[jt]s$/.test(base)) return 'node';
    if (PYTHON_WORDS.test(base) || /\.py$/.test(base) || /:app$/.test(base)) return 'python';
  }
  return 'node';
}

/** The names of the env variables the config sets, secret-looking ones apart (values never leave). */
export function envNames(config: ResolvedConfig): { plain: string[]; secret: string[] } {
  const names = Object.keys(config.env).sort();
  return { plain: names.filter((n) => !isSecretName(n)), secret: names.filter((n) => isSecretName(n)) };
}

/** Whole seconds, rounded up, at least `min`. */
export function seconds(ms: number, min = 1): number {
  return Math.max(min, Math.ceil(ms / 1000));
}

/** A duration as Docker and compose write it ("30s", "1m30s"), rounded up to whole seconds. */
export function dockerDuration(ms: number): string {
  const s = seconds(ms);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${s % 60 === 0 ? '' : `${s % 60}s`}` : `${s}s`;
}

/**
 * How long a platform should wait for a stop: naija-sup's own `shutdown.timeout` for the server, plus
 * a margin for naija-sup to see the group gone, SIGKILL it if needed and close its sockets.
 */
export const STOP_MARGIN_MS = 5000;

export function stopBudgetMs(config: ResolvedConfig): number {
  return config.shutdown.timeout + STOP_MARGIN_MS;
}

/**
 * The longest a start can take before naija-sup is ready or gives up: every allowed attempt runs
 * until its startup timeout, with the backoff waits between them.
 */
export function startBudgetMs(config: ResolvedConfig): number {
  const r = config.restart;
  let total = (r.startRetries + 1) * config.health.startupTimeout;
  let delay = r.initialDelay;
  for (let i = 0; i < r.startRetries; i += 1) {
    total += Math.min(delay, r.maxDelay);
    delay *= r.factor;
  }
  return total;
}

/** How often a container platform asks `naija-sup probe`: the liveness interval, else 10 s. */
export function healthcheckInterval(config: ResolvedConfig): number {
  return Math.max(config.health.liveness?.interval ?? 10_000, 1000);
}

/** The command a container health check runs: no shell, no config loading (the fast path). */
export function probeCommand(config: ResolvedConfig): string[] {
  return ['naija-sup', 'probe', '--name', config.name];
}

/**
 * Where the image's naija-sup is (the exported Dockerfile installs it globally, for Node and Python
 * images alike) and where an app's own dependency is, relative to its folder (systemd, Railway).
 */
export const IMAGE_BIN = '/usr/local/lib/node_modules/naija-sup/bin/naija-sup.js';
export const APP_BIN = 'node_modules/naija-sup/bin/naija-sup.js';

/**
 * The supervisor's command inside a container or unit, which runs it for days: `node`, with the
 * resident supervisor's flags (src/process/resident-flags.ts, as `start -d` uses them), running
 * naija-sup's bin at `bin`. A node invocation rather than the `naija-sup` command on PATH,
 * because that is a launcher that runs node with no flags (bin/naija-sup.js), and the other ways in
 * are worse: NODE_OPTIONS would reach the server (a Node server inherits it, and --no-opt is not
 * even allowed there), and a shell resolving `$(command -v naija-sup)` adds quoting and a failure
 * that only shows at start. The platform's NODE_OPTIONS is unknown here, so every flag is given
 * (on node's command line they win over NODE_OPTIONS anyway).
 */
export function startCommand(input: ExportInput, bin: string): string[] {
  return ['node', ...supervisorNodeFlags({}, input.config.mode), bin, 'start', '-c', input.configFile];
}

/**
 * The environment the supervisor starts with for its glibc malloc settings (read by glibc when the
 * process starts, so they cannot be set later), with NAIJA_SUP_ADDED_ENV naming them: `start`
 * takes them out of the server's environment again (instanceEnv), unless the platform gave a
 * value of its own. Ordered as written, for stable files.
 */
export function startEnv(): Array<[string, string]> {
  return Object.entries(supervisorEnv({})).map(([name, value]) => [name, value ?? '']);
}

/** The same policy in the words of Docker/compose and systemd. */
export function restartWords(policy: RestartPolicy): { docker: string; systemd: string } {
  if (policy === 'always') return { docker: 'always', systemd: 'always' };
  if (policy === 'never') return { docker: 'no', systemd: 'no' };
  return { docker: 'on-failure', systemd: 'on-failure' };
}

/** The first lines of every generated file: what made it and how to make it again. */
export function generatedBy(target: string, input: ExportInput, extraArgs = '', comment = '#'): string[] {
  return [
    `${comment} Generated by \`naija-sup export ${target} -c ${input.configFile}${extraArgs}\` (naija-sup ${input.version}) from the app "${input.config.name}".`,
    `${comment} Regenerate it after changing the config instead of editing it by hand.`,
  ];
}

/** JSON string quoting, which is also valid in Dockerfile exec form and YAML flow style. */
export function q(s: string): string {
  return JSON.stringify(s);
}
