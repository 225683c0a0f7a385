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
import type { UserConfig } from './define-config.js';
import { formatDuration } from './duration.js';
import { splitHostPort } from './host-port.js';
import type { ProbeType, ResolvedConfig } from './types.js';
import {
  alias,
  BOOLEAN_WORDS,
  decodeJson,
  durationLeaf,
  enumLeaf,
  fail,
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
} from './schema/builders.js';
import { bcryptSection, commandLeaf, cwdLeaf, envLeaf, nameLeaf, pidFileLeaf } from './schema/process.js';
import { cleanupSection, hostLeaf, portFallbackLeaf, portLeaf } from './schema/ports.js';
import { restartSection } from './schema/restart.js';
import { modeLeaf } from './schema/reload.js';
import { shutdownSection } from './schema/shutdown.js';
import { dependenciesSection, dependsOnLeaf } from './schema/dependencies.js';
import { alertsSection, logFormatLeaf, logsSection, statusSection } from './schema/observability.js';
import type { AnySection, InferInput, InferResolved, LeafNode, ParseContext, ParseResult, Problem } from './schema/nodes.js';

export { splitHostPort };
export { sanitizeName } from './schema/process.js';
export { compileMatchPattern } from './schema/ports.js';
export { normalizeSignal, STOP_SIGNALS } from './schema/shutdown.js';
export { describeValue, isPlainObject, keySuffix, suggestKey } from './schema/builders.js';
export type {
  AliasNode,
  AnySection,
  ConfigLayer,
  DefaultSpec,
  JsonSchema,
  LeafNode,
  LegacyEnvVar,
  ParseContext,
  ParseResult,
  Problem,
  ResolveContext,
  SchemaNode,
  SectionNode,
} from './schema/nodes.js';

// ---------------------------------------------------------------------------------------------
// Leaves with their own rules

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
    'How the startup probe judges the server ready: "auto" — it answers HTTP on `health.path` with any status below 500, or accepts TCP if it does not speak HTTP; "http" — an HTTP GET of `health.path` answers 200–399; "tcp" — a TCP connect; "log" — an output line matches `health.log`.',
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
    jsonSchema: { type: 'string', pattern: '^/' },
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
  portFallback: portFallbackLeaf,
  health: section('When the server counts as ready. The keys from `health.type` to `health.log` are the startup probe: it runs after each spawn until the server is ready.', {
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
  }),
  restart: restartSection,
  shutdown: shutdownSection,
  cleanup: cleanupSection,
  bcrypt: bcryptSection,
  dependsOn: dependsOnLeaf,
  dependencies: dependenciesSection,
  status: statusSection,
  alerts: alertsSection,
  logFormat: logFormatLeaf,
  logs: logsSection,
  mode: modeLeaf,
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
    else if (child.kind === 'section') collectLeaves(child, at, out);
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

/** Makes every key required, deeply, so that a key missing on one side is a mismatch. */
type DeepRequired<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

type _ResolvedMatchesSchema = Assert<MutuallyAssignable<DeepRequired<InferResolved<typeof configSchema>>, DeepRequired<ResolvedConfig>>>;
type _UserConfigMatchesSchema = Assert<
  MutuallyAssignable<DeepRequired<InferInput<typeof configSchema> & { $schema?: string }>, DeepRequired<UserConfig>>
>;
