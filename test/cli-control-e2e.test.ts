/**
 * End to end with the built binary (`npm run build` first): `start --detach` → `status --json` →
 * `restart` → `stop` → `status` exits 3; a detached start that never becomes ready returns
 * non-zero with the cause; a crash at start shows the stderr tail; racing detached starts.
 *
 * Depends on `start` wiring the control server, the log writer and `--detach`
 * (src/cli/commands/start.ts; see src/cli/detach.ts and src/control/server.ts).
 *
 * Nothing here knows every pid in advance (the supervisor is a grandchild), so each test ends by
 * asserting that no process runs in its temporary folder any more (/proc/PID/cwd).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from './helpers/processes.js';
import { assertStoppedIn } from './helpers/cli-app.js';
import { freePort } from './helpers/supervise.js';

const BIN = fileURLToPath(new URL('../bin/naija-sup.js', import.meta.url));
const dirs: string[] = [];

/** Pids whose working directory is `dir` (the supervisor and the instance run there). */
function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

afterEach(async () => {
  const pids = [...trackedPids.keys()];
  try {
    await assertAllGone(pids, 15_000);
    for (const dir of dirs) {
      let left: number[] = [];
      await waitFor(() => (left = processesIn(dir)).length === 0, { timeout: 15_000, message: () => `still running in ${dir}: ${left.join(', ')}` });
    }
  } finally {
    for (const dir of dirs) for (const pid of processesIn(dir)) track(pid);
    killAllTracked();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
});

interface App {
  cwd: string;
  runDir: string;
  port: number;
  cli(args: string[], timeoutMs?: number): Promise<{ status: number; stdout: string; stderr: string }>;
}

async function app(config: Record<string, unknown> = {}): Promise<App> {
  const cwd = mkdtempSync(join(tmpdir(), 'naija-sup-e2e-ctl-'));
  dirs.push(cwd);
  const runDir = join(cwd, 'run');
  const port = await freePort();
  writeFileSync(join(cwd, '.naija-suprc.json'), JSON.stringify({
    name: 'e2e-api',
    command: [process.execPath, fixture('healthy-server.mjs')],
    port,
    host: '127.0.0.1',
    health: { path: '/health', interval: '25ms' },
    shutdown: { timeout: '5s' },
    ...config,
  }));
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
  return {
    cwd,
    runDir,
    port,
    cli: (args, timeoutMs = 60_000) => new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ status, stdout, stderr });
      });
    }),
  };
}

function health(port: number): Promise<{ status: number; pid: number | null }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, pid: (JSON.parse(body) as { pid?: number }).pid ?? null }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, pid: null }));
    req.end();
  });
}

describe('naija-sup start --detach and the control commands (built binary)', () => {
  it('detach → status → restart → stop → status exits 3', async () => {
    const a = await app();
    const started = await a.cli(['start', '-d']);
    expect(started.status, started.stderr).toBe(0);
    const ready = new RegExp(`^e2e-api is ready: pid (\\d+), port ${a.port}, http://127\\.0\\.0\\.1:${a.port}$`, 'm').exec(started.stdout);
    expect(ready, started.stdout).not.toBeNull();
    const firstPid = Number(ready?.[1]);
    track(firstPid);
    // Ready means ready: the server answers at once, from that pid.
    expect(await health(a.port)).toEqual({ status: 200, pid: firstPid });

    const status = await a.cli(['status', '--json']);
    expect(status.status, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as StatusSnapshot;
    track(s.supervisorPid);
    const types = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v === null ? 'null' : typeof v]));
    expect(types).toEqual({
      name: 'string', state: 'string', supervisorPid: 'number', supervisorStartTime: 'string', instancePid: 'number',
      instanceStartTime: 'string', bootId: 'string', port: 'number', host: 'string', mode: 'string', url: 'string',
      uptimeMs: 'number', instanceUptimeMs: 'number', restarts: 'number', lastExit: 'null', health: 'null', lastProbe: 'object',
      healthWatchedBy: 'object', cwd: 'string', rss: 'number', cpuPercent: 'number', startupTimeoutMs: 'number', shutdownTimeoutMs: 'number',
      version: 'string', processes: 'object', supervisorMemory: 'object',
    });
    expect(s).toMatchObject({ name: 'e2e-api', state: 'ready', instancePid: firstPid, port: a.port, host: '127.0.0.1', restarts: 0 });
    // No liveness or readiness probe: the passed startup probe is the last probe, not the health.
    expect(s.healthWatchedBy).toEqual([]);
    expect(s.lastProbe).toEqual({ ok: true, detail: expect.any(String) as string, latencyMs: expect.any(Number) as number, at: expect.any(String) as string, probe: 'startup' });
    expect(s.supervisorPid).not.toBe(firstPid);

    const restarted = await a.cli(['restart']);
    expect(restarted.status, restarted.stderr).toBe(0);
    const again = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    expect(again.instancePid).not.toBe(firstPid);
    expect(again.restarts).toBe(1);
    expect(again.supervisorPid).toBe(s.supervisorPid);
    track(again.instancePid as number);
    expect(await health(a.port)).toEqual({ status: 200, pid: again.instancePid });

    const logs = await a.cli(['logs', '-n', '200']);
    expect(logs.status).toBe(0);
    expect(logs.stdout).toMatch(new RegExp(`sup \\| ready: pid ${firstPid} `));
    expect(logs.stdout).toMatch(/out \| READY port=/);

    const stopped = await a.cli(['stop']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('gracefully');
    await assertStoppedIn(a.cwd); // stop returned only once the instance was gone; its supervisor ends on its own
    const after = await a.cli(['status']);
    expect(after.status).toBe(3);
    expect(after.stdout).toBe('e2e-api: not running\n');
  });

  it('a second start of a running app fails with E_ALREADY_RUNNING naming its pid', async () => {
    const a = await app();
    expect((await a.cli(['start', '-d'])).status).toBe(0);
    const s = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    track(s.supervisorPid);
    track(s.instancePid as number);
    const second = await a.cli(['start', '-d']);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain('(E_ALREADY_RUNNING)');
    expect(second.stderr).toContain(`supervisor pid ${s.supervisorPid}`);
    const foreground = await a.cli(['start']);
    expect(foreground.status).toBe(1);
    expect(foreground.stderr).toContain('(E_ALREADY_RUNNING)');
    expect((await a.cli(['stop'])).status).toBe(0);
  });

  it('a config broken while the app runs: stop and status say which app runs here and how to reach it, and --name does', async () => {
    // The server runs from a folder below the config's (its own `cwd`), as a monorepo's would.
    const a = await app({ cwd: './server' });
    mkdirSync(join(a.cwd, 'server'));
    dirs.push(join(a.cwd, 'server')); // the instance's folder: nothing may run there at the end either
    const started = await a.cli(['start', '-d']);
    expect(started.status, started.stderr).toBe(0);
    writeFileSync(join(a.cwd, '.naija-suprc.json'), JSON.stringify({ name: 'e2e-api', command: ['node'], port: a.port, heatlh: { path: '/health' } }));
    for (const command of ['stop', 'status', 'reload']) {
      const refused = await a.cli([command]);
      expect(refused.status, command).toBe(2);
      expect(refused.stderr, command).toContain('E_CONFIG_INVALID');
      const reach = command === 'reload'
        ? 'on the config it started with: reload once the config loads (`naija-sup config` checks it)'
        : `and \`naija-sup ${command} --name e2e-api\` reaches it without reading the config`;
      expect(refused.stderr, command).toMatch(new RegExp(`meanwhile e2e-api \\(pid \\d+, port ${a.port}\\) keeps running from this folder, untouched, `));
      expect(refused.stderr, command).toContain(reach);
    }
    expect((await health(a.port)).status).toBe(200);
    const stopped = await a.cli(['stop', '--name', 'e2e-api']);
    expect(stopped.status, stopped.stderr).toBe(0);
    await assertStoppedIn(a.cwd);
  });

  it('of two detached starts racing, exactly one wins', async () => {
    const a = await app();
    const results = await Promise.all([a.cli(['start', '-d']), a.cli(['start', '-d'])]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, results.map((r) => r.stdout + r.stderr).join('\n---\n')).toEqual([0, 1]);
    const loser = results.find((r) => r.status !== 0);
    // The losing supervisor's own error, not wrapped (its output file is gone: the name is the winner's).
    expect(loser?.stderr).toMatch(/^naija-sup: .*\(E_ALREADY_RUNNING\)$/m);
    expect(loser?.stderr).not.toContain('E_STARTUP_FAILED');
    expect(loser?.stderr).not.toContain('its output:');
    const s = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    expect(s.state).toBe('ready');
    expect((await a.cli(['stop'])).status).toBe(0);
  });

  it('detach of a server that never becomes ready returns non-zero with the cause', async () => {
    const a = await app({ command: [process.execPath, fixture('never-ready.mjs')], health: { path: '/health', interval: '25ms', startupTimeout: '1s' }, restart: { policy: 'never' } });
    const t0 = Date.now();
    const r = await a.cli(['start', '-d']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toMatch(/ready/);
    expect(r.stderr).toContain('(E_STARTUP_FAILED)');
    expect(r.stderr).toContain('startup-timeout');
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect((await a.cli(['status'])).status).toBe(3);
  });

  it('detach of a server that crashes at start shows its stderr tail', async () => {
    const a = await app({
      command: [process.execPath, fixture('exit-with.mjs')],
      env: { EXIT_CODE: '3', EXIT_AFTER_MS: '50', STDERR_TEXT: 'Error: connect ECONNREFUSED 127.0.0.1:5432 (the database)' },
      restart: { policy: 'never' },
    });
    const r = await a.cli(['start', '-d']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('(E_STARTUP_FAILED)');
    expect(r.stderr).toContain('exited with code 3');
    expect(r.stderr).toContain('Error: connect ECONNREFUSED 127.0.0.1:5432 (the database)');
    expect((await a.cli(['status'])).status).toBe(3);
  });
});
