// Benchmarks for the foreground supervisor (issue 3), each beside the bare-node figure:
//   1. start → first 200, supervised vs the example API run directly
//   2. kill -9 of the instance → 200 again (from a new pid)
//   3. stop of a server that needs 2 s to drain: total time and whether it stayed graceful
//   4. the supervisor's idle RSS vs `node -e 'setInterval(()=>{},1e9)'`
// Reproduce: npm run build && node bench/supervise.mjs [runs]   (or: npm run bench -- supervise)
import { join } from 'node:path';
import { CLI, EXAMPLE, FIXTURES, cleanup, fmt, freePort, pollUntil, rssKiB, sleep, start, summary, waitForOutput, get } from './lib.mjs';

const RUNS = Math.max(5, Number(process.argv[2] ?? 7));
const node = process.execPath;
const quietEnv = { ...process.env, NO_COLOR: '1', BCRYPT_COST: '4', NAIJA_SUP_LOG_FORMAT: 'human' };

async function startToFirst200() {
  const bare = [];
  const sup = [];
  for (let i = 0; i < RUNS; i++) {
    {
      const port = await freePort();
      const t0 = performance.now();
      const child = start(node, ['src/server.js'], { cwd: EXAMPLE, env: { ...quietEnv, PORT: String(port), HOST: '127.0.0.1' } });
      bare.push(await pollUntil(port, '/api/v1/public/health', (r) => r.status === 200, t0));
      process.kill(child.pid, 'SIGTERM');
      await child.exited;
    }
    {
      const port = await freePort();
      const t0 = performance.now();
      const child = start(node, [CLI, 'start', '--config', join(EXAMPLE, 'naija-sup.config.json'), '--port', String(port)], { env: quietEnv });
      sup.push(await pollUntil(port, '/api/v1/public/health', (r) => r.status === 200, t0));
      process.kill(child.pid, 'SIGTERM');
      await child.exited;
    }
  }
  return { bare: summary(bare), sup: summary(sup) };
}

async function killRecovery(label, args, cwd, healthPath, readyPath = healthPath, extraEnv = {}) {
  const port = await freePort();
  const env = {
    ...quietEnv,
    ...extraEnv,
    // Each kill is a first crash after a stable run: allow many, and call a run stable after 300 ms.
    NAIJA_SUP_RESTART_MAX_RESTARTS: '1000',
    NAIJA_SUP_RESTART_MIN_UPTIME: '300ms',
    NAIJA_SUP_HEALTH_INTERVAL: '10ms',
  };
  const child = start(node, [CLI, 'start', '--port', String(port), ...args], { cwd, env });
  await pollUntil(port, readyPath, (r) => r.status === 200, performance.now());
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    // Ready, then past minUptime: each kill is a first crash after a stable run.
    await pollUntil(port, readyPath, (r) => r.status === 200, performance.now());
    await sleep(400);
    if (extraEnv.NAIJA_SUP_RESTART_STANDBY) {
      // Kill only once the replacement standby is parked (the --verbose line), as in steady state.
      const deadline = performance.now() + 10_000;
      while ((child.output.match(/warm standby ready/g) ?? []).length < i + 1 && performance.now() < deadline) await sleep(20);
    }
    const res = await get(port, healthPath);
    const oldPid = JSON.parse(res.body).pid;
    const t0 = performance.now();
    process.kill(oldPid, 'SIGKILL');
    await pollUntil(port, healthPath, (r) => r.status === 200 && JSON.parse(r.body).pid !== oldPid, t0, 10_000, 1);
    times.push(await pollUntil(port, readyPath, (r) => r.status === 200, t0, 10_000, 1));
  }
  process.kill(child.pid, 'SIGTERM');
  await child.exited;
  return { label, ...summary(times) };
}

async function bareColdStart(args, cwd, healthPath) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const child = start(node, args, { cwd, env: { ...quietEnv, PORT: String(port) } });
    times.push(await pollUntil(port, healthPath, (r) => r.status === 200, t0, 10_000, 1));
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
  }
  return summary(times);
}

async function drainStop() {
  const sup = [];
  const bare = [];
  let graceful = 0;
  for (let i = 0; i < RUNS; i++) {
    {
      const port = await freePort();
      const child = start(node, [join(FIXTURES, 'healthy-server.mjs')], { env: { ...quietEnv, PORT: String(port), DRAIN_MS: '2000' } });
      await waitForOutput(child, /READY/);
      const t0 = performance.now();
      process.kill(child.pid, 'SIGTERM');
      await child.exited;
      bare.push(performance.now() - t0);
    }
    {
      const port = await freePort();
      const child = start(node, [CLI, 'start', '--port', String(port), '--', node, join(FIXTURES, 'healthy-server.mjs')], { env: { ...quietEnv, DRAIN_MS: '2000' } });
      await waitForOutput(child, /is ready in/);
      const t0 = performance.now();
      process.kill(child.pid, 'SIGTERM');
      const { code } = await child.exited;
      sup.push(performance.now() - t0);
      if (code === 0 && !/killed/.test(child.output) && /stopped/.test(child.output)) graceful++;
    }
  }
  return { bare: summary(bare), sup: summary(sup), graceful };
}

// The floor under any Node supervisor: an idle process that has only loaded the builtins one needs
// (a control socket, spawning, HTTP probes, async fs) — not one line of naija-sup.
const FLOOR = "import 'node:net'; import 'node:http'; import 'node:child_process'; import 'node:fs/promises'; import 'node:os'; performance.now(); setInterval(() => {}, 1e9);";

async function idleRss() {
  const sup = [];
  const bare = [];
  const floor = [];
  const settled = [];
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    const s = start(node, [CLI, 'start', '--port', String(port), '--', node, join(FIXTURES, 'healthy-server.mjs')], { env: quietEnv });
    const b = start(node, ['-e', 'setInterval(()=>{},1e9)']);
    const f = start(node, ['--input-type=module', '-e', FLOOR]);
    await waitForOutput(s, /is ready in/);
    await sleep(1500); // idle: let start-up garbage settle
    sup.push(rssKiB(s.pid) / 1024);
    bare.push(rssKiB(b.pid) / 1024);
    floor.push(rssKiB(f.pid) / 1024);
    // And in the steady state: V8's memory reducer collects and shrinks the heap some seconds into
    // an idle period, which is where a supervisor spends its life.
    await sleep(13_500);
    settled.push(rssKiB(s.pid) / 1024);
    for (const p of [s, b, f]) process.kill(p.pid, 'SIGTERM');
    await Promise.all([s.exited, b.exited, f.exited]);
  }
  return { sup: summary(sup), bare: summary(bare), floor: summary(floor), settled: summary(settled) };
}

try {
  console.log(`naija-sup supervise benchmark — ${RUNS} runs each, medians (min–max); node ${process.version}`);

  const a = await startToFirst200();
  console.log(`\n1. start → first 200 (example API, /api/v1/public/health)`);
  console.log(`   bare node:   ${fmt(a.bare.median)} (${fmt(a.bare.min)}–${fmt(a.bare.max)})`);
  console.log(`   naija-sup:   ${fmt(a.sup.median)} (${fmt(a.sup.min)}–${fmt(a.sup.max)})   overhead ${fmt(a.sup.median - a.bare.median)}, ratio ${(a.sup.median / a.bare.median).toFixed(2)}×`);

  const fixture = join(FIXTURES, 'healthy-server.mjs');
  const rFixture = await killRecovery('node:http fixture', ['--', node, fixture], FIXTURES, '/health');
  const bFixture = await bareColdStart([fixture], FIXTURES, '/health');
  const rStandby = await killRecovery('node:http fixture, restart.standby', ['--verbose', '--', node, fixture], FIXTURES, '/health', '/health', { NAIJA_SUP_RESTART_STANDBY: 'true' });
  const rExample = await killRecovery('example API', ['--config', join(EXAMPLE, 'naija-sup.config.json'), '--raw'], EXAMPLE, '/api/v1/public/health', '/api/v1/public/ready');
  const bExample = await bareColdStart(['src/server.js'], EXAMPLE, '/api/v1/public/ready');
  console.log(`\n2. kill -9 → 200 again from a new pid (target ≤ 80 ms median for the fixture; the example is timed to /ready, after its 200 ms warm-up)`);
  console.log(`   node:http fixture: ${fmt(rFixture.median)} (${fmt(rFixture.min)}–${fmt(rFixture.max)}); bare cold start ${fmt(bFixture.median)}; supervisor's share ${fmt(rFixture.median - bFixture.median)}`);
  console.log(`   fixture, warm standby (restart.standby): ${fmt(rStandby.median)} (${fmt(rStandby.min)}–${fmt(rStandby.max)}); ratio to the bare cold start ${(rStandby.median / bFixture.median).toFixed(2)}×`);
  console.log(`   example API:       ${fmt(rExample.median)} (${fmt(rExample.min)}–${fmt(rExample.max)}); bare cold start ${fmt(bExample.median)}; supervisor's share ${fmt(rExample.median - bExample.median)}`);

  const d = await drainStop();
  console.log(`\n3. stop of a server that drains for 2 s (target ≤ drain + 50 ms, always graceful)`);
  console.log(`   bare SIGTERM: ${fmt(d.bare.median)} (${fmt(d.bare.min)}–${fmt(d.bare.max)})`);
  console.log(`   naija-sup:    ${fmt(d.sup.median)} (${fmt(d.sup.min)}–${fmt(d.sup.max)}); graceful ${d.graceful}/${RUNS}; over the 2 s drain: ${fmt(d.sup.median - 2000)}`);

  const r = await idleRss();
  console.log(`\n4. idle RSS (target ≤ 1.15× a bare node process)`);
  console.log(`   bare node:  ${r.bare.median.toFixed(1)} MiB`);
  console.log(`   builtins a supervisor needs, nothing else (net, http, child_process, fs/promises, os, perf_hooks): ${r.floor.median.toFixed(1)} MiB, ratio ${(r.floor.median / r.bare.median).toFixed(2)}×`);
  console.log(`   supervisor, 1.5 s after ready: ${r.sup.median.toFixed(1)} MiB, ratio ${(r.sup.median / r.bare.median).toFixed(2)}×`);
  console.log(`   supervisor, 15 s after ready (settled): ${r.settled.median.toFixed(1)} MiB, ratio ${(r.settled.median / r.bare.median).toFixed(2)}×`);

  console.log(`\nreproduce: npm run build && node bench/supervise.mjs ${RUNS}`);
} finally {
  await cleanup();
}
