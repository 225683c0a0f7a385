/**
 * Loading JavaScript and TypeScript config files. Each load imports the file in a fresh worker
 * thread (importInWorker): Node caches modules by URL and filename, so a reload (SIGHUP) would
 * otherwise see the old content; the thread also keeps a config module's side effects out of the
 * supervisor. cosmiconfig's own JS loader is not used: it retries a failed import() with
 * require(), which on Node 20.19+ turns an ES module's SyntaxError into ERR_INTERNAL_ASSERTION and
 * hides the real error. A .ts file is transpiled with the project's `typescript`, if installed.
 */
import { heldCaFile, withHeldCa } from '../process/resident-flags.js';
import { spawnSync } from 'node:child_process';
import { removeFile, writeTextFile } from '../fs-async.js';
import { pathToFileURL } from 'node:url';
import { ConfigFileError, sourceLine } from './file-error.js';
import { importModule } from '../import-module.js';

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
if (workerData.heldCa !== undefined) trustHeldCa(workerData.heldCa);
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

// This process started without NODE_EXTRA_CA_CERTS, which it holds for its server
// (src/process/resident-flags.ts): node read no extra certificates into its default store, and
// Node 20 cannot add any later. So in this thread, where only the config's code runs, a TLS
// context made without its own ca option (https, fetch and tls.connect all make one per connection)
// gets node's default certificates and the file's, what the default store holds when node reads
// the variable itself (node takes the default store for any ca that is not truthy: null, ''). The
// same list as a webhook's (certificatesWith, src/metrics/webhook-delivery.ts), built here: this
// thread's code is a string and imports nothing of ours.
// The file is read at the first such context; one that cannot be read leaves node's default
// store, as node goes on without it. Each context parses every certificate again (~30 ms for a
// system bundle): fine for the few requests a config may make as it loads. A Worker that the
// config's code starts itself reads the variable but is not patched.
function trustHeldCa(file) {
  const tls = require('node:tls');
  const create = tls.createSecureContext;
  let ca;
  tls.createSecureContext = function createSecureContext(options) {
    if (options && options.ca) return create(options);
    if (ca === undefined) {
      try {
        const get = tls.getCACertificates;
        ca = [...(typeof get === 'function' ? get('default') : tls.rootCertificates), require('node:fs').readFileSync(file, 'utf8')];
      } catch {
        ca = null;
      }
    }
    return create(ca === null ? options : { ...options, ca });
  };
}
`;

const LOAD_TIMEOUT_MS = 10_000;

async function importInWorker(filepath: string): Promise<WorkerReply> {
  // Loaded here, for JS/TS configs only: node:worker_threads costs a few ms of every `start`.
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  return new Promise((resolve) => {
    // The user's environment, NODE_EXTRA_CA_CERTS back in place where this process holds it for
    // its server (src/process/resident-flags.ts), and then the thread trusts that file for TLS
    // (trustHeldCa above): the config's code sees what it would in a process that read it.
    const workerData = { url: pathToFileURL(filepath).href, heldCa: heldCaFile(process.env) };
    const worker = new Worker(LOADER_THREAD, { eval: true, workerData, env: withHeldCa(process.env) });
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

/** The default export of a .js/.mjs/.cjs config; `shownAs` names the file in errors (the .ts source). */
export async function loadJs(filepath: string, content: string, shownAs: string = filepath): Promise<unknown> {
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
  // Loaded here, for a .ts config only: the resident supervisor keeps every module it loads.
  const { createRequire } = process.getBuiltinModule('node:module');
  for (const from of [filepath, import.meta.url]) {
    let resolved: string;
    try {
      resolved = createRequire(from).resolve('typescript');
    } catch {
      continue;
    }
    const module = await importModule<{ default?: TypeScript } & TypeScript>(pathToFileURL(resolved).href);
    return module.default ?? module;
  }
  return undefined;
}

/** A .ts config: transpiled next to its source (so relative imports resolve), then loaded as JS. */
export async function loadTs(filepath: string, content: string): Promise<unknown> {
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
  await writeTextFile(compiled, output.outputText);
  try {
    return await loadJs(compiled, output.outputText, filepath);
  } finally {
    await removeFile(compiled);
  }
}
