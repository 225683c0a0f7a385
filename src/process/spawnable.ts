/**
 * Can this command be started as configured? Asked before a reload stops or replaces anything
 * (issue 14): a config that validates but cannot be exec'd — a command that vanished, a working
 * directory that is gone, a value the kernel refuses — must be a failed reload with the old
 * instance still serving, not a supervisor left without a server.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** execve(2) refuses any single argument or `NAME=value` string longer than this (MAX_ARG_STRLEN). */
export const MAX_ARG_STRLEN = 128 * 1024;

export interface SpawnInput {
  command: readonly string[];
  cwd: string;
  /** The environment the process would get, PATH included. */
  env: Record<string, string | undefined>;
}

/** Why `input` cannot be spawned, or null when nothing stands in the way that can be seen before trying. */
export function spawnProblem(input: SpawnInput): string | null {
  if (!isDirectory(input.cwd)) return `working directory does not exist: ${input.cwd}`;
  const file = input.command[0] ?? '';
  if (file === '') return 'no command to run';
  if (findExecutable(file, input.cwd, input.env['PATH'] ?? '') === null) {
    return file.includes('/') ? `${file} does not exist or is not executable` : `command not found on PATH: ${file}`;
  }
  for (const arg of input.command) {
    if (arg.includes('\0')) return 'an argument of the command holds a NUL byte';
    if (Buffer.byteLength(arg) >= MAX_ARG_STRLEN) return `an argument of the command is ${kib(Buffer.byteLength(arg))}; the kernel refuses one over 128 KiB (E2BIG)`;
  }
  for (const [name, value] of Object.entries(input.env)) {
    if (value === undefined) continue;
    if (value.includes('\0')) return `the environment variable ${name} holds a NUL byte`;
    const bytes = Buffer.byteLength(name) + 1 + Buffer.byteLength(value);
    if (bytes >= MAX_ARG_STRLEN) return `the environment variable ${name} is ${kib(bytes)}; the kernel refuses one over 128 KiB (E2BIG)`;
  }
  return null;
}

/** The path `file` would be exec'd from (a path relative to `cwd`, or a search of PATH), or null. */
export function findExecutable(file: string, cwd: string, path: string): string | null {
  if (file.includes('/')) {
    const full = isAbsolute(file) ? file : resolve(cwd, file);
    return isExecutableFile(full) ? full : null;
  }
  for (const dir of path.split(delimiter)) {
    // An empty PATH entry means the current directory, as execvp(3) reads it.
    const full = join(dir === '' ? cwd : resolve(cwd, dir), file);
    if (isExecutableFile(full)) return full;
  }
  return null;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function kib(bytes: number): string {
  return `${Math.round(bytes / 1024)} KiB`;
}
