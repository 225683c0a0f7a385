// Shared helpers for the benchmarks: spawn and track processes, poll HTTP on loopback, statistics.
// Every loop is bounded in count and time; only processes started here are ever signalled.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'bin', 'naija-sup.js');
export const EXAMPLE = join(ROOT, 'examples', 'express-api');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

const started = new Set();

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(ms) {
  return `${ms.toFixed(1)} ms`;
}

export function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length };
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Spawns a process in its own group and tracks it for cleanup. */
export function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  started.add(child);
  child.output = '';
  child.stdout?.on('data', (d) => { child.output += d; });
  child.stderr?.on('data', (d) => { child.output += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => { started.delete(child); resolve({ code, signal }); }));
  return child;
}

/** Kills every process group this benchmark started and is still running. */
export async function cleanup() {
  for (const child of started) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  await Promise.all([...started].map((c) => c.exited));
}

export function get(port, path, timeout = 1000) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message }));
    req.end();
  });
}

/** Polls until `predicate(response)` holds; returns ms from `t0`, or throws at the deadline. */
export async function pollUntil(port, path, predicate, t0, deadlineMs = 20_000, intervalMs = 2) {
  const deadline = t0 + deadlineMs;
  for (let i = 0; i < 1_000_000; i++) {
    const res = await get(port, path);
    if (predicate(res)) return performance.now() - t0;
    if (performance.now() > deadline) throw new Error(`no matching answer on :${port}${path} within ${deadlineMs} ms (last: ${res.status || res.error})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error('poll loop bound reached');
}

export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) : NaN;
}

export async function waitForOutput(child, regex, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (regex.test(child.output)) return;
    if (child.exitCode !== null) throw new Error(`process exited before printing ${regex}:\n${child.output}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${regex}:\n${child.output}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
