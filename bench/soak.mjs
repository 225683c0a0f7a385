// Soak (issue 14): the supervisor under thousands of crash/restart cycles stays flat. A server
// that crashes CRASH_AFTER_MS after it is ready (test/fixtures/crash-after.mjs) is restarted by
// the built CLI with a tiny backoff (restart.initialDelay and restart.maxDelay a few ms: the
// default policy never gives up after a first ready). Every --every restarts the supervisor's
// RSS (/proc/PID/status VmRSS), its open fds (/proc/PID/fd) and its heap as V8 reports it are
// sampled and printed as a table, with the growth of RSS after --restarts vs after the first
// sample (target: within 15%) and whether the fd count stayed constant.
//
// By default the supervisor is the one `start -d` leaves in the background (the issue's case,
// with whatever V8 flags start -d gives it). --foreground runs `node [--node-flags] bin/naija-sup.js
// start` instead, to compare flags: --node-flags "" for none.
//
// Reproduce: npm run build && npm run bench -- soak
//            node bench/soak.mjs [--restarts 2000] [--every 100] [--crash-after 20]
//                                [--foreground [--node-flags "--max-semi-space-size=1"]]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, FIXTURES, freePort, ROOT, sleep } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at === -1) return fallback;
  const arg = args[at];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[at + 1] ?? fallback);
};
const restarts = Number(option('restarts', 2000));
const every = Number(option('every', 100));
const crashAfter = Number(option('crash-after', 20));
const foreground = args.includes('--foreground');
const nodeFlags = String(option('node-flags', '')).split(/\s+/).filter(Boolean);

const { fetchStatus } = await import(pathToFileURL(join(ROOT, 'dist', 'control', 'client.js')).href);
const { controlPaths } = await import(pathToFileURL(join(ROOT, 'dist', 'control', 'paths.js')).href);

const dir = mkdtempSync(join(tmpdir(), 'naija-sup-soak-'));
const runDir = join(dir, 'run');
const name = 'soak';
const port = await freePort();
writeFileSync(join(dir, '.naija-suprc.json'), JSON.stringify({
  name,
  command: [process.execPath, join(FIXTURES, 'crash-after.mjs')],
  env: { CRASH_AFTER_MS: String(crashAfter) },
  port,
  host: '127.0.0.1',
  health: { path: '/', interval: '1s' },
  // startRetries: a crash 20 ms after listening may come before the first probe saw it ready.
  restart: { initialDelay: '1ms', maxDelay: '5ms', startRetries: 100_000 },
  shutdown: { timeout: '5s' },
}));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
const socket = controlPaths(runDir, name).socket;

/**
 * VmRSS, and the fewest fds of five looks 5 ms apart: a look in the middle of a restart also
 * counts the pipes of the instance being spawned or reaped, which come and go. After 50 ms, so
 * the supervisor has closed its end of our own status connection.
 */
async function procStatus(pid) {
  await sleep(50);
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
  let fds = Infinity;
  for (let i = 0; i < 5; i += 1) {
    fds = Math.min(fds, readdirSync(`/proc/${pid}/fd`).length);
    await sleep(5);
  }
  return { rss: kib('VmRSS'), fds };
}
const mib = (kib) => (kib / 1024).toFixed(1);

let child = null;
let supervisorPid;
let command;
try {
  if (foreground) {
    command = `node ${nodeFlags.join(' ')} bin/naija-sup.js start`.replace(/\s+/g, ' ');
    child = spawn(process.execPath, [...nodeFlags, CLI, 'start'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    supervisorPid = child.pid;
  } else {
    command = 'naija-sup start -d';
    const r = spawnSync(process.execPath, [CLI, 'start', '-d'], { cwd: dir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`start -d failed:\n${r.stderr}`);
  }
  let status = null;
  for (let i = 0; i < 200 && status === null; i += 1) {
    status = await fetchStatus(socket, 1000).catch(() => null);
    if (status === null) await sleep(50);
  }
  if (status === null) throw new Error('the supervisor never answered');
  supervisorPid = status.supervisorPid;
  const flags = readFileSync(`/proc/${supervisorPid}/cmdline`, 'utf8').split('\0').filter((a) => a.startsWith('--'));
  console.log(`soak: ${restarts} crash/restart cycles (crash ${crashAfter} ms after ready, restart.maxDelay 5ms), supervisor pid ${supervisorPid} via "${command}"`);
  console.log(`supervisor's V8 flags: ${flags.length ? flags.join(' ') : '(none)'}; ${process.version}`);
  console.log('');
  console.log('restarts   RSS MiB   fds   elapsed s');
  const t0 = performance.now();
  const samples = [];
  let next = every === 0 ? restarts : Math.min(10, every);
  // Bounded: one status call every 20 ms at most, for at most an hour.
  for (let i = 0; i < 180_000 && next <= restarts; i += 1) {
    const s = await fetchStatus(socket, 5000).catch(() => null);
    if (s === null) throw new Error('the supervisor went away');
    if (s.restarts >= next) {
      const { rss, fds } = await procStatus(supervisorPid);
      samples.push({ restarts: s.restarts, rss, fds });
      console.log(`${String(s.restarts).padStart(8)}   ${mib(rss).padStart(7)}   ${String(fds).padStart(3)}   ${((performance.now() - t0) / 1000).toFixed(0).padStart(9)}`);
      next = next === 10 && every > 10 ? every : next + every;
      continue;
    }
    await sleep(20);
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  const growth = (last.rss / first.rss - 1) * 100;
  const fdsFlat = samples.every((s) => s.fds === first.fds);
  console.log('');
  console.log(`RSS after ${last.restarts} restarts vs after ${first.restarts}: ${mib(first.rss)} → ${mib(last.rss)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}%; target within 15%: ${Math.abs(growth) <= 15 ? 'met' : 'NOT met'})`);
  console.log(`fds: ${fdsFlat ? `constant at ${first.fds}` : `varied ${Math.min(...samples.map((s) => s.fds))}–${Math.max(...samples.map((s) => s.fds))}`}`);
  console.log(`reproduce: npm run build && node bench/soak.mjs --restarts ${restarts} --every ${every}${foreground ? ` --foreground --node-flags "${nodeFlags.join(' ')}"` : ''}`);
} finally {
  spawnSync(process.execPath, [CLI, 'stop'], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
  if (child !== null && child.exitCode === null) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  rmSync(dir, { recursive: true, force: true });
}
