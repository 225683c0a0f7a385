// Soak (issue 14): the supervisor under thousands of crash/restart cycles stays flat. A server
// that crashes CRASH_AFTER_MS after it is ready (test/fixtures/crash-after.mjs) is restarted by
// the built CLI with a tiny backoff (restart.initialDelay and restart.maxDelay a few ms: the
// default policy never gives up after a first ready). Every --every restarts the supervisor is
// sampled and printed as a table: RSS (/proc/PID/status VmRSS) split into anonymous and
// file-backed pages (/proc/PID/smaps_rollup), its V8 heap and off-heap memory as it reports them
// itself (`status`'s supervisorMemory: heapTotal, heapUsed, external), its threads and open fds,
// and the CPU time it used. Then the growth of RSS after --restarts vs after the first sample
// (target: within 15%) and whether the fd count stayed constant.
//
// Which supervisor:
//   (default)            the one `start -d` leaves in the background, with the flags start -d gives it;
//   --node-flags "..."   the same background supervisor (same environment hand-over, output in a
//                        file), spawned by this script with exactly these node flags instead, to
//                        compare flags A/B ("" for none);
//   --foreground         `node [--node-flags] bin/naija-sup.js start` in the foreground.
// --env K=V (repeatable) adds to the supervisor's environment (e.g. MALLOC_ARENA_MAX=2).
// --idle S: instead, a server that stays up, and one sample S seconds after it is ready (idle RSS).
// --heap-snapshots 100,1000 writes a V8 heap snapshot of the supervisor when it passes those
// restart counts (through --heapsnapshot-signal=SIGWINCH, so only with --node-flags or
// --foreground) and keeps them in --out (default: the current directory).
//
// Reproduce: npm run build && npm run bench -- soak
//            node bench/soak.mjs [--restarts 2000] [--every 100] [--crash-after 20]
//                                [--node-flags "--max-semi-space-size=1" | --foreground [--node-flags ...]]
//                                [--env MALLOC_ARENA_MAX=2] [--heap-snapshots 100,1000 --out DIR]
//            node bench/soak.mjs --idle 10 [--node-flags ... | --foreground]
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
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
const idleSeconds = Number(option('idle', 0));
const foreground = args.includes('--foreground');
const ownFlags = args.some((a) => a === '--node-flags' || a.startsWith('--node-flags='));
const nodeFlags = String(option('node-flags', '')).split(/\s+/).filter(Boolean);
const extraEnv = Object.fromEntries(args.flatMap((a, i) => (args[i - 1] === '--env' ? [a.split(/=(.*)/s).slice(0, 2)] : [])));
const snapshotsAt = String(option('heap-snapshots', '')).split(',').filter(Boolean).map(Number);
const outDir = String(option('out', process.cwd()));
if (snapshotsAt.length > 0 && !ownFlags && !foreground) throw new Error('--heap-snapshots needs --node-flags or --foreground (start -d gives no --heapsnapshot-signal)');
if (snapshotsAt.length > 0) nodeFlags.push('--heapsnapshot-signal=SIGWINCH');

const { fetchStatus } = await import(pathToFileURL(join(ROOT, 'dist', 'control', 'client.js')).href);
const { controlPaths } = await import(pathToFileURL(join(ROOT, 'dist', 'control', 'paths.js')).href);

const dir = mkdtempSync(join(tmpdir(), 'naija-sup-soak-'));
const runDir = join(dir, 'run');
const name = 'soak';
const port = await freePort();
writeFileSync(join(dir, '.naija-suprc.json'), JSON.stringify({
  name,
  // --idle: a server that stays up (healthy-server.mjs, /health), sampled once.
  command: [process.execPath, join(FIXTURES, idleSeconds > 0 ? 'healthy-server.mjs' : 'crash-after.mjs')],
  env: { CRASH_AFTER_MS: String(crashAfter) },
  port,
  host: '127.0.0.1',
  health: { path: idleSeconds > 0 ? '/health' : '/', interval: '1s' },
  // startRetries: a crash 20 ms after listening may come before the first probe saw it ready.
  restart: { initialDelay: '1ms', maxDelay: '5ms', startRetries: 100_000 },
  shutdown: { timeout: '5s' },
}));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir, ...extraEnv };
const socket = controlPaths(runDir, name).socket;

/**
 * VmRSS, threads, anonymous vs file-backed RSS, CPU seconds, and the fewest fds of 100 looks
 * 10 ms apart (a second: several crash cycles even on a busy machine): a look in the middle of a restart also counts the pipes of
 * the instance being spawned or reaped and the startup probes' connections, which come and go.
 * After 50 ms, so the supervisor has closed its end of our own status connection.
 */
async function procStatus(pid) {
  await sleep(50);
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key, from = text) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(from)?.[1] ?? NaN);
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), after the ")" that ends the command name.
  const statText = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const stat = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(stat[11]) + Number(stat[12])) / 100;
  let fds = Infinity;
  let kinds = '';
  for (let i = 0; i < 100; i += 1) {
    const look = fdKinds(pid);
    if (look.count < fds) ({ count: fds, kinds } = look);
    await sleep(10);
  }
  const anon = kib('Anonymous', rollup);
  return { rss: kib('VmRSS'), anon, file: kib('Rss', rollup) - anon, threads: kib('Threads'), cpu, fds, kinds };
}

/** The open fds of `pid`, counted by what they are (pipe, socket, a file's path, anon_inode:...). */
function fdKinds(pid) {
  const counts = new Map();
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target;
    try { target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, ''); } catch { continue; }
    counts.set(target, (counts.get(target) ?? 0) + 1);
    count += 1;
  }
  return { count, kinds: [...counts].sort().map(([k, n]) => `${n} ${k.startsWith(dir) ? k.slice(dir.length + 1) : k}`).join(', ') };
}
const mib = (kib) => (kib / 1024).toFixed(1);
const mb = (bytes) => (bytes === undefined ? '?' : (bytes / 1048576).toFixed(1));

/** The heap snapshot the supervisor writes on SIGWINCH (--heapsnapshot-signal), copied to `outDir`. */
async function heapSnapshot(pid, restarts) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGWINCH');
  for (let i = 0; i < 600; i += 1) {
    await sleep(100);
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // Written in one go; a size that stays the same for 100 ms means it is complete.
    if (file !== undefined) {
      const size = () => readFileSync(join(dir, file)).length;
      let last = -1;
      for (let j = 0; j < 100 && size() !== last; j += 1) { last = size(); await sleep(200); }
      const to = join(outDir, `soak-${restarts}.heapsnapshot`);
      copyFileSync(join(dir, file), to);
      console.log(`         heap snapshot at ${restarts} restarts: ${to}`);
      return;
    }
  }
  throw new Error('no heap snapshot within 60 s');
}

let child = null;
let supervisorPid;
let command;
try {
  if (foreground) {
    command = `node ${nodeFlags.join(' ')} bin/naija-sup.js start`.replace(/\s+/g, ' ');
    child = spawn(process.execPath, [...nodeFlags, CLI, 'start'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  } else if (ownFlags) {
    // What src/cli/detach.ts does (its own session, options handed over, output in a file), with
    // these flags instead of start -d's.
    command = `start -d's background supervisor with node flags "${nodeFlags.join(' ')}"`;
    const out = openSync(join(dir, 'supervisor.out'), 'a');
    child = spawn(process.execPath, [...nodeFlags, CLI, 'start'], {
      cwd: dir,
      env: { ...env, NAIJA_SUP_DETACHED: '1', NAIJA_SUP_START_OPTIONS: JSON.stringify({ opts: {}, command: [] }) },
      stdio: ['ignore', out, out],
      detached: true,
    });
    closeSync(out);
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
  console.log(`supervisor's V8 flags: ${flags.length ? flags.join(' ') : '(none)'}; extra env: ${Object.keys(extraEnv).length ? Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ') : '(none)'}; ${process.version}`);
  console.log('');
  // RSS = anon + file (MiB); heap/used/ext: V8's heapTotal, heapUsed and external (MB, as the
  // supervisor reports them); cpu: its user+sys seconds so far.
  console.log('restarts    RSS   anon   file   heap   used    ext  thr  fds   cpu s  elapsed s');
  if (idleSeconds > 0) {
    // Idle RSS (issue 19): once ready, after --idle seconds with nothing happening.
    for (let i = 0; i < 600 && status?.state !== 'ready'; i += 1) {
      await sleep(50);
      status = await fetchStatus(socket, 1000).catch(() => null);
    }
    if (status?.state !== 'ready') throw new Error('the server never became ready');
    await sleep(idleSeconds * 1000);
    const s = await fetchStatus(socket, 5000);
    const p = await procStatus(supervisorPid);
    const m = s.supervisorMemory ?? {};
    const cols = [mib(p.rss), mib(p.anon), mib(p.file), mb(m.heapTotal), mb(m.heapUsed), mb(m.external)].map((c) => c.padStart(6));
    console.log(`${'idle'.padStart(8)} ${cols.join(' ')} ${String(p.threads).padStart(4)} ${String(p.fds).padStart(4)} ${p.cpu.toFixed(1).padStart(7)} ${String(idleSeconds).padStart(10)}`);
    console.log(`reproduce: npm run build && node bench/soak.mjs --idle ${idleSeconds}${ownFlags || foreground ? `${foreground ? ' --foreground' : ''} --node-flags "${nodeFlags.join(' ')}"` : ''}${Object.entries(extraEnv).map(([k, v]) => ` --env ${k}=${v}`).join('')}`);
  }
  const t0 = performance.now();
  const samples = [];
  let next = idleSeconds > 0 ? Infinity : every === 0 ? restarts : Math.min(10, every);
  // Bounded: one status call every 20 ms at most, for at most an hour.
  for (let i = 0; i < 180_000 && next <= restarts; i += 1) {
    const s = await fetchStatus(socket, 5000).catch(() => null);
    if (s === null) throw new Error('the supervisor went away');
    if (s.restarts >= next) {
      const p = await procStatus(supervisorPid);
      const m = s.supervisorMemory ?? {};
      samples.push({ restarts: s.restarts, ...p, heap: m.heapTotal });
      const cols = [mib(p.rss), mib(p.anon), mib(p.file), mb(m.heapTotal), mb(m.heapUsed), mb(m.external)].map((c) => c.padStart(6));
      console.log(`${String(s.restarts).padStart(8)} ${cols.join(' ')} ${String(p.threads).padStart(4)} ${String(p.fds).padStart(4)} ${p.cpu.toFixed(1).padStart(7)} ${((performance.now() - t0) / 1000).toFixed(0).padStart(10)}`);
      while (snapshotsAt.length > 0 && s.restarts >= snapshotsAt[0]) await heapSnapshot(supervisorPid, snapshotsAt.shift());
      next = next === 10 && every > 10 ? every : next + every;
      continue;
    }
    await sleep(20);
  }
  if (samples.length > 0) {
    const first = samples[0];
    const last = samples[samples.length - 1];
    const growth = (last.rss / first.rss - 1) * 100;
    const fdsFlat = samples.every((s) => s.fds === first.fds);
    console.log('');
    console.log(`RSS after ${last.restarts} restarts vs after ${first.restarts}: ${mib(first.rss)} → ${mib(last.rss)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}%; target within 15%: ${Math.abs(growth) <= 15 ? 'met' : 'NOT met'})`);
    console.log(`CPU: ${(last.cpu - first.cpu).toFixed(1)} s of user+sys for ${last.restarts - first.restarts} restarts (${((last.cpu - first.cpu) / (last.restarts - first.restarts) * 1000).toFixed(1)} ms each)`);
    console.log(`fds: ${fdsFlat ? `constant at ${first.fds}` : `varied ${Math.min(...samples.map((s) => s.fds))}–${Math.max(...samples.map((s) => s.fds))}`}`);
    // What the fds were, so a variation shows what came and went.
    for (const kinds of new Set(samples.map((s) => `${s.fds}: ${s.kinds}`))) console.log(`  ${kinds}`);
    const how = [foreground ? ' --foreground' : '', ownFlags || foreground ? ` --node-flags "${nodeFlags.filter((f) => !f.startsWith('--heapsnapshot-signal')).join(' ')}"` : '', ...Object.entries(extraEnv).map(([k, v]) => ` --env ${k}=${v}`)].join('');
    console.log(`reproduce: npm run build && node bench/soak.mjs --restarts ${restarts} --every ${every}${how}`);
  }
} finally {
  spawnSync(process.execPath, [CLI, 'stop'], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
  if (child !== null && child.exitCode === null) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  rmSync(dir, { recursive: true, force: true });
}
