// Benchmarks for observability (issue 7):
//   1. the supervisor's RSS with the status server + metrics on (--status-port) vs off,
//      after the instance is ready and the supervisor has idled, and again after 50 scrapes;
//   2. GET /metrics and GET /health response times (median and p95 of 50, fresh connection each).
// The instance is test/fixtures/healthy-server.mjs; everything binds 127.0.0.1.
// Reproduce: npm run build && node bench/metrics.mjs [runs]
import { join } from 'node:path';
import { CLI, FIXTURES, cleanup, fmt, freePort, get, rssKiB, sleep, start, summary } from './lib.mjs';

const RUNS = Math.max(3, Number(process.argv[2] ?? 5));
const SCRAPES = 50;
const IDLE_MS = 1500;
const node = process.execPath;
const env = { ...process.env, NO_COLOR: '1', NAIJA_SUP_HEALTH_INTERVAL: '25ms' };

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function timed(port, path) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    const res = await get(port, path, 2000);
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status || res.error}`);
    bytes = res.body.length;
  }
  return { ...summary(times), p95: percentile(times, 95), bytes };
}

/** Polls GET path until 200; gives up at the deadline or as soon as the supervisor exits. */
async function until200(port, path, sup, deadlineMs) {
  const deadline = performance.now() + deadlineMs;
  for (let i = 0; i < 100_000; i++) {
    const res = await get(port, path, 1000);
    if (res.status === 200) return;
    if (sup.exitCode !== null || sup.signalCode !== null) throw new Error(`naija-sup exited (${sup.exitCode ?? sup.signalCode}) before ${path} on :${port} answered 200:\n${sup.output}`);
    if (performance.now() > deadline) throw new Error(`no 200 from ${path} on :${port} within ${deadlineMs} ms (last: ${res.status || res.error}):\n${sup.output}`);
    await sleep(10);
  }
  throw new Error('poll loop bound reached');
}

async function oneRun(withStatus) {
  const port = await freePort();
  const statusPort = withStatus ? await freePort() : null;
  const args = [CLI, 'start', '--port', String(port)];
  if (statusPort !== null) args.push('--status-port', String(statusPort));
  args.push('--', node, join(FIXTURES, 'healthy-server.mjs'));
  const sup = start(node, args, { env });
  try {
    await until200(port, '/health', sup, 20_000);
    if (statusPort !== null) {
      try {
        await until200(statusPort, '/ready', sup, 5_000);
      } catch (error) {
        throw new Error(`the status server did not answer /ready 200 — is --status-port wired in src/cli/commands/start.ts?\n${error.message}`, { cause: error });
      }
    }
    await sleep(IDLE_MS); // idle: let start-up garbage settle
    const idle = rssKiB(sup.pid) / 1024;
    let metrics = null;
    let health = null;
    let afterScrapes = null;
    if (statusPort !== null) {
      metrics = await timed(statusPort, '/metrics');
      health = await timed(statusPort, '/health');
      await sleep(IDLE_MS);
      afterScrapes = rssKiB(sup.pid) / 1024;
    }
    return { idle, afterScrapes, metrics, health };
  } finally {
    // It may have exited already (a failed start): only signal what still runs.
    if (sup.exitCode === null && sup.signalCode === null) process.kill(sup.pid, 'SIGTERM');
    await sup.exited;
  }
}

async function main() {
  const off = [];
  const on = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate so that drift on the machine hits both sides alike.
    off.push(await oneRun(false));
    on.push(await oneRun(true));
  }
  const offIdle = summary(off.map((r) => r.idle));
  const onIdle = summary(on.map((r) => r.idle));
  const onAfter = summary(on.map((r) => r.afterScrapes));
  const metricsMedian = summary(on.map((r) => r.metrics.median));
  const metricsP95 = summary(on.map((r) => r.metrics.p95));
  const healthMedian = summary(on.map((r) => r.health.median));

  console.log(`runs: ${RUNS} (each: start, ready, ${IDLE_MS} ms idle; ${SCRAPES} requests per route)`);
  console.log('\n1. supervisor RSS (MiB, median over runs [min–max])');
  console.log(`   status server + metrics off: ${offIdle.median.toFixed(1)} [${offIdle.min.toFixed(1)}–${offIdle.max.toFixed(1)}]`);
  console.log(`   on, idle:                    ${onIdle.median.toFixed(1)} [${onIdle.min.toFixed(1)}–${onIdle.max.toFixed(1)}]  (+${(onIdle.median - offIdle.median).toFixed(1)} MiB, ×${(onIdle.median / offIdle.median).toFixed(2)})`);
  console.log(`   on, after ${SCRAPES} + ${SCRAPES} scrapes:   ${onAfter.median.toFixed(1)} [${onAfter.min.toFixed(1)}–${onAfter.max.toFixed(1)}]  (+${(onAfter.median - offIdle.median).toFixed(1)} MiB)`);
  console.log(`\n2. response time (median over runs of each run's median / p95; fresh connection per request)`);
  console.log(`   GET /metrics: median ${fmt(metricsMedian.median)}, p95 ${fmt(metricsP95.median)}  (${on[0].metrics.bytes} bytes)`);
  console.log(`   GET /health:  median ${fmt(healthMedian.median)}  (${on[0].health.bytes} bytes)`);
  console.log('\nreproduce: npm run build && node bench/metrics.mjs');
}

main()
  .catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  })
  .finally(cleanup);
