/**
 * The one configuration schema: a tree of sections and typed leaves. Each leaf carries its type,
 * default, one-line description, legacy environment names, how an environment string is decoded,
 * and its parser/validator. Everything else is derived from this tree:
 *
 * - validation and precedence (resolve.ts), with a source per leaf and a `NAIJA_SUP_*` twin each;
 * - the JSON Schema file naija-sup.schema.json (json-schema.ts);
 * - the configuration reference in the README (reference.ts);
 * - the output of `naija-sup config` (src/cli/commands/config.ts).
 *
 * Hand-rolled rather than zod: per-key source tracking and env twins need the tree itself, and
 * emitting JSON Schema from it is a few lines. At the bottom, compile-time checks keep the tree,
 * `ResolvedConfig` (types.ts) and `UserConfig` (define-config.ts) in step.
 */
import * as path from 'node:path';
import type { DurationInput, SignalInput, UserConfig } from './define-config.js';
import { formatDuration, MAX_DURATION_MS, tryParseDuration } from './duration.js';
import { ShellSplitError, splitCommand } from './shell-split.js';
import type { ResolvedConfig } from './types.js';

// ---------------------------------------------------------------------------------------------
// Node types

/** One thing wrong with a value. `at` extends the key's path: "" for the value itself, ".timeout", "[2]". */
export interface Problem {
  at: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Where a raw value came from. Relative paths resolve differently per layer. */
export type ConfigLayer = 'file' | 'env' | 'flag';

/** What defaults and parsers may look at besides the raw value. */
export interface ResolveContext {
  /** The config file's directory, or null without a file. */
  configDir: string | null;
  /** The directory naija-sup runs in: relative paths from flags and the environment start here. */
  invocationCwd: string;
  /** The resolved `cwd` (resolved before every other key). */
  appCwd: string;
  /** The `name` field of `dir`/package.json, or null. */
  packageNameOf(dir: string): string | null;
  /** A value resolved earlier (schema order, `cwd` first). */
  resolved(path: string): unknown;
}

export interface ParseContext extends ResolveContext {
  layer: ConfigLayer;
}

export type DefaultSpec<T> =
  | { kind: 'value'; value: T }
  | { kind: 'computed'; /** For the docs: what the default is. */ text: string; compute(ctx: ResolveContext): T };

/** A legacy (unprefixed) environment variable for a leaf, like PORT or GRACEFUL_TIMEOUT. */
export interface LegacyEnvVar {
  name: string;
  /** Shown in the reference, e.g. "seconds". */
  note?: string;
  /** Decodes the variable when it differs from the leaf's own `fromEnv` (seconds → ms). */
  decode?(raw: string): ParseResult<unknown>;
}

/** A JSON Schema fragment. */
export type JsonSchema = Record<string, unknown>;

/**
 * A configuration key. `In` is what a file may hold, `Out` the resolved value.
 */
export interface LeafNode<In = unknown, Out = unknown> {
  readonly kind: 'leaf';
  readonly description: string;
  /** The type as the reference shows it: "duration", "integer ≥ 0", `"http" | "tcp"`. */
  readonly typeText: string;
  /** JSON Schema of the file form, without description and default (added from this node). */
  readonly jsonSchema: JsonSchema;
  readonly default: DefaultSpec<Out>;
  readonly legacyEnv: readonly LegacyEnvVar[];
  /** How the `NAIJA_SUP_*` twin is written when it is not plain text ("JSON", "comma-separated"). */
  readonly envForm?: string;
  /** Decodes an environment string into a raw value for `parse` (numbers, booleans, JSON…). */
  fromEnv(raw: string): ParseResult<unknown>;
  /** Validates a raw value and converts it to its resolved form. */
  parse(raw: unknown, ctx: ParseContext): ParseResult<Out>;
  /** The value as a user would write it (durations as "5s"), for docs, JSON Schema defaults and printing. */
  toInput(value: Out): unknown;
  /** For an object-valued key (health.liveness): its fields, for the docs and the JSON Schema. */
  readonly fields?: Readonly<Record<string, LeafNode>>;
  /** How the docs show the default when the value alone would mislead (the command's [] is "none"). */
  readonly defaultLabel?: string;
  /** Never set: carries `In` for type inference. */
  readonly _input?: In;
}

export interface AnySection {
  readonly kind: 'section';
  readonly description: string;
  readonly children: Readonly<Record<string, SchemaNode>>;
}

export interface SectionNode<C extends Readonly<Record<string, SchemaNode>>> extends AnySection {
  readonly children: C;
}

export type SchemaNode = LeafNode | AnySection;

// ---------------------------------------------------------------------------------------------
// Helpers

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });

/** Renders a found value for a message: strings quoted, long values cut. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function fail(expected: string, got: unknown, note?: string): { ok: false; problems: Problem[] } {
  return { ok: false, problems: [{ at: '', message: `expected ${expected}, got ${describeValue(got)}${note ? ` (${note})` : ''}` }] };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate an unknown key most likely meant: a case-insensitive match, else the closest within
 * edit distance 2; undefined when none is close.
 */
export function suggestKey(key: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    if (candidate.toLowerCase() === key.toLowerCase()) return candidate;
    const distance = levenshtein(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `.key` for identifier-like keys, `["odd key"]` otherwise. */
export function keySuffix(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function prefixed(problems: readonly Problem[], at: string): Problem[] {
  return problems.map((p) => ({ at: at + p.at, message: p.message }));
}

/** Turns a package or folder name into one safe for file names: [a-z0-9._-], at most 64 characters. */
export function sanitizeName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
}

/** Regex-literal form in cleanup.match: "/source/flags". */
const REGEX_LITERAL = /^\/(.+)\/([dgimsuyv]*)$/s;

/**
 * Compiles one cleanup.match pattern into a test on a process's command line: "/source/flags" is a
 * regular expression, anything else a substring.
 * @throws SyntaxError when a "/…/" pattern does not compile.
 */
export function compileMatchPattern(pattern: string): (commandLine: string) => boolean {
  const literal = REGEX_LITERAL.exec(pattern);
  if (!literal) return (commandLine) => commandLine.includes(pattern);
  // g and y make RegExp#test stateful (lastIndex), which would make every other test fail.
  const regex = new RegExp(literal[1] as string, (literal[2] as string).replace(/[gy]/g, ''));
  return (commandLine) => regex.test(commandLine);
}

// ---------------------------------------------------------------------------------------------
// Environment decoders

const decodeString = (raw: string): ParseResult<unknown> => ok(raw);

const decodeNumber = (raw: string): ParseResult<unknown> =>
  ok(/^[+-]?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw);

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, false: false, 1: true, 0: false, yes: true, no: false };

const decodeBoolean = (raw: string): ParseResult<unknown> => {
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  return value === undefined ? fail('true/false, 1/0 or yes/no', raw) : ok(value);
};

/** Digits alone are milliseconds, as in a file. */
const decodeDuration = (raw: string): ParseResult<unknown> => ok(/^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw);

/** GRACEFUL_TIMEOUT=30 and HEALTH_CHECK_TIMEOUT=30 mean seconds (the convention they come from). */
const decodeSeconds = (raw: string): ParseResult<unknown> => {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return ok(Math.round(Number(text) * 1000));
  if (tryParseDuration(text) !== undefined) return ok(text);
  return fail('seconds like "30" or a duration like "30s"', raw);
};

const decodeJson = (raw: string): ParseResult<unknown> => {
  try {
    return ok(JSON.parse(raw) as unknown);
  } catch (error) {
    return fail('JSON', raw, error instanceof Error ? error.message : String(error));
  }
};

const decodeList = (raw: string): ParseResult<unknown> =>
  ok(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''));

// ---------------------------------------------------------------------------------------------
// Leaf builders

interface LeafSpec<_In, Out> {
  description: string;
  typeText: string;
  jsonSchema: JsonSchema;
  default: DefaultSpec<Out>;
  legacyEnv?: readonly LegacyEnvVar[];
  envForm?: string;
  fromEnv?: (raw: string) => ParseResult<unknown>;
  parse: (raw: unknown, ctx: ParseContext) => ParseResult<Out>;
  toInput?: (value: Out) => unknown;
  fields?: Readonly<Record<string, LeafNode>>;
  defaultLabel?: string;
}

function leaf<In, Out>(spec: LeafSpec<In, Out>): LeafNode<In, Out> {
  const node: LeafNode<In, Out> = {
    kind: 'leaf',
    description: spec.description,
    typeText: spec.typeText,
    jsonSchema: spec.jsonSchema,
    default: spec.default,
    legacyEnv: spec.legacyEnv ?? [],
    fromEnv: spec.fromEnv ?? decodeString,
    parse: spec.parse,
    toInput: spec.toInput ?? ((value: Out) => value),
  };
  return {
    ...node,
    ...(spec.envForm === undefined ? {} : { envForm: spec.envForm }),
    ...(spec.fields === undefined ? {} : { fields: spec.fields }),
    ...(spec.defaultLabel === undefined ? {} : { defaultLabel: spec.defaultLabel }),
  };
}

function section<C extends Readonly<Record<string, SchemaNode>>>(description: string, children: C): SectionNode<C> {
  return { kind: 'section', description, children };
}

const value = <T>(v: T): DefaultSpec<T> => ({ kind: 'value', value: v });

function durationLeaf(description: string, defaultMs: number, legacyEnv: readonly LegacyEnvVar[] = []): LeafNode<DurationInput, number> {
  return leaf<DurationInput, number>({
    description,
    typeText: 'duration',
    jsonSchema: { $ref: '#/$defs/duration' },
    default: value(defaultMs),
    legacyEnv,
    fromEnv: decodeDuration,
    parse: (raw) => {
      const ms = tryParseDuration(raw);
      if (ms !== undefined) return ok(ms);
      if (typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw)) {
        return fail('a duration like "5s"', raw, `add a unit: "${raw.trim()}ms" or "${raw.trim()}s"`);
      }
      if (typeof raw === 'number' && raw > MAX_DURATION_MS) return fail(`a duration of at most ${MAX_DURATION_MS}ms`, raw);
      return fail('a duration like "5s"', raw);
    },
    toInput: formatDuration,
  });
}

function booleanLeaf(description: string, defaultValue: boolean, legacyEnv: readonly LegacyEnvVar[] = []): LeafNode<boolean, boolean> {
  return leaf<boolean, boolean>({
    description,
    typeText: 'boolean',
    jsonSchema: { type: 'boolean' },
    default: value(defaultValue),
    legacyEnv,
    envForm: 'true/false, 1/0, yes/no',
    fromEnv: decodeBoolean,
    parse: (raw) => (typeof raw === 'boolean' ? ok(raw) : fail('true or false', raw)),
  });
}

function enumLeaf<T extends string>(description: string, values: readonly T[], defaultValue: T): LeafNode<T, T> {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return leaf<T, T>({
    description,
    typeText: values.map((v) => JSON.stringify(v)).join(' | '),
    jsonSchema: { enum: [...values] },
    default: value(defaultValue),
    parse: (raw) => ((values as readonly unknown[]).includes(raw) ? ok(raw as T) : fail(`one of ${list}`, raw)),
  });
}

function integerLeaf(description: string, min: number, defaultValue: number, legacyEnv: readonly LegacyEnvVar[] = []): LeafNode<number, number> {
  return leaf<number, number>({
    description,
    typeText: `integer ≥ ${min}`,
    jsonSchema: { type: 'integer', minimum: min },
    default: value(defaultValue),
    legacyEnv,
    fromEnv: decodeNumber,
    parse: (raw) => (typeof raw === 'number' && Number.isInteger(raw) && raw >= min ? ok(raw) : fail(`an integer ≥ ${min}`, raw)),
  });
}

function httpPathParse(raw: unknown): ParseResult<string> {
  return typeof raw === 'string' && raw.startsWith('/') && !/\s/.test(raw) ? ok(raw) : fail('a path starting with "/"', raw);
}

// ---------------------------------------------------------------------------------------------
// Leaves with their own rules

/** Stop signals naija-sup can send, by their full name. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const satisfies readonly NodeJS.Signals[];

/** "TERM", "sigterm", "SIGTERM" → "SIGTERM"; undefined for anything else. */
export function normalizeSignal(raw: unknown): NodeJS.Signals | undefined {
  if (typeof raw !== 'string') return undefined;
  const upper = raw.trim().toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return (STOP_SIGNALS as readonly string[]).includes(full) ? (full as NodeJS.Signals) : undefined;
}

const nameLeaf = leaf<string, string>({
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

const commandLeaf = leaf<string | string[], string[]>({
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
      });
      if (problems.length > 0) return { ok: false, problems };
      if (raw[0] === '') return { ok: false, problems: prefixed(fail('a program name', raw[0]).problems, '[0]') };
      return ok(raw as string[]);
    }
    return fail(COMMAND_EXPECTED, raw);
  },
});

const cwdLeaf = leaf<string, string>({
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

const envLeaf = leaf<Record<string, string | number | boolean>, Record<string, string>>({
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
      } else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
        out[key] = String(v);
      } else {
        problems.push(...prefixed(fail('a string, number or boolean', v).problems, keySuffix(key)));
      }
    }
    return problems.length > 0 ? { ok: false, problems } : ok(out);
  },
});

const portLeaf = leaf<number, number>({
  description: 'Port the server listens on; passed to it as PORT.',
  typeText: 'integer 1–65535',
  jsonSchema: { type: 'integer', minimum: 1, maximum: 65535 },
  default: value(8000),
  legacyEnv: [{ name: 'PORT' }],
  fromEnv: decodeNumber,
  parse: (raw) => (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 65535 ? ok(raw) : fail('a port 1–65535', raw)),
});

const hostLeaf = leaf<string, string>({
  description: 'Host the server binds; health checks and port checks use it.',
  typeText: 'string',
  jsonSchema: { type: 'string', minLength: 1 },
  default: value('127.0.0.1'),
  legacyEnv: [{ name: 'HOST' }],
  parse: (raw) => (typeof raw === 'string' && raw !== '' && !/\s/.test(raw) ? ok(raw) : fail('a host name or IP address', raw)),
});

const pidFileLeaf = leaf<string | null, string | null>({
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

const healthLogLeaf = leaf<string | null, string | null>({
  description: 'For `health.type` "log": a regular expression (source, no slashes); the server is ready when a line of its output matches.',
  typeText: 'string | null',
  jsonSchema: { type: ['string', 'null'], minLength: 1 },
  default: value(null),
  parse: (raw) => {
    if (raw === null) return ok(null);
    if (typeof raw !== 'string' || raw === '') return fail('a regular expression (a non-empty string) or null', raw);
    try {
      new RegExp(raw);
    } catch (error) {
      return fail('a regular expression that compiles', raw, error instanceof Error ? error.message : String(error));
    }
    return ok(raw);
  },
});

const livenessFields = {
  type: enumLeaf('How liveness is checked: an HTTP GET of `path` (200–399) or a TCP connect.', ['http', 'tcp'] as const, 'http'),
  path: leaf<string, string>({
    description: 'Path probed when `type` is "http".',
    typeText: 'string',
    jsonSchema: { type: 'string', pattern: '^/' },
    default: { kind: 'computed', text: '`health.path`', compute: (ctx) => ctx.resolved('health.path') as string },
    parse: httpPathParse,
  }),
  interval: durationLeaf('Time between liveness probes.', 5000),
  timeout: durationLeaf('Per-probe timeout.', 2000),
  failureThreshold: integerLeaf('Consecutive failed probes before the server is restarted.', 1, 3),
};

const LIVENESS_KEYS = Object.keys(livenessFields);

/** Both forms are inferred from the fields, so the compile-time checks below cover them too. */
type LivenessFileForm = { -readonly [K in keyof typeof livenessFields]?: InferInput<(typeof livenessFields)[K]> };
type LivenessResolved = { -readonly [K in keyof typeof livenessFields]: InferResolved<(typeof livenessFields)[K]> };

const livenessLeaf = leaf<LivenessFileForm | null, LivenessResolved | null>({
  description: 'Probe the server while it is ready and restart it after repeated failures; null turns it off.',
  typeText: 'object | null',
  jsonSchema: { type: ['object', 'null'] },
  default: value(null),
  envForm: 'JSON',
  fromEnv: decodeJson,
  fields: livenessFields,
  parse: (raw, ctx) => {
    if (raw === null) return ok(null);
    if (!isPlainObject(raw)) return fail('null or an object like {"type": "http", "interval": "5s"}', raw);
    const problems: Problem[] = [];
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(raw)) {
      if (!LIVENESS_KEYS.includes(key)) {
        const suggestion = suggestKey(key, LIVENESS_KEYS);
        // Named in full, like unknown keys elsewhere; the leaf's place in the tree is fixed below.
        problems.push({ at: keySuffix(key), message: `unknown key${suggestion ? `; did you mean "health.liveness.${suggestion}"?` : ` (known keys in health.liveness: ${LIVENESS_KEYS.join(', ')})`}` });
      }
    }
    for (const [key, field] of Object.entries(livenessFields) as Array<[string, LeafNode]>) {
      const given = raw[key];
      if (given === undefined) {
        out[key] = field.default.kind === 'value' ? field.default.value : field.default.compute(ctx);
        continue;
      }
      const result = field.parse(given, ctx);
      if (result.ok) out[key] = result.value;
      else problems.push(...prefixed(result.problems, `.${key}`));
    }
    // The cast is safe: every field was set above from its own leaf.
    return problems.length > 0 ? { ok: false, problems } : ok(out as LivenessResolved);
  },
  toInput: (v) => (v === null ? null : { ...v, interval: formatDuration(v.interval), timeout: formatDuration(v.timeout) }),
});

const signalLeaf = leaf<SignalInput, NodeJS.Signals>({
  description: 'Signal that asks the server to stop gracefully ("TERM" means "SIGTERM").',
  typeText: STOP_SIGNALS.map((s) => `"${s}"`).join(' | '),
  jsonSchema: { enum: [...STOP_SIGNALS, ...STOP_SIGNALS.map((s) => s.slice(3))] },
  default: value('SIGTERM'),
  parse: (raw) => {
    const signal = normalizeSignal(raw);
    return signal === undefined ? fail(`a signal name: ${STOP_SIGNALS.join(', ')}`, raw) : ok(signal);
  },
});

function checkMatchPattern(raw: unknown): ParseResult<string> {
  if (typeof raw !== 'string' || raw === '') return fail('a non-empty substring or "/regex/flags"', raw);
  try {
    compileMatchPattern(raw);
  } catch (error) {
    return fail('a regular expression that compiles', raw, error instanceof Error ? error.message : String(error));
  }
  return ok(raw);
}

const cleanupMatchLeaf = leaf<string | string[], string[]>({
  description: 'Command lines of stale servers to stop before starting (like `pkill -f`): each a substring, or "/regex/flags".',
  typeText: 'string | string[]',
  jsonSchema: {
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string', minLength: 1 } },
    ],
  },
  default: value([]),
  envForm: 'comma-separated',
  fromEnv: decodeList,
  parse: (raw) => {
    if (typeof raw === 'string') {
      const one = checkMatchPattern(raw);
      return one.ok ? ok([one.value]) : one;
    }
    if (!Array.isArray(raw)) return fail('a substring, "/regex/flags", or an array of them', raw);
    const problems: Problem[] = [];
    const out: string[] = [];
    raw.forEach((item: unknown, i) => {
      const one = checkMatchPattern(item);
      if (one.ok) out.push(one.value);
      else problems.push(...prefixed(one.problems, `[${i}]`));
    });
    return problems.length > 0 ? { ok: false, problems } : ok(out);
  },
});

const secondsEnv = (name: string): LegacyEnvVar => ({ name, note: 'seconds', decode: decodeSeconds });

// ---------------------------------------------------------------------------------------------
// The schema

/** The configuration schema. Key order is the order of the docs and of `naija-sup config`. */
export const configSchema = section('Configuration of naija-sup, a process supervisor for API servers.', {
  name: nameLeaf,
  command: commandLeaf,
  cwd: cwdLeaf,
  env: envLeaf,
  port: portLeaf,
  host: hostLeaf,
  pidFile: pidFileLeaf,
  portFallback: booleanLeaf('If the port is taken by something that may not be stopped, use the next free port instead of failing.', false),
  health: section('When the server counts as ready.', {
    type: enumLeaf('How readiness is judged: an HTTP GET of `health.path` (status 200–399), a TCP connect, or an output line matching `health.log`.', ['http', 'tcp', 'log'] as const, 'http'),
    path: leaf<string, string>({
      description: 'Path of the HTTP health check.',
      typeText: 'string',
      jsonSchema: { type: 'string', pattern: '^/' },
      default: value('/health'),
      parse: httpPathParse,
    }),
    timeout: durationLeaf('Timeout of one health check attempt.', 2000),
    interval: durationLeaf('Time between health check attempts while starting.', 250),
    startupTimeout: durationLeaf('How long the server may take to become ready before the start counts as failed.', 30_000, [secondsEnv('HEALTH_CHECK_TIMEOUT')]),
    log: healthLogLeaf,
    liveness: livenessLeaf,
  }),
  restart: section('What happens when the server exits.', {
    policy: enumLeaf('"on-failure" restarts after a non-zero exit or a signal, "always" after any exit, "never" not at all.', ['on-failure', 'always', 'never'] as const, 'on-failure'),
    initialDelay: durationLeaf('Delay before the first restart.', 100),
    maxDelay: durationLeaf('Longest delay between restarts (exponential backoff with jitter is capped here).', 30_000),
    factor: leaf<number, number>({
      description: 'Each further delay is the previous one times this.',
      typeText: 'number ≥ 1',
      jsonSchema: { type: 'number', minimum: 1 },
      default: value(2),
      fromEnv: decodeNumber,
      parse: (raw) => (typeof raw === 'number' && Number.isFinite(raw) && raw >= 1 ? ok(raw) : fail('a number ≥ 1', raw)),
    }),
    maxRestarts: integerLeaf('Restarts allowed within `restart.window`; one more stops supervision with an error.', 0, 5),
    window: durationLeaf('The window `restart.maxRestarts` is counted in.', 60_000),
    minUptime: durationLeaf('After being ready this long, the server counts as stable and the backoff resets.', 10_000),
  }),
  shutdown: section('How the server is stopped.', {
    signal: signalLeaf,
    timeout: durationLeaf('Time between the stop signal and SIGKILL of the whole process group.', 30_000, [secondsEnv('GRACEFUL_TIMEOUT')]),
  }),
  cleanup: section('Stale servers from earlier runs.', {
    killExisting: booleanLeaf('Stop whatever holds the port (or matches `cleanup.match`) before starting, gracefully then by force.', false, [{ name: 'KILL_EXISTING' }]),
    match: cleanupMatchLeaf,
  }),
  bcrypt: section('bcrypt native-binding problems.', {
    fallback: booleanLeaf('When the native bcrypt binding cannot load, let the server fall back to pure-JS bcryptjs instead of failing.', false, [{ name: 'BCRYPT_FALLBACK' }]),
  }),
});

/** Keys a file may hold at the top level besides the schema's: "$schema" (for editors). */
export const EXTRA_ROOT_KEYS = ['$schema'] as const;

/** One leaf with its dot-path. */
export interface LeafEntry {
  path: string;
  node: LeafNode;
}

function collectLeaves(node: AnySection, prefix: string, out: LeafEntry[]): LeafEntry[] {
  for (const [key, child] of Object.entries(node.children)) {
    const at = prefix === '' ? key : `${prefix}.${key}`;
    if (child.kind === 'leaf') out.push({ path: at, node: child });
    else collectLeaves(child, at, out);
  }
  return out;
}

/** Every leaf of the schema in document order. */
export const configLeaves: readonly LeafEntry[] = collectLeaves(configSchema, '', []);

/** "health.startupTimeout" → "NAIJA_SUP_HEALTH_STARTUP_TIMEOUT". */
export function envTwinName(dotPath: string): string {
  return `NAIJA_SUP_${dotPath
    .split('.')
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

/** The file names searched for, in order, in the directory naija-sup runs in (cosmiconfig search places). */
export const CONFIG_SEARCH_PLACES = [
  'package.json',
  '.naija-suprc',
  '.naija-suprc.json',
  '.naija-suprc.yaml',
  '.naija-suprc.yml',
  '.naija-suprc.js',
  '.naija-suprc.mjs',
  '.naija-suprc.cjs',
  'naija-sup.config.js',
  'naija-sup.config.mjs',
  'naija-sup.config.cjs',
  'naija-sup.config.ts',
  'naija-sup.config.json',
  'naija-sup.config.yaml',
] as const;

/** The search places as a sentence fragment for messages. */
export function describeSearchPlaces(): string {
  return CONFIG_SEARCH_PLACES.map((p) => (p === 'package.json' ? 'package.json ("naija-sup" key)' : p)).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Compile-time checks: the tree, ResolvedConfig and UserConfig must agree. A mismatch is a type
// error here (npm run typecheck), not a runtime surprise.

type InferResolved<N> = N extends LeafNode<unknown, infer O>
  ? O
  : N extends SectionNode<infer C>
    ? { -readonly [K in keyof C]: InferResolved<C[K]> }
    : never;

type InferInput<N> = N extends LeafNode<infer I, unknown>
  ? I
  : N extends SectionNode<infer C>
    ? { -readonly [K in keyof C]?: InferInput<C[K]> }
    : never;

/** Makes every key required, deeply, so that a key missing on one side is a mismatch. */
type DeepRequired<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

type _ResolvedMatchesSchema = Assert<MutuallyAssignable<DeepRequired<InferResolved<typeof configSchema>>, DeepRequired<ResolvedConfig>>>;
type _UserConfigMatchesSchema = Assert<
  MutuallyAssignable<DeepRequired<InferInput<typeof configSchema> & { $schema?: string }>, DeepRequired<UserConfig>>
>;
