// Zero-downtime reload benchmark (issue 8, DESIGN.md "Zero-downtime reload"), loopback only.
//
// 1. Throughput and latency per mode — direct (the app binds the port), handoff (the app listens on
//    a socket handed over as fd 3), proxy (a naija-sup pipe proxy in its own process, as in the
//    supervisor, in front of the app's private port) — against a trivial handler, a handler that
//    does real work (chained sha256), and the example Express API. Proxy overhead is reported as a
//    share of direct throughput (target: ≤ 15%).
// 2. Failed requests while swapping instances N times under load, per mode, with the building
//    blocks (src/reload/): handoff = start green on the shared fd, wait until green answers
//    (answeredBy), SIGTERM blue; proxy = start green on a private port, switch the target, SIGTERM
//    blue; direct = SIGTERM, then start the replacement on the same port (target: 0 failed for
//    handoff and proxy; direct shows the gap).
//
// Load generators for the throughput table (--load, comma-separated; default: every one present):
//   autocannon — the issue's tool (a devDependency), in this process;
//   wrk        — C, one thread (Debian: apt-get install wrk), when it is on PATH;
//   runload    — src/reload/load.ts (keep-alive node:http agents), always available.
// On a 2-core machine the generator competes with the app and the proxy for the cores, so a lighter
// generator leaves the proxy more of its share; every table says which one produced it. The CPU
// time the app and the proxy spent per request (from /proc) is printed too: unlike req/s it does
// not move with background load. The swap test always uses runLoad (it counts every request).
// The apps and the proxy run in their own processes.
//
// Reproduce: npm run build && node bench/reload.mjs [--duration 10] [--rounds 1] [--concurrency 10]
//            [--swaps 10] [--only trivial,hash,express] [--load autocannon,wrk,runload] [--no-swaps]
// On a busy machine use --rounds 3: the modes run interleaved and the medians are reported.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cleanup, EXAMPLE, FIXTURES, get, ROOT, start, waitForOutput } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at === -1) return fallback;
  const arg = args[at];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (args[at + 1] ?? fallback);
};
const DURATION_MS = Number(option('duration', '10')) * 1000;
const WARMUP_MS = Math.min(2000, Math.max(500, DURATION_MS / 5));
const CONCURRENCY = Number(option('concurrency', '10'));
const SWAPS = Number(option('swaps', '10'));
const ROUNDS = Math.max(1, Number(option('rounds', '1')));
const ONLY = option('only', 'trivial,hash,express').split(',');
const DO_SWAPS = !args.includes('--no-swaps');
const HASH_ROUNDS = 300;
const HAVE_WRK = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
const autocannon = await import('autocannon').then((m) => m.default, () => null);
const LOADERS = option('load', [autocannon ? 'autocannon' : null, HAVE_WRK ? 'wrk' : null, 'runload'].filter(Boolean).join(',')).split(',');
for (const name of LOADERS) {
  if (name === 'wrk' && !HAVE_WRK) throw new Error('--load wrk: wrk is not on PATH (Debian: apt-get install wrk)');
  if (name === 'autocannon' && !autocannon) throw new Error('--load autocannon: the autocannon package is missing (npm ci installs it)');
  if (!['autocannon', 'wrk', 'runload'].includes(name)) throw new Error(`unknown --load ${name}; known: autocannon, wrk, runload`);
}

// --dist: where the compiled library is (default dist/; for a build elsewhere).
const DIST = join(option('dist', join(ROOT, 'dist')), 'reload', 'index.js');
if (!existsSync(DIST)) {
  console.error(`${DIST} is missing: run \`npm run build\` first.`);
  process.exit(1);
}
const { createHandoffListener, handoffEnv, pickPrivatePort, probeHttpAnsweredBy, runLoad } = await import(pathToFileURL(DIST).href);

const FIXTURE_DIR = join(FIXTURES, 'reload');
const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', HOST: '127.0.0.1' };

const APPS = {
  trivial: { label: `fd-server.mjs GET /health (trivial)`, cwd: FIXTURE_DIR, argv: ['fd-server.mjs'], path: '/health', env: {} },
  hash: { label: `fd-server.mjs GET /hash?rounds=${HASH_ROUNDS} (chained sha256, real work)`, cwd: FIXTURE_DIR, argv: ['fd-server.mjs'], path: `/hash?rounds=${HASH_ROUNDS}`, env: {} },
  express: { label: 'examples/express-api GET /api/v1/public/health (Express 5)', cwd: EXAMPLE, argv: ['src/server.js'], path: '/api/v1/public/health', env: { WARMUP_MS: '0', BCRYPT_COST: '4' } },
};

// The proxy runs in its own process, as it does inside the supervisor: sharing the load
// generator's event loop would understate it. `target <port>` on stdin switches it.
const PROXY_CHILD = `
import { createInterface } from 'node:readline';
import { createProxy } from ${JSON.stringify(pathToFileURL(DIST).href)};
const proxy = await createProxy({ host: '127.0.0.1', port: 0, target: Number(process.env.PROXY_TARGET) });
console.log('PROXY port=' + proxy.port);
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^target (\\d+)$/.exec(line);
  if (m) { proxy.setTarget(Number(m[1])); console.log('TARGET ' + m[1]); }
});
process.on('SIGTERM', () => { proxy.close({ timeout: 500 }).then(() => process.exit(0)); });
`;

/** Starts the app on `port` (or on the shared socket `fd`) and waits until `path` answers 200. */
async function startApp(app, { port, fd }) {
  const env = { ...BASE_ENV, ...app.env, PORT: String(port), ...(fd === undefined ? {} : handoffEnv()) };
  const stdio = fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', fd];
  const child = start(process.execPath, app.argv, { cwd: app.cwd, env, stdio });
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 10_000; i += 1) {
    if (child.exitCode !== null) throw new Error(`app exited during start-up:\n${child.output}`);
    const res = await get(port, app.path, 1000);
    if (res.status === 200 && (fd === undefined || (await answeredBy(port, app.path, [child.pid])) === child.pid)) return child;
    if (Date.now() > deadline) throw new Error(`app not ready on :${port} within 20 s:\n${child.output}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('start-up poll bound reached');
}

async function answeredBy(port, path, pids) {
  const probe = await probeHttpAnsweredBy({ host: '127.0.0.1', port, path, timeout: 2000, pids });
  return probe.answeredBy;
}

/** SIGTERM to the group, wait for the exit (SIGKILL after 15 s). */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 15_000);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

async function startProxy(target) {
  const proxy = start(process.execPath, ['--input-type=module', '-e', PROXY_CHILD], {
    cwd: ROOT,
    env: { ...BASE_ENV, PROXY_TARGET: String(target) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  await waitForOutput(proxy, /PROXY port=\d+/);
  proxy.port = Number(/PROXY port=(\d+)/.exec(proxy.output)[1]);
  const switches = new Map();
  // Resolves once the proxy confirmed the switch (its n-th `TARGET port` line for this port).
  proxy.setTarget = async (port) => {
    const n = (switches.get(port) ?? 0) + 1;
    switches.set(port, n);
    proxy.stdin.write(`target ${port}\n`);
    const deadline = Date.now() + 5000;
    while (proxy.output.split(`TARGET ${port}\n`).length - 1 < n) {
      if (Date.now() > deadline) throw new Error(`the proxy did not confirm the switch to ${port}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return proxy;
}

/** utime + stime of `pid` in ms (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

const parseWrkMs = (text) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
};

/** One load run with the chosen generator, as { requestsPerSecond, total, failed, latency: { p50, p99, max } }. */
async function load(loader, port, path, durationMs) {
  if (loader === 'runload') return runLoad({ port, path, concurrency: CONCURRENCY, durationMs });
  if (loader === 'autocannon') {
    const r = await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: CONCURRENCY, duration: durationMs / 1000 });
    const failed = r.errors + r.timeouts + r.non2xx;
    return { requestsPerSecond: r.requests.average, total: r.requests.total + r.errors + r.timeouts, failed, latency: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max } };
  }
  const out = spawnSync('wrk', ['-t1', `-c${CONCURRENCY}`, `-d${Math.max(1, Math.round(durationMs / 1000))}s`, '--latency', `http://127.0.0.1:${port}${path}`], { encoding: 'utf8', timeout: durationMs + 30_000 });
  const text = out.stdout ?? '';
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const total = Number(/(\d+) requests in/.exec(text)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = [...(/Socket errors: (.*)/.exec(text)?.[1] ?? '').matchAll(/(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk printed no Requests/sec:\n${text}${out.stderr ?? ''}`);
  return {
    requestsPerSecond: rps,
    total,
    failed: non2xx + socketErrors,
    latency: { p50: parseWrkMs(/\s50%\s+(\S+)/.exec(text)?.[1]), p99: parseWrkMs(/\s99%\s+(\S+)/.exec(text)?.[1]), max: parseWrkMs(/Latency(?:\s+\S+){2}\s+(\S+)/.exec(text)?.[1]) },
  };
}

/** Starts one mode's topology; returns the port to load and a teardown. */
async function setup(mode, app) {
  if (mode === 'direct') {
    const port = await pickPrivatePort();
    const child = await startApp(app, { port });
    return { port, appPid: child.pid, proxyPid: null, teardown: () => stop(child) };
  }
  if (mode === 'handoff') {
    const listener = createHandoffListener({ host: '127.0.0.1', port: 0 });
    const child = await startApp(app, { port: listener.port, fd: listener.fd });
    return { port: listener.port, appPid: child.pid, proxyPid: null, teardown: async () => { await stop(child); listener.close(); } };
  }
  const privatePort = await pickPrivatePort();
  const child = await startApp(app, { port: privatePort });
  const proxy = await startProxy(privatePort);
  return { port: proxy.port, appPid: child.pid, proxyPid: proxy.pid, teardown: async () => { await stop(child); await stop(proxy); } };
}

const fmtMs = (ms) => `${ms.toFixed(2)} ms`;
const pad = (s, n) => String(s).padEnd(n);
const padL = (s, n) => String(s).padStart(n);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Each app: ROUNDS rounds of direct → handoff → proxy (interleaved, so a change in background load
 * hits every mode alike); medians across rounds, and the overhead per round pair.
 */
async function throughput(loader) {
  const results = {};
  for (const name of ONLY) {
    const app = APPS[name];
    if (app === undefined) throw new Error(`unknown app "${name}"; known: ${Object.keys(APPS).join(', ')}`);
    const runs = { direct: [], handoff: [], proxy: [] };
    const cpu = { app: [], proxy: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const mode of ['direct', 'handoff', 'proxy']) {
        const { port, appPid, proxyPid, teardown } = await setup(mode, app);
        try {
          await load(loader, port, app.path, WARMUP_MS);
          const app0 = cpuMs(appPid);
          const proxy0 = proxyPid === null ? 0 : cpuMs(proxyPid);
          const r = await load(loader, port, app.path, DURATION_MS);
          runs[mode].push(r);
          if (mode === 'proxy' && r.total > 0) {
            cpu.app.push(((cpuMs(appPid) - app0) * 1000) / r.total);
            cpu.proxy.push(((cpuMs(proxyPid) - proxy0) * 1000) / r.total);
          }
        } finally {
          await teardown();
        }
      }
    }
    console.log(`\n${app.label}, load: ${loader}${ROUNDS > 1 ? ` — medians of ${ROUNDS} rounds (req/s range)` : ''}`);
    console.log(`${pad('mode', 9)}${padL('req/s', 9)}${padL('p50', 11)}${padL('p99', 11)}${padL('max', 11)}${padL('failed', 8)}   vs direct${ROUNDS > 1 ? '   range' : ''}`);
    const rps = (mode) => median(runs[mode].map((r) => r.requestsPerSecond));
    for (const mode of ['direct', 'handoff', 'proxy']) {
      const list = runs[mode];
      const change = (i) => (list[i].requestsPerSecond / runs.direct[i].requestsPerSecond - 1) * 100;
      const vs = mode === 'direct' ? '—' : `${median(list.map((_, i) => change(i))) >= 0 ? '+' : ''}${median(list.map((_, i) => change(i))).toFixed(1)}%`;
      const range = ROUNDS > 1 ? `   ${Math.min(...list.map((r) => r.requestsPerSecond))}–${Math.max(...list.map((r) => r.requestsPerSecond))}` : '';
      const failed = list.reduce((sum, r) => sum + r.failed, 0);
      console.log(
        `${pad(mode, 9)}${padL(Math.round(rps(mode)), 9)}${padL(fmtMs(median(list.map((r) => r.latency.p50))), 11)}${padL(fmtMs(median(list.map((r) => r.latency.p99))), 11)}` +
          `${padL(fmtMs(Math.max(...list.map((r) => r.latency.max))), 11)}${padL(failed, 8)}   ${pad(vs, 9)}${range}`,
      );
    }
    const overhead = median(runs.proxy.map((r, i) => (1 - r.requestsPerSecond / runs.direct[i].requestsPerSecond) * 100));
    console.log(`proxy overhead: ${overhead.toFixed(1)}% of direct throughput (target ≤ 15%: ${overhead <= 15 ? 'met' : 'MISSED'}); CPU per request behind the proxy: app ${median(cpu.app).toFixed(1)} µs, proxy ${median(cpu.proxy).toFixed(1)} µs`);
    results[name] = runs;
  }
  return results;
}

/** N swaps under load in one mode, with the fd-server fixture. */
async function swaps(mode) {
  const app = APPS.trivial;
  const path = '/pid';
  let port;
  let listener;
  let proxy;
  let blue;
  if (mode === 'handoff') {
    listener = createHandoffListener({ host: '127.0.0.1', port: 0 });
    port = listener.port;
    blue = await startApp(app, { port, fd: listener.fd });
  } else if (mode === 'proxy') {
    const privatePort = await pickPrivatePort();
    blue = await startApp(app, { port: privatePort });
    blue.port = privatePort;
    proxy = await startProxy(privatePort);
    port = proxy.port;
  } else {
    port = await pickPrivatePort();
    blue = await startApp(app, { port });
  }
  const controller = new AbortController();
  const load = runLoad({ port, path, concurrency: 4, durationMs: 120_000, signal: controller.signal });
  const swapMs = [];
  try {
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < SWAPS; i += 1) {
      const t0 = performance.now();
      if (mode === 'handoff') {
        const green = start(process.execPath, app.argv, { cwd: app.cwd, env: { ...BASE_ENV, PORT: '0', ...handoffEnv() }, stdio: ['ignore', 'pipe', 'pipe', listener.fd] });
        await waitForOutput(green, /READY/);
        for (let k = 0; k < 2000 && (await answeredBy(port, '/health', [blue.pid, green.pid])) !== green.pid; k += 1) {
          await new Promise((r) => setTimeout(r, 5));
        }
        await stop(blue);
        blue = green;
      } else if (mode === 'proxy') {
        const privatePort = await pickPrivatePort();
        const green = await startApp(app, { port: privatePort });
        green.port = privatePort;
        await proxy.setTarget(privatePort);
        await stop(blue);
        blue = green;
      } else {
        await stop(blue);
        blue = start(process.execPath, app.argv, { cwd: app.cwd, env: { ...BASE_ENV, PORT: String(port) } });
        await waitForOutput(blue, /READY/);
      }
      swapMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    controller.abort();
  }
  const r = await load;
  await stop(blue);
  if (proxy) await stop(proxy);
  listener?.close();
  const sorted = [...swapMs].sort((a, b) => a - b);
  return { r, medianSwapMs: sorted[Math.floor(sorted.length / 2)] };
}

try {
  console.log(`node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}`);
  console.log(`load: ${LOADERS.join(', ')}; ${CONCURRENCY} keep-alive connections, ${DURATION_MS / 1000} s per mode after ${WARMUP_MS / 1000} s warm-up, ${ROUNDS} round(s), loopback`);
  for (const loader of LOADERS) await throughput(loader);
  if (DO_SWAPS) {
    console.log(`\n${SWAPS} swaps under load (fd-server.mjs GET /pid, 4 keep-alive connections)`);
    console.log(`${pad('mode', 9)}${padL('requests', 10)}${padL('failed', 8)}   errors              median swap`);
    for (const mode of ['handoff', 'proxy', 'direct']) {
      const { r, medianSwapMs } = await swaps(mode);
      const errors = Object.entries(r.errors).map(([code, n]) => `${code}×${n}`).join(' ') || '—';
      console.log(`${pad(mode, 9)}${padL(r.total, 10)}${padL(r.failed, 8)}   ${pad(errors, 20)}${fmtMs(medianSwapMs)}`);
    }
  }
  console.log(`\nload average at the end: ${loadavg().map((n) => n.toFixed(1)).join(' ')}`);
  console.log(`reproduce: npm run build && node bench/reload.mjs --duration ${DURATION_MS / 1000} --rounds ${ROUNDS} --concurrency ${CONCURRENCY} --swaps ${SWAPS} --only ${ONLY.join(',')} --load ${LOADERS.join(',')}`);
} finally {
  await cleanup();
}
