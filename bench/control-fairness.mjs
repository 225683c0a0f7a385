// The control socket under a pipelining client (issue 15): one connection writes N `status`
// requests at once (a runaway script), and meanwhile another client asks for one `status`: how
// long does the second one wait? Before fair service every request of the first was answered
// before the second was read (3.5 s on the reference machine for 20,000).
// Reproduce: npm run build && node bench/control-fairness.mjs [requests] [rounds]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, FIXTURES, fmt, freePort, summary } from './lib.mjs';

const REQUESTS = Math.max(100, Number(process.argv[2] ?? 20_000));
const ROUNDS = Math.max(1, Number(process.argv[3] ?? 5));
const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'naija-sup-bench-fair-'));
const runDir = join(dir, 'run');
const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
const NAME = 'bench-fair';
const socketPath = join(runDir, `${NAME}.sock`);

function cli(args) {
  return spawnSync(node, [CLI, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
}

/**
 * Writes `count` status requests at once; `stop()` ends it early. Resolves with the replies read
 * (and `replies()` tells them so far).
 */
function pipeline(count) {
  let replies = 0;
  let socket;
  let stop;
  const done = new Promise((resolve) => {
    socket = connect(socketPath);
    let tail = '';
    const t0 = performance.now();
    const timer = setTimeout(() => { socket.destroy(); resolve({ replies, ms: performance.now() - t0 }); }, 120_000);
    stop = () => { clearTimeout(timer); socket.destroy(); resolve({ replies, ms: performance.now() - t0 }); };
    socket.on('connect', () => {
      let text = '';
      for (let i = 1; i <= count; i++) text += `{"v":1,"id":${i},"type":"status"}\n`;
      socket.write(text);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      replies += lines.length;
      if (replies >= count) { clearTimeout(timer); socket.destroy(); resolve({ replies, ms: performance.now() - t0 }); }
    });
    socket.on('error', () => { clearTimeout(timer); resolve({ replies, ms: performance.now() - t0 }); });
  });
  return { done, replies: () => replies, stop: () => stop() };
}

/** One status request on a fresh connection: ms until its reply (or null: no reply within 30 s). */
function oneStatus() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(socketPath);
    const timer = setTimeout(() => { socket.destroy(); resolve(null); }, 30_000);
    socket.on('connect', () => socket.write('{"v":1,"id":"probe","type":"status"}\n'));
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) { clearTimeout(timer); socket.destroy(); resolve(performance.now() - t0); }
    });
    socket.on('error', () => { clearTimeout(timer); resolve(null); });
  });
}

const port = await freePort();
writeFileSync(join(dir, '.naija-suprc.json'), JSON.stringify({
  name: NAME, command: [node, join(FIXTURES, 'healthy-server.mjs')], port, host: '127.0.0.1', health: { path: '/health' },
}));
try {
  const started = cli(['start', '-d']);
  if (started.status !== 0) throw new Error(`start -d failed: ${started.stdout}${started.stderr}`);
  const alone = [];
  for (let i = 0; i < ROUNDS; i++) alone.push(await oneStatus());
  const waits = [];
  const answeredBefore = [];
  for (let i = 0; i < ROUNDS; i++) {
    const flood = pipeline(REQUESTS);
    // Let the flood's bytes reach the supervisor first.
    await new Promise((r) => setTimeout(r, 20));
    waits.push(await oneStatus());
    answeredBefore.push(flood.replies());
    flood.stop();
    await flood.done;
  }
  const ok = waits.filter((w) => w !== null);
  const s = summary(ok);
  const a = summary(alone.filter((w) => w !== null));
  console.log(`status alone: median ${fmt(a.median)} (n=${a.n})`);
  console.log(`status while another client pipelines ${REQUESTS} requests: median ${fmt(s.median)}, max ${fmt(s.max)} (n=${s.n}, ${waits.length - ok.length} without an answer)`);
  console.log(`replies the pipelining client had when the other status was answered: ${answeredBefore.join(', ')} of ${REQUESTS}`);
} finally {
  cli(['stop', '--force', '--name', NAME]);
  rmSync(dir, { recursive: true, force: true });
}
