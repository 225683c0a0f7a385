// The CLI's layouts against each other (issue 19: "where bundling measurably helps, use it and say
// by how much"). The same code, three layouts: bin/naija-sup.js as shipped (a foreground `start`
// runs the CommonJS start bundle, dist/start/main.cjs; `status --name` the quick bundle); the ESM
// chunks of dist/bundle/ (what the background supervisor of `start -d` runs), and dist/cli/main.js
// as tsc emits it, each run by a launcher written here. Taking turns in every round, medians:
//   - foreground `start` → the trivial server's first 200;
//   - `status --name X` of a running supervisor, wall time;
//   - RSS of a foreground supervisor, idle 5 s after its server answered.
// Only processes started here are signalled; the run dir is temporary.
// Reproduce: npm run build && node bench/bundle.mjs [rounds]   (or: npm run bench -- bundle)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, cleanup, freePort, median, pollUntil, rssKiB, sleep, start } from './lib.mjs';

const ROUNDS = Math.max(3, Number(process.argv[2] ?? 9));
const work = mkdtempSync(join(tmpdir(), 'naija-sup-bundle-'));
const runDir = join(work, 'run');
const env = { ...process.env, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir, NAIJA_SUP_LOG_FORMAT: 'json' };
delete env.NODE_OPTIONS;

const SERVER = join(work, 'server.mjs');
writeFileSync(SERVER, `import { createServer } from 'node:http';
createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
`);
const CONFIG = join(work, 'naija-sup.config.json');
writeFileSync(CONFIG, JSON.stringify({ name: 'bundle-ab', command: ['node', SERVER], health: { path: '/' } }));
// The other two layouts, run the way bin/naija-sup.js runs a bundle.
const launcher = (name, main) => {
  const file = join(work, name);
  writeFileSync(file, `import { run } from ${JSON.stringify(main)};\nprocess.exitCode = await run(process.argv.slice(2));\n`);
  return file;
};
const layouts = {
  'bin (start bundle)': CLI,
  'ESM chunks': launcher('esm-chunks.mjs', join(ROOT, 'dist', 'bundle', 'main.js')),
  'tsc dist/': launcher('unbundled.mjs', join(ROOT, 'dist', 'cli', 'main.js')),
};

function run(entry, args) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = start(process.execPath, [entry, ...args], { env, cwd: work });
    child.exited.then(({ code }) => resolve({ ms: performance.now() - t0, code, output: child.output }));
  });
}

const results = Object.fromEntries(Object.keys(layouts).map((k) => [k, { start: [], status: [], rss: [] }]));
console.log(`node ${process.version}, ${ROUNDS} rounds, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start`);
// A failed round ends every process started here (their groups) and removes the temporary folder.
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which layout goes first, so neither always runs on a warmer machine.
    const order = round % 2 === 0 ? Object.keys(layouts) : Object.keys(layouts).reverse();
    for (const name of order) {
      const entry = layouts[name];
      const port = await freePort();
      const t0 = performance.now();
      const sup = start(process.execPath, [entry, 'start', '--config', CONFIG, '--port', String(port)], { env, cwd: work });
      results[name].start.push(await pollUntil(port, '/', (r) => r.status === 200, t0, 20_000, 1));
      const status = await run(entry, ['status', '--name', 'bundle-ab']);
      if (status.code !== 0) throw new Error(`status failed (${name}):\n${status.output}`);
      results[name].status.push(status.ms);
      await sleep(5000);
      results[name].rss.push(rssKiB(sup.pid) / 1024);
      process.kill(sup.pid, 'SIGTERM');
      await sup.exited;
    }
  }
} finally {
  await cleanup();
  rmSync(work, { recursive: true, force: true });
}

const names = Object.keys(layouts);
const row = (label, key, unit, digits = 0) => {
  const [first, ...others] = names.map((k) => median(results[k][key]));
  const vs = others.map((b) => `${(first - b >= 0 ? '+' : '')}${(first - b).toFixed(digits)} ${unit} (${((first / b - 1) * 100).toFixed(0)}%)`);
  console.log(`| ${label} | ${[first, ...others].map((v) => `${v.toFixed(digits)} ${unit}`).join(' | ')} | ${vs.join(' | ')} |`);
};
console.log(`\n| figure (medians of ${ROUNDS}) | ${names.join(' | ')} | ${names.slice(1).map((n) => `bin − ${n}`).join(' | ')} |`);
console.log(`|---|${names.map(() => '---|').join('')}${names.slice(1).map(() => '---|').join('')}`);
row('`start` → first 200', 'start', 'ms');
row('`status --name X`', 'status', 'ms');
row('foreground supervisor RSS, idle', 'rss', 'MiB', 1);
console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('reproduce: npm run build && node bench/bundle.mjs [rounds]');
