// Port-owner lookup: naija-sup's /proc scan (findPortOwners) against find-process's find('port').
//
// Reproduce:  npm run build && node bench/port-lookup.mjs      (or: npm run bench -- port-lookup)
// Env:        NAIJA_SUP_DIST=<dir>  use another compiled output instead of ../dist/
//             RUNS=<n>              runs per method (default 20)
//             TIME_WAIT=<n>         first leave about n loopback connections in TIME_WAIT (at most
//                                   50,000; they expire after 60 s), as a load test does: the
//                                   lookup must not grow with rows of other ports
//
// Starts one holder (a Node server on 127.0.0.1:0), times RUNS lookups of each method on that
// port (interleaved, after one warm-up each), prints median / p90 / min and the ratio, then kills
// the holder by its pid and waits until it is gone. The "(ref)" row is a plain readFileSync of
// /proc/net/tcp and tcp6: on machines with a large TCP hash table that alone is most of the cost
// (see readProcNetTable in src/process/proc-io.ts for why findPortOwners reads them differently).
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import find from 'find-process';

const RUNS = Number(process.env.RUNS ?? 20);
const TIME_WAIT = Math.min(50_000, Math.max(0, Number(process.env.TIME_WAIT ?? 0)));
const distDir = process.env.NAIJA_SUP_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url));
const entry = `${distDir.replace(/\/$/, '')}/ports/index.js`;
if (!existsSync(entry)) {
  console.error(`bench/port-lookup: ${entry} not found. Build first: npm run build`);
  process.exit(1);
}
const { findPortOwners } = await import(pathToFileURL(entry).href);

const holder = spawn(
  process.execPath,
  [
    '-e',
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>console.log(s.address().port));" +
      'setTimeout(()=>process.exit(0),120000)',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('holder not listening after 10 s')), 10_000);
  holder.once('error', reject);
  holder.stdout.once('data', (chunk) => {
    clearTimeout(timer);
    resolve(Number(String(chunk).trim()));
  });
});

/** Opens and closes `count` loopback connections, client first: each leaves a TIME_WAIT row. */
async function leaveTimeWait(count) {
  const server = createServer((socket) => { socket.on('error', () => {}); socket.on('end', () => socket.end()); socket.resume(); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: target } = server.address();
  let made = 0;
  const deadline = Date.now() + 60_000;
  const worker = async () => {
    while (made < count && Date.now() < deadline) {
      made += 1;
      await new Promise((resolve) => {
        const c = createConnection(target, '127.0.0.1', () => c.end());
        c.on('close', resolve);
        c.on('error', resolve);
        c.resume();
      });
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  await new Promise((resolve) => server.close(resolve));
  return made;
}

if (TIME_WAIT > 0) {
  const made = await leaveTimeWait(TIME_WAIT);
  const rows = readFileSync('/proc/net/tcp', 'utf8').split('\n').length - 2;
  console.log(`made ${made} connections; /proc/net/tcp now has ${rows} rows`);
}

try {
  const ours = [];
  const theirs = [];
  const procNet = [];
  for (let i = -1; i < RUNS; i += 1) {
    let t = performance.now();
    const answer = await findPortOwners({ port, host: '127.0.0.1' });
    const oursMs = performance.now() - t;
    t = performance.now();
    const found = await find('port', port);
    const theirsMs = performance.now() - t;
    t = performance.now();
    readFileSync('/proc/net/tcp', 'utf8');
    readFileSync('/proc/net/tcp6', 'utf8');
    const procNetMs = performance.now() - t;
    if (answer.kind !== 'held' || !answer.owners.some((owner) => owner.pid === holder.pid)) {
      throw new Error(`findPortOwners did not find holder ${holder.pid}: ${JSON.stringify(answer)}`);
    }
    if (!found.some((info) => info.pid === holder.pid)) {
      throw new Error(`find-process did not find holder ${holder.pid}: ${JSON.stringify(found)}`);
    }
    if (i < 0) continue; // warm-up: module loading, first /proc reads
    ours.push(oursMs);
    theirs.push(theirsMs);
    procNet.push(procNetMs);
  }

  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
  const stats = (samples) => {
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    return { median: at(0.5), p90: at(0.9), min: sorted[0] };
  };
  const row = (name, samples) => {
    const { median, p90, min } = stats(samples);
    return `${name.padEnd(36)} ${median.toFixed(2).padStart(8)} ${p90.toFixed(2).padStart(8)} ${min.toFixed(2).padStart(8)}`;
  };
  console.log(`port-lookup: ${RUNS} runs each on 127.0.0.1:${port}, ${processes} processes in /proc, node ${process.version}`);
  console.log(`${'method'.padEnd(36)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)}   (ms)`);
  console.log(row('findPortOwners (procfs)', ours));
  console.log(row("find-process find('port')", theirs));
  console.log(row('(ref) readFileSync /proc/net/tcp{,6}', procNet));
  console.log(`ratio find-process / findPortOwners (median): ${(stats(theirs).median / stats(ours).median).toFixed(2)}x`);
  console.log(`reproduce: npm run build && ${TIME_WAIT > 0 ? `TIME_WAIT=${TIME_WAIT} ` : ''}node bench/port-lookup.mjs   (or: npm run bench -- port-lookup)`);
} finally {
  holder.kill('SIGKILL');
  const deadline = Date.now() + 5_000;
  while (existsSync(`/proc/${holder.pid}`) && holder.exitCode === null && holder.signalCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
