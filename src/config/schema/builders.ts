/**
 * What every section of the configuration schema is built from: the parse results and their
 * messages, the decoders of environment strings, and the leaf builders (a duration, a boolean, an
 * enum, an integer, a size, a default that repeats another key). A section module (process.ts,
 * health.ts, …) holds only its own keys and the rules no other section shares.
 */
import type { DurationInput, SizeInput } from '../define-config.js';
import { formatDuration, MAX_DURATION_MS, tryParseDuration } from '../duration.js';
import { formatSize, tryParseSize } from '../size.js';
import type { AliasNode, DefaultSpec, JsonSchema, LeafNode, LegacyEnvVar, ParseContext, ParseResult, Problem, SchemaNode, SectionNode } from './nodes.js';

// ---------------------------------------------------------------------------------------------
// Parse results and their messages

/** A value that parsed. */
export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });

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

/** A value that did not: "expected <expected>, got <the value> (<note>)". */
export function fail(expected: string, got: unknown, note?: string): { ok: false; problems: Problem[] } {
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

/** Problems of a part of a value (an item, a field), placed under `at`. */
export function prefixed(problems: readonly Problem[], at: string): Problem[] {
  return problems.map((p) => ({ at: at + p.at, message: p.message }));
}

// ---------------------------------------------------------------------------------------------
// Environment decoders

const decodeString = (raw: string): ParseResult<unknown> => ok(raw);

export const decodeNumber = (raw: string): ParseResult<unknown> =>
  ok(/^[+-]?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw);

export const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = { true: true, false: false, 1: true, 0: false, yes: true, no: false };

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

/** Digits alone are bytes, as in a file. */
const decodeSize = (raw: string): ParseResult<unknown> => ok(/^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw);

export const decodeJson = (raw: string): ParseResult<unknown> => {
  try {
    return ok(JSON.parse(raw) as unknown);
  } catch (error) {
    return fail('JSON', raw, error instanceof Error ? error.message : String(error));
  }
};

export const decodeList = (raw: string): ParseResult<unknown> =>
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

export function leaf<In, Out>(spec: LeafSpec<In, Out>): LeafNode<In, Out> {
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

export function section<C extends Readonly<Record<string, SchemaNode>>>(description: string, children: C): SectionNode<C> {
  return { kind: 'section', description, children };
}

export const value = <T>(v: T): DefaultSpec<T> => ({ kind: 'value', value: v });

export function durationLeaf(description: string, defaultMs: number, legacyEnv: readonly LegacyEnvVar[] = []): LeafNode<DurationInput, number> {
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

/** A duration that must be above 0 (a wait that 0 would turn into a refusal): 0 is refused, naming the key. */
export function nonZeroDuration(node: LeafNode<DurationInput, number>): LeafNode<DurationInput, number> {
  return {
    ...node,
    typeText: 'duration > 0',
    parse: (raw, ctx) => {
      const result = node.parse(raw, ctx);
      return result.ok && result.value <= 0 ? fail('a duration above 0', raw) : result;
    },
  };
}

export function booleanLeaf(description: string, defaultValue: boolean, legacyEnv: readonly LegacyEnvVar[] = []): LeafNode<boolean, boolean> {
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

export function enumLeaf<T extends string>(description: string, values: readonly T[], defaultValue: T): LeafNode<T, T> {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return leaf<T, T>({
    description,
    typeText: values.map((v) => JSON.stringify(v)).join(' | '),
    jsonSchema: { enum: [...values] },
    default: value(defaultValue),
    parse: (raw) => ((values as readonly unknown[]).includes(raw) ? ok(raw as T) : fail(`one of ${list}`, raw)),
  });
}

export function integerLeaf(description: string, min: number, defaultValue: number, legacyEnv: readonly LegacyEnvVar[] = []): LeafNode<number, number> {
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

export function alias<K extends string>(description: string, keys: readonly K[]): AliasNode<K> {
  return { kind: 'alias', description, keys };
}

/** `node` with a default that repeats the value of another key, resolved before it (schema order). */
export function sameAs<I, O>(node: LeafNode<I, O>, dotPath: string): LeafNode<I, O> {
  return { ...node, default: { kind: 'computed', text: `\`${dotPath}\``, compute: (ctx) => ctx.resolved(dotPath) as O } };
}

export function sizeLeaf(description: string, defaultBytes: number): LeafNode<SizeInput, number> {
  return leaf<SizeInput, number>({
    description,
    typeText: 'size',
    jsonSchema: { $ref: '#/$defs/size' },
    default: value(defaultBytes),
    fromEnv: decodeSize,
    parse: (raw) => {
      const bytes = tryParseSize(raw);
      if (bytes !== undefined && bytes > 0) return ok(bytes);
      if (typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw)) {
        return fail('a size like "10MB"', raw, `add a unit: "${raw.trim()}B", "${raw.trim()}KB" or "${raw.trim()}MB"`);
      }
      return fail('a size above 0 like "10MB", "512KB" or integer bytes', raw);
    },
    toInput: formatSize,
  });
}

// ---------------------------------------------------------------------------------------------
// Parsers more than one section uses

export function parsePort(raw: unknown): ParseResult<number> {
  return typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 65535 ? ok(raw) : fail('a port 1–65535', raw);
}

export function parseHost(raw: unknown): ParseResult<string> {
  return typeof raw === 'string' && raw !== '' && !/\s/.test(raw) ? ok(raw) : fail('a host name or IP address', raw);
}

/**
 * A URL path (and optional query) as it goes on the request line: RFC 3986 characters, anything
 * else percent-encoded. Spaces, control characters, raw non-ASCII, "#" or a stray "%" would be
 * sent as given (a malformed request, or a header injected after a CR LF), and "//" would read as
 * another host to a URL parser.
 */
export const HTTP_PATH = /^\/(?!\/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/;

export function httpPathParse(raw: unknown): ParseResult<string> {
  return typeof raw === 'string' && HTTP_PATH.test(raw)
    ? ok(raw)
    : fail('a URL path starting with "/" (not "//"), percent-encoded: letters, digits, -._~!$&\'()*+,;=:@/ and %XX, then an optional ?query; e.g. "/health" or "/status%20page?full=1"', raw);
}

/** A legacy variable that counts in seconds, like GRACEFUL_TIMEOUT=30. */
export const secondsEnv = (name: string): LegacyEnvVar => ({ name, note: 'seconds', decode: decodeSeconds });
