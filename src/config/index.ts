/**
 * The configuration layer's public API: load (find + read + resolve), resolve (pure), the schema's
 * derived artefacts (JSON Schema, markdown reference) and the small parsers they share.
 */
export { loadConfig, readConfigFile, readPackageName, type ConfigFile, type LoadConfigOptions } from './load.js';
export { resolveConfig, formatSource, portOrigin, displayPath, FLAG_KEYS, type ConfigFlags, type ResolveInput } from './resolve.js';
export {
  defineConfig,
  type UserConfig,
  type DurationInput,
  type SizeInput,
  type SignalInput,
  type LivenessInput,
  type ReadinessInput,
  type StartupInput,
  type DependencyInput,
} from './define-config.js';
export { parseDuration, tryParseDuration, formatDuration, MAX_DURATION_MS } from './duration.js';
export { parseSize, tryParseSize, formatSize, MAX_SIZE_BYTES } from './size.js';
export { splitCommand, joinCommand, ShellSplitError } from './shell-split.js';
export { redactEnv, redactUrl, redactUrlsIn, redactConfig, isSecretName, createRedactor, redactorFor, REDACTED, SECRET_NAME_WORDS, type Redactor } from './redact.js';
export { buildJsonSchema, renderJsonSchema, SCHEMA_ID } from './json-schema.js';
export { renderConfigReference } from './reference.js';
export {
  configSchema,
  configLeaves,
  envTwinName,
  compileMatchPattern,
  normalizeSignal,
  sanitizeName,
  splitHostPort,
  CONFIG_SEARCH_PLACES,
  STOP_SIGNALS,
  type LeafNode,
  type LeafEntry,
  type AliasNode,
} from './schema.js';
export type {
  ResolvedConfig,
  LoadedConfig,
  ValueSource,
  HealthConfig,
  LivenessConfig,
  RestartConfig,
  ShutdownConfig,
  CleanupConfig,
  RestartPolicy,
  ProbeType,
  ProbeSpec,
  DependencyConfig,
  ReloadMode,
  LogFormat,
} from './types.js';
