// Every core (issue 20): requests/s of the example API's CPU-bound bcrypt route, POST
// /api/v1/auth/login, under naija-sup `instances` (handoff and proxy mode) beside PM2 cluster mode
// with the same N, at instances 1, 2 and "max" (PM2: -i max), in one run on one machine. Every
// round runs each of the configurations once, in a rotated order (rounds interleaved); medians
// per configuration and the ratios to PM2 are printed.
//
// The route: a login of an unknown user, which does the same bcrypt compare as a real one (the
// example compares against a dummy hash so that timing does not tell which users exist) and is
// answered 401 — every request does the work, nothing has to be registered on each instance.
// Two hashers, because they use the cores differently:
//   native   — the `bcrypt` package (the example's default): compares run on libuv's thread pool
//              (4 threads), so even one process can keep several cores busy;
//   bcryptjs — pure JavaScript (BCRYPT_FALLBACK with the native binding disabled): every compare
//              runs on the process's one JavaScript thread, the case more instances exist for.
// Load: wrk (one thread, keep-alive connections; Debian: apt-get install wrk), after a warm-up.
// PM2 is installed by this script into a temporary folder, as bench/vs-pm2.mjs does; it is not a
// dependency. PM2_HOME and naija-sup's run dir are temporary too. Only processes started here are
// ever signalled.
//
// Reproduce: npm run build && node bench/cluster.mjs [--rounds 3] [--duration 5] [--connections 8]
//            [--cost 6] [--hashers native,bcryptjs]     (or: npm run bench -- cluster)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, EXAMPLE, cleanup, freePort, get, median, sleep, start } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at === -1) return fallback;
  const arg = args[at];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[at + 1] ?? fallback);
};
const ROUNDS = Math.max(1, Number(option('rounds', '3')));
const DURATION_S = Math.max(1, Number(option('duration', '5')));
const CONNECTIONS = Math.max(1, Number(option('connections', '8')));
const COST = Number(option('cost', '6'));
const HASHERS = option('hashers', 'native,bcryptjs').split(',');
const COUNTS = [1, 2, 'max'];
const SYSTEMS = ['handoff', 'proxy', 'pm2'];
const WRK = '/usr/bin/wrk';
const NAME = 'bench-cluster';
const READY_PATH = '/api/v1/public/ready';
const LOGIN_PATH = '/api/v1/auth/login';

if (spawnSync(WRK, ['--version']).error !== undefined) {
  console.error(`${WRK} is missing: apt-get install wrk`);
  process.exit(1);
}
for (const h of HASHERS) {
  if (!['native', 'bcryptjs'].includes(h)) {
    console.error(`unknown --hashers ${h}; known: native, bcryptjs`);
    process.exit(2);
  }
}

const node = process.execPath;
const work = mkdtempSync(join(tmpdir(), 'naija-sup-cluster-'));
const runDir = join(work, 'run');
const pm2Home = join(work, 'pm2-home');
const baseEnv = { ...process.env, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir, PM2_HOME: pm2Home, NAIJA_SUP_LOG_FORMAT: 'json' };
delete baseEnv.NODE_OPTIONS;
const SCRIPT = join(work, 'login.lua');
writeFileSync(SCRIPT, `wrk.method = "POST"
wrk.body = '{"username":"nobody","password":"correct-horse-battery"}'
wrk.headers["Content-Type"] = "application/json"
`);

/** The example's environment for one hasher. */
function appEnv(hasher) {
  const env = { BCRYPT_COST: String(COST), WARMUP_MS: '0', HOST: '127.0.0.1' };
  return hasher === 'bcryptjs' ? { ...env, EXAMPLE_BREAK_BCRYPT: '1', BCRYPT_FALLBACK: 'true' } : env;
}

function run(command, argv, env = baseEnv, cwd = work) {
  return new Promise((resolve) => {
    const child = start(command, argv, { env, cwd });
    child.exited.then(({ code }) => resolve({ code, output: child.output }));
  });
}

async function until(what, check, deadlineMs = 60_000) {
  const deadline = Date.now() + deadlineMs;
  for (let i = 0; i < 100_000; i++) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
  throw new Error(`poll bound reached: ${what}`);
}

/**
 * CPU ticks (user + system) of `root` and every live descendant, from /proc. Sampled around a
 * measurement it gives the CPU each request cost — supervisor, proxy or PM2's daemon, and the
 * instances — a figure that, unlike requests/s, does not move with the machine's other load.
 */
function treeTicks(root) {
  const children = new Map();
  const ticks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(f[1]);
    ticks.set(pid, Number(f[11]) + Number(f[12]));
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let sum = 0;
  const stack = [root];
  for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
    const pid = stack.pop();
    sum += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

/** naija-sup in the foreground; resolves once every instance is ready, with how many there are. */
async function startSup(mode, count, hasher, port) {
  const config = join(work, `naija-sup-${mode}-${count}.json`);
  writeFileSync(config, JSON.stringify({
    name: NAME, command: [node, 'src/server.js'], cwd: EXAMPLE, port, host: '127.0.0.1', mode, instances: count,
    health: { path: READY_PATH, interval: '100ms', startupTimeout: '30s' }, shutdown: { timeout: '5s' }, env: appEnv(hasher),
  }));
  const child = start(node, [CLI, 'start', '--config', config], { env: baseEnv, cwd: work });
  const n = await until(`naija-sup ${mode} ×${count} ready`, async () => {
    if (child.exitCode !== null) throw new Error(`naija-sup exited:\n${child.output.slice(-3000)}`);
    const r = await run(node, [CLI, 'status', '--name', NAME, '--json']);
    if (r.code !== 0) return null;
    const s = JSON.parse(r.output);
    if (s.total) return s.total.ready === s.total.instances ? s.total.instances : null;
    return s.state === 'ready' ? 1 : null;
  });
  return { n, root: child.pid, stop: async () => { process.kill(child.pid, 'SIGTERM'); await child.exited; } };
}

let pm2 = null;
function installPm2() {
  const dir = join(work, 'pm2');
  console.log(`installing pm2@7 into ${dir} …`);
  execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--silent', 'pm2@7'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const version = JSON.parse(execFileSync(node, ['-p', 'JSON.stringify(require("./node_modules/pm2/package.json").version)'], { cwd: dir, encoding: 'utf8' }));
  return { bin: join(dir, 'node_modules', 'pm2', 'bin', 'pm2'), version };
}
const pm2Cli = (argv, env = baseEnv) => run(node, [pm2.bin, ...argv], env, EXAMPLE);

/** PM2 cluster mode, -i N; resolves once N workers are online and the ready route answers. */
async function startPm2(count, hasher, port) {
  const env = { ...baseEnv, ...appEnv(hasher), PORT: String(port) };
  const started = await pm2Cli(['start', join(EXAMPLE, 'src', 'server.js'), '-i', String(count), '--name', NAME], env);
  if (started.code !== 0) throw new Error(`pm2 start failed:\n${started.output}`);
  const n = await until(`PM2 -i ${count} online`, async () => {
    const list = JSON.parse((await pm2Cli(['jlist'])).output || '[]');
    const mine = list.filter((p) => p.name === NAME);
    return mine.length > 0 && mine.every((p) => p.pm2_env?.status === 'online') ? mine.length : null;
  });
  // Online is "forked", not "listening": every worker answers once a run of answers all succeed.
  let streak = 0;
  await until(`PM2 -i ${count} answering`, async () => {
    streak = (await get(port, READY_PATH)).status === 200 ? streak + 1 : 0;
    return streak >= 6 * n;
  });
  // The God daemon: the cluster master, every worker its child.
  const root = Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8'));
  return { n, root, stop: async () => { await pm2Cli(['kill']); } };
}

/** wrk against the login route: requests/s, p50 latency, and whatever went wrong. */
function wrk(port, seconds) {
  // A long timeout: a request that waits is slow, not failed (wrk's default gives up after 2 s).
  const out = spawnSync(WRK, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '30s', '--latency', '-s', SCRIPT, `http://127.0.0.1:${port}${LOGIN_PATH}`], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const text = out.stdout ?? '';
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec:\n${text}${out.stderr ?? ''}`);
  const total = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = socketErrors ? socketErrors.slice(1).reduce((a, v) => a + Number(v), 0) : 0;
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(text);
  const p50Ms = p50 ? Number(p50[1]) * (p50[2] === 'us' ? 0.001 : p50[2] === 's' ? 1000 : 1) : NaN;
  // Every answer is the 401 of a failed login; any other status would be counted by the check below.
  return { rps, total, non2xx, errors, p50Ms };
}

async function measure(system, count, hasher) {
  const port = await freePort();
  const app = system === 'pm2' ? await startPm2(count, hasher, port) : await startSup(system, count, hasher, port);
  try {
    const probe = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'content-type: application/json',
      '-d', '{"username":"nobody","password":"correct-horse-battery"}', `http://127.0.0.1:${port}${LOGIN_PATH}`], { encoding: 'utf8' }).stdout;
    if (probe !== '401') throw new Error(`${system} ×${count}: the login route answered ${probe}, not 401`);
    wrk(port, 1); // warm-up: JIT, connections, every instance reached
    const before = treeTicks(app.root);
    const r = wrk(port, DURATION_S);
    // USER_HZ is 100: a tick is 10 ms.
    const cpuMsPerRequest = ((treeTicks(app.root) - before) * 10) / r.total;
    return { ...r, n: app.n, cpuMsPerRequest };
  } finally {
    await app.stop();
  }
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const label = (system) => (system === 'pm2' ? `PM2 ${pm2.version} cluster` : `naija-sup ${system}`);

try {
  pm2 = installPm2();
  console.log(`node ${process.version}, ${availableParallelism()} CPUs available, bcrypt cost ${COST}, ${CONNECTIONS} connections, ${DURATION_S} s per measurement, ${ROUNDS} rounds; load average ${load()} at the start`);
  const configs = HASHERS.flatMap((hasher) => COUNTS.flatMap((count) => SYSTEMS.map((system) => ({ hasher, count, system }))));
  const results = new Map(configs.map((c) => [`${c.hasher}/${c.count}/${c.system}`, { rps: [], p50: [], cpu: [], n: null, errors: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated each round, so no configuration always runs first (or right after the heaviest).
    const order = configs.map((_, k) => configs[(k + round * 4) % configs.length]);
    for (const c of order) {
      const r = await measure(c.system, c.count, c.hasher);
      const slot = results.get(`${c.hasher}/${c.count}/${c.system}`);
      slot.rps.push(r.rps);
      slot.p50.push(r.p50Ms);
      slot.cpu.push(r.cpuMsPerRequest);
      slot.n = r.n;
      slot.errors += r.errors;
      console.log(`  round ${round + 1}: ${c.hasher} ${label(c.system)} ×${c.count} (${r.n}): ${r.rps.toFixed(1)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, ${r.total} requests, ${r.cpuMsPerRequest.toFixed(2)} CPU ms/request, ${r.errors} socket errors  [load ${load()}]`);
    }
  }
  for (const hasher of HASHERS) {
    console.log(`\n${hasher === 'native' ? 'native bcrypt (thread pool)' : 'bcryptjs (JavaScript thread)'}, cost ${COST}: requests/s, median of ${ROUNDS}; CPU ms per request (all processes of each), median`);
    console.log(`\n| instances | naija-sup handoff | naija-sup proxy | PM2 ${pm2.version} cluster | handoff / PM2 | proxy / PM2 |`);
    console.log('|---|---|---|---|---|---|');
    for (const count of COUNTS) {
      const m = Object.fromEntries(SYSTEMS.map((s) => {
        const slot = results.get(`${hasher}/${count}/${s}`);
        return [s, { rps: median(slot.rps), cpu: median(slot.cpu), n: slot.n, errors: slot.errors }];
      }));
      const cell = (s) => `${m[s].rps.toFixed(0)} req/s, ${m[s].cpu.toFixed(2)} CPU ms${m[s].errors > 0 ? ` ⚠ ${m[s].errors} socket errors` : ''}`;
      const ratio = (s) => `${(m[s].rps / m.pm2.rps).toFixed(2)}× req/s, ${(m[s].cpu / m.pm2.cpu).toFixed(2)}× CPU`;
      const n = count === 'max' ? `max (= ${m.handoff.n}; PM2 ${m.pm2.n})` : String(count);
      console.log(`| ${n} | ${cell('handoff')} | ${cell('proxy')} | ${cell('pm2')} | ${ratio('handoff')} | ${ratio('proxy')} |`);
    }
  }
  console.log(`\nload average at the end: ${load()}`);
  console.log(`reproduce: npm run build && node bench/cluster.mjs --rounds ${ROUNDS} --duration ${DURATION_S} --connections ${CONNECTIONS} --cost ${COST} --hashers ${HASHERS.join(',')}`);
} finally {
  if (pm2) await pm2Cli(['kill']).catch(() => undefined);
  await cleanup();
  rmSync(work, { recursive: true, force: true });
}
