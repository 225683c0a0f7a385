/**
 * Resolution: defaults < file < environment < flags, leaf by leaf, with the source of each value.
 * Pure — the file content, environment and flags come in as data (load.ts does the I/O) — and it
 * collects every problem before it throws one NaijaSupError, so a user fixes them in one pass.
 */
import * as path from 'node:path';
import { NaijaSupError } from '../errors.js';
import { formatDuration } from './duration.js';
import {
  configLeaves,
  configSchema,
  describeSearchPlaces,
  describeValue,
  envTwinName,
  EXTRA_ROOT_KEYS,
  isPlainObject,
  suggestKey,
  type AnySection,
  type LeafEntry,
  type ParseContext,
  type ParseResult,
  type Problem,
  type ResolveContext,
} from './schema.js';
import type { ShadowedValue, LoadedConfig, LogFormat, ReloadMode, ResolvedConfig, ValueSource } from './types.js';
import { isNodeCommand } from '../process/node-command.js';

/** Command-line flags, the highest-precedence layer. Undefined means "not given". */
export interface ConfigFlags {
  port?: number;
  host?: string;
  killExisting?: boolean;
  pidFile?: string;
  portFallback?: boolean;
  /** The command after `--`; an empty array means none was given. */
  command?: string[];
  statusPort?: number;
  logFormat?: LogFormat;
  mode?: ReloadMode;
}

/** Which flag sets which key; `flag` is how sources name it. */
export const FLAG_KEYS: ReadonlyArray<{ key: keyof ConfigFlags; path: string; flag: string }> = [
  { key: 'command', path: 'command', flag: '--' },
  { key: 'port', path: 'port', flag: '--port' },
  { key: 'host', path: 'host', flag: '--host' },
  { key: 'pidFile', path: 'pidFile', flag: '--pid-file' },
  { key: 'portFallback', path: 'portFallback', flag: '--port-fallback' },
  { key: 'killExisting', path: 'cleanup.killExisting', flag: '--kill-existing' },
  { key: 'statusPort', path: 'status.port', flag: '--status-port' },
  { key: 'logFormat', path: 'logFormat', flag: '--log-format' },
  { key: 'mode', path: 'mode', flag: '--mode' },
];

export interface ResolveInput {
  /** What the config file held (any shape: it is validated here); undefined or null for an empty file or none. */
  file?: unknown;
  /** Absolute path of the config file, or null/undefined when there is none. */
  filepath?: string | null;
  /** The environment (process.env); empty strings count as unset. */
  env?: Readonly<Record<string, string | undefined>>;
  flags?: ConfigFlags;
  /** The directory naija-sup runs in (absolute). */
  cwd: string;
  /** When true (the default), a missing command is an error (E_NO_COMMAND); when false, it resolves to []. */
  requireCommand?: boolean;
  /** Reads `name` from `dir`/package.json for the default `name`; without it the folder name is used. */
  packageNameOf?: (dir: string) => string | null;
}

/** A path for messages: relative to `cwd` when inside it, absolute otherwise. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** A value source in words: "default", "file .naija-suprc.json", "env PORT", "flag --port", "after --". */
export function formatSource(source: ValueSource, cwd: string): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `file ${displayPath(source.file, cwd)}`;
    case 'env':
      return `env ${source.variable}`;
    case 'flag':
      return source.flag === '--' ? 'after --' : `flag ${source.flag}`;
    default: {
      const unreachable: never = source;
      return String(unreachable);
    }
  }
}

function unknownKeyHint(key: string, siblings: readonly string[], prefix: string): string {
  const sibling = suggestKey(key, siblings);
  if (sibling !== undefined) return `; did you mean "${prefix === '' ? sibling : `${prefix}.${sibling}`}"?`;
  // A key put in the wrong section ("killExisting" at the top level) names its real place.
  const elsewhere = configLeaves.filter((leaf) => leaf.path.split('.').pop()?.toLowerCase() === key.toLowerCase());
  if (elsewhere.length === 1 && elsewhere[0] !== undefined) return `; did you mean "${elsewhere[0].path}"?`;
  return ` (known keys${prefix === '' ? '' : ` in ${prefix}`}: ${siblings.join(', ')})`;
}

/** A value a file gives for a leaf, and the dot-path it was written at (differs for an alias). */
interface FileValue {
  raw: unknown;
  writtenAt: string;
}

/** What a file sets, leaf by leaf: directly, and through aliases (health.startup.type → health.type). */
interface FileValues {
  direct: Map<string, FileValue>;
  aliased: Map<string, FileValue>;
}

function walkSection(node: AnySection, object: Record<string, unknown>, prefix: string, out: FileValues, problems: string[]): void {
  const siblings = Object.keys(node.children);
  for (const [key, raw] of Object.entries(object)) {
    const at = prefix === '' ? key : `${prefix}.${key}`;
    // Own keys only: "toString" or "constructor" must be an unknown key, not Object.prototype's.
    const child = Object.hasOwn(node.children, key) ? node.children[key] : undefined;
    if (child === undefined) {
      if (prefix === '' && (EXTRA_ROOT_KEYS as readonly string[]).includes(key)) continue;
      problems.push(`${at}: unknown key${unknownKeyHint(key, siblings, prefix)}`);
      continue;
    }
    // JS config files may spell "not set" as undefined.
    if (raw === undefined) continue;
    if (child.kind === 'leaf') {
      out.direct.set(at, { raw, writtenAt: at });
    } else if (child.kind === 'alias') {
      walkAlias(child.keys, raw, prefix, at, out, problems);
    } else if (isPlainObject(raw)) {
      walkSection(child, raw, at, out, problems);
    } else {
      const keys = Object.keys(child.children).map((k) => `"${k}"`).join(', ');
      problems.push(`${at}: expected a section (an object with keys like ${keys}), got ${describeValue(raw)}`);
    }
  }
}

function walkAlias(keys: readonly string[], raw: unknown, prefix: string, at: string, out: FileValues, problems: string[]): void {
  if (!isPlainObject(raw)) {
    problems.push(`${at}: expected an object with keys like ${keys.map((k) => `"${k}"`).join(', ')}, got ${describeValue(raw)}`);
    return;
  }
  for (const [field, value] of Object.entries(raw)) {
    if (!keys.includes(field)) {
      const suggestion = suggestKey(field, keys);
      problems.push(`${at}.${field}: unknown key${suggestion === undefined ? ` (known keys in ${at}: ${keys.join(', ')})` : `; did you mean "${at}.${suggestion}"?`}`);
    } else if (value !== undefined) {
      out.aliased.set(prefix === '' ? field : `${prefix}.${field}`, { raw: value, writtenAt: `${at}.${field}` });
    }
  }
}

/** Deeper nesting than any config needs; a deeper file is hostile or broken (and would cost stack). */
export const MAX_CONFIG_DEPTH = 32;
/** More keys and items than any config needs (an env of 10,000 variables would not fit execve). */
export const MAX_CONFIG_NODES = 10_000;

/**
 * Checks a file's content before anything reads it: bounded depth and size (every later step —
 * the walk, the messages, `config`'s table — is then bounded too), and no `__proto__` key, which
 * no setting has and which assignment would turn into a prototype (the key is silently dropped at
 * best). Iterative, so a deep file cannot overflow the stack here. Null when fine, else the
 * problem and its path ("" for the whole value).
 */
export function checkShape(content: unknown): { path: string; message: string } | null {
  const stack: Array<{ value: unknown; at: string; depth: number }> = [{ value: content, at: '', depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, at, depth } = stack.pop() as { value: unknown; at: string; depth: number };
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_CONFIG_DEPTH) return { path: at, message: `nested more than ${MAX_CONFIG_DEPTH} levels deep; no setting is` };
    const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v]) : Object.entries(value).map(([k, v]) => [k, v]);
    nodes += entries.length;
    if (nodes > MAX_CONFIG_NODES) return { path: '', message: `more than ${MAX_CONFIG_NODES} keys and items; no configuration needs that many (an env that large would not fit the server's environment)` };
    for (const [key, child] of entries) {
      const path = key.startsWith('[') ? `${at}${key}` : at === '' ? key : `${at}.${key}`;
      if (key === '__proto__') return { path, message: 'unknown key (a key named "__proto__" is never a setting or a usable variable name)' };
      stack.push({ value: child, at: path, depth: depth + 1 });
    }
  }
  return null;
}

function envValue(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

interface Candidate {
  source: ValueSource;
  /** Names the origin in a problem line: the dot-path (file), "PORT (environment)", "--port (flag)". */
  origin: (at: string) => string;
  result: ParseResult<unknown>;
}

function problemLines(candidate: Candidate, problems: readonly Problem[]): string[] {
  return problems.map((p) => `${candidate.origin(p.at)}: ${p.message}`);
}

/**
 * Resolve order: `cwd` first, because relative paths and the default name depend on it; then
 * `health.path`, because `health.type`'s default depends on whether it was given.
 */
const RESOLVED_FIRST = ['cwd', 'health.path'];
const RESOLVE_ORDER: readonly LeafEntry[] = [
  ...RESOLVED_FIRST.flatMap((key) => configLeaves.filter((l) => l.path === key)),
  ...configLeaves.filter((l) => !RESOLVED_FIRST.includes(l.path)),
];

function setAtPath(target: Record<string, unknown>, dotPath: string, value: unknown): void {
  const parts = dotPath.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: Record<string, unknown> = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1] as string] = value;
}

/** The file's values leaf by leaf, after its shape and keys are checked (problems go to `problems`). */
function readFileValues(file: unknown, filepath: string | null, problems: string[]): FileValues {
  const fileValues: FileValues = { direct: new Map(), aliased: new Map() };
  if (filepath !== null && file !== undefined && file !== null) {
    const shape = checkShape(file);
    if (shape !== null) {
      problems.push(`${shape.path === '' ? '(whole file)' : shape.path}: ${shape.message}`);
    } else if (isPlainObject(file)) {
      walkSection(configSchema, file, '', fileValues, problems);
    } else {
      problems.push(`(whole file): expected an object of settings like {"command": "node server.js"}, got ${describeValue(file)}`);
    }
  }
  return fileValues;
}

/** What one leaf resolution needs besides the leaf: the layers' data and the parse context. */
interface LeafInputs {
  flags: ConfigFlags;
  env: Readonly<Record<string, string | undefined>>;
  fileValues: FileValues;
  filepath: string | null;
  withLayer: (layer: ParseContext['layer']) => ParseContext;
}

function flagCandidate({ path: key, node }: LeafEntry, inputs: LeafInputs): Candidate | undefined {
  const flagKey = FLAG_KEYS.find((f) => f.path === key);
  const flagValue = flagKey === undefined ? undefined : inputs.flags[flagKey.key];
  if (flagKey === undefined || flagValue === undefined || (Array.isArray(flagValue) && flagValue.length === 0)) return undefined;
  return {
    source: { kind: 'flag', flag: flagKey.flag },
    origin: (at) => `${flagKey.flag === '--' ? 'the command after "--"' : `${flagKey.flag} (flag)`}${at === '' ? '' : `: ${key}${at}`}`,
    result: node.parse(flagValue, inputs.withLayer('flag')),
  };
}

function envCandidate({ path: key, node }: LeafEntry, inputs: LeafInputs): Candidate | undefined {
  const { env } = inputs;
  const twin = envTwinName(key);
  const envVars = [{ name: twin, decode: (raw: string) => node.fromEnv(raw) }, ...node.legacyEnv.map((v) => ({ name: v.name, decode: (raw: string) => (v.decode ?? node.fromEnv)(raw) }))];
  // The NAIJA_SUP_ twin wins over the legacy name; only the variable used is validated, so a
  // stray PORT from the platform does not break a run that sets NAIJA_SUP_PORT.
  const envVar = envVars.find((v) => envValue(env, v.name) !== undefined);
  if (envVar === undefined) return undefined;
  const decoded = envVar.decode(envValue(env, envVar.name) as string);
  // A JSON value from the environment gets the same shape check as a file.
  const shape = decoded.ok ? checkShape(decoded.value) : null;
  return {
    source: { kind: 'env', variable: envVar.name },
    origin: (at) => `${envVar.name} (environment)${at === '' ? '' : `: ${key}${at}`}`,
    result: !decoded.ok ? decoded : shape !== null ? { ok: false, problems: [{ at: shape.path === '' || shape.path.startsWith('[') ? shape.path : `.${shape.path}`, message: shape.message }] } : node.parse(decoded.value, inputs.withLayer('env')),
  };
}

function fileCandidates({ path: key, node }: LeafEntry, inputs: LeafInputs): Candidate[] {
  const candidates: Candidate[] = [];
  // Where a file spells a key both ways, the alias (health.startup.type) wins over the key itself.
  for (const given of [inputs.fileValues.aliased.get(key), inputs.fileValues.direct.get(key)]) {
    if (given === undefined) continue;
    candidates.push({
      source: { kind: 'file', file: inputs.filepath as string },
      origin: (at) => `${given.writtenAt}${at}`,
      result: node.parse(given.raw, inputs.withLayer('file')),
    });
  }
  return candidates;
}

/** Every layer's value for a leaf, highest precedence first: flag, environment, file. */
function leafCandidates(leaf: LeafEntry, inputs: LeafInputs): Candidate[] {
  const candidates: Candidate[] = [];
  const flag = flagCandidate(leaf, inputs);
  if (flag !== undefined) candidates.push(flag);
  const fromEnv = envCandidate(leaf, inputs);
  if (fromEnv !== undefined) candidates.push(fromEnv);
  candidates.push(...fileCandidates(leaf, inputs));
  return candidates;
}

/** The leaves' values, where each came from, and what each overrode. */
interface Resolution {
  resolved: Map<string, unknown>;
  sources: Record<string, ValueSource>;
  shadowed: Record<string, ShadowedValue[]>;
  /** Keys with an invalid value in some layer. */
  badKeys: Set<string>;
}

/** Picks each leaf's value (the first valid layer, else the default), in RESOLVE_ORDER. */
function resolveLeaves(input: ResolveInput, fileValues: FileValues, problems: string[]): Resolution {
  const filepath = input.filepath ?? null;
  const resolution: Resolution = { resolved: new Map(), sources: {}, shadowed: {}, badKeys: new Set() };
  const { resolved, sources, shadowed } = resolution;
  const context: ResolveContext = {
    configDir: filepath === null ? null : path.dirname(filepath),
    invocationCwd: input.cwd,
    appCwd: input.cwd,
    packageNameOf: input.packageNameOf ?? (() => null),
    resolved: (key) => resolved.get(key),
    isSet: (key) => sources[key] !== undefined && sources[key].kind !== 'default',
  };
  const inputs: LeafInputs = {
    flags: input.flags ?? {},
    env: input.env ?? {},
    fileValues,
    filepath,
    withLayer: (layer) => ({ ...context, layer }),
  };

  for (const leaf of RESOLVE_ORDER) {
    const { path: key, node } = leaf;
    const candidates = leafCandidates(leaf, inputs);
    // Every layer is validated, even one a higher layer overrides: a bad value in the file is a
    // bad file, and should not surface only when the override goes away.
    for (const candidate of candidates) {
      if (!candidate.result.ok) {
        problems.push(...problemLines(candidate, candidate.result.problems));
        resolution.badKeys.add(key);
      }
    }
    const winner = candidates.find((c) => c.result.ok);
    if (winner !== undefined && winner.result.ok) {
      resolved.set(key, winner.result.value);
      sources[key] = winner.source;
      const losers = candidates.flatMap((c) => (c !== winner && c.result.ok ? [{ source: c.source, value: c.result.value }] : []));
      if (losers.length > 0) shadowed[key] = losers;
    } else {
      resolved.set(key, node.default.kind === 'value' ? node.default.value : node.default.compute(context));
      sources[key] = { kind: 'default' };
    }
    if (key === 'cwd') context.appCwd = resolved.get('cwd') as string;
  }
  return resolution;
}

/** Rules across keys, checked on the resolved values. */
function crossKeyProblems(resolved: ReadonlyMap<string, unknown>): string[] {
  const problems: string[] = [];
  if (resolved.get('health.type') === 'log' && resolved.get('health.log') === null) {
    problems.push('health.log: required when health.type is "log" (a regular expression matching the line the server prints when ready)');
  }
  const readiness = resolved.get('health.readiness') as ResolvedConfig['health']['readiness'];
  if (readiness !== null && readiness.type === 'log' && readiness.log === null) {
    problems.push('health.readiness.log: required when health.readiness.type is "log" (a regular expression matching the line that shows the server is ready)');
  }
  const statusPort = resolved.get('status.port') as number | null;
  if (statusPort !== null && statusPort === resolved.get('port')) {
    problems.push(`status.port: expected a port other than the server's own (port ${statusPort}), got ${statusPort}`);
  }
  const initialDelay = resolved.get('restart.initialDelay') as number;
  const maxDelay = resolved.get('restart.maxDelay') as number;
  if (maxDelay < initialDelay) {
    problems.push(`restart.maxDelay: expected at least restart.initialDelay (${formatDuration(initialDelay)}), got ${formatDuration(maxDelay)}`);
  }
  const command = resolved.get('command') as string[];
  if (resolved.get('restart.standby') === true && command.length > 0 && !isNodeCommand(command)) {
    problems.push(`restart.standby: needs a command that runs node directly (e.g. "node server.js"), got "${command[0] ?? ''}"; a shell, npm or another runtime would not wait at the standby gate`);
  }
  return problems;
}

/** Throws E_CONFIG_INVALID listing `problems` if there are any, else E_NO_COMMAND if a required command is missing. */
function throwIfUnusable(problems: string[], resolution: Resolution, input: ResolveInput): void {
  const { cwd } = input;
  const filepath = input.filepath ?? null;
  const requireCommand = input.requireCommand ?? true;
  const command = resolution.resolved.get('command') as string[];
  const fileLabel = filepath === null ? null : displayPath(filepath, cwd);
  if (problems.length > 0) {
    if (requireCommand && command.length === 0 && !resolution.badKeys.has('command')) {
      problems.push('command: required — give it in the config file or after "--" (naija-sup start -- node server.js)');
    }
    throw new NaijaSupError(
      'E_CONFIG_INVALID',
      `invalid configuration${fileLabel === null ? '' : ` (${fileLabel})`}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      {
        details: problems,
        fix: 'correct each value listed; every key, its type and default are in the configuration reference (README) and in "naija-sup config --json-schema"',
      },
    );
  }
  if (requireCommand && command.length === 0) {
    throw fileLabel === null
      ? new NaijaSupError('E_NO_COMMAND', `no command to run: no config file in ${cwd} and no command after "--"`, {
        fix: `give the command after "--", like: naija-sup start -- node server.js; or put "command" in one of these files in ${cwd}: ${describeSearchPlaces()}`,
      })
      : new NaijaSupError('E_NO_COMMAND', `no command to run: ${fileLabel} has no "command" and none was given after "--"`, {
        fix: `add "command" to ${fileLabel} (for example "command": "node server.js"), or give it after "--", like: naija-sup start -- node server.js`,
      });
  }
}

/**
 * Resolves a configuration from a file's content, the environment and flags.
 * @throws NaijaSupError E_CONFIG_INVALID listing every problem (dot-path, what was expected, what
 *   was found); E_NO_COMMAND when a command is required and none was given.
 */
export function resolveConfig(input: ResolveInput): LoadedConfig {
  const filepath = input.filepath ?? null;
  const problems: string[] = [];
  const fileValues = readFileValues(input.file, filepath, problems);
  const resolution = resolveLeaves(input, fileValues, problems);
  problems.push(...crossKeyProblems(resolution.resolved));
  throwIfUnusable(problems, resolution, input);

  const config: Record<string, unknown> = {};
  for (const { path: key } of configLeaves) setAtPath(config, key, resolution.resolved.get(key));
  const ordered: Record<string, ValueSource> = {};
  for (const { path: key } of configLeaves) ordered[key] = resolution.sources[key] as ValueSource;
  // The cast is checked at compile time: schema.ts asserts that the leaves' resolved types form
  // exactly ResolvedConfig.
  return { config: config as unknown as ResolvedConfig, sources: ordered, filepath, shadowed: resolution.shadowed };
}

/**
 * Where the port came from, when that is worth saying: a value from the environment (a `PORT`
 * exported in the shell and forgotten is a classic), with what it overrode
 * ("env PORT, over 8000 from file naija-sup.config.json"). Null for a port from a
 * flag, the file or the default.
 */
export function portOrigin(loaded: Pick<LoadedConfig, 'sources' | 'shadowed'>, cwd: string): string | null {
  const source = loaded.sources['port'];
  // A flag is what the user just typed: only the environment can surprise.
  if (source === undefined || source.kind !== 'env') return null;
  const over = loaded.shadowed?.['port']?.[0];
  return `${formatSource(source, cwd)}${over === undefined ? '' : `, over ${String(over.value)} from ${formatSource(over.source, cwd)}`}`;
}
