/**
 * `naija-sup doctor [--config F] [--json] [--only ID…] [-p PORT] [--drain]`: runs the doctor checks
 * (src/doctor) and prints a checklist — ✔ ok, ⚠ warn, ✖ fail, – skip — with the details and the fix
 * under each problem, coloured on a terminal only (NO_COLOR turns it off, FORCE_COLOR on); or, with
 * --json, the results array. Exit status: 0 with no fail, 1 with any fail, 2 for usage or config
 * errors. Read-only: doctor prints fix commands, it never runs them. `--bundle FILE` also writes
 * a diagnostic archive (src/doctor/bundle.ts) and says so on stderr, so --json output stays JSON.
 * `--drain` also starts the app on a private port to measure its handoff drain (handoff-drain);
 * SIGINT/SIGTERM then stop the measurement, which stops what it started before doctor exits.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { resolve } from 'node:path';
import { displayPath } from '../../config/index.js';
import { doctorExitStatus, parseCheckIds, runDoctor, type CheckResult, type CheckStatus, type DoctorReport } from '../../doctor/index.js';
import { NaijaSupError } from '../../errors.js';
import type { CliIO } from '../context.js';
import { renderError, useColor } from '../render.js';

export interface DoctorCommandOptions {
  config?: string;
  json?: boolean;
  only?: string[];
  port?: number;
  bundle?: string;
  drain?: boolean;
}

/** The mark in front of each status. */
export const STATUS_MARKS: Readonly<Record<CheckStatus, string>> = { ok: '✔', warn: '⚠', fail: '✖', skip: '–' };

/** chalk's level for `io`: 1 when {@link useColor} says so, else 0. */
export function colorLevel(io: Pick<CliIO, 'env' | 'isTTY'>): 0 | 1 {
  return useColor(io) ? 1 : 0;
}

function paint(chalk: ChalkInstance, status: CheckStatus, text: string): string {
  switch (status) {
    case 'ok':
      return chalk.green(text);
    case 'warn':
      return chalk.yellow(text);
    case 'fail':
      return chalk.red(text);
    case 'skip':
      return chalk.gray(text);
  }
}

export interface RenderDoctorOptions {
  /** 0: plain text; 1: ANSI colours. */
  colorLevel: 0 | 1;
  /** The directory paths are shown relative to. */
  cwd: string;
}

/** The human checklist for a report. Details are shown for warnings and failures only. */
export function renderDoctorReport(report: DoctorReport, options: RenderDoctorOptions): string {
  const chalk = new Chalk({ level: options.colorLevel });
  const lines: string[] = [];
  const file = report.configFailed
    ? 'the config did not load'
    : report.configFile === null
      ? 'no config file'
      : displayPath(report.configFile, options.cwd);
  lines.push(chalk.bold(`naija-sup doctor${report.name === null ? '' : ` · ${report.name}`} (${file})`), '');
  const width = Math.max(...report.results.map((result) => result.id.length), 6);
  const indent = ' '.repeat(width + 4);
  for (const result of report.results) {
    const mark = paint(chalk, result.status, STATUS_MARKS[result.status]);
    const id = result.status === 'skip' ? chalk.gray(result.id.padEnd(width)) : result.id.padEnd(width);
    const summary = result.status === 'skip' ? chalk.gray(result.summary) : result.summary;
    lines.push(`${mark} ${id}  ${summary}`);
    if (result.status === 'warn' || result.status === 'fail') {
      for (const detail of result.details) lines.push(`${indent}${chalk.dim(detail)}`);
      if (result.fix !== null) lines.push(`${indent}${chalk.cyan('fix:')} ${result.fix}`);
    }
  }
  lines.push('', summaryLine(report.results, chalk));
  return lines.join('\n') + '\n';
}

function summaryLine(results: readonly CheckResult[], chalk: ChalkInstance): string {
  const count = (status: CheckStatus): number => results.filter((result) => result.status === status).length;
  const parts = [
    `${count('ok')} ok`,
    paint(chalk, count('warn') > 0 ? 'warn' : 'skip', `${count('warn')} warning${count('warn') === 1 ? '' : 's'}`),
    paint(chalk, count('fail') > 0 ? 'fail' : 'skip', `${count('fail')} failed`),
    `${count('skip')} skipped`,
  ];
  return parts.join(' · ');
}

export async function doctorCommand(io: CliIO, opts: DoctorCommandOptions): Promise<number> {
  let only;
  try {
    only = parseCheckIds(opts.only);
  } catch (error) {
    return renderError(io, error);
  }
  const report = await runWithSignals(io, opts.drain === true, (signal) =>
    runDoctor({ cwd: io.cwd, env: io.env, configPath: opts.config, port: opts.port, only, drain: opts.drain === true, signal }),
  );
  if (opts.json === true) io.stdout(JSON.stringify(report.results, null, 2) + '\n');
  else io.stdout(renderDoctorReport(report, { colorLevel: colorLevel(io), cwd: io.cwd }));
  if (opts.bundle !== undefined) {
    try {
      await writeBundleFile(io, opts, report);
    } catch (error) {
      return renderError(io, error);
    }
  }
  return doctorExitStatus(report);
}

/**
 * With --drain, doctor runs the app's processes: a Ctrl+C must stop them (they lead their own
 * process groups, so the terminal's SIGINT does not reach them) rather than end doctor at once.
 */
async function runWithSignals<T>(io: CliIO, handle: boolean, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const signals = io.signals ?? process;
  if (!handle) return run(undefined);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  signals.on('SIGINT', stop);
  signals.on('SIGTERM', stop);
  try {
    return await run(controller.signal);
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
  }
}

async function writeBundleFile(io: CliIO, opts: DoctorCommandOptions, report: DoctorReport): Promise<void> {
  const { collectBundle, writeBundle } = await import('../../doctor/bundle.js');
  const file = resolve(io.cwd, opts.bundle as string);
  const bundle = await collectBundle({ cwd: io.cwd, env: io.env, configPath: opts.config, port: opts.port, report });
  let bytes: number;
  try {
    bytes = writeBundle(file, bundle);
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new NaijaSupError('E_USAGE', `--bundle: cannot write ${displayPath(file, io.cwd)}: ${exists ? 'the file exists' : (error as Error).message}`, {
      fix: exists ? 'remove it or give another name (naija-sup never overwrites a file with a bundle)' : 'give a path in a folder you can write, e.g. --bundle /tmp/naija-sup-bundle.tar.gz',
    });
  }
  const names = bundle.entries.map((entry) => entry.name.slice(bundle.folder.length + 1)).join(', ');
  io.stderr(`bundle written: ${displayPath(file, io.cwd)} (${(bytes / 1024).toFixed(1)} KiB; ${names}); ${bundle.secrets} secret value(s) redacted — read it before you share it\n`);
}
