/**
 * The server's process: its name, command, directory, environment and PID file, and the bcrypt
 * fallback it is started with. Relative paths resolve per layer: from a file, against the file's
 * folder (`cwd`) or the app's directory (`pidFile`); from a flag or the environment, against the
 * directory naija-sup runs in.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { ShellSplitError, splitCommand } from '../shell-split.js';
import { booleanLeaf, decodeJson, decodeList, fail, isPlainObject, keySuffix, leaf, ok, prefixed, section, value } from './builders.js';
import type { Problem } from './nodes.js';
import { sanitizeName } from '../app-name.js';

export { sanitizeName };

export const nameLeaf = leaf<string, string>({
  description: 'Names the app; keys its PID file, control socket and logs. Sanitized to [a-z0-9._-].',
  typeText: 'string',
  jsonSchema: { type: 'string', minLength: 1 },
  default: {
    kind: 'computed',
    text: '`name` in package.json, else the folder name',
    compute: (ctx) => sanitizeName(ctx.packageNameOf(ctx.appCwd) ?? '') || sanitizeName(path.basename(ctx.appCwd)) || 'app',
  },
  parse: (raw) => {
    const name = typeof raw === 'string' ? sanitizeName(raw) : '';
    return name === '' ? fail('a name with letters or digits', raw) : ok(name);
  },
});

const COMMAND_EXPECTED = 'a command: a string like "node server.js" or an array like ["node", "server.js"]';

export const commandLeaf = leaf<string | string[], string[]>({
  description: 'The server command. A string is split as a POSIX shell would (quotes, backslashes) but no shell runs; an array is used as is. Required unless given after `--`.',
  typeText: 'string | string[]',
  jsonSchema: {
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string' }, minItems: 1 },
    ],
  },
  default: value([]),
  defaultLabel: 'none',
  envForm: 'a command line',
  parse: (raw) => {
    if (typeof raw === 'string') {
      let words: string[];
      try {
        words = splitCommand(raw);
      } catch (error) {
        if (error instanceof ShellSplitError) return fail('a command line', raw, error.message);
        throw error;
      }
      return words.length > 0 && words[0] !== '' ? ok(words) : fail(COMMAND_EXPECTED, raw);
    }
    if (Array.isArray(raw) && raw.length > 0) {
      const problems: Problem[] = [];
      raw.forEach((item: unknown, i) => {
        if (typeof item !== 'string') problems.push(...prefixed(fail('a string', item).problems, `[${i}]`));
        else if (item.includes('\0')) problems.push({ at: `[${i}]`, message: 'expected an argument without NUL bytes (no program can receive one), got one with a NUL byte' });
      });
      if (problems.length > 0) return { ok: false, problems };
      if (raw[0] === '') return { ok: false, problems: prefixed(fail('a program name', raw[0]).problems, '[0]') };
      return ok(raw as string[]);
    }
    return fail(COMMAND_EXPECTED, raw);
  },
});

export const cwdLeaf = leaf<string, string>({
  description: 'Directory the server runs in. In a file, relative to the file\'s folder; from a flag or the environment, to the current directory.',
  typeText: 'string',
  jsonSchema: { type: 'string', minLength: 1 },
  default: { kind: 'computed', text: 'the config file\'s folder, else the current directory', compute: (ctx) => ctx.configDir ?? ctx.invocationCwd },
  parse: (raw, ctx) => {
    if (typeof raw !== 'string' || raw.trim() === '') return fail('a directory path', raw);
    const base = ctx.layer === 'file' ? (ctx.configDir ?? ctx.invocationCwd) : ctx.invocationCwd;
    return ok(path.resolve(base, raw));
  },
});

export const envLeaf = leaf<Record<string, string | number | boolean>, Record<string, string>>({
  description: 'Extra environment variables for the server; numbers and booleans become strings. PORT is set from `port`.',
  typeText: 'object',
  jsonSchema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  default: value({}),
  envForm: 'JSON',
  fromEnv: decodeJson,
  parse: (raw) => {
    if (!isPlainObject(raw)) return fail('an object of environment variables like {"NODE_ENV": "production"}', raw);
    const out: Record<string, string> = {};
    const problems: Problem[] = [];
    for (const [key, v] of Object.entries(raw)) {
      if (key === '' || key.includes('=') || key.includes('\0')) {
        problems.push({ at: keySuffix(key), message: 'expected a variable name without "=", got this name' });
      } else if (typeof v === 'string' && v.includes('\0')) {
        // A process environment cannot hold one: Node would refuse the spawn (issue 14).
        problems.push({ at: keySuffix(key), message: 'expected a value without NUL bytes (no process environment can hold one), got a value with one' });
      } else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
        out[key] = String(v);
      } else {
        problems.push(...prefixed(fail('a string, number or boolean', v).problems, keySuffix(key)));
      }
    }
    return problems.length > 0 ? { ok: false, problems } : ok(out);
  },
});

/** A name, or part of one, whose environment values are never printed (src/config/redact.ts). */
const REDACT_NAME = /^[A-Za-z0-9_.-]+$/;

export const redactLeaf = leaf<string | string[], string[]>({
  description: 'More environment variables whose values are never printed, in any output (config, status, /health, logs, errors): each a name or part of one, any case. Always hidden: names containing PASS, SECRET, TOKEN, KEY, AUTH, CREDENTIAL, DSN, PRIVATE, COOKIE, SESSION or _SK, and the user:password of every URL.',
  typeText: 'string | string[]',
  jsonSchema: {
    anyOf: [
      { type: 'string', pattern: REDACT_NAME.source },
      { type: 'array', items: { type: 'string', pattern: REDACT_NAME.source } },
    ],
  },
  default: value([]),
  envForm: 'comma-separated',
  fromEnv: decodeList,
  parse: (raw) => {
    const items: unknown[] = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : [];
    if (typeof raw !== 'string' && !Array.isArray(raw)) return fail('a variable name like "MY_VAR", or an array of them', raw);
    const problems: Problem[] = [];
    const out: string[] = [];
    items.forEach((item, i) => {
      if (typeof item === 'string' && REDACT_NAME.test(item)) out.push(item);
      else problems.push(...prefixed(fail('a variable name (letters, digits, "_", "." or "-") like "MY_VAR"', item).problems, Array.isArray(raw) ? `[${i}]` : ''));
    });
    return problems.length > 0 ? { ok: false, problems } : ok(out);
  },
});

/**
 * Why the resolved `pidFile` cannot be written on this machine (its folder is missing or not a
 * folder); null when it can. Asked by `start` before anything runs (issue 14), not by the schema:
 * a config may be checked or exported on another machine than the one that runs it.
 */
export function pidFileProblem(pidFile: string | null): string | null {
  if (pidFile === null) return null;
  const dir = path.dirname(pidFile);
  try {
    return statSync(dir).isDirectory() ? null : `pidFile ${pidFile}: ${dir} is not a directory`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `pidFile ${pidFile}: the directory ${dir} does not exist` : `pidFile ${pidFile}: cannot use the directory ${dir} (${code ?? String(error)})`;
  }
}

export const pidFileLeaf = leaf<string | null, string | null>({
  description: 'Also write the server\'s PID to this plain file; null for none. In a file, relative to `cwd`; from a flag or the environment, to the current directory.',
  typeText: 'string | null',
  jsonSchema: { type: ['string', 'null'], minLength: 1 },
  default: value(null),
  legacyEnv: [{ name: 'PID_FILE' }],
  parse: (raw, ctx) => {
    if (raw === null) return ok(null);
    if (typeof raw !== 'string' || raw.trim() === '') return fail('a file path or null', raw);
    return ok(path.resolve(ctx.layer === 'file' ? ctx.appCwd : ctx.invocationCwd, raw));
  },
});

export const bcryptSection = section('bcrypt native-binding problems.', {
  fallback: booleanLeaf('When the native bcrypt binding cannot load, let the server fall back to pure-JS bcryptjs instead of failing.', false, [{ name: 'BCRYPT_FALLBACK' }]),
});
