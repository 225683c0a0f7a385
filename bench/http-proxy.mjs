// Cost of the reload proxies (issue 13), loopback only: direct (the app binds the port) vs the TCP
// pipe (src/reload/proxy.ts) vs the HTTP proxy (src/reload/http-proxy.ts), each proxy in its own
// process as inside the supervisor, in front of three apps: a trivial node:http handler, one that
// burns 300 µs of CPU per request, and the example Express API.
//
// Per app and round (modes interleaved, so background load hits each alike):
//   1. saturation: wrk -t1 -c20 (Debian: apt-get install -y wrk) and autocannon -c20, req/s;
//   2. latency at half of direct's saturated rate (wrk's figure this round): an open-loop
//      generator in its own process sends at that fixed rate over 20 keep-alive connections and
//      times each request from when it was due (no coordinated omission), µs precision — autocannon
//      rounds latencies to whole ms, too coarse for a "+1 ms p99" target.
// Medians of --rounds (default 3). The proxy process's CPU per request (from /proc) is printed too:
// unlike req/s it hardly moves with background load.
//
// Reproduce: npm run build && node bench/http-proxy.mjs [--rounds 3] [--duration 5]
//            [--only trivial,cpu300,express] [--modes direct,tcp,http] [--cpu-prof DIR]
// --cpu-prof DIR runs the HTTP proxy with node --cpu-prof, profiles written to DIR (open them in
// Chrome DevTools, or summarise with: node bench/cpu-profile-top.mjs DIR/*.cpuprofile).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { cleanup, EXAMPLE, freePort, get, median, ROOT, start, waitForOutput } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : (args[at + 1] ?? fallback);
};
const ROUNDS = Math.max(1, Number(option('rounds', '3')));
const DURATION_S = Math.max(1, Number(option('duration', '5')));
const ONLY = option('only', 'trivial,cpu300,express').split(',');
const MODES = option('modes', 'direct,tcp,http').split(',');
const CPU_PROF = option('cpu-prof', null);
const CONNECTIONS = 20;
if (MODES[0] !== 'direct') throw new Error('--modes must start with direct (the half-load rate comes from it)');
if (spawnSync('wrk', ['--version']).error !== undefined) throw new Error('wrk is not on PATH: apt-get install -y wrk');
const DIST = join(ROOT, 'dist', 'reload');
if (!existsSync(join(DIST, 'http-proxy.js'))) throw new Error('dist/reload/http-proxy.js is missing: run `npm run build` first');

const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };

const BACKEND = `
import http from 'node:http';
const burn = Number(process.env.BURN_US) / 1000;
http.createServer((req, res) => {
  if (burn > 0) { const t = performance.now(); while (performance.now() - t < burn); }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const APPS = {
  trivial: { label: 'node:http, trivial handler', argv: ['--input-type=module', '-e', BACKEND], cwd: ROOT, env: { BURN_US: '0' }, path: '/' },
  cpu300: { label: 'node:http, 300 µs of CPU per request', argv: ['--input-type=module', '-e', BACKEND], cwd: ROOT, env: { BURN_US: '300' }, path: '/' },
  express: { label: 'examples/express-api GET /api/v1/public/health', argv: ['src/server.js'], cwd: EXAMPLE, env: { WARMUP_MS: '0', BCRYPT_COST: '4', HOST: '127.0.0.1' }, path: '/api/v1/public/health' },
};

const PROXY_CHILD = (kind) => `
const { ${kind === 'http' ? 'createHttpProxy' : 'createProxy'} } = await import(${JSON.stringify(pathToFileURL(join(DIST, kind === 'http' ? 'http-proxy.js' : 'proxy.js')).href)});
const target = Number(process.env.TARGET);
const proxy = ${kind === 'http' ? "await createHttpProxy({ host: '127.0.0.1', port: 0, target: { port: target, id: 'app' } })" : "await createProxy({ host: '127.0.0.1', port: 0, target })"};
console.log('PROXY port=' + proxy.port);
process.on('SIGTERM', () => { proxy.close({ timeout: 500 }).then(() => process.exit(0)); });
`;

// Open-loop fixed-rate generator: RATE req/s spread over CONNS keep-alive connections, each request
// timed from the moment it was due. Prints one JSON line.
const GENERATOR = `
import http from 'node:http';
const { PORT, REQ_PATH, RATE, CONNS, SECONDS } = process.env;
const rate = Number(RATE), conns = Number(CONNS), total = Math.floor(rate * Number(SECONDS));
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const lat = []; let failed = 0, sent = 0, done = 0;
const t0 = performance.now() + 50;
const fire = () => {
  const now = performance.now();
  while (sent < total && t0 + (sent * 1000) / rate <= now) {
    const due = t0 + (sent * 1000) / rate; sent += 1;
    const req = http.request({ host: '127.0.0.1', port: Number(PORT), path: REQ_PATH, agent }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 200) lat.push(performance.now() - due); else failed += 1; finish(); });
    });
    req.on('error', () => { failed += 1; finish(); });
    req.end();
  }
  if (sent < total) setTimeout(fire, Math.max(0, t0 + (sent * 1000) / rate - performance.now()));
};
const finish = () => {
  done += 1;
  if (done < total) return;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  // Finished well after the last request was due: the generator or the server fell behind the rate.
  const behind = performance.now() - (t0 + (total * 1000) / rate) > 1000;
  console.log(JSON.stringify({ p50: q(0.5), p99: q(0.99), failed, n: lat.length, behind }));
  agent.destroy();
};
setTimeout(fire, 50);
setTimeout(() => { console.log(JSON.stringify({ error: 'generator timed out', failed, n: lat.length })); process.exit(1); }, Number(SECONDS) * 1000 + 30000).unref();
`;

async function startApp(app) {
  const port = await freePort();
  const child = start(process.execPath, app.argv, { cwd: app.cwd, env: { ...BASE_ENV, ...app.env, PORT: String(port) } });
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i += 1) {
    if (child.exitCode !== null) throw new Error(`app exited during start-up:\n${child.output}`);
    if ((await get(port, app.path, 1000)).status === 200) return { child, port };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`app not ready on :${port} within 20 s:\n${child.output}`);
}

async function startProxy(kind, target) {
  const flags = kind === 'http' && CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const child = start(process.execPath, [...flags, '--input-type=module', '-e', PROXY_CHILD(kind)], { cwd: ROOT, env: { ...BASE_ENV, TARGET: String(target) } });
  await waitForOutput(child, /PROXY port=\d+/);
  return { child, port: Number(/PROXY port=(\d+)/.exec(child.output)[1]) };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
  await child.exited;
  clearTimeout(timer);
}

/** utime + stime of `pid`, ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function wrk(port, path, seconds) {
  const out = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, `http://127.0.0.1:${port}${path}`], { encoding: 'utf8', timeout: seconds * 1000 + 30_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout ?? '')?.[1]);
  const total = Number(/(\d+) requests in/.exec(out.stdout ?? '')?.[1]);
  const failed = /Non-2xx|Socket errors/.test(out.stdout ?? '');
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec:\n${out.stdout}${out.stderr}`);
  return { rps, total, failed };
}

async function cannon(port, path, seconds) {
  const r = await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: CONNECTIONS, duration: seconds });
  return { rps: r.requests.average, failed: r.errors + r.timeouts + r.non2xx };
}

async function fixedRate(port, path, rate, seconds) {
  const child = start(process.execPath, ['--input-type=module', '-e', GENERATOR], {
    cwd: ROOT,
    env: { ...BASE_ENV, PORT: String(port), REQ_PATH: path, RATE: String(rate), CONNS: String(CONNECTIONS), SECONDS: String(seconds) },
  });
  await child.exited;
  const line = child.output.trim().split('\n').at(-1);
  const result = JSON.parse(line);
  if (result.error) throw new Error(result.error);
  return result;
}

async function measure(app, mode, halfRate) {
  const backend = await startApp(app);
  const proxy = mode === 'direct' ? null : await startProxy(mode, backend.port);
  const port = proxy?.port ?? backend.port;
  try {
    wrk(port, app.path, 1); // warm-up (JIT, pools)
    const cpu0 = proxy ? cpuMs(proxy.child.pid) : 0;
    const w = wrk(port, app.path, DURATION_S);
    const proxyCpuUs = proxy ? ((cpuMs(proxy.child.pid) - cpu0) * 1000) / w.total : NaN;
    const a = await cannon(port, app.path, DURATION_S);
    const rate = halfRate ?? Math.round(w.rps / 2);
    const l = await fixedRate(port, app.path, rate, DURATION_S);
    return { wrk: w.rps, cannon: a.rps, failed: (w.failed ? 1 : 0) + a.failed + l.failed, p50: l.p50, p99: l.p99, behind: l.behind, rate, proxyCpuUs };
  } finally {
    if (proxy) await stop(proxy.child);
    await stop(backend.child);
  }
}

const pad = (s, n) => String(s).padStart(n);
try {
  console.log(`node ${process.version}, load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${DURATION_S} s, ${CONNECTIONS} keep-alive connections`);
  console.log(`reproduce: npm run build && node bench/http-proxy.mjs --rounds ${ROUNDS} --duration ${DURATION_S} --only ${ONLY.join(',')} --modes ${MODES.join(',')}`);
  for (const name of ONLY) {
    const app = APPS[name];
    if (!app) throw new Error(`unknown app ${name}; known: ${Object.keys(APPS).join(', ')}`);
    const runs = Object.fromEntries(MODES.map((m) => [m, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      let half;
      for (const mode of MODES) {
        const r = await measure(app, mode, half);
        if (mode === 'direct') half = r.rate;
        runs[mode].push(r);
      }
    }
    const med = (mode, key) => median(runs[mode].map((r) => r[key]));
    console.log(`\n${app.label} — medians of ${ROUNDS}; latency (ms) at half of direct's wrk rate (${med('direct', 'rate')} req/s)`);
    if (MODES.some((m) => runs[m].some((r) => r.behind))) console.log('* in some round the half-load rate was not kept up (that mode, or the generator, saturated): its latency is queueing, not cost');
    console.log(`${'mode'.padEnd(8)}${pad('wrk req/s', 11)}${pad('cost', 7)}${pad('autocannon', 12)}${pad('cost', 7)}${pad('p50', 10)}${pad('p99', 10)}${pad('Δp99', 10)}${pad('proxy CPU/req', 15)}${pad('failed', 8)}`);
    for (const mode of MODES) {
      const cost = (key) => (mode === 'direct' ? '—' : `${(median(runs[mode].map((r, i) => (1 - r[key] / runs.direct[i][key]) * 100))).toFixed(0)}%`);
      const dp99 = mode === 'direct' ? '—' : `+${(med(mode, 'p99') - med('direct', 'p99')).toFixed(2)}`;
      console.log(
        `${mode.padEnd(8)}${pad(Math.round(med(mode, 'wrk')), 11)}${pad(cost('wrk'), 7)}${pad(Math.round(med(mode, 'cannon')), 12)}${pad(cost('cannon'), 7)}` +
          `${pad(med(mode, 'p50').toFixed(2), 10)}${pad(`${runs[mode].some((r) => r.behind) ? '*' : ''}${med(mode, 'p99').toFixed(2)}`, 10)}${pad(dp99, 10)}${pad(mode === 'direct' ? '—' : `${med(mode, 'proxyCpuUs').toFixed(0)} µs`, 15)}${pad(runs[mode].reduce((n, r) => n + r.failed, 0), 8)}`,
      );
    }
  }
} finally {
  await cleanup();
}
