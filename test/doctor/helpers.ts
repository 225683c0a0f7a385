/**
 * Staging for doctor tests: temp app folders with a real bcrypt (copied from the workspace's
 * node_modules, so each stage can break its own copy), instance records, and a one-call runner.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceRecord } from '../../src/control/record.js';
import { runDoctor, type CheckId, type CheckResult, type DoctorOptions } from '../../src/doctor/index.js';
import { readBootId, readProcStat } from '../../src/process/identity.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WORKSPACE_MODULES = join(ROOT, 'node_modules');
export const DOCTOR_FIXTURES = join(ROOT, 'test', 'fixtures', 'doctor');
export const PYTHON_STUBS = join(DOCTOR_FIXTURES, 'python');
/** Debian's interpreter (python3 on PATH here is pyenv's). */
export const DEBIAN_PYTHON = '/usr/bin/python3';
/** A PATH on which python3 is Debian's. */
export const DEBIAN_PATH = '/usr/local/bin:/usr/bin:/bin';

const temps: string[] = [];

/** A temp folder removed by {@link removeTemps}. */
export function tempDir(prefix = 'naija-sup-doctor-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

export function removeTemps(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** The prebuilt bcrypt binaries bcrypt 6 ships (node_modules/bcrypt/prebuilds/<dir>/<file>). */
export function prebuild(dirAndFile: string): string {
  return join(WORKSPACE_MODULES, 'bcrypt', 'prebuilds', dirAndFile);
}

/** The binary node-gyp-build loads on this machine (linux x64 glibc). */
export const LINUX_X64_BINDING = join('node_modules', 'bcrypt', 'prebuilds', 'linux-x64', 'bcrypt.glibc.node');

export interface NodeAppOptions {
  /** Install bcrypt (default true). */
  bcrypt?: boolean;
  /** Also install bcryptjs (symlinked). */
  bcryptjs?: boolean;
  /** package.json dependencies (default: bcrypt). */
  dependencies?: Record<string, string>;
  /** Change the copied bcrypt before the test: replace or delete files. */
  stage?: (bcryptDir: string) => void;
  /** engines.node of the app. */
  engines?: string;
  /** The config's env. */
  env?: Record<string, string>;
  /** The config's command (default: this node running server.js). */
  command?: string[];
}

/**
 * A Node app in a temp folder: package.json, naija-sup.config.json, and node_modules with a copy
 * of bcrypt 6 (its runtime needs node-gyp-build only; node-addon-api is build-time headers), plus
 * bcryptjs when asked.
 */
export function makeNodeApp(options: NodeAppOptions = {}): string {
  const app = tempDir('naija-sup-doctor-app-');
  const modules = join(app, 'node_modules');
  mkdirSync(modules);
  if (options.bcrypt !== false) {
    const target = join(modules, 'bcrypt');
    // The package minus its sources and tests: package.json, bcrypt.js, promises.js, prebuilds/.
    cpSync(join(WORKSPACE_MODULES, 'bcrypt'), target, {
      recursive: true,
      filter: (source) => !/[/\\]bcrypt[/\\](src|test|examples)([/\\]|$)/.test(source),
    });
    symlinkSync(join(WORKSPACE_MODULES, 'node-gyp-build'), join(modules, 'node-gyp-build'));
    options.stage?.(target);
  }
  if (options.bcryptjs === true) symlinkSync(join(WORKSPACE_MODULES, 'bcryptjs'), join(modules, 'bcryptjs'));
  writeJson(join(app, 'package.json'), {
    name: 'doctor-fixture-app',
    version: '1.0.0',
    private: true,
    ...(options.engines === undefined ? {} : { engines: { node: options.engines } }),
    dependencies: options.dependencies ?? { bcrypt: '^6.0.0', ...(options.bcryptjs === true ? { bcryptjs: '^3.0.3' } : {}) },
  });
  writeFileSync(join(app, 'server.js'), "require('bcrypt');\n");
  writeJson(join(app, 'naija-sup.config.json'), {
    name: 'doctor-fixture-app',
    command: options.command ?? [process.execPath, 'server.js'],
    port: 8000,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  return app;
}

/** Replaces this machine's bcrypt binary in a staged copy with another file. */
export function replaceBinding(bcryptDir: string, content: Buffer | string): void {
  writeFileSync(join(bcryptDir, 'prebuilds', 'linux-x64', 'bcrypt.glibc.node'), content);
}

/** A python app folder: requirements.txt and, optionally, a config with a command. */
export function makePythonApp(requirements: string, config: Record<string, unknown> = {}): string {
  const app = tempDir('naija-sup-doctor-py-');
  writeFileSync(join(app, 'requirements.txt'), requirements);
  writeFileSync(join(app, 'main.py'), 'from passlib.context import CryptContext\n');
  writeJson(join(app, 'naija-sup.config.json'), { name: 'doctor-py-app', port: 8000, ...config });
  return app;
}

/** An executable shell script. */
export function writeScript(path: string, body: string): void {
  writeFileSync(path, body);
  chmodSync(path, 0o755);
}

/** Runs doctor for some checks in `cwd` (whose naija-sup.config.json is found by search). */
export async function doctor(
  cwd: string,
  only: CheckId[],
  env: Record<string, string | undefined> = {},
  extra: Partial<DoctorOptions> = {},
): Promise<CheckResult[]> {
  const report = await runDoctor({
    cwd,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    only,
    ...extra,
  });
  return report.results.filter((result) => only.includes(result.id));
}

/** The one result of a one-check doctor run. */
export async function doctorOne(
  cwd: string,
  id: CheckId,
  env: Record<string, string | undefined> = {},
  extra: Partial<DoctorOptions> = {},
): Promise<CheckResult> {
  const [result] = await doctor(cwd, [id], env, extra);
  if (result === undefined) throw new Error(`no ${id} result`);
  return result;
}

/** A pid that existed a moment ago and is gone now (a child that ran and was reaped). */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  if (child.pid === undefined) throw new Error('spawnSync gave no pid');
  return child.pid;
}

/** An instance record for `pid` (its real identity), supervised by `supervisorPid`. */
export function recordFor(
  name: string,
  pid: number,
  port: number,
  supervisor: { pid: number; startTime: string },
  host = '127.0.0.1',
): InstanceRecord {
  const stat = readProcStat(pid);
  return {
    version: 1,
    name,
    pid,
    pgid: stat?.pgid ?? pid,
    startTime: stat?.startTime ?? '1',
    bootId: readBootId() ?? '',
    cmdline: ['node', 'server.js'],
    port,
    host,
    supervisorPid: supervisor.pid,
    supervisorStartTime: supervisor.startTime,
    startedAt: Date.now(),
    cwd: '/tmp',
  };
}

/** This test process as a live "supervisor". */
export function thisProcessAsSupervisor(): { pid: number; startTime: string } {
  return { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? '' };
}

/** A supervisor that is gone: a pid that exited. */
export function goneSupervisor(): { pid: number; startTime: string } {
  return { pid: deadPid(), startTime: '1' };
}

/** A port that was free on 127.0.0.1 a moment ago, and not one this process was given lately. */
export { freePort } from '../helpers/supervise.js';
