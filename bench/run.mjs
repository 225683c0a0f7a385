// Runs every benchmark, or those named: `npm run bench`, `npm run bench -- supervise`.
// Each benchmark prints its own figures and the command that reproduces them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const ALL = ['supervise', 'port-lookup', 'free-port', 'status', 'doctor', 'metrics', 'reload', 'first-run', 'probe', 'vs-pm2', 'bundle'];
// Run only when named: the soak, the chaos run, the cluster comparison and the proxy cost take
// minutes (`npm run bench -- soak`, `-- chaos`, `-- cluster`, `-- http-proxy`).
const ON_REQUEST = ['soak', 'chaos', 'cluster', 'http-proxy'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : ALL;

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('dist/ is missing: run `npm run build` first.');
  process.exit(1);
}
let failed = 0;
for (const name of names) {
  const file = join(ROOT, 'bench', `${name}.mjs`);
  if (!(ALL.includes(name) || ON_REQUEST.includes(name)) || !existsSync(file)) {
    console.error(`unknown benchmark "${name}"; known: ${[...ALL, ...ON_REQUEST].join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
