/**
 * Finding the app's own runtime: the node or python that will run the server, not the one that
 * runs naija-sup. A binding built for another node, or a bcrypt installed into another venv, is
 * exactly what doctor looks for, so it must probe with the same executable `start` would spawn.
 *
 * PATH lookups use the app's PATH (passed in), never naija-sup's implicitly.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { readFileHead } from './binary-header.js';

/** `node`, `nodejs`, `node20`, `node.exe`… */
export function isNodeBinaryName(file: string): boolean {
  return /^node(js)?(\d+(\.\d+)*)?(\.exe)?$/i.test(basename(file));
}

/** `python`, `python3`, `python3.11`, `python.exe`… */
export function isPythonBinaryName(file: string): boolean {
  return /^python(\d+(\.\d+)*)?(\.exe)?$/i.test(basename(file));
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

/** Looks `name` up on `pathVariable` (a PATH value); the first executable file, or null. */
export function which(name: string, pathVariable: string | undefined): string | null {
  if (name.includes('/')) return isExecutableFile(name) ? name : null;
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/**
 * Where a command's first token points: an absolute path as is, a relative path with a slash from
 * `cwd`, a bare name from PATH. Null when it does not exist.
 */
export function resolveCommandFile(token: string, cwd: string, pathVariable: string | undefined): string | null {
  if (isAbsolute(token)) return isExecutableFile(token) || existsAsFile(token) ? token : null;
  if (token.includes('/')) {
    const path = resolve(cwd, token);
    return existsAsFile(path) ? path : null;
  }
  return which(token, pathVariable);
}

function existsAsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The interpreter named by a script's `#!` line: `#!/usr/bin/python3` → ['/usr/bin/python3'],
 * `#!/usr/bin/env python3` → ['python3'] (to be looked up on PATH). Null without a shebang.
 */
export function readShebang(path: string): string | null {
  const head = readFileHead(path, 256);
  if (head === null) return null;
  const text = head.bytes.toString('utf8');
  if (!text.startsWith('#!')) return null;
  // split() always returns at least one word ('' for a bare `#!`).
  const words = text.slice(2).replace(/\n[\s\S]*$/, '').trim().split(/\s+/);
  const first = words[0] as string;
  if (first === '') return null;
  if (basename(first) === 'env') {
    // `env -S python3 -u` and `env python3`: the first word that is not an option.
    return words.slice(1).find((word) => !word.startsWith('-')) ?? null;
  }
  return first;
}

/** The node that runs a Node app, and how doctor found it. */
export interface AppNode {
  path: string;
  /** 'command': the command's first token; 'path': `node` on the app's PATH; 'self': naija-sup's own node. */
  source: 'command' | 'path' | 'self';
}

/**
 * The app's node: the command's first token when it is a node binary (even when it does not exist:
 * the probe then reports that), else `node` on the app's PATH, else the node running naija-sup.
 */
export function resolveAppNode(command: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): AppNode {
  const first = command[0];
  if (first !== undefined && isNodeBinaryName(first)) {
    return { path: resolveCommandFile(first, cwd, env['PATH']) ?? first, source: 'command' };
  }
  const onPath = which('node', env['PATH']);
  if (onPath !== null) return { path: onPath, source: 'path' };
  return { path: process.execPath, source: 'self' };
}

/** A candidate Python interpreter and where it came from. */
export interface PythonCandidate {
  path: string;
  /** How it was found, for messages: "$VIRTUAL_ENV", ".venv", "venv", "the command", "the command's shebang", "python3 on PATH". */
  source: string;
}

/** Python servers whose launcher script carries the interpreter in its shebang. */
const PYTHON_LAUNCHERS = /^(uvicorn|gunicorn|hypercorn|daphne|granian|fastapi|flask|waitress-serve|celery)$/;

/**
 * The interpreter the command itself runs, if it runs Python: `python3 app.py`, `.venv/bin/python -m
 * uvicorn`, a launcher (`uvicorn main:app`) or a script whose shebang names python.
 */
export function commandInterpreter(
  command: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): PythonCandidate | null {
  const first = command[0];
  if (first === undefined) return null;
  if (isPythonBinaryName(first)) {
    const path = resolveCommandFile(first, cwd, env['PATH']);
    return path === null ? null : { path, source: 'the command' };
  }
  const file = resolveCommandFile(first, cwd, env['PATH']);
  if (file === null) return null;
  const interpreter = readShebang(file);
  if (interpreter === null || !isPythonBinaryName(interpreter)) return null;
  const path = isAbsolute(interpreter) ? interpreter : which(interpreter, env['PATH']);
  if (path === null) return null;
  return { path, source: PYTHON_LAUNCHERS.test(basename(first)) ? `the ${basename(first)} launcher's shebang` : "the command's shebang" };
}

/**
 * The app's Python interpreter, in the research's order (failures-and-ports.md §1a): $VIRTUAL_ENV,
 * ./.venv, ./venv, the command's interpreter, then `python3` on the app's PATH. Null when none exists.
 */
export function findAppPython(
  command: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): PythonCandidate | null {
  const candidates: PythonCandidate[] = [];
  const virtualEnv = env['VIRTUAL_ENV'];
  if (virtualEnv !== undefined && virtualEnv !== '') candidates.push({ path: join(virtualEnv, 'bin', 'python'), source: '$VIRTUAL_ENV' });
  candidates.push({ path: join(cwd, '.venv', 'bin', 'python'), source: '.venv' });
  candidates.push({ path: join(cwd, 'venv', 'bin', 'python'), source: 'venv' });
  for (const candidate of candidates) if (isExecutableFile(candidate.path)) return candidate;
  const fromCommand = commandInterpreter(command, cwd, env);
  if (fromCommand !== null) return fromCommand;
  const python3 = which('python3', env['PATH']);
  return python3 === null ? null : { path: python3, source: 'python3 on PATH' };
}
