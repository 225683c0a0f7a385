/**
 * Finding and reading the config file (cosmiconfig 9), then resolving it (resolve.ts).
 *
 * cosmiconfig provides the search: the search places below, the "naija-sup" key of package.json,
 * empty files skipped, only the directory naija-sup runs in (searchStrategy "none", so a config in
 * a parent folder or the home directory is never picked up by surprise). The loaders are our own:
 *
 * - JSON and YAML errors must name the line (JSON.parse messages often carry no position; the
 *   `yaml` package, a direct dependency, reports line and column).
 * - cosmiconfig's JS loader retries a failed import() with require(), which on Node 20.19+ turns an
 *   ES module's SyntaxError into ERR_INTERNAL_ASSERTION ("Cannot require() ES Module … not yet fully
 *   loaded"), hiding the real error.
 * - A reload (SIGHUP) must see the file's new content: Node caches modules by URL and filename,
 *   so JS/TS files are imported in a fresh worker thread each time (module-loaders.ts).
 *
 * This module keeps the search and the JSON/YAML loaders; the JS/TS loaders are module-loaders.ts,
 * the JSON error scanner json-syntax.ts, and the file errors' messages file-error.ts.
 */
import type { Loader } from 'cosmiconfig';
import { readFileSync, statSync } from 'node:fs';
import { readTextFile } from '../fs-async.js';
import * as path from 'node:path';
import { NaijaSupError } from '../errors.js';
import { ConfigFileError, sourceLine, toNaijaSupError } from './file-error.js';
import { jsonErrorOffset } from './json-syntax.js';
import { loadJs, loadTs } from './module-loaders.js';
import { displayPath, resolveConfig, type ConfigFlags } from './resolve.js';
import { CONFIG_SEARCH_PLACES, describeSearchPlaces, isPlainObject } from './schema.js';
import type { LoadedConfig } from './types.js';
import { importModule } from '../import-module.js';

export interface LoadConfigOptions {
  /** The directory naija-sup runs in: searched for a config file, base of relative paths. */
  cwd: string;
  /** A config file to use instead of searching (`--config`), relative to `cwd`. */
  configPath?: string | undefined;
  /** The environment; defaults to none (pass process.env explicitly). */
  env?: Readonly<Record<string, string | undefined>>;
  flags?: ConfigFlags;
  /** When true (the default), no command anywhere is E_NO_COMMAND; when false the command is []. */
  requireCommand?: boolean;
}

/** A config file's path and content (undefined for an empty file). */
export interface ConfigFile {
  filepath: string;
  content: unknown;
}

// ---------------------------------------------------------------------------------------------
// JSON

function loadJson(filepath: string, content: string): unknown {
  const text = content.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const offset = jsonErrorOffset(text);
    const line = offset === undefined ? undefined : text.slice(0, offset).split('\n').length;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigFileError('syntax', filepath, reason, line, sourceLine(text, line), ' (JSON has no comments and no trailing commas)', { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// YAML (also .naija-suprc, which may hold JSON: YAML 1.2 reads JSON)

async function loadYaml(filepath: string, content: string): Promise<unknown> {
  // Loaded on first use: the yaml package adds ~8 MiB to a supervisor that lives for days, and most
  // configs are JSON or none at all.
  const { parse: parseYaml, YAMLParseError } = await importModule<typeof import('yaml')>('yaml');
  try {
    return parseYaml(content) as unknown;
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const line = error.linePos?.[0].line;
    const reason = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigFileError('syntax', filepath, reason, line, sourceLine(content, line), ' (check indentation, colons and quotes)', { cause: error });
  }
}

const LOADERS: Record<string, Loader> = {
  '.json': async (filepath, content) => loadJson(filepath, content),
  '.yaml': async (filepath, content) => loadYaml(filepath, content),
  '.yml': async (filepath, content) => loadYaml(filepath, content),
  noExt: async (filepath, content) => loadYaml(filepath, content),
  '.js': async (filepath, content) => loadJs(filepath, content),
  '.mjs': async (filepath, content) => loadJs(filepath, content),
  '.cjs': async (filepath, content) => loadJs(filepath, content),
  '.ts': async (filepath, content) => loadTs(filepath, content),
};

async function explorer() {
  // Imported here: cosmiconfig costs tens of ms to load, and `--config` usually does without it.
  const { cosmiconfig } = await importModule<typeof import('cosmiconfig')>('cosmiconfig');
  // A new explorer per load: its caches would otherwise keep a reload from seeing a changed file.
  return cosmiconfig('naija-sup', {
    searchStrategy: 'none',
    searchPlaces: [...CONFIG_SEARCH_PLACES],
    loaders: LOADERS,
    cache: false,
  });
}

/**
 * The file `--config` names, read and loaded without cosmiconfig, as cosmiconfig's `load` would
 * (empty → no content). Undefined where cosmiconfig's own rules apply: package.json (its
 * "naija-sup" key) and a file with `$import`.
 */
async function loadNamedFile(filepath: string, loader: Loader): Promise<ConfigFile | undefined> {
  if (path.basename(filepath, path.extname(filepath)) === 'package') return undefined;
  const contents = await readTextFile(filepath);
  if (contents.trim() === '') return { filepath, content: undefined };
  const content = (await loader(filepath, contents)) as unknown;
  if (isPlainObject(content) && Object.hasOwn(content, '$import')) return undefined;
  return { filepath, content };
}

/**
 * cosmiconfig's search (searchStrategy "none") without cosmiconfig: the first search place in
 * `cwd` with content (package.json: a "naija-sup" key). Undefined where cosmiconfig's own rules or
 * errors apply (something that is not a file, `$import`): the caller asks cosmiconfig then.
 */
async function searchDirect(cwd: string): Promise<ConfigFile | null | undefined> {
  for (const place of CONFIG_SEARCH_PLACES) {
    const filepath = path.join(cwd, place);
    let isFile: boolean;
    try {
      isFile = statSync(filepath).isFile();
    } catch {
      continue;
    }
    if (!isFile) return undefined;
    if (place === 'package.json') {
      const contents = await readTextFile(filepath);
      const pkg = contents.trim() === '' ? undefined : await LOADERS['.json']?.(filepath, contents) as unknown;
      const value = isPlainObject(pkg) ? pkg['naija-sup'] : undefined;
      if (value === undefined || value === null) continue;
      return isPlainObject(value) && Object.hasOwn(value, '$import') ? undefined : { filepath, content: value };
    }
    const loader = LOADERS[path.extname(place) || 'noExt'];
    const found = loader === undefined ? undefined : await loadNamedFile(filepath, loader);
    if (found === undefined || found.content !== undefined) return found;
  }
  return null;
}

/**
 * Finds and reads the config file: `configPath` if given (relative to `cwd`), else the first of
 * CONFIG_SEARCH_PLACES in `cwd`. Returns null when the search finds none.
 * @throws NaijaSupError E_CONFIG_NOT_FOUND (configPath missing), E_CONFIG_SYNTAX (naming the file
 *   and line), E_CONFIG_INVALID (a JS/TS file that fails to run or has no default export).
 */
export async function readConfigFile(cwd: string, configPath?: string): Promise<ConfigFile | null> {
  try {
    if (configPath === undefined) {
      const direct = await searchDirect(cwd);
      if (direct !== undefined) return direct;
      const result = await (await explorer()).search(cwd);
      return result === null ? null : { filepath: result.filepath, content: result.config as unknown };
    }
    const filepath = path.resolve(cwd, configPath);
    const shown = displayPath(filepath, cwd);
    const notFound = (why: string): NaijaSupError =>
      new NaijaSupError('E_CONFIG_NOT_FOUND', `config file ${shown} ${why}`, {
        fix: `check the path given to --config (relative to ${cwd}), or leave --config out to search ${cwd} for: ${describeSearchPlaces()}`,
      });
    let isFile: boolean;
    try {
      isFile = statSync(filepath).isFile();
    } catch {
      throw notFound('does not exist');
    }
    if (!isFile) throw notFound('is not a file');
    const extension = path.extname(filepath);
    const loader = LOADERS[extension === '' ? 'noExt' : extension];
    if (loader === undefined) {
      throw new NaijaSupError('E_CONFIG_INVALID', `cannot read ${shown}: "${extension}" is not a config file type naija-sup reads`, {
        fix: 'use a .json, .yaml, .yml, .js, .mjs, .cjs or .ts file (or one without an extension, read as YAML)',
      });
    }
    const direct = await loadNamedFile(filepath, loader);
    if (direct !== undefined) return direct;
    const result = await (await explorer()).load(filepath);
    if (result === null) throw notFound('has no "naija-sup" key');
    return { filepath: result.filepath, content: result.config as unknown };
  } catch (error) {
    if (error instanceof ConfigFileError) throw toNaijaSupError(error, cwd);
    throw error;
  }
}

/** `name` from `dir`/package.json, or null when there is none (or it cannot be read). */
export function readPackageName(dir: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as unknown;
    return isPlainObject(pkg) && typeof pkg['name'] === 'string' ? pkg['name'] : null;
  } catch {
    return null;
  }
}

/**
 * Loads the configuration: finds the file, then resolves flags > environment > file > defaults.
 * @throws NaijaSupError E_CONFIG_NOT_FOUND, E_CONFIG_SYNTAX, E_CONFIG_INVALID (every problem at
 *   once), E_NO_COMMAND (when `requireCommand` and no command was given anywhere).
 */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const cwd = path.resolve(options.cwd);
  const file = await readConfigFile(cwd, options.configPath);
  return resolveConfig({
    file: file?.content,
    filepath: file?.filepath ?? null,
    env: options.env ?? {},
    flags: options.flags ?? {},
    cwd,
    requireCommand: options.requireCommand ?? true,
    packageNameOf: readPackageName,
  });
}
