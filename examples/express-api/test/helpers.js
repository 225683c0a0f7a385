/**
 * Test helpers for the example API: HTTP requests without connection pooling surprises, polling with
 * deadlines, spawning src/server.js and proving every spawned process is gone.
 */

import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

/** The example's folder: the cwd of spawned servers. */
export const EXAMPLE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * @typedef {object} HttpResult
 * @property {number} status
 * @property {import('node:http').IncomingHttpHeaders} headers
 * @property {string} text
 * @property {any} json  parsed body, or undefined when it is not JSON (any: tests read arbitrary fields)
 */

/**
 * One HTTP request over 127.0.0.1. By default a fresh connection that is not reused (agent: false).
 *
 * @param {string} url
 * @param {object} [options]
 * @param {string} [options.method]
 * @param {unknown} [options.json]       sent as JSON with Content-Type: application/json
 * @param {string} [options.body]        sent as-is (for malformed bodies)
 * @param {Record<string, string>} [options.headers]
 * @param {http.Agent | false} [options.agent]
 * @param {number} [options.timeoutMs]   default 10 s
 * @returns {Promise<HttpResult>}
 */
export function request(url, { method = 'GET', json, body, headers = {}, agent = false, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = json !== undefined ? JSON.stringify(json) : body;
    const allHeaders = { ...headers };
    if (json !== undefined) allHeaders['content-type'] = 'application/json';
    if (payload !== undefined) allHeaders['content-length'] = String(Buffer.byteLength(payload));
    const req = http.request(url, { method, headers: allHeaders, agent, timeout: timeoutMs }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Polls until `probe` returns something other than undefined, or throws after the deadline.
 *
 * @template T
 * @param {() => T | undefined | Promise<T | undefined>} probe
 * @param {{timeoutMs?: number, intervalMs?: number, what?: string}} [options]
 * @returns {Promise<T>}
 */
export async function waitFor(probe, { timeoutMs = 10_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (let attempt = 0; attempt < 100_000; attempt += 1) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
}

/**
 * @param {number} pid
 * @returns {boolean} whether a process with this pid exists (kill 0; our own children are reaped by Node)
 */
export function pidExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Resolves once `pid` no longer exists; rejects after the deadline.
 *
 * @param {number} pid
 * @param {number} [timeoutMs]
 */
export async function waitForPidGone(pid, timeoutMs = 10_000) {
  await waitFor(() => (pidExists(pid) ? undefined : true), { timeoutMs, what: `pid ${pid} to be gone` });
}

/**
 * Tries to open a TCP connection; resolves with the error code when it fails ('ECONNREFUSED', …) or
 * 'connected' when it succeeds (and closes it).
 *
 * @param {number} port
 * @param {string} [host]
 * @returns {Promise<string>}
 */
export function tryConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error) => resolve(/** @type {NodeJS.ErrnoException} */ (error).code ?? String(error)));
  });
}

/**
 * A bound (not listening) TCP socket on 127.0.0.1 with a kernel-chosen port, to hand to a child as
 * fd 3. Uses `net._createServerHandle`, Node's internal that `cluster` relies on (checked on Node 20):
 * a listening `net.Server` would accept connections in the test process itself and race the child,
 * and a Server object cannot be put in `stdio` (see /work/shared/research/supervisor-semantics.md §3).
 * Fails loudly if a Node upgrade changes the internal.
 *
 * @returns {{fd: number, port: number, close: () => void}}
 */
export function createBoundSocket() {
  const create = /** @type {{_createServerHandle?: Function}} */ (net)._createServerHandle;
  if (typeof create !== 'function') {
    throw new Error(`net._createServerHandle is missing in Node ${process.version}: the fd-handoff test needs another way to bind`);
  }
  const handle = create('127.0.0.1', 0, 4);
  if (typeof handle === 'number') throw new Error(`binding 127.0.0.1:0 failed: ${getSystemErrorName(handle)}`);
  /** @type {{port?: number}} */
  const address = {};
  const status = handle.getsockname(address);
  if (status !== 0 || typeof address.port !== 'number' || typeof handle.fd !== 'number' || handle.fd < 0) {
    handle.close();
    throw new Error(`net._createServerHandle returned an unexpected handle in Node ${process.version}`);
  }
  return { fd: handle.fd, port: address.port, close: () => handle.close() };
}

/**
 * @typedef {object} ServerProcess
 * @property {import('node:child_process').ChildProcess} child
 * @property {number} pid
 * @property {string[]} stdout  lines so far
 * @property {string[]} stderr  lines so far
 * @property {Promise<{code: number | null, signal: NodeJS.Signals | null}>} exited
 * @property {(pattern: RegExp, options?: {stream?: 'stdout' | 'stderr', timeoutMs?: number}) => Promise<RegExpMatchArray>} waitForLine
 * @property {() => string} output  both streams, for failure messages
 */

/**
 * Every server a test spawned, so afterEach can make sure none survives a failed test. Child objects,
 * not bare pids: Node knows whether its child has exited, so we never signal a reused pid.
 * @type {Set<import('node:child_process').ChildProcess>}
 */
const spawned = new Set();

/**
 * Spawns `node src/server.js` in the example folder with a clean, explicit environment.
 *
 * @param {object} [options]
 * @param {Record<string, string | undefined>} [options.env]  added to (undefined removes) the defaults
 *   PORT=0, HOST=127.0.0.1, WARMUP_MS=0, BCRYPT_COST=4
 * @param {number} [options.fd3]  a socket fd to pass as the child's fd 3
 * @returns {ServerProcess}
 */
export function startServer({ env = {}, fd3 } = {}) {
  /** @type {Record<string, string | undefined>} */
  const childEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', WARMUP_MS: '0', BCRYPT_COST: '4' };
  for (const name of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'BCRYPT_FALLBACK', 'EXAMPLE_BREAK_BCRYPT', 'NODE_OPTIONS', 'GRACEFUL_TIMEOUT']) {
    delete childEnv[name];
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  /** @type {import('node:child_process').StdioOptions} */
  const stdio = fd3 === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', fd3];
  const child = spawn(process.execPath, ['src/server.js'], { cwd: EXAMPLE_DIR, env: childEnv, stdio });
  if (child.pid === undefined) throw new Error('spawning the example server failed');
  const pid = child.pid;
  spawned.add(child);

  /** @type {{stdout: string[], stderr: string[]}} */
  const lines = { stdout: [], stderr: [] };
  /** @type {Set<() => void>} */
  const listeners = new Set();
  for (const name of /** @type {const} */ (['stdout', 'stderr'])) {
    let partial = '';
    const stream = child[name];
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines[name].push(...parts);
      for (const listener of listeners) listener();
    });
    stream?.on('end', () => {
      if (partial !== '') lines[name].push(partial);
      partial = '';
      for (const listener of listeners) listener();
    });
  }

  /** @type {Promise<{code: number | null, signal: NodeJS.Signals | null}>} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // 'close' comes after 'exit' and after both pipes have ended: no more lines can arrive.
  let closed = false;
  child.once('close', () => {
    closed = true;
    for (const listener of listeners) listener();
  });

  const output = () => `--- stdout ---\n${lines.stdout.join('\n')}\n--- stderr ---\n${lines.stderr.join('\n')}`;

  /** @type {ServerProcess['waitForLine']} */
  const waitForLine = (pattern, { stream = 'stdout', timeoutMs = 15_000 } = {}) =>
    new Promise((resolve, reject) => {
      const check = () => {
        for (const line of lines[stream]) {
          const match = line.match(pattern);
          if (match) {
            finish();
            resolve(match);
            return;
          }
        }
        if (closed) {
          finish();
          reject(new Error(`server exited before printing ${pattern} on ${stream}\n${output()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} on ${stream}\n${output()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  return { child, pid, stdout: lines.stdout, stderr: lines.stderr, exited, waitForLine, output };
}

/**
 * Waits for the listening line and returns the port and pid it names.
 *
 * @param {ServerProcess} server
 * @returns {Promise<{port: number, pid: number, base: string}>}
 */
export async function waitForListening(server) {
  const match = await server.waitForLine(/^listening on http:\/\/127\.0\.0\.1:(\d+) \(pid (\d+)\)$/);
  const port = Number(match[1]);
  return { port, pid: Number(match[2]), base: `http://127.0.0.1:${port}` };
}

/**
 * For afterEach: SIGKILLs any server a failed test left running (only children spawned here, and only
 * while Node has not seen them exit) and waits until each pid is gone.
 */
export async function reapServers() {
  const children = [...spawned];
  spawned.clear();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
    if (child.pid !== undefined) await waitForPidGone(child.pid);
  }
}
