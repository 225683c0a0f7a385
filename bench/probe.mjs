// Benchmarks for issue 16, each beside its reference:
//   1. `naija-sup probe --name NAME` (a container's HEALTHCHECK, every few seconds) wall time against
//      a running supervisor, median of N, beside `node -e 0` (the floor: starting Node at all).
//   2. sd_notify: what one message costs through `systemd-notify` (a process per message) and
//      through one long-lived python3 helper (started once), to a socket bound here
//      (test/fixtures/notify-socket.py) — why src/app/systemd-notify.ts prefers the helper.
// Reproduce: npm run build && node bench/probe.mjs [runs]   (or: npm run bench -- probe)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, FIXTURES, cleanup, fmt, freePort, start, summary, waitForOutput } from './lib.mjs';

const RUNS = Math.max(5, Number(process.argv[2] ?? 20));
const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'naija-sup-bench-probe-'));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(dir, 'run') };
const NAME = 'bench-probe';

function time(args) {
  const t0 = performance.now();
  const r = spawnSync(node, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  return { ms: performance.now() - t0, status: r.status, out: `${r.stdout}${r.stderr}` };
}

async function probeBench() {
  const port = await freePort();
  writeFileSync(join(dir, '.naija-suprc.json'), JSON.stringify({
    name: NAME, command: [node, join(FIXTURES, 'healthy-server.mjs')], port, host: '127.0.0.1', health: { path: '/health', interval: '100ms' },
  }));
  const sup = start(node, [CLI, 'start'], { cwd: dir, env });
  await waitForOutput(sup, /"event":"ready"/);
  for (let i = 0; i < 3; i++) {
    time(['-e', '0']);
    time([CLI, 'probe', '--name', NAME]);
  }
  const bare = [];
  const probe = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(['-e', '0']).ms);
    const r = time([CLI, 'probe', '--name', NAME]);
    if (r.status !== 0) throw new Error(`probe failed (${r.status}): ${r.out}`);
    probe.push(r.ms);
  }
  sup.kill('SIGTERM');
  await sup.exited;
  return { bare: summary(bare), probe: summary(probe) };
}

async function notifyBench() {
  const socket = join(dir, 'notify.sock');
  const rx = start('/usr/bin/python3', [join(FIXTURES, 'notify-socket.py'), socket]);
  await waitForOutput(rx, /BOUND/);
  const count = () => rx.output.split('\n').filter((l) => l.startsWith('MSG')).length;
  const until = async (n) => { for (let i = 0; i < 100_000 && count() < n; i++) await new Promise((r) => setTimeout(r, 0.2)); };
  const nenv = { NOTIFY_SOCKET: socket, PATH: '/usr/bin:/bin' };
  const perSpawn = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const n = count();
    spawnSync('systemd-notify', ['WATCHDOG=1'], { env: nenv, stdio: 'ignore' });
    await until(n + 1);
    perSpawn.push(performance.now() - t);
  }
  const t0 = performance.now();
  const helper = spawn('/usr/bin/python3', ['-c', 'import os,socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\nfor l in sys.stdin: s.sendto(l.strip().encode(),os.environ["NOTIFY_SOCKET"])'], { env: nenv, stdio: ['pipe', 'ignore', 'inherit'] });
  let n = count();
  helper.stdin.write('READY=1\n');
  await until(n + 1);
  const first = performance.now() - t0;
  const perMessage = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    n = count();
    helper.stdin.write('WATCHDOG=1\n');
    await until(n + 1);
    perMessage.push(performance.now() - t);
  }
  helper.stdin.end();
  rx.kill('SIGTERM');
  await rx.exited;
  return { perSpawn: summary(perSpawn), first, perMessage: summary(perMessage) };
}

try {
  const p = await probeBench();
  console.log(`probe --name (median of ${RUNS}): ${fmt(p.probe.median)}  [min ${fmt(p.probe.min)}, max ${fmt(p.probe.max)}]`);
  console.log(`node -e 0     (median of ${RUNS}): ${fmt(p.bare.median)}  [min ${fmt(p.bare.min)}, max ${fmt(p.bare.max)}]`);
  console.log(`probe above node -e 0: ${fmt(p.probe.median - p.bare.median)}`);
  const s = await notifyBench();
  console.log(`\nsd_notify via systemd-notify, one process per message (median of ${RUNS}): ${fmt(s.perSpawn.median)}`);
  console.log(`sd_notify via one python3 helper: first message ${fmt(s.first)} (start included), then ${s.perMessage.median.toFixed(3)} ms per message (median of ${RUNS})`);
  console.log(`\nreproduce: npm run build && node bench/probe.mjs ${RUNS}`);
} finally {
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
}
