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
 *
 * This file only assembles the tree, in document order, and is what the rest of the code imports.
 * The keys live in src/config/schema/, one module per part: process.ts (name, command, cwd, env,
 * pidFile, bcrypt), ports.ts (port, host, portFallback, cleanup), health.ts, restart.ts,
 * shutdown.ts, dependencies.ts (dependsOn, dependencies), observability.ts (status, alerts,
 * logFormat, logs) and reload.ts (mode, instances, proxy). They share nodes.ts (the node types) and builders.ts
 * (parse helpers, environment decoders, leaf builders); none imports this file.
 */
import type { UserConfig } from './define-config.js';
import { splitHostPort } from './host-port.js';
import type { ResolvedConfig } from './types.js';
import { section } from './schema/builders.js';
import { dependenciesSection, dependsOnLeaf } from './schema/dependencies.js';
import { healthSection } from './schema/health.js';
import type { AnySection, InferInput, InferResolved, LeafNode } from './schema/nodes.js';
import { alertsSection, logFormatLeaf, logsSection, statusSection } from './schema/observability.js';
import { cleanupSection, hostLeaf, portFallbackLeaf, portLeaf } from './schema/ports.js';
import { bcryptSection, commandLeaf, cwdLeaf, envLeaf, nameLeaf, pidFileLeaf, redactLeaf } from './schema/process.js';
import { instancesLeaf, modeLeaf, proxySection } from './schema/reload.js';
import { restartSection } from './schema/restart.js';
import { shutdownSection } from './schema/shutdown.js';

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
// The schema

/** The configuration schema. Key order is the order of the docs and of `naija-sup config`. */
export const configSchema = section('Configuration of naija-sup, a process supervisor for API servers.', {
  name: nameLeaf,
  command: commandLeaf,
  cwd: cwdLeaf,
  env: envLeaf,
  redact: redactLeaf,
  port: portLeaf,
  host: hostLeaf,
  pidFile: pidFileLeaf,
  portFallback: portFallbackLeaf,
  health: healthSection,
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
  instances: instancesLeaf,
  proxy: proxySection,
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
