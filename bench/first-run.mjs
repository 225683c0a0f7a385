// First-run benchmark (issue 12): what a new user sees on the first try, with no config file and no
// health route — `naija-sup start --port N -- node server.js`, all defaults.
//   1. start → ready, for a trivial node:http server that has no health route:
//        "root-200": `/` → 200, every other path 404;  "all-404": 404 on every path, `/` included.
//      Timed from launch to the supervisor's "ready" JSON line (stdout is a pipe, so the log is
//      JSON) and to the first HTTP answer (any status) a client gets on `/`; beside it, the same
//      server run bare (`node server.js`) to its first answer. A server that does not get ready
//      within the deadline is reported as "never ready" with the supervisor's last startup probe,
//      and its remaining rounds are skipped.
//   2. `start -d` with the port held by an unrelated process (a plain TCP listener): time until the
//      command exits, its exit status, and whether its output names the holder's pid.
// Medians over N rounds (default 5); 127.0.0.1 only; a private run dir; every process started here
// (the servers under the supervisors included) is checked gone at the end.
// Reproduce: npm run build && node bench/first-run.mjs [runs] [--deadline SECONDS]   (or: npm run bench -- first-run)
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, FIXTURES, cleanup, fmt, freePort, pollUntil, sleep, start, summary, waitForOutput } from './lib.mjs';

const args = process.argv.slice(2);
const deadlineIndex = args.indexOf('--deadline');
const DEADLINE_MS = deadlineIndex >= 0 ? Number(args[deadlineIndex + 1]) * 1000 : 10_000;
const positional = args.filter((arg, i) => !arg.startsWith('-') && i !== deadlineIndex + 1);
const RUNS = Math.max(1, Number(positional[0] ?? 5));
if (!Number.isFinite(RUNS) || !Number.isFinite(DEADLINE_MS) || DEADLINE_MS <= 0) {
  console.error('usage: node bench/first-run.mjs [runs] [--deadline SECONDS]');
  process.exit(2);
}

const node = process.execPath;
const root = mkdtempSync(join(tmpdir(), 'naija-sup-bench-first-run-'));
// A first run: the defaults, so none of the developer's NAIJA_SUP_* / PORT / HOST settings leak in.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(NAIJA_SUP_|PORT$|HOST$|KILL_EXISTING$|HEALTH_CHECK_TIMEOUT$)/.test(key)));
Object.assign(env, { NO_COLOR: '1', NAIJA_SUP_RUN_DIR: join(root, 'run') });

const SERVERS = {
  'root-200': "(req, res) => { res.writeHead(req.url === '/' ? 200 : 404); res.end(); }",
  'all-404': '(req, res) => { res.writeHead(404); res.end(); }',
};

/** An app folder holding only server.js (its name is the folder's). */
function appDir(kind) {
  const dir = join(root, kind);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'server.js'), `require('node:http').createServer(${SERVERS[kind]}).listen(Number(process.env.PORT), '127.0.0.1');\n`);
  return dir;
}

/** Supervisor JSON log lines as they arrive, each stamped with performance.now(). */
function jsonEvents(child) {
  const events = [];
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const event = JSON.parse(line);
        if (typeof event.event === 'string') events.push({ ...event, at: performance.now() });
      } catch { /* a server line or a human line: not an event */ }
    }
  });
  return events;
}

async function waitForEvent(events, child, type, deadline) {
  while (performance.now() < deadline && child.exitCode === null) {
    const found = events.find((event) => event.event === type);
    if (found) return found;
    await sleep(2);
  }
  return events.find((event) => event.event === type) ?? null;
}

/** SIGTERM (the supervisor stops its server's group), then SIGKILL of the supervisor's group after 10 s. */
async function stopSupervisor(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid, 'SIGTERM');
  const forced = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
  await child.exited;
  clearTimeout(forced);
}

const serverPids = new Set();

/**
 * One round of `start` for a server kind: ms to the ready line and to the first answer (null: none
 * by the deadline). Without `waitReady` only the first answer is timed (the ready line is known
 * not to come: waiting the whole deadline again would only make the run long).
 */
async function startRound(dir, waitReady) {
  const port = await freePort();
  const t0 = performance.now();
  const child = start(node, [CLI, 'start', '--port', String(port), '--', 'node', 'server.js'], { cwd: dir, env });
  const events = jsonEvents(child);
  const deadline = t0 + DEADLINE_MS;
  const [ready, answer] = await Promise.all([
    waitReady ? waitForEvent(events, child, 'ready', deadline) : null,
    pollUntil(port, '/', (r) => r.status > 0, t0, DEADLINE_MS, 2).catch(() => null),
  ]);
  for (const event of events) if (event.event === 'spawned' && typeof event.pid === 'number') serverPids.add(event.pid);
  const lastProbe = events.filter((event) => event.event === 'probe').at(-1)?.detail ?? '(no probe ran)';
  const exited = child.exitCode !== null ? `the supervisor exited with ${child.exitCode}` : null;
  await stopSupervisor(child);
  return { ready: ready === null ? null : ready.at - t0, answer, lastProbe, exited };
}

async function bareRound(dir) {
  const port = await freePort();
  const t0 = performance.now();
  const child = start(node, ['server.js'], { cwd: dir, env: { ...env, PORT: String(port) } });
  const ms = await pollUntil(port, '/', (r) => r.status > 0, t0, DEADLINE_MS, 2);
  process.kill(child.pid, 'SIGKILL');
  await child.exited;
  return ms;
}

const range = (s) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

async function firstStart(kind) {
  const dir = appDir(kind);
  const ready = [];
  const answer = [];
  const bare = [];
  let never = null;
  for (let i = 0; i < RUNS; i++) {
    const round = await startRound(dir, never === null);
    if (round.answer !== null) answer.push(round.answer);
    if (never !== null) { /* not waited for */ } else if (round.ready === null) never = { round: i + 1, lastProbe: round.lastProbe, exited: round.exited };
    else ready.push(round.ready);
    bare.push(await bareRound(dir));
  }
  console.log(`\n1. ${kind}: start --port N -- node server.js (no config, no health route)`);
  if (never !== null) {
    console.log(`   ready:         NEVER READY within ${DEADLINE_MS / 1000} s (round ${never.round}; later rounds time only the first answer)`);
    console.log(`                  last startup probe: ${never.lastProbe}${never.exited ? `; ${never.exited}` : ''}`);
  }
  if (ready.length > 0) console.log(`   → ready line:  ${range(summary(ready))}  [${ready.length} rounds]`);
  if (answer.length > 0) console.log(`   → first answer on / (any status): ${range(summary(answer))}  [${answer.length} rounds]`);
  else console.log('   → first answer on /: none within the deadline');
  console.log(`   bare node server.js → first answer: ${range(summary(bare))}  [${bare.length} rounds]`);
  return never === null;
}

async function heldPort() {
  const dir = appDir('root-200');
  const times = [];
  let named = 0;
  const codes = new Map();
  let sample = '';
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    const holder = start(node, [join(FIXTURES, 'hold-port.mjs')], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' } });
    await waitForOutput(holder, /READY/);
    const t0 = performance.now();
    const child = start(node, [CLI, 'start', '-d', '--port', String(port), '--', 'node', 'server.js'], { cwd: dir, env });
    const forced = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 30_000);
    const { code, signal } = await child.exited;
    clearTimeout(forced);
    times.push(performance.now() - t0);
    const key = code ?? signal;
    codes.set(key, (codes.get(key) ?? 0) + 1);
    if (new RegExp(`\\bpid ${holder.pid}\\b`).test(child.output)) named++;
    else sample ||= child.output.trimEnd();
    // It should have refused to start; if it started anyway, stop it through its own CLI.
    if (code === 0) await start(node, [CLI, 'stop'], { cwd: dir, env }).exited;
    process.kill(holder.pid, 'SIGTERM');
    await holder.exited;
  }
  console.log('\n2. start -d --port N -- node server.js, with N held by an unrelated process (a plain TCP listener)');
  console.log(`   → exit:        ${range(summary(times))}`);
  console.log(`   exit statuses: ${[...codes].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  console.log(`   output names the holder's pid: ${named}/${RUNS}`);
  if (sample) console.log(`   output of a round that did not name it:\n${sample.replace(/^/gm, '     | ')}`);
  return named === RUNS && !codes.has(0);
}

/** Live processes whose working directory is inside this benchmark's temp folder: ours, left behind. */
function leftovers() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readlinkSync(`/proc/${entry}/cwd`).startsWith(root)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') found.push(Number(entry));
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

let exitCode = 0;
try {
  console.log(`naija-sup first-run benchmark — ${RUNS} rounds each, medians (min–max); ready deadline ${DEADLINE_MS / 1000} s; node ${process.version}`);
  for (const kind of Object.keys(SERVERS)) await firstStart(kind);
  if (!(await heldPort())) exitCode = 1;
  console.log(`\nreproduce: npm run build && node bench/first-run.mjs ${RUNS} --deadline ${DEADLINE_MS / 1000}`);
} catch (error) {
  console.error(error instanceof Error ? error.stack : error);
  exitCode = 1;
} finally {
  await cleanup();
  // The servers run in their own process groups under the supervisors: check them too, with a short grace.
  let left = [];
  for (let i = 0; i < 250; i++) {
    left = [...new Set([...leftovers(), ...[...serverPids].filter(alive)])];
    if (left.length === 0) break;
    await sleep(20);
  }
  if (left.length > 0) {
    console.error(`processes left behind: ${left.join(', ')} — killing them`);
    for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    exitCode = 1;
  } else {
    console.log(`every process started here is gone (${serverPids.size} supervised servers checked)`);
  }
  rmSync(root, { recursive: true, force: true });
}
process.exit(exitCode);
