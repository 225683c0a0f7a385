// Cost of the reload proxies (issue 13), loopback only: direct (the app binds the port), handoff
// (the app listens on a socket naija-sup created and passed as fd 3: no hop), the TCP pipe
// (src/reload/proxy.ts, `proxy.protocol: tcp`) and the HTTP proxy (src/reload/http-proxy.ts, the
// default), each proxy in its own process run as the resident supervisor runs in proxy mode (the
// node flags and glibc malloc environment of src/process/resident-flags.ts, imported from dist/),
// in front of three apps: a trivial node:http handler, one that burns 300 µs of CPU per request,
// and the example Express API (and, with --only express-stock, the same API served without
// naija-sup/node's expressServerOptions, as most Express apps are).
// Two references that naija-sup does not ship: --modes …,nginx (Debian's nginx, a C reverse proxy)
// and --modes …,forward-c (bench/tcp-forward.c, a byte forwarder in C that does no work per request:
// the floor of a hop on this machine).
//
// Per app and round (modes interleaved, so background load hits each alike):
//   1. saturation: wrk -t1 -c20 (Debian: apt-get install -y wrk) and autocannon -c20, req/s;
//   2. latency at half of direct's saturated rate (wrk's figure this round): wrk2 is not packaged
//      and wrk cannot hold a rate, so an open-loop generator of our own sends at that fixed rate
//      over 20 keep-alive connections and times each request from when it was due (no coordinated
//      omission), µs precision — autocannon's -R rounds latencies to whole ms, too coarse for a
//      "+1 ms p99" target. The generator is bench/open-loop.c, compiled with `cc -O2` into a
//      temporary directory at start (gcc: apt-get install -y gcc): the machine has 2 cores, shared
//      by the generator, the proxy and the app, so the generator's own CPU and pauses land in every
//      mode's tail. The Node generator this bench had (GENERATOR below, `--generator node`) costs
//      ~105 µs of CPU per request against the C one's ~65 µs (mostly the kernel's loopback TCP,
//      which any client pays), and adds its event loop's timer lateness and GC pauses on top.
//      The same generator, rate and connections serve every mode.
// Medians of --rounds (default 3). The proxy process's CPU per request (utime + stime from /proc,
// with the share spent in the kernel) is printed too: it moves less with background load than req/s.
// So is, per request of the half-load run, how long the app's and the proxy's main threads waited
// on a run queue (/proc/PID/schedstat): runnable, but the 2 CPUs were taken — the part of a hop's
// latency that is not its own CPU.
//
// --pin: the app runs on CPU 0 and the proxy on CPU 1 (taskset), in every mode (direct and handoff
// get CPU 0 for the app too); the load generators are not pinned. That is how a 2-core host would
// split the work, but on this loopback bench the generators share CPU 1 with the proxy, so run
// without --pin as well and report both.
//
// Reproduce: npm run build && node bench/http-proxy.mjs [--rounds 3] [--duration 5]
//            [--only trivial,cpu300,express,express-stock] [--modes direct,handoff,tcp,http[,nginx][,forward-c]] [--pin] [--cpu-prof DIR]
//            [--generator c|node] [--raw] ['--proxy-flags=--max-semi-space-size=16 …']
//            (or: npm run bench -- http-proxy)
// --cpu-prof DIR runs the HTTP proxy with node --cpu-prof, profiles written to DIR (open them in
// Chrome DevTools, or summarise with: node bench/cpu-profile-top.mjs DIR/*.cpuprofile).
// --raw prints each latency run (p50, p99, p99.9, max, the generator's CPU ms); --proxy-flags adds
// node flags after the supervisor's, for experiments (V8 takes a flag's last value).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
const MODES = option('modes', 'direct,handoff,tcp,http').split(',');
const CPU_PROF = option('cpu-prof', null);
const PIN = args.includes('--pin');
const RAW = args.includes('--raw');
const GENERATOR_KIND = option('generator', 'c');
// Extra node flags for the proxy process, after the supervisor's (V8 takes the last of a flag):
// for experiments such as --proxy-flags=--max-semi-space-size=16.
const PROXY_FLAGS = args.filter((a) => a.startsWith('--proxy-flags=')).map((a) => a.slice('--proxy-flags='.length)).flatMap((a) => a.split(' ').filter(Boolean));
const CONNECTIONS = 20;
if (MODES[0] !== 'direct') throw new Error('--modes must start with direct (the half-load rate comes from it)');
const KNOWN_MODES = ['direct', 'handoff', 'tcp', 'http', 'nginx', 'forward-c'];
for (const mode of MODES) if (!KNOWN_MODES.includes(mode)) throw new Error(`unknown mode ${mode}; known: ${KNOWN_MODES.join(', ')}`);
if (spawnSync('wrk', ['--version']).error !== undefined) throw new Error('wrk is not on PATH: apt-get install -y wrk');
if (MODES.includes('nginx') && spawnSync('nginx', ['-v']).error !== undefined) throw new Error('--modes nginx needs nginx on PATH: apt-get install -y nginx-light');
const DIST = join(ROOT, 'dist', 'reload');
if (!existsSync(join(DIST, 'http-proxy.js'))) throw new Error('dist/reload/http-proxy.js is missing: run `npm run build` first');
if (PIN && spawnSync('taskset', ['-c', '1', 'true']).status !== 0) throw new Error('--pin needs taskset and 2 CPUs (util-linux)');
const { createHandoffListener, handoffEnv } = await import(pathToFileURL(join(DIST, 'index.js')).href);
// The proxy process runs as the resident supervisor runs in proxy mode (`start -d`, the deployment
// exports): the same node flags and glibc malloc environment, from the product's own code.
const { supervisorEnv, supervisorNodeFlags } = await import(pathToFileURL(join(ROOT, 'dist', 'process', 'resident-flags.js')).href);
const SUPERVISOR_FLAGS = supervisorNodeFlags({}, 'proxy');
if (!['c', 'node'].includes(GENERATOR_KIND)) throw new Error('--generator must be c or node');

const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };

const BACKEND = `
import http from 'node:http';
const burn = Number(process.env.BURN_US) / 1000;
const server = http.createServer((req, res) => {
  if (burn > 0) { const t = performance.now(); while (performance.now() - t < burn); }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
// handoff: the socket naija-sup created, passed as fd 3 (as test/fixtures/reload/fd-server.mjs does).
if (process.env.LISTEN_FDS === '1') server.listen({ fd: 3 });
else server.listen(Number(process.env.PORT), '127.0.0.1');
`;

// The example API served as most Express apps are, `http.createServer(app)`, without
// naija-sup/node's expressServerOptions: Express then changes the prototype of every request and
// response, which on Node 20 makes V8 promote them all (scavenges of 3-7 ms every ~100 ms at half
// load; src/node/express.ts). Kept beside `express` so the proxy's cost is reported for both.
const EXPRESS_STOCK = `
import http from 'node:http';
const { createApp } = await import(${JSON.stringify(pathToFileURL(join(EXAMPLE, 'src', 'app.js')).href)});
const { loadPasswordHasher } = await import(${JSON.stringify(pathToFileURL(join(EXAMPLE, 'src', 'password.js')).href)});
const quiet = () => undefined;
const { app } = createApp({ hasher: await loadPasswordHasher({ env: process.env }), bcryptCost: 4, warmupMs: 0, log: { info: quiet, warn: quiet, error: quiet } });
const server = http.createServer(app);
if (process.env.LISTEN_FDS === '1') server.listen({ fd: 3 });
else server.listen(Number(process.env.PORT), '127.0.0.1');
`;

const APPS = {
  trivial: { label: 'node:http, trivial handler', argv: ['--input-type=module', '-e', BACKEND], cwd: ROOT, env: { BURN_US: '0' }, path: '/' },
  cpu300: { label: 'node:http, 300 µs of CPU per request', argv: ['--input-type=module', '-e', BACKEND], cwd: ROOT, env: { BURN_US: '300' }, path: '/' },
  express: { label: 'examples/express-api GET /api/v1/public/health', argv: ['src/server.js'], cwd: EXAMPLE, env: { WARMUP_MS: '0', BCRYPT_COST: '4', HOST: '127.0.0.1' }, path: '/api/v1/public/health' },
  'express-stock': { label: 'examples/express-api GET /api/v1/public/health, http.createServer(app) without expressServerOptions', argv: ['--input-type=module', '-e', EXPRESS_STOCK], cwd: EXAMPLE, env: {}, path: '/api/v1/public/health' },
};

const PROXY_CHILD = (kind) => `
const { ${kind === 'http' ? 'createHttpProxy' : 'createProxy'} } = await import(${JSON.stringify(pathToFileURL(join(DIST, kind === 'http' ? 'http-proxy.js' : 'proxy.js')).href)});
const target = Number(process.env.TARGET);
const proxy = ${kind === 'http' ? "await createHttpProxy({ host: '127.0.0.1', port: 0, target: { port: target, id: 'app' } })" : "await createProxy({ host: '127.0.0.1', port: 0, target })"};
console.log('PROXY port=' + proxy.port);
process.on('SIGTERM', () => { proxy.close({ timeout: 500 }).then(() => process.exit(0)); });
`;

// The Node open-loop generator (--generator node; bench/open-loop.c does the same in C): RATE req/s over CONNS keep-alive connections, each request timed
// from the moment it was due (a request due while every connection is busy waits for one, as with
// an http.Agent, and its wait counts). Raw sockets with a minimal response parser (status line,
// Content-Length) rather than node:http's client: 4-5× less CPU per request, so the generator keeps
// up with higher rates on this 2-core machine. Prints one JSON line.
const GENERATOR = `
import net from 'node:net';
const { PORT, REQ_PATH, RATE, CONNS, SECONDS } = process.env;
const rate = Number(RATE), total = Math.floor(rate * Number(SECONDS));
const request = Buffer.from('GET ' + REQ_PATH + ' HTTP/1.1\\r\\nHost: 127.0.0.1:' + PORT + '\\r\\n\\r\\n', 'latin1');
const lat = new Float64Array(total);
let n = 0, failed = 0, sent = 0, done = 0;
const backlog = []; // due times of requests waiting for a free connection
const idle = [];
const t0 = performance.now() + 200;
const cpu0 = process.cpuUsage();
const send = (c, due) => { c.due = due; c.socket.write(request); };
const complete = (c, ok) => {
  if (ok) lat[n++] = performance.now() - c.due; else failed += 1;
  done += 1;
  if (backlog.length > 0) send(c, backlog.shift()); else idle.push(c);
  if (done === total) finish();
};
const parse = (c) => {
  for (;;) {
    if (c.need < 0) {
      const end = c.buf.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const head = c.buf.subarray(0, end).toString('latin1');
      const m = /\\r\\ncontent-length:\\s*(\\d+)/i.exec(head);
      if (!m) { console.log(JSON.stringify({ error: 'response without Content-Length: ' + head.slice(0, 200) })); process.exit(1); }
      c.status = Number(head.slice(9, 12));
      c.need = end + 4 + Number(m[1]);
    }
    if (c.buf.length < c.need) return;
    c.buf = c.buf.subarray(c.need);
    c.need = -1;
    complete(c, c.status === 200);
  }
};
const conns = [];
for (let i = 0; i < Number(CONNS); i += 1) {
  const c = { socket: net.connect({ host: '127.0.0.1', port: Number(PORT), noDelay: true }), buf: Buffer.alloc(0), need: -1, status: 0, due: 0 };
  c.socket.on('data', (chunk) => { c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]); parse(c); });
  c.socket.on('error', () => undefined);
  c.socket.on('close', () => { if (done < total) { console.log(JSON.stringify({ error: 'connection closed', failed, n })); process.exit(1); } });
  c.socket.once('connect', () => idle.push(c));
  conns.push(c);
}
const fire = () => {
  const now = performance.now();
  while (sent < total && t0 + (sent * 1000) / rate <= now) {
    const due = t0 + (sent * 1000) / rate;
    sent += 1;
    const c = idle.pop();
    if (c) send(c, due); else backlog.push(due);
  }
  if (sent < total) setTimeout(fire, Math.max(0, t0 + (sent * 1000) / rate - performance.now()));
};
const finish = () => {
  const sorted = lat.subarray(0, n).sort();
  const q = (p) => sorted[Math.min(n - 1, Math.floor(p * n))] ?? NaN;
  // Finished well after the last request was due: the generator or the server fell behind the rate.
  const behind = performance.now() - (t0 + (total * 1000) / rate) > 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ p50: q(0.5), p99: q(0.99), p999: q(0.999), max: sorted[n - 1], failed, n, behind, cpuMs: (cpu.user + cpu.system) / 1000 }));
  for (const c of conns) c.socket.destroy();
};
setTimeout(fire, 200);
setTimeout(() => { console.log(JSON.stringify({ error: 'generator timed out', failed, n })); process.exit(1); }, Number(SECONDS) * 1000 + 30000).unref();
`;

/** `node argv…`, on CPU `cpu` when --pin. */
function startNode(argv, options, cpu) {
  return PIN ? start('taskset', ['-c', String(cpu), process.execPath, ...argv], options) : start(process.execPath, argv, options);
}

/** Starts the app on a port of its own, or on a handoff listener's socket (fd 3) when `handoff`. */
async function startApp(app, handoff = false) {
  const listener = handoff ? createHandoffListener({ host: '127.0.0.1', port: 0 }) : null;
  const port = listener?.port ?? (await freePort());
  const env = { ...BASE_ENV, ...app.env, PORT: String(port), ...(listener ? handoffEnv() : {}) };
  const stdio = listener ? ['ignore', 'pipe', 'pipe', listener.fd] : ['ignore', 'pipe', 'pipe'];
  const child = startNode(app.argv, { cwd: app.cwd, env, stdio }, 0);
  child.exited.then(() => listener?.close());
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i += 1) {
    if (child.exitCode !== null) throw new Error(`app exited during start-up:\n${child.output}`);
    if ((await get(port, app.path, 1000)).status === 200) return { child, port, listener };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`app not ready on :${port} within 20 s:\n${child.output}`);
}

async function startProxy(kind, target) {
  const prof = kind === 'http' && CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const flags = [...SUPERVISOR_FLAGS, ...PROXY_FLAGS, ...prof];
  const child = startNode([...flags, '--input-type=module', '-e', PROXY_CHILD(kind)], { cwd: ROOT, env: { ...supervisorEnv(BASE_ENV), TARGET: String(target) } }, 1);
  await waitForOutput(child, /PROXY port=\d+/);
  return { child, port: Number(/PROXY port=(\d+)/.exec(child.output)[1]) };
}

/**
 * `--modes …,nginx`: Debian's nginx (apt-get install -y nginx-light) as a reference reverse proxy, a
 * C event loop with a keep-alive upstream pool, as a production proxy would run it: one worker
 * process (like naija-sup's proxy, one thread), HTTP/1.1 upstream keep-alive, no access log. Not
 * part of naija-sup; it says what a hop costs on this machine when the proxy is not Node.
 */
async function startNginx(target) {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-bench-nginx-'));
  const port = await freePort();
  const conf = `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${target}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} reuseport backlog=511;
    keepalive_requests 1000000;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_buffering on; }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const command = PIN ? 'taskset' : 'nginx';
  const argv = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  const child = start(command, PIN ? ['-c', '1', 'nginx', ...argv] : argv, { cwd: dir, env: BASE_ENV });
  child.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 1000 && Date.now() < deadline; i += 1) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start:\n${child.output}${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    if ((await get(port, '/', 1000)).status !== 0) return { child, port };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nginx did not answer on :${port} within 10 s`);
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
  await child.exited;
  clearTimeout(timer);
}

/** utime and stime of `pid`, ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) * 10, sys: Number(fields[12]) * 10 };
}

/**
 * Run-queue wait of `pid`'s main thread (its event loop), µs: the time it was runnable but another
 * task had the CPU (/proc/PID/schedstat, second field, ns). NaN without schedstat.
 */
function runQueueWaitUs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000;
  } catch {
    return NaN;
  }
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

/** bench/NAME.c, compiled into a temporary directory (removed at the end). */
function compileC(name, hint) {
  const dir = mkdtempSync(join(tmpdir(), `naija-sup-${name}-`));
  const binary = join(dir, name);
  const cc = spawnSync('cc', ['-O2', '-o', binary, join(ROOT, 'bench', `${name}.c`)], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot compile bench/${name}.c (${cc.error?.message ?? cc.stderr}): install a C compiler (apt-get install -y gcc)${hint}`);
  }
  return { dir, binary };
}
// Compiled at the start of the run (inside its try, so a failed compile removes the other's folder).
let C_GENERATOR = null;
let C_FORWARD = null;

/**
 * `--modes …,forward-c`: bench/tcp-forward.c, a byte forwarder in C that costs a few µs of CPU per
 * request. Not a proxy naija-sup could ship (no requests, no retries, no per-request switch): the
 * floor of a hop on this machine, beside which the tcp and http modes show their own CPU's share.
 */
async function startForward(target) {
  const bound = (ROUNDS * DURATION_S * 10 + 600).toFixed(0);
  const child = PIN ? start('taskset', ['-c', '1', C_FORWARD.binary, String(target), bound], { env: BASE_ENV }) : start(C_FORWARD.binary, [String(target), bound], { env: BASE_ENV });
  await waitForOutput(child, /FORWARD port=\d+/, 10_000);
  return { child, port: Number(/FORWARD port=(\d+)/.exec(child.output)[1]) };
}

async function fixedRate(port, path, rate, seconds) {
  const child = C_GENERATOR
    ? start(C_GENERATOR.binary, [String(port), path, String(rate), String(CONNECTIONS), String(seconds)], { env: BASE_ENV })
    : start(process.execPath, ['--input-type=module', '-e', GENERATOR], {
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
  const backend = await startApp(app, mode === 'handoff');
  const proxy = mode === 'tcp' || mode === 'http' ? await startProxy(mode, backend.port) : mode === 'nginx' ? await startNginx(backend.port) : mode === 'forward-c' ? await startForward(backend.port) : null;
  const port = proxy?.port ?? backend.port;
  try {
    // Warm-up: ≥ 10,000 requests (at most 6 s), so the proxy's code is optimised (JIT) before it is
    // measured — a long-running proxy's steady state. 1 s is 3,000 requests against the 300 µs app.
    for (let n = 0, i = 0; n < 10_000 && i < 6; i += 1) n += wrk(port, app.path, 1).total;
    const cpu0 = proxy ? cpuMs(proxy.child.pid) : null;
    const w = wrk(port, app.path, DURATION_S);
    const cpu1 = proxy ? cpuMs(proxy.child.pid) : null;
    const proxyCpuUs = proxy ? ((cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) * 1000) / w.total : NaN;
    const proxySysPct = proxy ? (100 * (cpu1.sys - cpu0.sys)) / Math.max(1, cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) : NaN;
    const a = await cannon(port, app.path, DURATION_S);
    const rate = halfRate ?? Math.round(w.rps / 2);
    const waits0 = [backend.child.pid, proxy?.child.pid].map((pid) => (pid === undefined ? NaN : runQueueWaitUs(pid)));
    const l = await fixedRate(port, app.path, rate, DURATION_S);
    // Per request at half load: how long the app's and the proxy's event loops waited for a CPU.
    const [appWaitUs, proxyWaitUs] = [backend.child.pid, proxy?.child.pid].map((pid, i) => (pid === undefined ? NaN : (runQueueWaitUs(pid) - waits0[i]) / l.n));
    if (RAW) console.log(`${app.label} ${mode}: ${JSON.stringify({ ...l, appWaitUs, proxyWaitUs })}`);
    return { wrk: w.rps, cannon: a.rps, failed: (w.failed ? 1 : 0) + a.failed + l.failed, p50: l.p50, p99: l.p99, behind: l.behind, rate, proxyCpuUs, proxySysPct, appWaitUs, proxyWaitUs };
  } finally {
    if (proxy) await stop(proxy.child);
    await stop(backend.child);
  }
}

const pad = (s, n) => String(s).padStart(n);
const signed = (n) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

/** One table per app: medians over rounds; costs and Δp99 are medians of per-round comparisons with direct. */
function report(app, runs) {
  const med = (mode, key) => median(runs[mode].map((r) => r[key]));
  const paired = (mode, f) => median(runs[mode].map((r, i) => f(r, runs.direct[i])));
  const behind = (mode) => runs[mode].some((r, i) => r.behind || runs.direct[i].behind);
  console.log(`\n${app.label} — medians of ${ROUNDS}; latency (ms) at half of direct's wrk rate (${med('direct', 'rate')} req/s)`);
  if (MODES.some(behind)) console.log('* the half-load rate was not kept up in some round (that mode, or the generator, saturated): that latency is queueing, not cost');
  console.log(
    `${'mode'.padEnd(10)}${pad('wrk req/s', 11)}${pad('cost', 7)}${pad('autocannon', 12)}${pad('cost', 7)}${pad('p50', 9)}${pad('p99', 10)}${pad('Δp99', 9)}` +
      `${pad('proxy CPU/req', 15)}${pad('(kernel)', 10)}${pad('run-queue wait/req: app', 25)}${pad('proxy', 8)}${pad('failed', 8)}  verdict (≤ 20%, ≤ +1 ms)`,
  );
  for (const mode of MODES) {
    const direct = mode === 'direct';
    const cost = (key) => paired(mode, (r, d) => (1 - r[key] / d[key]) * 100);
    const dp99 = paired(mode, (r, d) => r.p99 - d.p99);
    const hop = mode !== 'direct' && mode !== 'handoff';
    const verdict = direct ? '' : `${cost('wrk') <= 20 ? 'req/s met' : 'req/s NOT met'}, ${behind(mode) ? 'p99 n/a*' : dp99 <= 1 ? 'p99 met' : 'p99 NOT met'}`;
    console.log(
      `${mode.padEnd(10)}${pad(Math.round(med(mode, 'wrk')), 11)}${pad(direct ? '—' : `${cost('wrk').toFixed(0)}%`, 7)}` +
        `${pad(Math.round(med(mode, 'cannon')), 12)}${pad(direct ? '—' : `${cost('cannon').toFixed(0)}%`, 7)}` +
        `${pad(med(mode, 'p50').toFixed(2), 9)}${pad(`${behind(mode) ? '*' : ''}${med(mode, 'p99').toFixed(2)}`, 10)}${pad(direct ? '—' : signed(dp99), 9)}` +
        `${pad(hop ? `${med(mode, 'proxyCpuUs').toFixed(0)} µs` : '—', 15)}${pad(hop ? `${med(mode, 'proxySysPct').toFixed(0)}%` : '—', 10)}` +
        `${pad(`${med(mode, 'appWaitUs').toFixed(0)} µs`, 25)}${pad(hop ? `${med(mode, 'proxyWaitUs').toFixed(0)} µs` : '—', 8)}` +
        `${pad(runs[mode].reduce((n, r) => n + r.failed, 0), 8)}  ${verdict}`,
    );
  }
}

try {
  C_GENERATOR = GENERATOR_KIND === 'c' ? compileC('open-loop', ', or pass --generator node') : null;
  C_FORWARD = MODES.includes('forward-c') ? compileC('tcp-forward', '') : null;
  const reproduce = `npm run build && node bench/http-proxy.mjs --rounds ${ROUNDS} --duration ${DURATION_S} --only ${ONLY.join(',')} --modes ${MODES.join(',')}${PIN ? ' --pin' : ''}${GENERATOR_KIND === 'c' ? '' : ' --generator node'}${PROXY_FLAGS.length > 0 ? ` '--proxy-flags=${PROXY_FLAGS.join(' ')}'` : ''}`;
  console.log(`node ${process.version}, load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${DURATION_S} s, ${CONNECTIONS} keep-alive connections`);
  const client = C_GENERATOR ? 'bench/open-loop.c (epoll, compiled with cc -O2)' : 'the Node client in bench/http-proxy.mjs (raw keep-alive sockets)';
  console.log(`load: wrk -t1 -c${CONNECTIONS} and autocannon -c${CONNECTIONS} at saturation; latency: an open-loop generator, ${client}, ${CONNECTIONS} connections, at a fixed rate`);
  console.log(`proxy process: node ${[...SUPERVISOR_FLAGS, ...PROXY_FLAGS].join(' ')} with ${Object.keys(supervisorEnv({})).filter((k) => k.startsWith('MALLOC')).map((k) => `${k}=${supervisorEnv({})[k]}`).join(' ')} (the resident supervisor's, src/process/resident-flags.ts)`);
  console.log(PIN ? 'pinned: app on CPU 0, proxy on CPU 1 (taskset); load generators not pinned' : 'not pinned: the scheduler places every process');
  console.log(`reproduce: ${reproduce}`);
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
    report(app, runs);
  }
  console.log(`\nload average at the end ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
} finally {
  await cleanup();
  for (const compiled of [C_GENERATOR, C_FORWARD]) if (compiled) rmSync(compiled.dir, { recursive: true, force: true });
}
