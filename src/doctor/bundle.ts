/**
 * `naija-sup doctor --bundle FILE`: one .tar.gz to attach to a bug report or an incident, holding
 * what a maintainer asks for first — and nothing secret:
 *
 *   doctor.json    the checks, as `doctor --json` prints them
 *   status.json    the supervisor's status snapshot (`status --json`), or what a supervisor that
 *                  gave up left; read-only: unlike `status`, it removes no stale file
 *   config.json    the resolved configuration with its sources, as `config --json` prints it
 *                  (secret-looking env values and URL passwords redacted)
 *   logs.txt       the last {@link BUNDLE_LOG_LINES} lines of the app's log (and of a detached
 *                  supervisor's own output, when there is one)
 *   versions.json  naija-sup, Node, the OS and architecture
 *   run-dir.txt    the run directory's listing (names, modes, sizes, times; no contents)
 *
 * Secrets: besides the redaction of config.json, every value the redaction rule hides (the value
 * of each secret-looking variable of naija-sup's environment and of the app's `env`, each URL
 * password) is replaced by "[redacted]" wherever it occurs in any file — a server that logs its
 * DATABASE_URL, a config error that quotes a value. The rule is src/config/redact.ts's, used
 * through its exports, so extending it extends the bundle's.
 */
import { lstatSync, readdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { isSecretName, loadConfig, redactConfig, REDACTED, type LoadedConfig } from '../config/index.js';
import { fetchStatus } from '../control/client.js';
import { existingLogFiles, readLogTail, tailFile } from '../control/log-files.js';
import { controlPaths } from '../control/paths.js';
import { readLastRun } from '../control/record.js';
import { runDirPath } from '../control/run-dir.js';
import type { DoctorReport } from './index.js';
import { tarGz, type TarEntry } from './tar.js';
import { packageVersion } from '../package-root.js';
import { isoTime } from '../iso-time.js';

/** How many log lines the bundle keeps. */
export const BUNDLE_LOG_LINES = 200;
/** Values shorter than this are not searched for in free text: "1" or "dev" would mangle everything. */
export const MIN_SCRUBBED_LENGTH = 4;

export interface BundleOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  configPath?: string | undefined;
  port?: number | undefined;
  /** The report doctor just printed. */
  report: DoctorReport;
  logLines?: number | undefined;
  now?: Date | undefined;
}

export interface Bundle {
  /** The folder every file sits in inside the archive. */
  folder: string;
  entries: TarEntry[];
  /** How many distinct secret values were searched for and replaced. */
  secrets: number;
}

/** Gathers the bundle's files (read-only: nothing is started, stopped, created or removed). */
export async function collectBundle(options: BundleOptions): Promise<Bundle> {
  const now = options.now ?? new Date();
  const loaded = await loadConfig({
    cwd: options.cwd,
    ...(options.configPath === undefined ? {} : { configPath: options.configPath }),
    env: options.env,
    flags: options.port === undefined ? {} : { port: options.port },
    requireCommand: false,
  }).catch((error: unknown) => error as Error);
  const config = loaded instanceof Error ? null : loaded;
  const name = config?.config.name ?? options.report.name;
  const runDir = runDirPath({ ...options.env });
  const files: Record<string, string> = {
    'doctor.json': json(options.report.results),
    'status.json': json(await statusOf(runDir, name)),
    'config.json': json(config === null ? { error: (loaded as Error).message } : { config: redactConfig(config.config), sources: config.sources, file: config.filepath }),
    'logs.txt': logsOf(runDir, name, options.logLines ?? BUNDLE_LOG_LINES),
    'versions.json': json(versions()),
    'run-dir.txt': listing(runDir),
  };
  const secrets = secretValues(options.env, config);
  const stamp = isoTime(now.getTime()).replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const folder = `naija-sup-bundle-${(name ?? 'unknown').slice(0, 40)}-${stamp}`;
  const mtime = Math.floor(now.getTime() / 1000);
  const entries = Object.entries(files).map(([file, text]) => ({ name: `${folder}/${file}`, content: scrub(text, secrets), mtime }));
  return { folder, entries, secrets: secrets.length };
}

/** Writes the archive; refuses to replace an existing file (a typo must not overwrite a config). */
export function writeBundle(file: string, bundle: Bundle): number {
  const data = tarGz(bundle.entries);
  writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
  return data.length;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function statusOf(runDir: string, name: string | null): Promise<unknown> {
  if (name === null) return { name: null, state: 'unknown', reason: 'the config did not load, so the app is not known' };
  const paths = controlPaths(runDir, name);
  const live = await fetchStatus(paths.socket, 2000).catch(() => null);
  if (live !== null) return live;
  return { name, state: 'not-running', gaveUp: readLastRun(runDir, name) };
}

function logsOf(runDir: string, name: string | null, lines: number): string {
  if (name === null) return '(no app name: the config did not load)\n';
  const parts: string[] = [];
  const log = existingLogFiles(runDir, name).length > 0 ? readLogTail(runDir, name, lines).lines : [];
  parts.push(`# ${join(runDir, `${name}.log`)}: last ${log.length} lines`, ...log);
  const daemon = tailFile(controlPaths(runDir, name).daemonLog, lines);
  if (daemon !== null) parts.push('', `# ${controlPaths(runDir, name).daemonLog}: last ${daemon.lines.length} lines`, ...daemon.lines);
  return `${parts.join('\n')}\n`;
}

function versions(): Record<string, unknown> {
  return {
    naijaSup: packageVersion(),
    node: process.version,
    nodeModuleVersion: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    osRelease: release(),
  };
}

function listing(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    return `${dir}: ${(error as Error).message}\n`;
  }
  const rows = names.map((entry) => {
    try {
      const st = lstatSync(join(dir, entry));
      const type = st.isDirectory() ? 'd' : st.isSocket() ? 's' : st.isSymbolicLink() ? 'l' : '-';
      return `${type}${(st.mode & 0o777).toString(8).padStart(4, '0')} ${String(st.size).padStart(10)} ${isoTime(st.mtime.getTime())} ${entry}`;
    } catch (error) {
      return `? ${entry}: ${(error as Error).message}`;
    }
  });
  const own = lstatSync(dir);
  return `${dir} (mode ${(own.mode & 0o777).toString(8).padStart(4, '0')}, uid ${own.uid})\n${rows.join('\n')}\n`;
}

/**
 * Every value the redaction rule hides: secret-looking variables of naija-sup's own environment
 * and of the app's `env`, and whatever redactConfig replaces anywhere in the config (the part of
 * the string it replaced, e.g. a URL's password). Longest first, so no secret is half-replaced.
 */
export function secretValues(env: Readonly<Record<string, string | undefined>>, loaded: LoadedConfig | null): string[] {
  const found = new Set<string>();
  for (const [key, value] of Object.entries(env)) if (value !== undefined && isSecretName(key)) found.add(value);
  if (loaded !== null) collectRedacted(loaded.config, redactConfig(loaded.config), found);
  return [...found].filter((value) => value.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length);
}

function collectRedacted(original: unknown, redacted: unknown, into: Set<string>): void {
  if (typeof original === 'string' && typeof redacted === 'string') {
    if (original !== redacted) into.add(replacedPart(original, redacted));
    return;
  }
  if (original === null || redacted === null || typeof original !== 'object' || typeof redacted !== 'object') return;
  for (const key of Object.keys(original)) {
    collectRedacted((original as Record<string, unknown>)[key], (redacted as Record<string, unknown>)[key], into);
  }
}

/** The part of `original` that redaction replaced: what lies between their common prefix and suffix. */
function replacedPart(original: string, redacted: string): string {
  let start = 0;
  while (start < original.length && start < redacted.length && original[start] === redacted[start]) start += 1;
  let end = 0;
  while (end < original.length - start && end < redacted.length - start && original[original.length - 1 - end] === redacted[redacted.length - 1 - end]) end += 1;
  return original.slice(start, original.length - end);
}

/** `text` with every occurrence of each secret (also JSON-escaped, as it appears in a .json file) replaced. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    out = out.replaceAll(secret, REDACTED);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) out = out.replaceAll(escaped, REDACTED);
  }
  return out;
}
