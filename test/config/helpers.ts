/** Shared by the config tests: resolve with sensible test defaults, and read an error's details. */
import { NaijaSupError } from '../../src/errors.js';
import { resolveConfig, type ResolveInput } from '../../src/config/resolve.js';
import type { LoadedConfig } from '../../src/config/types.js';

export const CWD = '/srv/app';
export const FILE = '/srv/app/.naija-suprc.json';

/** Resolves `file` as if read from /srv/app/.naija-suprc.json (no file when undefined); no command required. */
export function resolveWith(file: unknown, input: Partial<ResolveInput> = {}): LoadedConfig {
  return resolveConfig({
    file,
    filepath: file === undefined ? null : FILE,
    cwd: CWD,
    env: {},
    requireCommand: false,
    ...input,
  });
}

/** The NaijaSupError `fn` throws (fails the test if it throws nothing or something else). */
export function errorOf(fn: () => unknown): NaijaSupError {
  try {
    fn();
  } catch (error) {
    if (error instanceof NaijaSupError) return error;
    throw error;
  }
  throw new Error('expected a NaijaSupError, but nothing was thrown');
}

/** Builds {a: {b: value}} from "a.b". */
export function nested(dotPath: string, value: unknown): Record<string, unknown> {
  const parts = dotPath.split('.');
  let out: unknown = value;
  for (const part of parts.reverse()) out = { [part]: out };
  return out as Record<string, unknown>;
}

/** The value at a dot-path. */
export function at(config: unknown, dotPath: string): unknown {
  let node = config;
  for (const part of dotPath.split('.')) node = (node as Record<string, unknown>)[part];
  return node;
}
