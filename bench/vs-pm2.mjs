// naija-sup beside PM2 7 and bare `node`, in one run on one machine (issue 19): the same trivial
// server under each, supervisors taking turns within every round, medians and ratios per row.
//   1. `start` → first 200                         4. supervisor RSS, idle, one app
//   2. `start -d` → ready reported                 5. `status` (beside `node -e 0`)
//   3. stop of a server that needs 2 s to drain    6. kill -9 → 200 again (no restart delay)
// PM2 is installed by this script into a temporary folder (`npm install pm2@7`); it is not a
// dependency of the project. PM2_HOME and naija-sup's run dir are temporary too, so a PM2 or a
// naija-sup of the user's is never touched. Only processes started here are ever signalled.
// NODE_EXTRA_CA_CERTS, when the environment sets it, makes every Node start-up parse that file
// (38 ms with Debian's bundle on the development machine): the header prints what it costs
// `node -e 0` here. --without-extra-ca runs every process (naija-sup, PM2, bare node alike)
// without it, as on a machine that does not set it.
// Reproduce: npm run build && node bench/vs-pm2.mjs [rounds] [--without-extra-ca]   (or: npm run bench -- vs-pm2)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, cleanup, freePort, get, median, pollUntil, ROOT, rssKiB, sleep, start } from './lib.mjs';

const { controlPaths } = await import(pathToFileURL(join(ROOT, 'dist', 'control', 'paths.js')).href);

const args = process.argv.slice(2);
const WITHOUT_EXTRA_CA = args.includes('--without-extra-ca');
const ROUNDS = Math.max(3, Number(args.find((a) => /^\d+$/.test(a)) ?? 7));
const node = process.execPath;
const work = mkdtempSync(join(tmpdir(), 'naija-sup-vs-pm2-'));
const runDir = join(work, 'run');
const pm2Home = join(work, 'pm2-home');
const marks = join(work, 'graceful.log');
const baseEnv = { ...process.env, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir, PM2_HOME: pm2Home, NAIJA_SUP_LOG_FORMAT: 'json', PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
delete baseEnv.NODE_OPTIONS;
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
if (WITHOUT_EXTRA_CA) delete baseEnv.NODE_EXTRA_CA_CERTS;

// The trivial server: 200 on every path. On SIGTERM it keeps serving for DRAIN_MS, then closes and
// appends "graceful <pid>" to GRACEFUL_LOG (SIGINT too: PM2's stop signal): a stop that SIGKILLs it leaves no such line.
const SERVER = join(work, 'server.mjs');
writeFileSync(SERVER, `import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ pid: process.pid })); });
let draining = false;
const drain = () => { if (draining) return; draining = true; setTimeout(() => server.close(() => { if (process.env.GRACEFUL_LOG) appendFileSync(process.env.GRACEFUL_LOG, 'graceful ' + process.pid + '\\n'); process.exit(0); }) && server.closeIdleConnections(), Number(process.env.DRAIN_MS ?? 0)); };
process.on('SIGTERM', drain);
process.on('SIGINT', drain); // PM2 stops with SIGINT
server.listen(Number(process.env.PORT), '127.0.0.1');
`);
writeFileSync(join(work, 'naija-sup.config.json'), JSON.stringify({
  name: 'vs-pm2', command: ['node', SERVER], health: { path: '/' },
  // No restart delay and no minimum uptime to earn it: PM2 restarts at once too.
  restart: { initialDelay: '0ms', minUptime: '0ms', maxRestarts: null, startRetries: 1000 },
}));
const CONFIG = join(work, 'naija-sup.config.json');

function installPm2() {
  const dir = join(work, 'pm2');
  console.log(`installing pm2@7 into ${dir} …`);
  execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--silent', 'pm2@7'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bin = join(dir, 'node_modules', 'pm2', 'bin', 'pm2');
  const version = JSON.parse(readFileSync(join(dir, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
  return { bin, version };
}

/** Runs a command to its end; resolves with its wall time (ms), status and output. */
function timed(command, args, env = baseEnv, cwd = work) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = start(command, args, { env, cwd });
    child.exited.then(({ code }) => resolve({ ms: performance.now() - t0, code, output: child.output }));
  });
}

const load = () => loadavg()[0].toFixed(2);
const rows = [];
function row(figure, cells, target, note = '') {
  rows.push({ figure, cells, target, note });
  console.log(`  ${figure}: ${Object.entries(cells).map(([k, v]) => `${k} ${v}`).join(' | ')}${note ? ` (${note})` : ''}  [load ${load()}]`);
}
const ms = (v) => (v === null || Number.isNaN(v) ? '—' : `${Math.round(v).toLocaleString('en')} ms`);
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
/** A difference as "+ 12 ms" or "− 24 ms". */
const signed = (v) => `${v < 0 ? '−' : '+'} ${Math.abs(Math.round(v))} ms`;

// naija-sup: foreground / detached / control commands, all with the bench's config and run dir.
// Both CLIs run as a user's shell runs them, by their bin files: naija-sup's is a shell launcher
// (`#!/bin/sh`; it holds NODE_EXTRA_CA_CERTS for `start` and the quick forms), PM2's is
// `#!/usr/bin/env node`. Both find `node` on PATH, which starts with this node's folder.
const sup = {
  start: (port, env = baseEnv) => start(CLI, ['start', '--config', CONFIG, '--port', String(port)], { env, cwd: work }),
  cli: (args, env = baseEnv) => timed(CLI, args, env),
};
let pm2;
const pm2Env = (port, drain = 0) => ({ ...baseEnv, PORT: String(port), DRAIN_MS: String(drain), GRACEFUL_LOG: marks });
const pm2Cli = (args, env = baseEnv) => timed(pm2.bin, args, env);
const pm2Kill = () => pm2Cli(['kill']);

async function firstAnswer(port, t0, deadline = 20_000) {
  return pollUntil(port, '/', (r) => r.status === 200, t0, deadline, 1);
}

async function rowStart() {
  const r = { sup: [], pm2: [], bare: [] };
  for (let i = 0; i < ROUNDS; i++) {
    let port = await freePort();
    let t0 = performance.now();
    const s = sup.start(port);
    r.sup.push(await firstAnswer(port, t0));
    process.kill(s.pid, 'SIGTERM');
    await s.exited;

    await pm2Kill();
    port = await freePort();
    t0 = performance.now();
    const p = pm2Cli(['start', SERVER, '--name', 'vs-pm2'], pm2Env(port));
    r.pm2.push(await firstAnswer(port, t0));
    await p;
    await pm2Kill();

    port = await freePort();
    t0 = performance.now();
    const b = start(node, [SERVER], { env: pm2Env(port), cwd: work });
    r.bare.push(await firstAnswer(port, t0));
    process.kill(b.pid, 'SIGKILL');
    await b.exited;
  }
  const m = { sup: median(r.sup), pm2: median(r.pm2), bare: median(r.bare) };
  row('`start` → first 200', { 'naija-sup': ms(m.sup), [`PM2 ${pm2.version}`]: ms(m.pm2), 'bare node': ms(m.bare) },
    `≤ bare + 100 ms: ${m.sup <= m.bare + 100 ? 'met' : 'not met'} (bare ${signed(m.sup - m.bare)}; ${(m.sup / m.pm2).toFixed(2)}× PM2)`,
    'PM2 from a cold daemon, as a first `pm2 start` is');
  return m;
}

async function rowDetached(bareMedian) {
  const reported = [];
  const lag = [];
  for (let i = 0; i < ROUNDS; i++) {
    const port = await freePort();
    const t0 = performance.now();
    let answered = null;
    const stopPoll = { stop: false };
    const poller = (async () => {
      for (let k = 0; k < 100_000 && !stopPoll.stop; k++) {
        if ((await get(port, '/', 200)).status === 200) { answered = performance.now() - t0; return; }
        await sleep(1);
      }
    })();
    const res = await sup.cli(['start', '-d', '--config', CONFIG, '--port', String(port)]);
    if (res.code !== 0) throw new Error(`start -d failed:\n${res.output}`);
    reported.push(res.ms);
    // The server answered before the report (ready means its probe passed): the lag is ours.
    await pollUntil(port, '/', (x) => x.status === 200, performance.now());
    stopPoll.stop = true;
    await poller;
    if (answered !== null) lag.push(res.ms - answered);
    await sup.cli(['stop', '--name', 'vs-pm2', '--force']);
  }
  const m = median(reported);
  row('`start -d` → ready reported', { 'naija-sup': `${ms(m)}, ${ms(median(lag))} after the server first answered` },
    `≤ bare + 150 ms: ${m <= bareMedian + 150 ? 'met' : 'not met'} (bare ${ms(bareMedian)}, ${signed(m - bareMedian)})`);
  return m;
}

// The least a plain Node client of the control socket can take to stop an app: start, connect,
// ask for the stop and exit at the supervisor's `stopped` event, with none of `naija-sup stop`'s
// checks (/proc, the name released, a supervisor that does not answer). It starts as `node FILE`,
// with the environment as given: where that sets NODE_EXTRA_CA_CERTS, naija-sup's launcher
// starts `stop` without it, and so comes in under this client.
const FLOOR_CLIENT = join(work, 'floor-stop.cjs');
writeFileSync(FLOOR_CLIENT, `const s = require('node:net').connect(process.argv[2]);
s.on('connect', () => s.write('{"v":1,"id":1,"type":"events"}\\n{"v":1,"id":2,"type":"stop"}\\n'));
let buf = '';
s.on('data', (d) => { buf += d; if (buf.includes('"type":"stopped"')) process.exit(0); });
s.on('error', () => process.exit(1));
`);

async function rowStop(drainMs = 2000) {
  const r = { sup: [], pm2: [], bare: [], floor: [] };
  const graceful = { sup: 0, pm2: 0, bare: 0 };
  const gracefulLines = () => (existsSync(marks) ? readFileSync(marks, 'utf8').split('\n').filter(Boolean).length : 0);
  for (let i = 0; i < ROUNDS; i++) {
    let port = await freePort();
    const env = { ...baseEnv, DRAIN_MS: String(drainMs), GRACEFUL_LOG: marks };
    const started = await sup.cli(['start', '-d', '--config', CONFIG, '--port', String(port)], env);
    if (started.code !== 0) throw new Error(`start -d failed:\n${started.output}`);
    let before = gracefulLines();
    const stopped = await sup.cli(['stop', '--name', 'vs-pm2']);
    r.sup.push(stopped.ms);
    if (gracefulLines() > before) graceful.sup += 1;

    port = await freePort();
    const again = await sup.cli(['start', '-d', '--config', CONFIG, '--port', String(port)], env);
    if (again.code !== 0) throw new Error(`start -d failed:\n${again.output}`);
    // The socket where the product puts it (a long run dir moves it elsewhere), not a guess.
    const floor = await timed(node, [FLOOR_CLIENT, controlPaths(runDir, 'vs-pm2').socket]);
    if (floor.code !== 0) throw new Error(`the minimal stop client failed (exit ${floor.code}):\n${floor.output}`);
    r.floor.push(floor.ms);
    await sup.cli(['stop', '--name', 'vs-pm2']); // waits for the supervisor's exit

    port = await freePort();
    await pm2Cli(['start', SERVER, '--name', 'vs-pm2'], pm2Env(port, drainMs));
    await firstAnswer(port, performance.now());
    before = gracefulLines();
    const p = await pm2Cli(['stop', 'vs-pm2']);
    r.pm2.push(p.ms);
    if (gracefulLines() > before) graceful.pm2 += 1;
    await pm2Kill();

    port = await freePort();
    const b = start(node, [SERVER], { env: pm2Env(port, drainMs), cwd: work });
    await firstAnswer(port, performance.now());
    before = gracefulLines();
    const t0 = performance.now();
    process.kill(b.pid, 'SIGTERM');
    await b.exited;
    r.bare.push(performance.now() - t0);
    if (gracefulLines() > before) graceful.bare += 1;
  }
  const m = { sup: median(r.sup), pm2: median(r.pm2), bare: median(r.bare), floor: median(r.floor) };
  const g = (k) => `graceful ${graceful[k]}/${ROUNDS}`;
  row(`stop of a server that needs ${drainMs / 1000} s to drain`, { 'naija-sup': `${ms(m.sup)} (${g('sup')})`, [`PM2 ${pm2.version}`]: `${ms(m.pm2)} (${g('pm2')})`, 'bare node': `${ms(m.bare)} (SIGTERM → exit)` },
    `≤ drain + 60 ms, graceful: ${m.sup <= drainMs + 60 && graceful.sup === ROUNDS ? 'met' : 'not met'} (drain ${signed(m.sup - drainMs)}; a minimal Node client of the control socket, no checks: drain ${signed(m.floor - drainMs)})`);
  return m;
}

async function rowRssAndStatus() {
  // One app under each, at the same time; sampled after 10 s idle, once V8's memory reducer ran.
  const port = await freePort();
  const started = await sup.cli(['start', '-d', '--config', CONFIG, '--port', String(port)]);
  if (started.code !== 0) throw new Error(`start -d failed:\n${started.output}`);
  const status = JSON.parse((await sup.cli(['status', '--name', 'vs-pm2', '--json'])).output);
  const pm2Port = await freePort();
  await pm2Cli(['start', SERVER, '--name', 'vs-pm2'], pm2Env(pm2Port));
  await firstAnswer(pm2Port, performance.now());
  const god = Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8'));
  await sleep(10_000);
  const rss = { sup: rssKiB(status.supervisorPid), pm2: rssKiB(god) };
  const ratio = rss.sup / rss.pm2;
  row('supervisor RSS, idle, 1 app', { 'naija-sup': mib(rss.sup), [`PM2 ${pm2.version}`]: `${mib(rss.pm2)} (God daemon)` },
    `≤ 45 MiB and ≤ 0.85 × PM2: ${rss.sup <= 45 * 1024 && ratio <= 0.85 ? 'met' : 'not met'} (${ratio.toFixed(2)}× PM2)`, 'sampled 10 s after start, both running at once');

  const r = { sup: [], pm2: [], bare: [] };
  for (let i = 0; i < ROUNDS * 2; i++) {
    r.sup.push((await sup.cli(['status', '--name', 'vs-pm2'])).ms);
    r.pm2.push((await pm2Cli(['status'])).ms);
    r.bare.push((await timed(node, ['-e', '0'])).ms);
  }
  const m = { sup: median(r.sup), pm2: median(r.pm2), bare: median(r.bare) };
  row('`status`', { 'naija-sup': ms(m.sup), [`PM2 ${pm2.version}`]: ms(m.pm2), '`node -e 0`': ms(m.bare) },
    `≤ \`node -e 0\` + 15 ms: ${m.sup <= m.bare + 15 ? 'met' : 'not met'} (${signed(m.sup - m.bare)})`);
  await sup.cli(['stop', '--name', 'vs-pm2', '--force']);
  await pm2Kill();
}

async function killTimes(portOf, pidNow) {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    await sleep(300);
    const oldPid = await pidNow();
    const t0 = performance.now();
    process.kill(oldPid, 'SIGKILL');
    times.push(await pollUntil(portOf, '/', (r) => r.status === 200 && JSON.parse(r.body).pid !== oldPid, t0, 10_000, 1));
  }
  return times;
}

async function rowKill() {
  const pidOf = async (port) => JSON.parse((await get(port, '/')).body).pid;
  const sets = { sup: [], standby: [], pm2: [] };
  const runSup = async (key) => {
    const port = await freePort();
    const s = sup.start(port, key === 'standby' ? { ...baseEnv, NAIJA_SUP_RESTART_STANDBY: 'true' } : baseEnv);
    await firstAnswer(port, performance.now());
    if (key === 'standby') await sleep(500);
    sets[key].push(...(await killTimes(port, () => pidOf(port))));
    process.kill(s.pid, 'SIGTERM');
    await s.exited;
  };
  // Taking turns: a few kills under one, then under the next, twice.
  for (let turn = 0; turn < 2; turn++) {
    await runSup('sup');
    const port = await freePort();
    await pm2Cli(['start', SERVER, '--name', 'vs-pm2'], pm2Env(port));
    await firstAnswer(port, performance.now());
    sets.pm2.push(...(await killTimes(port, () => pidOf(port))));
    await pm2Kill();
    await runSup('standby');
  }
  const m = { sup: median(sets.sup), standby: median(sets.standby), pm2: median(sets.pm2) };
  row('kill -9 → 200 (no restart delay)', { 'naija-sup': `${ms(m.sup)} (standby ${ms(m.standby)})`, [`PM2 ${pm2.version}`]: ms(m.pm2) },
    `≤ 0.75 × PM2: ${m.sup <= 0.75 * m.pm2 ? 'met' : 'not met'} (${(m.sup / m.pm2).toFixed(2)}×)`);
}

function printTable() {
  console.log(`\n| figure | naija-sup | PM2 ${pm2.version} | bare node | target |`);
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const cells = Object.values(r.cells);
    console.log(`| ${r.figure} | ${cells[0] ?? '—'} | ${cells[1] ?? '—'} | ${cells[2] ?? '—'} | ${r.target} |`);
  }
}

/** Whether NODE_EXTRA_CA_CERTS is set, and what it costs `node -e 0` here (medians of 11, taking turns). */
async function printExtraCa() {
  if (extraCa === undefined) {
    console.log('NODE_EXTRA_CA_CERTS: not set');
    return;
  }
  const withCa = [];
  const without = [];
  const bare = { ...baseEnv };
  delete bare.NODE_EXTRA_CA_CERTS;
  for (let i = 0; i < 11; i += 1) {
    withCa.push((await timed(node, ['-e', '0'], { ...baseEnv, NODE_EXTRA_CA_CERTS: extraCa })).ms);
    without.push((await timed(node, ['-e', '0'], bare)).ms);
  }
  console.log(`NODE_EXTRA_CA_CERTS=${extraCa}: \`node -e 0\` ${median(withCa).toFixed(0)} ms with it, ${median(without).toFixed(0)} ms without; this run ${WITHOUT_EXTRA_CA ? 'unsets it for every process (--without-extra-ca)' : 'keeps it, as the environment gives it'}`);
}

try {
  pm2 = installPm2();
  console.log(`node ${process.version}, ${ROUNDS} rounds, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the start`);
  await printExtraCa();
  const startMedians = await rowStart();
  await rowDetached(startMedians.bare);
  await rowStop();
  await rowRssAndStatus();
  await rowKill();
  printTable();
  console.log(`\nload average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`reproduce: npm run build && node bench/vs-pm2.mjs ${ROUNDS}${WITHOUT_EXTRA_CA ? ' --without-extra-ca' : ''}`);
} finally {
  if (pm2) await pm2Kill().catch(() => undefined);
  await timed(CLI, ['stop', '--name', 'vs-pm2', '--force']).catch(() => undefined);
  await cleanup();
  rmSync(work, { recursive: true, force: true });
}
