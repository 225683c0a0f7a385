#!/bin/sh
":" /*
# Run as a program (a user's `naija-sup`, npm's bin link, an image's HEALTHCHECK) this file is
# first a POSIX shell script: the shell reads to the `exec` below, which runs Node on this same
# file. To Node the lines in between are one JavaScript comment after a no-op string ("use strict"
# still counts), and `node bin/naija-sup.js` (npm start, the tests, deployment exports) runs the
# JavaScript directly. `exec node "$0"` finds node on PATH as `#!/usr/bin/env node` did, and Node
# follows a bin link to this real file itself, so nothing here resolves links.
#
# Why a shell at all (issue 19): NODE_EXTRA_CA_CERTS, which many machines set, makes Node parse
# that file at every start-up, before any code of ours can run (36-46 ms with Debian's bundle, more
# than the rest of `status --name` takes). So for `start` and for the quick forms that run
# standalone (src/cli/quick-forms.ts: `status`/`stop`/`probe` with --name, `--version`) it is held
# in NAIJA_SUP_EXTRA_CA_CERTS, as the background supervisor holds it (src/process/resident-flags.ts
# says who gets it back, and who reads the file for TLS). The quick forms make no TLS connection
# and start no process; a supervising `start` gives it back to its server and to a config's code.
# Every other command, and any command when NODE_OPTIONS or NODE_USE_SYSTEM_CA ask for another CA
# store, runs with the environment as it is. test/e2e/launcher.test.ts holds `held` to
# quick-forms.ts's answers.
# Its two variables are named for naija-sup, and unset before node runs.
standalone() {
  case $1 in
    --version | -v) [ $# -eq 1 ]; return ;;
    probe) [ $# -eq 3 ] && [ "$2" = --name ]; return ;;
    status) naija_sup_flag=--json ;;
    stop) naija_sup_flag=--force ;;
    *) return 1 ;;
  esac
  naija_sup_named=1
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      "$naija_sup_flag") shift; continue ;;
      --timeout) [ "$naija_sup_flag" = --force ] || return 1 ;;
      --name) naija_sup_named=0 ;;
      -c | --config) ;;
      *) return 1 ;;
    esac
    [ $# -ge 2 ] || return 1
    case $2 in -*) return 1 ;; esac
    shift 2
  done
  return $naija_sup_named
}
held() {
  case " ${NODE_OPTIONS-} " in *--use-openssl-ca* | *--use-system-ca*) return 1 ;; esac
  [ "${NODE_USE_SYSTEM_CA-}" != 1 ] && { [ "$1" = start ] || standalone "$@"; }
}
if [ -n "${NODE_EXTRA_CA_CERTS-}" ] && held "$@"; then
  NAIJA_SUP_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS
  export NAIJA_SUP_EXTRA_CA_CERTS
  unset NODE_EXTRA_CA_CERTS
fi
unset naija_sup_flag naija_sup_named
exec node "$0" "$@"
*/
// The CLI. CommonJS on purpose (bin/package.json says so; issue 19): nothing here starts Node's ESM
// loader unless it is needed, which would cost ~5 ms and more per chunk. Three CommonJS bundles, all built
// by `npm run build` (scripts/bundle.mjs, which says why each):
// - the quick forms (`status --name N`, `stop --name N`, `probe --name N`, `--version`;
//   src/cli/quick-forms.ts) run from dist/quick/run.cjs;
// - every other command, a foreground `start` first, runs from dist/start/main.cjs, one CommonJS
//   file of the whole CLI;
// - the background supervisor of `start -d` runs from dist/resident/main.cjs, one CommonJS file
//   of what a supervising `start` can reach (src/cli/resident-main.ts says why): it lives for days.
// A build from before a bundle existed runs what that bundle would have from the ESM chunks.
'use strict';

// Run as the CLI; required (by the build's training run, scripts/code-cache.cjs) it only lends runBundle.
if (require.main === module) {
  const argv = process.argv.slice(2);
  const form = recognise(argv);
  // Without its run.cjs (a broken install) a quick form runs as any other command does.
  const quick = form !== null && form.standalone ? fromCodeCache(distFile('quick', 'run.cjs')) : null;
  const exitStatus = quick !== null ? quick.runQuickForm(form.form) : runFull(argv);
  exitStatus.then((status) => { process.exitCode = status; });
}
module.exports = { runBundle };

/** Every command but the quick forms: from the start or the resident bundle, or from the ESM chunks (see the top). */
function runFull(args) {
  if (process.env.NAIJA_SUP_DETACHED === '1') {
    // Not handed its options (run by hand?): the whole CLI runs it and says what is wrong.
    const resident = fromCodeCache(distFile('resident', 'main.cjs'), distFile('resident', residentCache(process.env.NAIJA_SUP_START_OPTIONS)));
    return resident !== null ? resident.runResident(args).then((status) => status ?? runEsm(args)) : runEsm(args);
  }
  const bundle = fromCodeCache(distFile('start', 'main.cjs'));
  return bundle !== null ? bundle.run(args) : runEsm(args);
}

/**
 * The resident bundle's code cache for the mode `start -d` handed over with its options: V8
 * hashes every flag into a cache, and proxy mode's background supervisor runs with other node
 * flags than the other modes' (src/process/resident-flags.ts), so the build trains one cache for
 * each (scripts/bundle.mjs). Another mode's cache would be rejected, and the bundle compiled as
 * require() does.
 */
function residentCache(handed) {
  let mode;
  try {
    mode = JSON.parse(handed ?? '{}').mode;
  } catch {
    mode = undefined; // not ours to judge here: the resident bundle declines it
  }
  return mode === 'proxy' ? 'main.cjs.proxy.cache' : 'main.cjs.cache';
}

/** The whole CLI from its ESM chunks (dist/bundle/): a build from before the CommonJS bundles. */
function runEsm(args) {
  return import('../dist/bundle/main.js').then((main) => main.run(args), notBuilt);
}

/** A file of dist/. */
function distFile(...parts) {
  return require('node:path').join(__dirname, '..', 'dist', ...parts);
}

/**
 * A CommonJS bundle (dist/start/main.cjs, dist/resident/main.cjs, dist/quick/run.cjs), compiled
 * from its V8 code cache (`cacheFile`, FILE.cache unless said), made by the build with the
 * functions a command runs already compiled: the start and resident bundles' by a training run,
 * the quick bundle's with every function. So neither its top level nor those functions are
 * compiled as it runs. V8 checks the cache against its own version, its flags and the source, and
 * compiles as require() would when it does not match. Null when the bundle was never built (a
 * build from before it).
 */
function fromCodeCache(file, cacheFile = `${file}.cache`) {
  // require() instead, with --enable-source-maps (someone debugging): Node maps the stack traces
  // of what require() compiled, not of a vm.Script; and under NODE_V8_COVERAGE (npm test): V8
  // keeps no block counts for functions it took from a code cache, only whole-function ones, so
  // an untaken branch would not show as uncovered.
  if (process.sourceMapsEnabled || process.env.NODE_V8_COVERAGE) return requireBuilt(file);
  const { readFileSync } = require('node:fs');
  let source;
  let cachedData;
  try {
    // latin1: the build checks the bundles are ASCII, and V8 takes a one-byte string as it is,
    // where utf8 is decoded first (0.3 ms less for the start bundle).
    source = readFileSync(file, 'latin1');
    cachedData = readFileSync(cacheFile);
  } catch {
    // No bundle (null), or a cache that cannot be read: it is optional, require() does without.
    return requireBuilt(file);
  }
  return runBundle(file, source, cachedData).exports;
}

/**
 * Compiles a bundle's `source` (with `cachedData`, a V8 code cache, when given) and runs it as
 * require() would: a module registered under its file name, with its own require. A script
 * compiled from a cache cannot call import() itself on Node 20, so the bundles import packages
 * and files through the door opened here (src/import-module.ts). Returns the script too: the
 * build's training run writes its cache.
 */
function runBundle(file, source, cachedData) {
  // The loader's Module class as this module has it: require('node:module') would load Node's
  // public module API (source maps, the ESM loader's register) into a supervisor that lives for days.
  const Module = module.constructor;
  globalThis[Symbol.for('naija-sup.import')] = (specifier) => import(specifier);
  const script = new (require('node:vm').Script)(Module.wrap(source), { filename: file, cachedData });
  const loaded = new Module(file, module);
  loaded.filename = file;
  require.cache[file] = loaded;
  script.runInThisContext().call(loaded.exports, loaded.exports, Module.createRequire(file), loaded, file, require('node:path').dirname(file));
  loaded.loaded = true;
  return { script, exports: loaded.exports };
}

/** require(file), or null when it was never built. */
function requireBuilt(file) {
  try {
    return require(file);
  } catch (error) {
    if (error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(file)) return null;
    throw error;
  }
}

/** A checkout that was never built (or a broken install) gets a message and a fix, not a stack trace. */
function notBuilt(error) {
  if (error.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bundle/main.js')) throw error;
  process.stderr.write('naija-sup: its CLI bundle (dist/bundle/main.js) is missing (E_INTERNAL)\n  fix: run "npm run build" in the package\'s folder, or reinstall naija-sup\n');
  return 70;
}

/** The quick form of `argv` and whether it runs standalone; null without a quick bundle. */
function recognise(args) {
  let forms;
  try {
    forms = require('../dist/quick/forms.cjs');
  } catch (error) {
    if (error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/quick/forms.cjs')) return null;
    throw error;
  }
  const found = forms.quickForm(args);
  return found === null ? null : { form: found, standalone: forms.standalone(found) };
}
