// The CLI's bundle (issue 19): `bin/naija-sup.js` runs dist/bundle/main.js, built here by esbuild
// from src/cli/main.ts. `npm run build` runs it after tsc, whose dist/ stays what the library
// exports ("." and "./node") and what tests load module by module.
//
// Why: Node 20's ESM loader resolves, reads, compiles and links every module on its own. A
// foreground `start` loads about a hundred of ours before its instance is spawned, and that was
// most of the time between `node` being ready and the spawn. Bundled, each command is one chunk
// with what only it needs (esbuild's splitting keeps every lazy `import()` of main.ts lazy: `status`
// loads no supervisor, the resident no commander). One file without splitting was slower than
// tsc's dist (V8 pre-parses all of it for every command). Whitespace and comments go (the sources
// stay in V8's heap for as long as the resident runs); names and the code's shape stay, so stack
// traces keep their names and coverage of the bundle lines up with coverage of src/ (a syntax
// minifier turns `if`s into `&&`s). Non-ASCII is escaped, so the kept source strings take one
// byte per character instead of two.
// Measured with bench/vs-pm2.mjs, the figures are in docs/benchmarks.md ("Against PM2").
//
// npm packages stay outside the bundle (`packages: 'external'`): the start path and the resident
// load none of them, and left as they are, their own files, paths and CommonJS keep working
// unchanged (the CommonJS bundles take in the ES-only ones they import statically: see CJS).
// Source maps point at src/, so scripts/coverage.mjs maps what spawned CLIs ran back to src/ as it
// does for tsc's dist/.
//
// The quick bundle (dist/quick/): `status --name N`, `stop --name N`, `probe --name N` and
// `--version` (src/cli/quick-forms.ts) run from CommonJS, which bin/naija-sup.js loads without
// Node's ESM loader: that loader costs ~5 ms to start and more per chunk, a third of what `status`
// adds to Node's own start-up and part of every stop's wait (measured with bench/vs-pm2.mjs,
// docs/benchmarks.md). Two files: forms.cjs (argv recognition only, loaded on every run) and
// run.cjs (the commands, self-contained: no module or class is shared with the ESM bundle, which
// never runs in the same process). esbuild splits only ESM, so run.cjs holds the lazily imported
// modules of those commands too; their code is parsed, not run, unless a command needs it.
//
// The start bundle (dist/start/main.cjs): every command that is not quick, `start` in the
// foreground first, runs from one CommonJS file of the whole CLI: `start` spawned its server 17–20
// ms sooner than from the ESM chunks (exec → the server's exec, 9 runs × 3, interleaved: 113–115
// ms against 128–136), and answered its first 200 28–40 ms sooner (bench/bundle.mjs), since
// Node's ESM loader resolves, links and compiles each chunk on its own. Its lazily imported
// modules stay lazy (esbuild wraps each in an init function that runs at its first import); what
// every command pays instead is parsing the whole file, and the process keeps its source text
// (+0.6 MiB idle with the resident's flags, +1.4–1.9 MiB without: bench/bundle.mjs). The
// background supervisor of `start -d` runs from a bundle of its own (below). The bin compiles the start
// bundle (and the quick bundle's run.cjs) from a V8 code cache written here: 8–10 ms more off
// every such command, and 5–10 more since the cache holds the functions compiled, not only the top
// level (eagerCodeCache, trainedCodeCache; the caches are written by scripts/code-cache.cjs).
//
// The resident bundle (dist/resident/main.cjs, from src/cli/resident-main.ts): the background
// supervisor of `start -d`, which lives for days, runs from one CommonJS file of what a
// supervising `start` can reach (~480 KiB): no commander, doctor, export, import, `start -d`'s
// hand-over or other command. It ran from the ESM chunks before, which load only the chunks a run
// uses, but then Node's ESM loader stays in the process too: an empty .mjs has 1.6 MiB more RSS
// than an empty .cjs under the resident's flags. Idle RSS of a `start -d` supervisor, the two
// running at once, medians of 3: 48.2 MiB from the ESM chunks, 47.5 from this bundle (with the
// probe off node:http, src/health/http.ts, 46.9; with node:fs/promises gone too,
// src/fs-async.ts, 46.4: 5 rounds each). `start -d` → ready 305 → 278 ms (9 interleaved runs).
// What it pays: the text of modules a given run never uses (proxy mode, monitoring, the human
// renderer) stays in its heap, unparsed. Its code caches are trained by runs of that supervisor
// under its own flags (residentCodeCache; one for proxy mode, whose flags differ): exec → the
// server's spawn 110 → 93 ms, `start -d` → ready 280 → 256 ms (9 interleaved runs), idle RSS the
// same (46.4 MiB either way, 7 rounds); proxy mode's: `start -d` → ready 245 → 233 ms (11
// interleaved runs), idle RSS the same (52.6–52.7 MiB either way, 3 rounds).
//
// Usage: node scripts/bundle.mjs   (npm run build runs it)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'bundle');
const QUICK = join(ROOT, 'dist', 'quick');
const START = join(ROOT, 'dist', 'start');
const RESIDENT = join(ROOT, 'dist', 'resident');
const CODE_CACHE = join(ROOT, 'scripts', 'code-cache.cjs');

for (const dir of [OUT, QUICK, START, RESIDENT]) rmSync(dir, { recursive: true, force: true });
/** What both bundles share. */
const COMMON = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  minifyWhitespace: true,
  legalComments: 'none',
  charset: 'ascii',
  sourcemap: true,
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
};
const result = await build({ ...COMMON, entryPoints: { main: 'src/cli/main.ts' }, outdir: OUT, splitting: true, format: 'esm' });
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(`bundle: ${outputs.length} chunks, ${(bytes / 1024).toFixed(0)} KiB in dist/bundle`);

// package-root.ts finds the package from its module's URL: in CommonJS, from the file's own path.
// "use strict" first: a banner before esbuild's own directive would leave the file sloppy.
// npm packages that are ES modules only and imported statically (chalk, by doctor and free-port)
// are bundled in: require() of an ES module fails on a Node or a flag without require(esm), and
// of a default export it gives the namespace. The rest stay outside, dynamic import()s included.
const CJS = {
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  packages: 'bundle',
  plugins: [esOnlyInline()],
  define: { 'import.meta.url': '__naijaSupModuleUrl' },
  banner: { js: '"use strict";\nconst __naijaSupModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
};
const start = await build({ ...COMMON, ...CJS, entryPoints: { main: 'src/cli/main.ts' }, outdir: START });
checkCjsBundle(join(START, 'main.cjs'));
await trainedCodeCache(join(START, 'main.cjs'));
const startBytes = Object.entries(start.metafile.outputs).filter(([file]) => file.endsWith('.cjs')).reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(`start bundle: main.cjs ${(startBytes / 1024).toFixed(0)} KiB in dist/start`);

// The background supervisor's bundle (dist/resident/main.cjs; src/cli/resident-main.ts says why).
const resident = await build({ ...COMMON, ...CJS, entryPoints: { main: 'src/cli/resident-main.ts' }, outdir: RESIDENT });
checkCjsBundle(join(RESIDENT, 'main.cjs'));
await residentCodeCache(join(RESIDENT, 'main.cjs'));
const residentBytes = Object.entries(resident.metafile.outputs).filter(([file]) => file.endsWith('.cjs')).reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(`resident bundle: main.cjs ${(residentBytes / 1024).toFixed(0)} KiB in dist/resident`);

// The config loader is left out (src/cli/quick-no-config.ts stands in): no quick form reads a config.
const noConfig = {
  name: 'quick-no-config',
  setup(b) {
    b.onResolve({ filter: /\/config\/load\.js$/ }, () => ({ path: join(ROOT, 'src', 'cli', 'quick-no-config.ts') }));
  },
};
const quick = await build({
  ...COMMON,
  entryPoints: { forms: 'src/cli/quick-forms.ts', run: 'src/cli/quick-main.ts' },
  ...CJS,
  outdir: QUICK,
  plugins: [noConfig, ...CJS.plugins],
});
// The stand-in is reached through one import path; should the loader or the schema come in by
// another, the quick bundle would carry them silently: fail the build instead.
const leaked = Object.keys(quick.metafile.inputs).filter((input) => /^src\/config\/(load|schema)\.ts$/.test(input));
if (leaked.length > 0) throw new Error(`the quick bundle must not contain ${leaked.join(', ')} (see src/cli/quick-no-config.ts)`);
refuseEsOnlyRequires(join(QUICK, 'forms.cjs'));
checkCjsBundle(join(QUICK, 'run.cjs'));
eagerCodeCache(join(QUICK, 'run.cjs'));
const quickOutputs = Object.entries(quick.metafile.outputs).filter(([file]) => file.endsWith('.cjs'));
console.log(`quick bundle: ${quickOutputs.map(([file, o]) => `${file.split('/').pop()} ${(o.bytes / 1024).toFixed(0)} KiB`).join(', ')} in dist/quick`);

/** What the bin needs of a CommonJS bundle it compiles from a code cache (each check says why). */
function checkCjsBundle(file) {
  refuseEsOnlyRequires(file);
  refuseOwnImports(file);
  refuseNonAscii(file);
}

/** The npm package an import names: `@scope/pkg/sub` → `@scope/pkg`, `pkg/sub` → `pkg`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/** Whether an installed npm package is an ES module only (`"type": "module"`); false for what is not one. */
function esOnly(name) {
  try {
    // Its own manifest, by path: its "exports" may not list package.json.
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')).type === 'module';
  } catch {
    return false; // a builtin without node: (inside a bundled package), or not installed
  }
}

/** For the CommonJS bundles: ES-only packages imported statically are bundled in, everything else stays outside. */
function esOnlyInline() {
  return {
    name: 'es-only-inline',
    setup(b) {
      // Bare specifiers only: relative paths and a package's own `#imports` resolve as usual.
      b.onResolve({ filter: /^[^./#]/ }, (args) => {
        const inline = !args.path.startsWith('node:') && args.kind !== 'dynamic-import' && esOnly(packageName(args.path));
        return inline ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * No CommonJS bundle may require() an npm package that is an ES module only (see CJS above): one
 * did (get-port's default, "not a function" at run time; chalk on a Node without require(esm)).
 */
function refuseEsOnlyRequires(file) {
  const text = readFileSync(file, 'utf8');
  const offenders = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).filter((name) => !name.startsWith('node:') && esOnly(packageName(name)));
  if (offenders.length > 0) throw new Error(`${file}: require() of ${[...new Set(offenders)].join(', ')}, an ES module only (see esOnlyInline in scripts/bundle.mjs)`);
}

/**
 * A bundle's V8 code cache with every function compiled (scripts/code-cache.cjs eager): the quick
 * bundle's, and the start bundle's when its training run cannot be made. V8 compiles lazily, so a
 * cache made right after compiling holds only the top level, and each function a command runs is
 * still compiled at its first call. Eager, the start bundle's cache is 1.5 MB instead of 0.2 and
 * loads in ~9 ms instead of ~4.5, but nothing is compiled after it: exec → the server's exec 97.9
 * against 99.2–101.7 ms and `start` → first 200 164–168 against 168–177 ms (11 interleaved runs,
 * twice), since the compiles that no longer happen after the spawn competed with the server's own
 * start-up for the CPU. `status --name N` 65.0 against 66.9 ms (the quick bundle's top-level
 * cache) and 67.3 (none), 21 interleaved runs; a trained cache gave it no more (65.3). Made by
 * this Node for this Node: another version or a changed file make V8 reject it, and the bin then
 * compiles as require() would. Returns whether a fresh `node` takes it (else it is removed).
 */
function eagerCodeCache(file) {
  const made = spawnSync(process.execPath, [CODE_CACHE, 'eager', file, `${file}.cache`], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000, encoding: 'utf8' });
  if (made.status === 0 && acceptedByNode(file, `${file}.cache`)) return true;
  rmSync(`${file}.cache`, { force: true });
  console.warn(`${file}: no code cache (status ${made.status}${made.error ? `, ${made.error.message}` : ''}); the bin compiles it as require() does\n${made.stderr ?? ''}`);
  return false;
}

/**
 * The start bundle's code cache, trained (scripts/code-cache.cjs train): a real `start` of a
 * trivial server on a loopback port, run from the bundle, and the cache of what ran. `start`'s
 * exec → the server's exec 92.4 against 96.0 ms with the eager cache (15 interleaved runs): it
 * loads in 4.6 ms instead of 8, and what it leaves out (doctor, export, import) compiles when a
 * command needs it. Where the run cannot be made (no loopback, a server that does not start), or a
 * fresh `node` rejects its cache, the eager cache stands in, with a warning. A build interrupted
 * during the run (Ctrl+C, SIGTERM) removes its temporary folder, then dies of the signal; the
 * supervisor it ran stops the server on the same signal. `run` says which run (code-cache.cjs's mode), under which node flags
 * and with what added to its environment: the start bundle's by default (residentCodeCache gives
 * the resident bundle's, which has no stand-in, with the app's mode and the cache file).
 */
async function trainedCodeCache(file, run = { mode: 'train', flags: [], env: {}, what: 'start bundle' }) {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-code-cache-'));
  let failure;
  // spawnSync blocks the event loop, so a signal during the run is seen once it returns: remember
  // it, clean up, then die of it. A Ctrl+C reaches the run too (the terminal's process group) and
  // ends it at once; a SIGTERM to this process alone waits for the run (at most its 60 s timeout).
  let interrupted = null;
  const onSignal = (signal) => { interrupted = signal; };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const port = await new Promise((resolve, reject) => {
      const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
        const { port: chosen } = server.address();
        server.close(() => resolve(chosen));
      });
    });
    writeFileSync(join(dir, 'server.cjs'), "const s = require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');\nprocess.on('SIGTERM', () => s.close(() => process.exit(0)) && s.closeIdleConnections());\n");
    writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify({ name: 'code-cache-training', command: [process.execPath, 'server.cjs'], port, host: '127.0.0.1', health: { path: '/' }, mode: run.appMode ?? 'direct' }));
    const out = join(dir, 'trained.cache');
    // Only what the run needs: the build's own environment could name a port, a host or
    // --kill-existing (PORT, KILL_EXISTING, NAIJA_SUP_*), which a supervisor reads before its config.
    const env = cleanEnv({ NAIJA_SUP_RUN_DIR: join(dir, 'run'), NO_COLOR: '1', ...run.env });
    const training = spawnSync(process.execPath, [...run.flags, CODE_CACHE, run.mode, file, out, dir, String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, encoding: 'utf8' });
    if (training.status === 0 && acceptedByNode(file, out, run.flags)) {
      writeFileSync(run.cacheFile ?? `${file}.cache`, readFileSync(out));
      return;
    }
    const tail = (text) => (text ?? '').trim().split('\n').slice(-8).join('\n');
    failure = { status: `status ${training.status}${training.error ? `, ${training.error.message}` : ''}`, output: [tail(training.stdout), tail(training.stderr)].filter(Boolean).join('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // The run registered its run dir (src/control/paths.ts) in the user's short directory: gone with it.
    const { runDirRegistration } = await import(pathToFileURL(join(ROOT, 'dist', 'control', 'paths.js')).href);
    rmSync(runDirRegistration(join(dir, 'run')), { force: true });
    await new Promise((resolve) => setImmediate(resolve)); // a pending signal's handler runs here
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    if (interrupted !== null) process.kill(process.pid, interrupted);
  }
  if (run.mode === 'train') {
    console.warn(`${run.what}: the code cache's training run failed (${failure.status}): the cache holds every function instead\n${failure.output}`);
    eagerCodeCache(file);
    return;
  }
  // A cache of every function would hold compiled code a supervisor that lives for days never runs.
  console.warn(`${run.what}: the code cache's training run failed (${failure.status}): no code cache, the bin compiles it as require() does\n${failure.output}`);
}

/**
 * The resident bundle's code caches, trained as the start bundle's is, but by the background
 * supervisor's own run: its options handed over in the environment, under the node flags `start
 * -d` gives it. V8 hashes every flag into a cache and rejects it under other flags, and proxy
 * mode's flags differ from the other modes', so there are two: FILE.cache, made by a run in
 * direct mode under those modes' flags, and FILE.proxy.cache, by a run in proxy mode (whose
 * requests, relayed to the trained server, compile the proxy's path too). The bin picks one by the
 * mode handed over (bin/naija-sup.js, residentCache); under a user's NODE_OPTIONS flags V8 rejects
 * either, and the bin compiles the bundle as require() would. Each is removed when a fresh `node`
 * with its flags rejects it.
 */
async function residentCodeCache(file) {
  const { supervisorNodeFlags, DETACHED_ENV, START_OPTIONS_ENV } = await import(pathToFileURL(join(ROOT, 'dist', 'process', 'resident-flags.js')).href);
  for (const [appMode, cacheFile] of [['direct', `${file}.cache`], ['proxy', `${file}.proxy.cache`]]) {
    rmSync(cacheFile, { force: true });
    await trainedCodeCache(file, {
      mode: 'train-resident',
      appMode,
      cacheFile,
      flags: supervisorNodeFlags({}, appMode),
      env: { [DETACHED_ENV]: '1', [START_OPTIONS_ENV]: JSON.stringify({ opts: {}, command: [], mode: appMode }) },
      what: `resident bundle (${appMode} mode)`,
    });
  }
}

/** PATH and HOME of the build's environment, and `extra`: nothing else reaches a cache's process. */
function cleanEnv(extra = {}) {
  const env = { ...extra };
  for (const name of ['PATH', 'HOME']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/** A fresh `node`, without flags, takes `cache` for `file` (V8 rejects one made under other flags). */
function acceptedByNode(file, cache, flags = []) {
  const check = `const s = new (require('node:vm').Script)(require('node:module').wrap(require('node:fs').readFileSync(${JSON.stringify(file)}, 'latin1')), { filename: ${JSON.stringify(file)}, cachedData: require('node:fs').readFileSync(${JSON.stringify(cache)}) }); process.exitCode = s.cachedDataRejected ? 1 : 0;`;
  return spawnSync(process.execPath, [...flags, '-e', check], { env: cleanEnv(), stdio: 'ignore' }).status === 0;
}

/**
 * The bin reads a bundle as latin1 (a one-byte string V8 takes as it is, 0.3 ms less than utf8
 * for the start bundle), which is the same text only if it is ASCII. COMMON's charset makes
 * esbuild escape the rest, except in regular expression literals: write those with \u escapes.
 */
function refuseNonAscii(file) {
  const at = readFileSync(file, 'utf8').search(/[^\t\n\r\x20-\x7e]/);
  if (at !== -1) throw new Error(`${file}: a character that is not ASCII at offset ${at}, and bin/naija-sup.js reads the file as latin1`);
}

/**
 * A script compiled from a code cache cannot call import() itself on Node 20 (it loses its
 * dynamic-import callback), so the bundles may hold no import() but src/import-module.ts's
 * (which bin/naija-sup.js bypasses) and the text of the config loader's worker (another thread).
 */
function refuseOwnImports(file) {
  const own = [...readFileSync(file, 'utf8').matchAll(/\bimport\(([^)]*)\)/g)].map((m) => m[0]).filter((call) => !/^import\((specifier|workerData\.url)\)$/.test(call));
  if (own.length > 0) throw new Error(`${file}: ${own.join(', ')}: import packages and files with importModule (src/import-module.ts)`);
}
