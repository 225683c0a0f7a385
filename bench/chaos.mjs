// Availability under chaos (issue 13; the task list's 99.9% SLA), loopback only.
//
// For each mode — proxy with restart.standby, proxy, handoff, direct — the example-like fixture
// server (test/fixtures/reload/fd-server.mjs: drains keep-alive clients right, listens on fd 3
// when handed one) runs under the real supervisor (`start -d`), while a keep-alive load runs for
// the whole period. Meanwhile the instance is `kill -9`ed every 5–15 s (a seeded random interval,
// the same sequence in every mode) and the app is reloaded every 30 s. The share of successful
// requests is printed per mode, with the failures by cause.
//
// Targets: ≥ 99.99% in proxy mode with standby, ≥ 99.9% in handoff; direct for comparison.
//
// Reproduce: npm run build && node bench/chaos.mjs [--minutes 10] [--seed 42] [--only proxy-standby,proxy,handoff,direct]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, FIXTURES, ROOT, freePort, sleep } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : (args[at + 1] ?? fallback);
};
const MINUTES = Math.min(60, Math.max(0.1, Number(option('minutes', '10'))));
const SEED = Number(option('seed', '42'));
const ONLY = option('only', 'proxy-standby,proxy,handoff,direct').split(',');
const { runLoad } = await import(pathToFileURL(join(ROOT, 'dist', 'reload', 'load.js')).href);

const MODES = {
  'proxy-standby': { mode: 'proxy', restart: { standby: true } },
  proxy: { mode: 'proxy' },
  handoff: { mode: 'handoff' },
  direct: { mode: 'direct' },
};

/** mulberry32: a small seeded generator, so every mode gets the same kill schedule. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cli(dir, env, argv) {
  return execFileSync(process.execPath, [CLI, ...argv], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
}

function instancePid(dir, env) {
  try {
    return JSON.parse(cli(dir, env, ['status', '--json', '--name', 'chaos'])).instancePid ?? null;
  } catch {
    return null;
  }
}

async function runMode(name) {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-chaos-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(dir, 'run') };
  const port = await freePort();
  writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify({
    name: 'chaos',
    command: [process.execPath, join(FIXTURES, 'reload', 'fd-server.mjs')],
    port,
    health: { path: '/health', interval: '25ms' },
    shutdown: { timeout: '5s' },
    restart: { initialDelay: '10ms', maxDelay: '200ms', ...(MODES[name].restart ?? {}) },
    mode: MODES[name].mode,
  }));
  cli(dir, env, ['start', '-d']);
  const random = seeded(SEED);
  const durationMs = MINUTES * 60_000;
  const abort = new AbortController();
  const load = runLoad({ port, path: '/pid', concurrency: 8, durationMs, keepAlive: true, signal: abort.signal });
  const started = Date.now();
  let kills = 0;
  let reloads = 0;
  let nextReload = started + 30_000;
  // Bounded: the loop ends with the load's duration.
  while (Date.now() - started < durationMs) {
    const wait = 5000 + random() * 10_000;
    const until = Math.min(started + durationMs, Date.now() + wait);
    while (Date.now() < until) {
      if (Date.now() >= nextReload) {
        try { cli(dir, env, ['reload', '--name', 'chaos']); reloads += 1; } catch { /* a failed reload is counted by the load */ }
        nextReload += 30_000;
      }
      await sleep(Math.max(0, Math.min(until, nextReload) - Date.now()));
    }
    if (Date.now() - started >= durationMs) break;
    const pid = instancePid(dir, env);
    if (pid !== null) {
      try { process.kill(pid, 'SIGKILL'); kills += 1; } catch { /* already gone */ }
    }
  }
  const result = await load;
  try { cli(dir, env, ['stop', '--name', 'chaos']); } catch { /* reported below if it left anything */ }
  rmSync(dir, { recursive: true, force: true });
  return { name, result, kills, reloads };
}

console.log(`naija-sup chaos benchmark — ${MINUTES} min per mode, kill -9 every 5–15 s (seed ${SEED}), reload every 30 s; load ${loadavg()[0].toFixed(1)}`);
console.log('| mode | requests | ok | share ok | kills | reloads | failures by cause |');
console.log('|---|---|---|---|---|---|---|');
for (const name of ONLY) {
  if (!MODES[name]) throw new Error(`unknown mode ${name}; known: ${Object.keys(MODES).join(', ')}`);
  const { result, kills, reloads } = await runMode(name);
  const share = result.total === 0 ? 0 : (100 * result.ok) / result.total;
  const causes = Object.entries(result.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`| ${name} | ${result.total} | ${result.ok} | ${share.toFixed(3)}% | ${kills} | ${reloads} | ${causes} |`);
}
console.log(`\nreproduce: npm run build && node bench/chaos.mjs --minutes ${MINUTES} --seed ${SEED} --only ${ONLY.join(',')}`);
