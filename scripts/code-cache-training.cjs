// The start bundle's training run (scripts/bundle.mjs, trainedCodeCache): compiles
// dist/start/main.cjs as bin/naija-sup.js does, runs a real `naija-sup start` of a trivial server
// in CWD, stops it with SIGTERM once the server answers on PORT, and writes the V8 code cache of
// every function that ran to OUT. So the cache holds what `start` runs, compiled, and nothing it
// does not (the eager cache's doctor, export and import code): 4.6 ms to load instead of 8.
// Usage (the build runs it): node scripts/code-cache-training.cjs BUNDLE OUT CWD PORT
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { get } = require('node:http');
const Module = require('node:module');
const { dirname } = require('node:path');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');

const [file, out, cwd, port] = process.argv.slice(2);
const script = new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file });
// What bin/naija-sup.js does to run a bundle (its fromCodeCache, without a cache).
globalThis[Symbol.for('naija-sup.import')] = (specifier) => import(specifier);
const loaded = new Module(file, module);
loaded.filename = file;
require.cache[file] = loaded;
script.runInThisContext().call(loaded.exports, loaded.exports, Module.createRequire(file), loaded, file, dirname(file));
process.chdir(cwd);

/** Resolves true once the server answers 200, false after 20 s (bounded: 2,000 tries). */
async function answered() {
  for (let i = 0; i < 2000; i += 1) {
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

const run = loaded.exports.run(['start']);
answered().then((ok) => {
  if (!ok) process.exitCode = 1;
  process.kill(process.pid, 'SIGTERM'); // the supervisor's own graceful stop
});
run.then((status) => {
  if (status !== 0 || process.exitCode === 1) {
    process.exitCode = 1;
    return;
  }
  // The foreground `start` sets this V8 flag at run time (src/cli/resident.ts), and V8 hashes
  // every flag that is not at its default into the cache: put it back (2 is V8's default; the
  // build checks that a fresh `node` accepts the cache, so a changed default cannot slip through).
  setFlagsFromString('--semi-space-growth-factor=2');
  writeFileSync(out, script.createCachedData());
});
