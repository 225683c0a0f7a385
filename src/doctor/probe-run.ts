/**
 * Runs one probe script in the app's own runtime (its node or python, in its cwd, with its
 * environment) and reads back the one JSON line the script prints.
 *
 * execa 9 is the tool here (research/failures-and-ports.md §3: "keep execa for short helper
 * commands in doctor"): `timeout` with SIGKILL, because a runtime that hangs while loading a native
 * module must never hang doctor, and there is nothing to shut down gracefully in a probe;
 * `reject: false`, because a crash of the runtime is a finding, not an exception.
 */

import { importModule } from '../import-module.js';

/** The marker in front of the probe's JSON line, so stray output (a NODE_OPTIONS preload…) is ignored. */
export const PROBE_MARKER = 'NAIJA_SUP_PROBE ';

/** How a probe run ended. */
export type ProbeRun<T> =
  | { kind: 'ok'; report: T; stderr: string; durationMs: number }
  /** The runtime did not finish within the budget and was killed. */
  | { kind: 'timeout'; timeoutMs: number; stderr: string; durationMs: number }
  /** The runtime could not be started at all (ENOENT, EACCES…). */
  | { kind: 'spawn-error'; code: string; message: string; durationMs: number }
  /** It ran but printed no report: it crashed, or it is not the runtime we thought. */
  | {
      kind: 'no-report';
      exitCode: number | null;
      signal: string | null;
      stdout: string;
      stderr: string;
      durationMs: number;
    }
  /** doctor itself stopped waiting (its check timed out or doctor finished). */
  | { kind: 'canceled'; durationMs: number };

export interface RunProbeOptions {
  /** The runtime's executable. */
  file: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment (nothing else is inherited). */
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Runs a probe; never rejects. */
export async function runProbe<T>(options: RunProbeOptions): Promise<ProbeRun<T>> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  // Loaded on first use: execa's module graph costs ~0.1–0.2 s, which `doctor --only port` never needs.
  const { execa } = await importModule<typeof import('execa')>('execa');
  const result = await execa(options.file, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    stdin: 'ignore',
    timeout: options.timeoutMs,
    killSignal: 'SIGKILL',
    reject: false,
    // The report is a few KB; a runaway script must not fill doctor's memory.
    maxBuffer: 1024 * 1024,
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
  });
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  if (result.timedOut) return { kind: 'timeout', timeoutMs: options.timeoutMs, stderr, durationMs: elapsed() };
  if (result.isCanceled) return { kind: 'canceled', durationMs: elapsed() };
  const spawnCode = spawnErrorCode(result);
  if (spawnCode !== undefined) {
    return { kind: 'spawn-error', code: spawnCode, message: result.originalMessage ?? result.message ?? spawnCode, durationMs: elapsed() };
  }
  const line = stdout.split(/\r?\n/).find((text) => text.startsWith(PROBE_MARKER));
  if (line !== undefined) {
    try {
      return { kind: 'ok', report: JSON.parse(line.slice(PROBE_MARKER.length)) as T, stderr, durationMs: elapsed() };
    } catch {
      // A truncated line: fall through to no-report, with the output for the details.
    }
  }
  return {
    kind: 'no-report',
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    stdout,
    stderr,
    durationMs: elapsed(),
  };
}

/** The spawn error's code (ENOENT…) when the executable could not be started; undefined otherwise. */
function spawnErrorCode(result: { failed: boolean; exitCode?: number | undefined; signal?: string | undefined }): string | undefined {
  if (!result.failed || result.exitCode !== undefined || result.signal !== undefined) return undefined;
  const code = (result as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'ESPAWN';
}

/** The last `count` non-empty lines of some output. */
export function tailLines(text: string, count = 8): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-count);
}
