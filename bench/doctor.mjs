// Benchmark for doctor (issue 6): wall time of `naija-sup doctor` on the example app, all checks,
// median of 5 runs (after one warm-up run that is not counted). Target: under 1.5 s.
//   1. the CLI as a user runs it: `node bin/naija-sup.js doctor --config examples/express-api/naija-sup.config.json`
//   2. the library call alone (dist/doctor/index.js runDoctor), without node's start-up
// Reproduce: npm run build && node bench/doctor.mjs [runs]   (or: npm run bench -- doctor)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, EXAMPLE, ROOT, fmt, summary } from './lib.mjs';

const RUNS = Math.max(5, Number(process.argv[2] ?? 5));
const TARGET_MS = 1500;
const CONFIG = join(EXAMPLE, 'naija-sup.config.json');
// A private run dir, so a developer's running supervisor does not change what is measured.
const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-bench-doctor-'));
const env = { ...process.env, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(runDir, 'run') };

function cliOnce() {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'doctor', '--config', CONFIG, '--json'], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1) throw new Error(`doctor exited with ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  const results = JSON.parse(r.stdout);
  return { ms, results };
}

let exitCode = 0;
try {
  cliOnce(); // warm-up: file cache, first dlopen of bcrypt
  const cli = [];
  let last;
  for (let i = 0; i < RUNS; i++) {
    const { ms, results } = cliOnce();
    cli.push(ms);
    last = results;
  }
  const { runDoctor } = await import(pathToFileURL(join(ROOT, 'dist', 'doctor', 'index.js')).href);
  const lib = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await runDoctor({ cwd: ROOT, env, configPath: CONFIG });
    lib.push(performance.now() - t0);
  }
  const c = summary(cli);
  const l = summary(lib);
  console.log(`doctor, all ${last.length} checks, example app (${RUNS} runs):`);
  console.log(`  CLI wall time   median ${fmt(c.median)}  (min ${fmt(c.min)}, max ${fmt(c.max)})  target < ${TARGET_MS} ms: ${c.median < TARGET_MS ? 'PASS' : 'FAIL'}`);
  console.log(`  runDoctor()     median ${fmt(l.median)}  (min ${fmt(l.min)}, max ${fmt(l.max)})`);
  console.log('  slowest checks (last CLI run): ' + [...last].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3).map((r) => `${r.id} ${r.durationMs} ms`).join(', '));
  console.log(`  statuses: ${last.map((r) => `${r.id}=${r.status}`).join(' ')}`);
  if (c.median >= TARGET_MS) exitCode = 1;
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  exitCode = 1;
} finally {
  rmSync(runDir, { recursive: true, force: true });
}
process.exit(exitCode);
