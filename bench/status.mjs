// Benchmarks for the control plane (issue 5), each beside its reference:
//   1. `naija-sup status --name NAME` wall time against a running supervisor (median of N), beside
//      `node -e 0` (the floor: starting Node at all) and beside `status` that finds the name in the
//      config file (loads the config layer); the target is ~70–80 ms median on the
//      reference machine, at most half of `pm2 jlist` (~150 ms there).
//   2. `naija-sup stop` of a server that needs 2 s to drain: total time, and whether it stayed
//      graceful (no SIGKILL).
// The supervisor is a real detached one (`naija-sup start -d`); if `start` cannot detach in this
// build, the test host (test/control/fixtures/host-supervisor.mjs: the same control server around
// the same Supervisor) stands in, and the output says so.
// Reproduce: npm run build && node bench/status.mjs [runs]   (or: npm run bench -- status)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, FIXTURES, ROOT, cleanup, fmt, freePort, start, summary, waitForOutput } from './lib.mjs';

const RUNS = Math.max(5, Number(process.argv[2] ?? 20));
const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'naija-sup-bench-status-'));
const runDir = join(dir, 'run');
const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
const NAME = 'bench-api';

function time(args, options = {}) {
  const t0 = performance.now();
  const r = spawnSync(node, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000, ...options });
  return { ms: performance.now() - t0, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a supervisor for NAME; returns how (detached CLI or the test host). */
async function startSupervisor(drainMs) {
  const port = await freePort();
  const config = {
    name: NAME,
    command: [node, join(FIXTURES, 'healthy-server.mjs')],
    port,
    host: '127.0.0.1',
    env: { DRAIN_MS: String(drainMs) },
    health: { path: '/health', interval: '25ms' },
    shutdown: { timeout: '10s' },
  };
  writeFileSync(join(dir, '.naija-suprc.json'), JSON.stringify(config));
  const detached = time([CLI, 'start', '-d']);
  if (detached.status === 0 && /is ready: pid/.test(detached.stdout)) return 'naija-sup start -d';
  // Not detachable in this build (or it failed): make sure nothing was left, then use the host.
  time([CLI, 'stop', '--name', NAME]);
  const rest = { ...config };
  delete rest.name;
  const host = start(node, [join(ROOT, 'test', 'control', 'fixtures', 'host-supervisor.mjs')], {
    env: { ...env, HOST_RUN_DIR: runDir, HOST_NAME: NAME, HOST_CONFIG: JSON.stringify(rest) },
  });
  await waitForOutput(host, /EVENT \{"type":"ready"/);
  return `test host (start -d unavailable: ${(detached.stderr || detached.stdout).trim().split('\n')[0] ?? 'no output'})`;
}

async function statusBench() {
  const how = await startSupervisor(0);
  // Warm the page cache for both.
  for (let i = 0; i < 3; i++) {
    time(['-e', '0']);
    const r = time([CLI, 'status', '--name', NAME]);
    if (r.status !== 0) throw new Error(`status failed (${r.status}): ${r.stdout}${r.stderr}`);
  }
  const bare = [];
  const byName = [];
  const byConfig = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(['-e', '0']).ms);
    byName.push(time([CLI, 'status', '--name', NAME]).ms);
    byConfig.push(time([CLI, 'status']).ms);
  }
  const json = JSON.parse(time([CLI, 'status', '--name', NAME, '--json']).stdout);
  return { how, bare: summary(bare), byName: summary(byName), byConfig: summary(byConfig), state: json.state };
}

async function stopBench() {
  const how = await startSupervisor(2000);
  const r = time([CLI, 'stop', '--name', NAME]);
  const after = time([CLI, 'status', '--name', NAME]);
  return { how, ms: r.ms, status: r.status, out: r.stdout.trim() || r.stderr.trim(), graceful: /gracefully/.test(r.stdout), after: after.status };
}

try {
  const s = await statusBench();
  console.log(`supervisor: ${s.how} (state ${s.state})`);
  console.log(`status --name (median of ${RUNS}): ${fmt(s.byName.median)}  [min ${fmt(s.byName.min)}, max ${fmt(s.byName.max)}]`);
  console.log(`node -e 0     (median of ${RUNS}): ${fmt(s.bare.median)}  [min ${fmt(s.bare.min)}, max ${fmt(s.bare.max)}]`);
  console.log(`status above node -e 0: ${fmt(s.byName.median - s.bare.median)}`);
  console.log(`status via the config file, no --name (median of ${RUNS}): ${fmt(s.byConfig.median)}`);
  time([CLI, 'stop', '--name', NAME]);

  const st = await stopBench();
  console.log(`\nstop of a server that drains for 2 s: ${fmt(st.ms)}, exit ${st.status}, ${st.graceful ? 'graceful' : 'NOT graceful'}; status afterwards exits ${st.after}`);
  console.log(`  ${st.out}`);
  console.log(`\nreproduce: npm run build && node bench/status.mjs ${RUNS}`);
} finally {
  time([CLI, 'stop', '--name', NAME, '--force']);
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
}
