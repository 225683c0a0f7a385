/**
 * The configuration layer's public API: load (find + read + resolve), resolve (pure), the schema's
 * derived artefacts (JSON Schema, markdown reference) and the small parsers they share.
 */
export { loadConfig, readConfigFile, readPackageName, type ConfigFile, type LoadConfigOptions } from './load.js';
export { resolveConfig, formatSource, displayPath, FLAG_KEYS, type ConfigFlags, type ResolveInput } from './resolve.js';
export { defineConfig, type UserConfig, type DurationInput, type SignalInput, type LivenessInput } from './define-config.js';
export { parseDuration, tryParseDuration, formatDuration, MAX_DURATION_MS } from './duration.js';
export { splitCommand, joinCommand, ShellSplitError } from './shell-split.js';
export { redactEnv, isSecretName, REDACTED } from './redact.js';
export { buildJsonSchema, renderJsonSchema, SCHEMA_ID } from './json-schema.js';
export { renderConfigReference } from './reference.js';
export {
  configSchema,
  configLeaves,
  envTwinName,
  compileMatchPattern,
  normalizeSignal,
  sanitizeName,
  CONFIG_SEARCH_PLACES,
  STOP_SIGNALS,
  type LeafNode,
  type LeafEntry,
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
} from './types.js';
