// Which upstream client for the HTTP reload proxy (issue 13): node:http with a keep-alive Agent,
// or undici's Pool? Minimal proxies of each kind, the same backend, wrk as the load.
//
//   node bench/http-proxy-upstream.mjs                 # node:http only
//   UNDICI=/path/to/node_modules/undici/index.js node bench/http-proxy-upstream.mjs
//
// Every process runs on 127.0.0.1, each wrk run is bounded (-d), and the script kills what it started.
// Results on the project's 2-core machine are in src/reload/http-proxy.ts's header comment.
import { spawn, execFileSync } from 'node:child_process';
import { median, freePort } from './lib.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = process.env.DURATION ?? '5s';
const CONNS = Number(process.env.CONNS ?? 20);
const BURN_US = Number(process.env.BURN_US ?? 300);

const BACKEND = `
import http from 'node:http';
const burn = Number(process.env.BURN_US) / 1000;
const server = http.createServer((req, res) => {
  if (burn > 0) { const t = performance.now(); while (performance.now() - t < burn); }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
`;

const PROXIES = {
  'node:http Agent': `
import http from 'node:http';
const target = Number(process.env.TARGET);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
const server = http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
    res.writeHead(ur.statusCode, ur.rawHeaders);
    ur.pipe(res);
  });
  up.on('error', () => { if (!res.headersSent) { res.statusCode = 502; } res.end(); });
  req.pipe(up);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
`,
  'raw sockets (ceiling)': `
import http from 'node:http';
import net from 'node:net';
const target = Number(process.env.TARGET);
const idle = [];
function onData(chunk) {
  const s = this;
  if (s.remaining === -1) {
    const buf = s.buf === null ? chunk : Buffer.concat([s.buf, chunk]);
    const end = buf.indexOf('\\r\\n\\r\\n');
    if (end === -1) { s.buf = buf; return; }
    s.buf = null;
    const lines = buf.latin1Slice(0, end).split('\\r\\n');
    const status = Number(lines[0].slice(9, 12));
    const headers = [];
    let length = 0;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = Number(value);
      if (name.length === 10 && name.toLowerCase() === 'connection') continue;
      headers.push(name, value);
    }
    s.res.writeHead(status, headers);
    s.remaining = length;
    chunk = buf.subarray(end + 4);
  }
  if (chunk.length > 0) { s.remaining -= chunk.length; s.res.write(chunk); }
  if (s.remaining === 0) { s.res.end(); s.res = null; s.remaining = -1; idle.push(s); }
}
function connect() {
  const s = net.connect({ host: '127.0.0.1', port: target, noDelay: true });
  s.buf = null; s.remaining = -1; s.res = null;
  s.on('data', onData);
  s.on('error', () => undefined);
  s.on('close', () => { const i = idle.indexOf(s); if (i !== -1) idle.splice(i, 1); if (s.res) s.res.destroy(); });
  return s;
}
const server = http.createServer((req, res) => {
  const s = idle.pop() ?? connect();
  s.res = res;
  const raw = req.rawHeaders;
  let head = req.method + ' ' + req.url + ' HTTP/1.1\\r\\n';
  for (let i = 0; i < raw.length; i += 2) head += raw[i] + ': ' + raw[i + 1] + '\\r\\n';
  s.write(head + '\\r\\n', 'latin1');
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
`,
  'undici Pool.request': `
import http from 'node:http';
const { Pool } = await import(process.env.UNDICI);
const pool = new Pool('http://127.0.0.1:' + process.env.TARGET, { connections: 256, pipelining: 1 });
const server = http.createServer(async (req, res) => {
  try {
    const up = await pool.request({ path: req.url, method: req.method, headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req });
    res.writeHead(up.statusCode, up.headers);
    up.body.pipe(res);
  } catch { res.statusCode = 502; res.end(); }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
`,
  'undici Pool.dispatch': `
import http from 'node:http';
const { Pool } = await import(process.env.UNDICI);
const pool = new Pool('http://127.0.0.1:' + process.env.TARGET, { connections: 256, pipelining: 1 });
const server = http.createServer((req, res) => {
  pool.dispatch({ path: req.url, method: req.method, headers: req.rawHeaders, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, {
    onConnect() {},
    onHeaders(status, raw, resume) {
      const headers = [];
      for (let i = 0; i < raw.length; i += 2) {
        const k = raw[i].toString('latin1');
        if (k.length === 10 && k.toLowerCase() === 'connection') continue;
        headers.push(k, raw[i + 1].toString('latin1'));
      }
      res.writeHead(status, headers);
      return true;
    },
    onData(chunk) { return res.write(chunk); },
    onComplete() { res.end(); },
    onError() { if (!res.headersSent) res.statusCode = 502; res.end(); },
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('READY'));
`,
};

const started = [];
function run(source, env) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  started.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not ready in 10 s')), 10_000);
    child.stdout.on('data', (d) => { if (String(d).includes('READY')) { clearTimeout(timer); resolve(child); } });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

function wrk(port) {
  const out = execFileSync('wrk', ['-t1', `-c${CONNS}`, `-d${DURATION}`, `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const errors = /Non-2xx|Socket errors/.test(out) ? out.split('\n').filter((l) => /Non-2xx|Socket errors/.test(l)).join('; ') : '';
  return { rps, errors };
}

try {
  const backendPort = await freePort();
  await run(BACKEND, { PORT: String(backendPort), BURN_US: String(BURN_US) });
  const rows = [['direct', backendPort]];
  for (const [name, source] of Object.entries(PROXIES)) {
    if (name.startsWith('undici') && !process.env.UNDICI) continue;
    const port = await freePort();
    await run(source, { PORT: String(port), TARGET: String(backendPort) });
    rows.push([name, port]);
  }
  const results = new Map(rows.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, port] of rows) {
      const r = wrk(port);
      if (r.errors) console.error(`${name}: ${r.errors}`);
      results.get(name).push(r.rps);
    }
  }
  const direct = median(results.get('direct'));
  console.log(`wrk -t1 -c${CONNS} -d${DURATION}, backend burning ${BURN_US} µs/request, median of ${ROUNDS} rounds`);
  for (const [name, values] of results) {
    const m = median(values);
    console.log(`${name.padEnd(22)} ${m.toFixed(0).padStart(7)} req/s  ${name === 'direct' ? '' : `${(((m - direct) / direct) * 100).toFixed(0)}%`}  [${values.map((v) => v.toFixed(0)).join(', ')}]`);
  }
} finally {
  for (const child of started) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
}
