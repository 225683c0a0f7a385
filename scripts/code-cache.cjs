// Writes a bundle's V8 code cache, in a process of its own (scripts/bundle.mjs runs it with a
// clean environment: V8 hashes the flags of the process that made a cache into it, and rejects
// the cache in a process whose flags differ, so NODE_OPTIONS must not reach the compile).
//   node scripts/code-cache.cjs eager BUNDLE OUT
//     every function compiled (--no-lazy for the compile only): the quick bundle's cache, and the
//     start bundle's where its training cannot run.
//   node scripts/code-cache.cjs train BUNDLE OUT CWD PORT
//     the start bundle's: compiles it as bin/naija-sup.js does (its runBundle), runs a real
//     `naija-sup start` of the trivial server in CWD, stops it with SIGTERM once the server answers
//     on PORT, and writes the cache of the functions that ran. 4.6 ms to load instead of 8 for
//     every function (docs/benchmarks.md).
//   node FLAGS scripts/code-cache.cjs train-resident BUNDLE OUT CWD PORT
//     the resident bundle's: the same run as the background supervisor of `start -d` (handed its
//     options in the environment by scripts/bundle.mjs), under that supervisor's node flags.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { get } = require('node:http');
const Module = require('node:module');
const { join } = require('node:path');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');

const [mode, file, out, cwd, port] = process.argv.slice(2);
const source = readFileSync(file, 'latin1'); // as the bin reads it
if (mode === 'eager') {
  setFlagsFromString('--no-lazy');
  const script = new Script(Module.wrap(source), { filename: file });
  setFlagsFromString('--lazy'); // back to the default, which the cache's flag hash must be
  writeFileSync(out, script.createCachedData());
} else if (mode === 'train' || mode === 'train-resident') {
  train(mode === 'train' ? (exports) => exports.run(['start']) : (exports) => exports.runResident(['start']));
} else {
  throw new Error(`usage: node scripts/code-cache.cjs eager BUNDLE OUT | train BUNDLE OUT CWD PORT | train-resident BUNDLE OUT CWD PORT (got ${mode})`);
}

function train(start) {
  process.chdir(cwd);
  const { script, exports } = require(join(__dirname, '..', 'bin', 'naija-sup.js')).runBundle(file, source, undefined);
  let settled = false;
  const run = start(exports).finally(() => { settled = true; });
  answered(() => settled).then((ok) => {
    if (!ok) process.exitCode = 1;
    if (!settled) process.kill(process.pid, 'SIGTERM'); // the supervisor's own graceful stop
  });
  run.then((status) => {
    if (status !== 0 || process.exitCode === 1) {
      process.exitCode = 1;
      return;
    }
    // The foreground `start` sets this V8 flag at run time (src/cli/resident.ts), and V8 hashes
    // every flag that is not at its default into the cache: put it back (2 is V8's default; the
    // build checks that a fresh `node` accepts the cache, so a changed default cannot slip through).
    // The background supervisor never sets it (its flags bound the young generation already).
    if (mode === 'train') setFlagsFromString('--semi-space-growth-factor=2');
    writeFileSync(out, script.createCachedData());
  });
}

/** Resolves true once the server answers 200; false at a 20 s deadline or once `start` has ended. */
async function answered(ended) {
  const deadline = Date.now() + 20_000;
  // Bounded by the deadline; each try by its own 1 s timeout.
  while (!ended() && Date.now() < deadline) {
    const status = await new Promise((resolve) => {
      const request = get({ host: '127.0.0.1', port: Number(port), path: '/', agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      request.on('error', () => resolve(0));
      request.on('timeout', () => request.destroy());
    });
    if (status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}
