/**
 * `naija-sup config`: prints the resolved configuration with the source of every value, as aligned
 * `key  value  (source)` lines or as JSON (`--json`), or the config file's JSON Schema
 * (`--json-schema`). Secrets are redacted in both forms (src/config/redact.ts: by name, URL
 * userinfo, and the known secret values wherever they appear). A missing command is
 * shown, not an error: only `start` needs one. Config errors are thrown for main.ts to render.
 */
import {
  configLeaves,
  displayPath,
  formatSource,
  joinCommand,
  loadConfig,
  redactConfig,
  redactorFor,
  renderJsonSchema,
  type ConfigFlags,
  type LoadedConfig,
  type ResolvedConfig,
} from '../../config/index.js';
import type { CliIO } from '../context.js';

export interface ConfigCommandOptions {
  config?: string;
  json?: boolean;
  jsonSchema?: boolean;
  port?: number;
  host?: string;
}

/** Text shown for the command when none is configured. */
export const NO_COMMAND_TEXT = '(none — give one after --)';

/** Values wider than this are not padded, so one long command does not push every source far right. */
const MAX_VALUE_WIDTH = 48;

function valueAt(config: ResolvedConfig, dotPath: string): unknown {
  let node: unknown = config;
  for (const part of dotPath.split('.')) node = (node as Record<string, unknown>)[part];
  return node;
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return 'null';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** One `[key, value, source]` row per printed value, in schema order. */
export function configRows(loaded: LoadedConfig, cwd: string, env: NodeJS.ProcessEnv = {}): Array<[string, string, string]> {
  const rows: Array<[string, string, string]> = [];
  // The rule of every output (issue 15): by name and URL, then every known secret value wherever
  // it appears (a password pasted into the command line too).
  const config: ResolvedConfig = redactorFor(loaded.config, env).deep(redactConfig(loaded.config));
  for (const { path, node } of configLeaves) {
    const source = loaded.sources[path];
    const from = source === undefined ? '' : formatSource(source, cwd);
    const value = valueAt(config, path);
    if (path === 'command') {
      rows.push([path, config.command.length === 0 ? NO_COMMAND_TEXT : joinCommand(config.command), from]);
    } else if (path === 'env' && Object.keys(config.env).length > 0) {
      for (const [name, v] of Object.entries(config.env)) rows.push([`env.${name}`, v, from]);
    } else if (node.fields !== undefined) {
      if (value === null) {
        rows.push([path, 'off', from]);
      } else {
        for (const [key, field] of Object.entries(node.fields)) {
          rows.push([`${path}.${key}`, show(field.toInput((value as Record<string, unknown>)[key])), from]);
        }
      }
    } else {
      rows.push([path, show(node.toInput(value)), from]);
    }
  }
  return rows;
}

function renderHuman(loaded: LoadedConfig, cwd: string, env: NodeJS.ProcessEnv): string {
  const header = loaded.filepath === null ? `config file: none found in ${cwd}` : `config file: ${displayPath(loaded.filepath, cwd)}`;
  const rows = configRows(loaded, cwd, env);
  const keyWidth = Math.max(...rows.map(([key]) => key.length));
  const valueWidth = Math.min(MAX_VALUE_WIDTH, Math.max(...rows.map(([, value]) => value.length)));
  const lines = rows.map(([key, value, source]) => `${key.padEnd(keyWidth)}  ${value.padEnd(valueWidth)}  (${source})`);
  return `${header}\n\n${lines.join('\n')}\n`;
}

/** Runs `naija-sup config`; returns the exit status. */
export async function configCommand(io: CliIO, opts: ConfigCommandOptions): Promise<number> {
  if (opts.jsonSchema) {
    io.stdout(renderJsonSchema());
    return 0;
  }
  const flags: ConfigFlags = {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  };
  const loaded = await loadConfig({ cwd: io.cwd, configPath: opts.config, env: io.env, flags, requireCommand: false });
  if (opts.json) {
    const config = redactorFor(loaded.config, io.env).deep(redactConfig(loaded.config));
    io.stdout(`${JSON.stringify({ config, sources: loaded.sources, file: loaded.filepath }, null, 2)}\n`);
    return 0;
  }
  io.stdout(renderHuman(loaded, io.cwd, io.env));
  return 0;
}
