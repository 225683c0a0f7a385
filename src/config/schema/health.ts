/**
 * When the server counts as ready and healthy: the startup probe (`health.type` to
 * `health.startupTimeout`, also spelled as one object, `health.startup`), and the periodic
 * liveness and readiness probes, whose object form is parsed field by field (parseFields).
 */
import { formatDuration } from '../duration.js';
import type { ProbeType } from '../types.js';
import {
  alias,
  BOOLEAN_WORDS,
  decodeJson,
  durationLeaf,
  enumLeaf,
  fail,
  HTTP_PATH,
  httpPathParse,
  integerLeaf,
  isPlainObject,
  keySuffix,
  leaf,
  ok,
  prefixed,
  sameAs,
  secondsEnv,
  section,
  suggestKey,
  value,
} from './builders.js';
import type { InferInput, InferResolved, LeafNode, ParseContext, ParseResult, Problem } from './nodes.js';

/** A regular expression source (health.log, health.readiness.log), checked by compiling it; or null. */
function parseRegexOrNull(raw: unknown): ParseResult<string | null> {
  if (raw === null) return ok(null);
  if (typeof raw !== 'string' || raw === '') return fail('a regular expression (a non-empty string) or null', raw);
  try {
    new RegExp(raw);
  } catch (error) {
    return fail('a regular expression that compiles', raw, error instanceof Error ? error.message : String(error));
  }
  return ok(raw);
}

/**
 * The startup probe's kind. Its default depends on whether the user named a health route (issue 12:
 * none of the real starters tried had `/health`): without one, "auto" — the server is ready once it
 * answers HTTP at all (any status below 500 on `health.path`, `/` by default) or, for a server that
 * does not speak HTTP, once it accepts a connection; with one, "http" — that route must answer
 * 200–399. src/config/resolve.ts resolves `health.path` before this key for that reason.
 */
const healthTypeLeaf: LeafNode<ProbeType, ProbeType> = {
  ...enumLeaf(
    'How the startup probe judges the server ready: "auto" — it answers HTTP on `health.path` with any status below 500, or accepts TCP if it does not speak HTTP (an instance that answered HTTP once and then goes silent is not ready); "http" — an HTTP GET of `health.path` answers 200–399; "tcp" — a TCP connect; "log" — an output line matches `health.log`.',
    ['auto', 'http', 'tcp', 'log'] as const,
    'auto',
  ),
  default: { kind: 'computed', text: '`"auto"`; `"http"` when `health.path` is set', compute: (ctx) => (ctx.isSet('health.path') ? 'http' : 'auto') },
};

const healthLogLeaf = leaf<string | null, string | null>({
  description: 'For `health.type` "log": a regular expression (source, no slashes); the server is ready when a line of its output matches.',
  typeText: 'string | null',
  jsonSchema: { type: ['string', 'null'], minLength: 1 },
  default: value(null),
  parse: parseRegexOrNull,
});

type FieldMap = Readonly<Record<string, LeafNode>>;

/** The file form of an object-valued key, inferred from its fields, so the compile-time checks cover it. */
type FieldsInput<F> = { -readonly [K in keyof F]?: InferInput<F[K]> };
/** The resolved form of an object-valued key, inferred from its fields. */
type FieldsResolved<F> = { -readonly [K in keyof F]: InferResolved<F[K]> };

/**
 * Parses the object form of an object-valued key (health.liveness): unknown keys are problems,
 * given fields are parsed by their own leaf, missing ones take their default. `fullPath` names the
 * key in messages ("did you mean "health.liveness.timeout"?") — a leaf does not know its place in
 * the tree, and unknown keys elsewhere are named in full.
 */
function parseFields<F extends FieldMap>(raw: Record<string, unknown>, fields: F, fullPath: string, ctx: ParseContext): ParseResult<FieldsResolved<F>> {
  const keys = Object.keys(fields);
  const problems: Problem[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (!keys.includes(key)) {
      const suggestion = suggestKey(key, keys);
      problems.push({ at: keySuffix(key), message: `unknown key${suggestion ? `; did you mean "${fullPath}.${suggestion}"?` : ` (known keys in ${fullPath}: ${keys.join(', ')})`}` });
    }
  }
  for (const [key, field] of Object.entries(fields)) {
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
  return problems.length > 0 ? { ok: false, problems } : ok(out as FieldsResolved<F>);
}

/** A probe's resolved fields as a user would write them (durations as "5s"). */
function probeToInput<T extends { interval: number; timeout: number }>(v: T | null): unknown {
  return v === null ? null : { ...v, interval: formatDuration(v.interval), timeout: formatDuration(v.timeout) };
}

/** An HTTP path key ("/health" by default): health.path and the liveness and readiness probes' path. */
function httpPathLeaf(description: string): LeafNode<string, string> {
  return leaf<string, string>({
    description,
    typeText: 'string',
    jsonSchema: { type: 'string', pattern: HTTP_PATH.source },
    default: value('/health'),
    parse: httpPathParse,
  });
}

const livenessFields = {
  type: {
    ...enumLeaf('How liveness is checked: "auto" (any HTTP answer below 500 on `path`, or a TCP accept), an HTTP GET of `path` (200–399), or a TCP connect.', ['auto', 'http', 'tcp'] as const, 'http'),
    // A log-line startup probe has no periodic form: a live server accepts a connection.
    default: { kind: 'computed', text: '`health.type` ("tcp" when that is "log")', compute: (ctx) => (ctx.resolved('health.type') === 'log' ? 'tcp' : ctx.resolved('health.type')) as 'auto' | 'http' | 'tcp' },
  } satisfies LeafNode<'auto' | 'http' | 'tcp', 'auto' | 'http' | 'tcp'>,
  path: sameAs(httpPathLeaf('Path probed when `type` is "http".'), 'health.path'),
  interval: durationLeaf('Time between liveness probes.', 5000),
  timeout: durationLeaf('Per-probe timeout.', 2000),
  failureThreshold: integerLeaf('Consecutive failed probes before the server is restarted.', 1, 3),
};

const livenessLeaf = leaf<FieldsInput<typeof livenessFields> | null, FieldsResolved<typeof livenessFields> | null>({
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
    return parseFields(raw, livenessFields, 'health.liveness', ctx);
  },
  toInput: probeToInput,
});

/** Readiness defaults to the startup probe's own settings (`health.*`), so `true` is enough to turn it on. */
const readinessFields = {
  type: sameAs(enumLeaf('How readiness is probed: "auto" (any HTTP answer below 500 on `path`, or a TCP accept), an HTTP GET of `path` (200–399), a TCP connect, or an output line matching `log`.', ['auto', 'http', 'tcp', 'log'] as const, 'http'), 'health.type'),
  path: sameAs(httpPathLeaf('Path probed when `type` is "http".'), 'health.path'),
  log: sameAs(leaf<string | null, string | null>({
    description: 'For `type` "log": a regular expression (source, no slashes) matched against the server\'s output lines.',
    typeText: 'string | null',
    jsonSchema: { type: ['string', 'null'], minLength: 1 },
    default: value(null),
    parse: parseRegexOrNull,
  }), 'health.log'),
  interval: durationLeaf('Time between readiness probes.', 5000),
  timeout: sameAs(durationLeaf('Per-probe timeout.', 2000), 'health.timeout'),
  failureThreshold: integerLeaf('Consecutive failed probes before the server counts as not ready.', 1, 3),
  successThreshold: integerLeaf('Consecutive passed probes before a not-ready server counts as ready again.', 1, 1),
};

const readinessLeaf = leaf<FieldsInput<typeof readinessFields> | boolean | null, FieldsResolved<typeof readinessFields> | null>({
  description: 'Probe the server while it runs, the Kubernetes way: after `failureThreshold` failed probes it counts as not ready (the status server\'s /ready answers 503) until `successThreshold` probes pass; it is never restarted for this. null or false turns it off; true turns it on with every field at its default.',
  typeText: 'object | boolean | null',
  jsonSchema: { type: ['object', 'boolean', 'null'] },
  default: value(null),
  envForm: 'JSON, or true/false',
  // NAIJA_SUP_HEALTH_READINESS=yes or =1 reads as on, like every other switch in the environment.
  fromEnv: (raw) => {
    const word = BOOLEAN_WORDS[raw.trim().toLowerCase()];
    return word === undefined ? decodeJson(raw) : ok(word);
  },
  fields: readinessFields,
  parse: (raw, ctx) => {
    if (raw === null || raw === false) return ok(null);
    if (raw === true) return parseFields({}, readinessFields, 'health.readiness', ctx);
    if (!isPlainObject(raw)) return fail('null, true, false or an object like {"type": "http", "interval": "5s"}', raw);
    return parseFields(raw, readinessFields, 'health.readiness', ctx);
  },
  toInput: probeToInput,
});

export const healthSection = section('When the server counts as ready. The keys from `health.type` to `health.log` are the startup probe: it runs after each spawn until the server is ready.', {
  type: healthTypeLeaf,
  path: { ...httpPathLeaf('Path of the HTTP health check. Setting it makes `health.type` default to "http": a real health check that must answer 200–399.'), default: value('/') },
  timeout: durationLeaf('Timeout of one health check attempt.', 2000),
  interval: durationLeaf('Time between health check attempts while starting.', 250),
  startupTimeout: durationLeaf('How long the server may take to become ready before the start counts as failed.', 30_000, [secondsEnv('HEALTH_CHECK_TIMEOUT')]),
  log: healthLogLeaf,
  liveness: livenessLeaf,
  readiness: readinessLeaf,
  startup: alias(
    'The startup probe spelled the Kubernetes way, as one optional object: `{"type": "tcp", "startupTimeout": "1m"}`. The keys `health.type`, `health.path`, `health.log`, `health.interval`, `health.timeout` and `health.startupTimeout` ARE the startup probe; a field given here sets the key of the same name and wins over it when both are given.',
    ['type', 'path', 'log', 'interval', 'timeout', 'startupTimeout'] as const,
  ),
});
