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
 *   so JS/TS files are imported in a fresh worker thread each time (see importInWorker).
 */
import type { Loader } from 'cosmiconfig';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NaijaSupError } from '../errors.js';
import { displayPath, resolveConfig, type ConfigFlags } from './resolve.js';
import { CONFIG_SEARCH_PLACES, describeSearchPlaces, isPlainObject } from './schema.js';
import type { LoadedConfig } from './types.js';

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

/** A problem with one file, turned into a NaijaSupError once the display path is known. */
class ConfigFileError extends Error {
  constructor(
    readonly kind: 'syntax' | 'load',
    readonly filepath: string,
    readonly reason: string,
    readonly line: number | undefined,
    readonly lineText: string | undefined,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

function sourceLine(content: string, line: number | undefined): string | undefined {
  if (line === undefined) return undefined;
  return content.split('\n')[line - 1]?.replace(/\r$/, '');
}

// ---------------------------------------------------------------------------------------------
// JSON

/**
 * Offset of the first JSON syntax error in `text` (the length when the text ends early), or
 * undefined if it is valid. JSON.parse's messages carry a position only for some errors
 * ("Unexpected token '}', … is not valid JSON" has none), so the line is found here.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const stop = (): never => {
    throw new JsonStop(i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i += 1;
  };
  const string = (): void => {
    i += 1;
    for (;;) {
      const c = text[i];
      if (c === undefined) stop();
      else if (c === '"') {
        i += 1;
        return;
      } else if (c === '\\') {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i += 1;
          stop();
        }
      } else if (c.charCodeAt(0) < 0x20) stop();
      else i += 1;
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      ws();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') stop();
        string();
        ws();
        if (text[i] !== ':') stop();
        i += 1;
        value();
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return;
        } else stop();
      }
    } else if (c === '[') {
      i += 1;
      ws();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return;
        } else stop();
      }
    } else if (c === '"') {
      string();
    } else {
      for (const word of ['true', 'false', 'null']) {
        if (text.startsWith(word, i)) {
          i += word.length;
          return;
        }
      }
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (match === null) stop();
      else i += match[0].length;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) stop();
    return undefined;
  } catch (error) {
    if (error instanceof JsonStop) return error.offset;
    // Nesting deep enough to overflow the stack: no position, but still a syntax error.
    return undefined;
  }
}

class JsonStop {
  constructor(readonly offset: number) {}
}

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
  const { parse: parseYaml, YAMLParseError } = await import('yaml');
  try {
    return parseYaml(content) as unknown;
  } catch (error) {
    if (!(error instanceof YAMLParseError)) throw error;
    const line = error.linePos?.[0].line;
    const reason = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigFileError('syntax', filepath, reason, line, sourceLine(content, line), ' (check indentation, colons and quotes)', { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// JavaScript and TypeScript

/**
 * Line of an ES module syntax error. V8 keeps the position of a module's SyntaxError out of
 * `message` and `stack` (Node prints it only for a fatal error), so a syntax-only check —
 * `node --check`, which never runs the code — reads it from the source on stdin.
 */
function moduleSyntaxErrorLine(content: string): number | undefined {
  const result = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: content, encoding: 'utf8', timeout: 10_000, env: {} });
  const match = /^\[stdin\]:(\d+)/m.exec(result.stderr ?? '');
  return match ? Number(match[1]) : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Line of `filepath` in an error's stack (file path or file: URL). */
function lineInStack(stack: string, filepath: string): number | undefined {
  const names = [filepath, pathToFileURL(filepath).href].map(escapeRegExp).join('|');
  const match = new RegExp(`(?:${names}):(\\d+)`).exec(stack);
  return match ? Number(match[1]) : undefined;
}

/** What the loader thread reports. */
type WorkerReply =
  | { ok: true; value: unknown }
  | { ok: false; kind: 'threw'; name: string; message: string; stack: string }
  | { ok: false; kind: 'no-default' | 'not-data' | 'timeout' | 'exit'; message: string };

/**
 * Imports a module in a worker thread and posts back its default export (structured-cloned, so a
 * config must be plain data). A fresh thread per load means a fresh module cache: a reload sees
 * the file as it is now, including files it imports, without cache-busting tricks that leak. It
 * also keeps a config module's side effects out of the supervisor, and it is the same native
 * import() under a test runner that rewrites import() in the modules it loads.
 */
const LOADER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.url).then(
  (module) => {
    if (module.default === undefined) {
      parentPort.postMessage({ ok: false, kind: 'no-default', message: 'it has no default export' });
      return;
    }
    try {
      parentPort.postMessage({ ok: true, value: module.default });
    } catch (error) {
      parentPort.postMessage({ ok: false, kind: 'not-data', message: 'its default export is not plain data (' + error.message + ')' });
    }
  },
  (error) => parentPort.postMessage({
    ok: false,
    kind: 'threw',
    name: (error && error.name) || 'Error',
    message: String((error && error.message) || error),
    stack: String((error && error.stack) || error),
  }),
);
`;

const LOAD_TIMEOUT_MS = 10_000;

async function importInWorker(filepath: string): Promise<WorkerReply> {
  // Loaded here, for JS/TS configs only: node:worker_threads costs a few ms of every `start`.
  const { Worker } = await import('node:worker_threads');
  return new Promise((resolve) => {
    const worker = new Worker(LOADER_THREAD, { eval: true, workerData: { url: pathToFileURL(filepath).href } });
    // Listeners stay attached (a late 'error' with no listener would throw); later calls are no-ops.
    let settled = false;
    const finish = (reply: WorkerReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(reply);
    };
    const timer = setTimeout(() => finish({ ok: false, kind: 'timeout', message: `it did not finish loading within ${LOAD_TIMEOUT_MS / 1000}s` }), LOAD_TIMEOUT_MS);
    worker.on('message', (reply: WorkerReply) => finish(reply));
    worker.on('error', (error) => finish({ ok: false, kind: 'threw', name: error.name, message: error.message, stack: error.stack ?? error.message }));
    worker.on('exit', (code) => finish({ ok: false, kind: 'exit', message: `it ended the loading thread (exit code ${code})` }));
  });
}

async function loadJs(filepath: string, content: string, shownAs: string = filepath): Promise<unknown> {
  const reply = await importInWorker(filepath);
  if (reply.ok) return reply.value;
  if (reply.kind !== 'threw') {
    const hint = reply.kind === 'no-default' ? ': write "export default { … }" (or "module.exports = { … }" in CommonJS)' : '';
    throw new ConfigFileError('load', shownAs, reply.message, undefined, undefined, hint);
  }
  const reason = `${reply.name}: ${reply.message}`;
  if (reply.name === 'SyntaxError') {
    // A CommonJS syntax error starts its stack with "<file>:<line>"; an ES module's does not.
    const line = lineInStack(reply.stack.split('\n')[0] ?? '', filepath) ?? moduleSyntaxErrorLine(content);
    throw new ConfigFileError('syntax', shownAs, reason, line, sourceLine(content, line), '');
  }
  // Evaluation failed (a ReferenceError, a missing import…). Lines of a transpiled .ts file would
  // not match its source, so they are given for JS only.
  const line = shownAs === filepath ? lineInStack(reply.stack, filepath) : undefined;
  throw new ConfigFileError('load', shownAs, reason, line, sourceLine(content, line), '');
}

type TypeScript = typeof import('typescript');

/** typescript from the config file's project first, else the one next to naija-sup (if any). */
async function importTypeScript(filepath: string): Promise<TypeScript | undefined> {
  for (const from of [filepath, import.meta.url]) {
    let resolved: string;
    try {
      resolved = createRequire(from).resolve('typescript');
    } catch {
      continue;
    }
    const module = (await import(pathToFileURL(resolved).href)) as { default?: TypeScript } & TypeScript;
    return module.default ?? module;
  }
  return undefined;
}

async function loadTs(filepath: string, content: string): Promise<unknown> {
  const ts = await importTypeScript(filepath);
  if (ts === undefined) {
    throw new ConfigFileError('load', filepath, 'loading a .ts config needs the "typescript" package, which is not installed', undefined, undefined, ': run "npm install --save-dev typescript", or rename the file to naija-sup.config.mjs and remove the type annotations');
  }
  const output = ts.transpileModule(content, {
    fileName: filepath,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: false },
  });
  const diagnostic = output.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (diagnostic !== undefined) {
    const line = diagnostic.file !== undefined && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : undefined;
    throw new ConfigFileError('syntax', filepath, ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '), line, sourceLine(content, line), '');
  }
  // Written next to the source so that its relative imports resolve; removed right after.
  const compiled = `${filepath}.${process.getBuiltinModule('node:crypto').randomUUID()}.mjs`; // crypto only when a TS config is compiled
  await writeFile(compiled, output.outputText);
  try {
    return await loadJs(compiled, output.outputText, filepath);
  } finally {
    await rm(compiled, { force: true });
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

/** A source line quoted in a message: a hostile one-line file must not become a megabyte of output. */
const MAX_QUOTED_LINE = 200;

function clip(line: string): string {
  return line.length <= MAX_QUOTED_LINE ? line : `${line.slice(0, MAX_QUOTED_LINE)}… (${line.length} characters)`;
}

function toNaijaSupError(error: ConfigFileError, cwd: string): NaijaSupError {
  const file = displayPath(error.filepath, cwd);
  const at = error.line === undefined ? '' : ` at line ${error.line}`;
  const details = error.line !== undefined && error.lineText !== undefined ? [`${file}:${error.line}: ${clip(error.lineText.trim())}`] : [];
  if (error.kind === 'syntax') {
    return new NaijaSupError('E_CONFIG_SYNTAX', `syntax error in ${file}${at}: ${error.reason}`, {
      details,
      fix: `correct ${file}${at}${error.hint}`,
      cause: error.cause,
    });
  }
  return new NaijaSupError('E_CONFIG_INVALID', `could not load ${file}${at}: ${error.reason}`, {
    details,
    fix: error.hint !== '' ? `fix ${file}${error.hint}` : `fix ${file}${at} so that it loads: naija-sup imports it and reads its default export`,
    cause: error.cause,
  });
}

async function explorer() {
  // Imported here: cosmiconfig costs tens of ms to load, and `--config` usually does without it.
  const { cosmiconfig } = await import('cosmiconfig');
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
  const contents = await readFile(filepath, 'utf8');
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
      const contents = await readFile(filepath, 'utf8');
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
