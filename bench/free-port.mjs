// free-port: how long freePort (the core of `naija-sup free-port`) takes to free a port held by a
// server that exits on SIGTERM — lookup, stop its process group, poll until it is gone, confirm
// with a bind.
//
// Reproduce:  npm run build && node bench/free-port.mjs
// Env:        NAIJA_SUP_DIST=<dir>  use another compiled output instead of ../dist/
//             RUNS=<n>              how many holders to free (default 10)
//
// Each run starts a fresh holder (a Node server on 127.0.0.1:0, in its own process group, that
// closes and exits on SIGTERM), waits for it to listen, then times one freePort call on its port.
// Every holder is verified gone before the next run; any still alive at the end is SIGKILLed by
// its group (only groups this script started).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RUNS = Number(process.env.RUNS ?? 10);
const distDir = process.env.NAIJA_SUP_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url));
const entry = `${distDir.replace(/\/$/, '')}/ports/free-port.js`;
if (!existsSync(entry)) {
  console.error(`bench/free-port: ${entry} not found. Build first: npm run build`);
  process.exit(1);
}
const { freePort } = await import(pathToFileURL(entry).href);

const HOLDER =
  "const s=require('net').createServer(c=>c.end()).listen(0,'127.0.0.1',()=>console.log(s.address().port));" +
  "process.on('SIGTERM',()=>s.close(()=>process.exit(0)));setTimeout(()=>process.exit(0),120000)";
const started = new Set();

function startHolder() {
  const child = spawn(process.execPath, ['-e', HOLDER], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('holder not listening after 10 s')), 10_000);
    child.once('error', reject);
    child.stdout.once('data', (chunk) => {
      clearTimeout(timer);
      resolve({ child, port: Number(String(chunk).trim()) });
    });
  });
}

/** True while /proc/PID exists and is not a zombie. */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p90: at(0.9), min: sorted[0], max: sorted[sorted.length - 1] };
};
const row = (name, samples) => {
  const { median, p90, min, max } = stats(samples);
  const f = (n) => n.toFixed(1).padStart(8);
  return `${name.padEnd(40)} ${f(median)} ${f(p90)} ${f(min)} ${f(max)}`;
};

try {
  const total = [];
  const stop = [];
  for (let i = -1; i < RUNS; i += 1) {
    const { child, port } = await startHolder();
    const t = performance.now();
    const result = await freePort({ port, host: '127.0.0.1', timeout: 10_000 });
    const ms = performance.now() - t;
    const stopped = result.stopped[0];
    if (!result.free || stopped?.pid !== child.pid || stopped.outcome !== 'exited') {
      throw new Error(`run ${i}: port ${port} not freed as expected: ${JSON.stringify({ free: result.free, reason: result.reason, stopped: result.stopped })}`);
    }
    for (let wait = 0; wait < 500 && alive(child.pid); wait += 1) await new Promise((r) => setTimeout(r, 10));
    if (alive(child.pid)) throw new Error(`holder ${child.pid} still alive after freePort`);
    if (i < 0) continue; // warm-up: module loading, first /proc reads
    total.push(ms);
    stop.push(stopped.durationMs);
  }
  console.log(`free-port: ${RUNS} holders (Node server on 127.0.0.1:0, exits on SIGTERM), node ${process.version}`);
  console.log(`${'phase'.padEnd(40)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}   (ms)`);
  console.log(row('freePort total (lookup→stop→bind check)', total));
  console.log(row('  of which: SIGTERM until group gone', stop));
  console.log('reproduce: npm run build && node bench/free-port.mjs');
} finally {
  for (const child of started) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
