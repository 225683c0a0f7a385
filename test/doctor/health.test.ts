/**
 * health: probes the running server — the supervised instance, else whatever listens on the
 * configured port — on the common routes (/health, /healthz, /ready, /api/health,
 * /api/v1/public/health, /) and names exactly those that answer 200. The configured path decides
 * the status: 200 → ok; 404 → "the server is up but the health path is wrong"; refused → not
 * listening (fail under a supervisor, skip without one). Servers are real fixtures on 127.0.0.1:
 * routes-server.mjs answers 200 on the routes in OK_ROUTES and 404 on the rest, `/` included.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { doctorCommand } from '../../src/cli/commands/doctor.js';
import type { CliIO } from '../../src/cli/context.js';
import { loadConfig } from '../../src/config/index.js';
import { writeRecord } from '../../src/control/record.js';
import { COMMON_HEALTH_ROUTES } from '../../src/doctor/checks/health.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { assertAllGone, fixture, killAllTracked, startFixture, track, waitFor } from '../helpers/processes.js';
import { doctorOne, freePort, recordFor, removeTemps, tempDir, thisProcessAsSupervisor, writeJson } from './helpers.js';

afterEach(() => {
  killAllTracked();
});
afterAll(() => {
  removeTemps();
});

/** An app folder whose config names `port` and, when given, `health`; its own empty run dir. */
function appOn(port: number, health?: Record<string, unknown>): { app: string; runDir: string; env: Record<string, string> } {
  const app = tempDir();
  const runDir = join(tempDir(), 'run');
  mkdirSync(runDir, { mode: 0o700 });
  writeJson(join(app, 'naija-sup.config.json'), {
    name: 'health-app',
    command: [process.execPath, fixture('healthy-server.mjs')],
    port,
    host: '127.0.0.1',
    ...(health === undefined ? {} : { health }),
  });
  return { app, runDir, env: { NAIJA_SUP_RUN_DIR: runDir } };
}

/** routes-server.mjs answering 200 on `routes` only. */
async function routesServer(routes: readonly string[]): Promise<Awaited<ReturnType<typeof startFixture>> & { port: number }> {
  const server = await startFixture('routes-server.mjs', { OK_ROUTES: routes.join(',') });
  if (server.port === null) throw new Error('routes-server.mjs announced no port');
  return { ...server, port: server.port };
}

/** The human doctor output for the health check alone, as `naija-sup doctor --only health` prints it. */
async function doctorOutput(cwd: string, env: Record<string, string>): Promise<{ status: number; out: string }> {
  let out = '';
  const io: CliIO = {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      out += text;
    },
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', ...env },
    cwd,
    isTTY: false,
  };
  const status = await doctorCommand(io, { only: ['health'] });
  return { status, out };
}

/** The routes a summary says answer 200: "…; /healthz, /ready answer 200" → ['/healthz', '/ready']. */
function namedAs200(summary: string): string[] {
  if (/none of the common routes answers 200/.test(summary)) return [];
  const match = /; ([^;]*) answers? 200$/.exec(summary);
  if (match === null) throw new Error(`no list of 200 routes in: ${summary}`);
  return (match[1] as string).split(', ');
}

describe('health: which common routes answer 200', () => {
  it.each([
    { ok: ['/healthz', '/ready'] },
    { ok: ['/api/health', '/'] },
    { ok: [...COMMON_HEALTH_ROUTES] },
    { ok: ['/api/v1/public/health'] },
  ])('a server answering 200 on $ok and 404 elsewhere: doctor names exactly those', async ({ ok }) => {
    const server = await routesServer(ok);
    const { app, env } = appOn(server.port, { path: ok[0] });
    const result = await doctorOne(app, 'health', env);
    const { status, out } = await doctorOutput(app, env);
    await server.stop();
    await assertAllGone([server.pid]);

    expect(result.status).toBe('ok');
    expect(result.summary).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:${server.port}${ok[0]} → 200 OK in \\d+ ms; `));
    expect(namedAs200(result.summary)).toEqual(ok);
    for (const route of COMMON_HEALTH_ROUTES) {
      const line = result.details.find((detail) => detail.startsWith(`GET ${route}: `) || detail.startsWith(`GET ${route} (health.path): `));
      expect(line, route).toMatch(ok.includes(route) ? /: 200 OK in \d+ ms$/ : /: HTTP 404: the server is up but has no such route/);
    }
    expect(result.details).toContain(`no supervisor runs health-app: these are the answers of whatever listens on 127.0.0.1:${server.port}`);
    // The printed checklist carries the same list (details are hidden for ok: the summary must say it).
    expect(status).toBe(0);
    const printed = /^✔ health {2}(.*)$/m.exec(out)?.[1] ?? `no ok health line in:\n${out}`;
    expect(namedAs200(printed)).toEqual(ok);
  });

  it('no route answers 200 (404 everywhere, / included): says so, warns that the configured path is wrong', async () => {
    const server = await routesServer([]);
    const { app, env } = appOn(server.port, { path: '/health' });
    const result = await doctorOne(app, 'health', env);
    await server.stop();
    await assertAllGone([server.pid]);
    expect(result).toMatchObject({
      status: 'warn',
      summary:
        'the server is up but the health path is wrong: /health gives 404; none of the common routes answers 200 (/health, /healthz, /ready, /api/health, /api/v1/public/health, /)',
      fix: "Set health.path in naija-sup.config.json to the server's health route, or use \"health\": {\"type\": \"tcp\"}.",
    });
  });

  it('no health.path set (the default rule): ok, says the server is ready by any answer, and names the routes that answer 200', async () => {
    const server = await routesServer(['/healthz']);
    const { app, env } = appOn(server.port);
    const result = await doctorOne(app, 'health', env);
    await server.stop();
    await assertAllGone([server.pid]);
    expect(result).toMatchObject({
      status: 'ok',
      summary: `the server on 127.0.0.1:${server.port} answers HTTP (HTTP 404 on /), which is ready by the default rule; /healthz answers 200`,
    });
    expect(result.details).toContain('readiness is judged by any HTTP answer below 500 on / (no health.path is set); set "health": {"path": …} to a route that answers 200 for a real health check');
  });

  it('the configured path gives 404: warns, names the routes that answer 200, and suggests a dedicated one over /', async () => {
    const server = await routesServer(['/ready', '/']);
    const { app, env } = appOn(server.port, { path: '/api/v1/public/health' });
    const result = await doctorOne(app, 'health', env);
    await server.stop();
    await assertAllGone([server.pid]);
    expect(result).toMatchObject({
      status: 'warn',
      summary: 'the server is up but the health path is wrong: /api/v1/public/health gives 404; /ready, / answer 200',
      fix: 'Set "health": {"path": "/ready"} in naija-sup.config.json.',
    });
  });

  it('with no server running: says so (skip), and the printed output names the address', async () => {
    const port = await freePort();
    const { app, env } = appOn(port);
    const result = await doctorOne(app, 'health', env);
    expect(result).toMatchObject({
      status: 'skip',
      summary: `no server is running on 127.0.0.1:${port} (nothing listens there and no supervisor runs health-app): start it to see which health routes answer`,
    });
    const { status, out } = await doctorOutput(app, env);
    expect(status).toBe(0);
    expect(out).toContain(`– health  no server is running on 127.0.0.1:${port}`);
  });
});

describe('health: a server that does not speak HTTP (hold-port.mjs: accepts, then closes)', () => {
  it('with health.type tcp: ok, the port accepts connections and no common route answers HTTP', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const { app, env } = appOn(port, { type: 'tcp' });
    const result = await doctorOne(app, 'health', env);
    await holder.stop();
    await assertAllGone([holder.pid]);
    expect(result).toMatchObject({
      status: 'ok',
      summary: `TCP 127.0.0.1:${port} accepts connections; no HTTP answer on the common routes (not an HTTP server, or slower than 1000 ms)`,
    });
  });

  it('with health.type tcp and an HTTP server: ok, names the routes that answer 200 and that readiness is a TCP connect', async () => {
    const server = await routesServer(['/healthz']);
    const { app, env } = appOn(server.port, { type: 'tcp' });
    const result = await doctorOne(app, 'health', env);
    await server.stop();
    await assertAllGone([server.pid]);
    expect(result).toMatchObject({ status: 'ok', summary: `the server on 127.0.0.1:${server.port} answers HTTP; /healthz answers 200` });
    expect(result.details).toContain('readiness is judged by a TCP connect; set "health": {"path": …} to a route that answers 200 for a real health check');
  });

  it('with an HTTP health.path: fail, it accepts connections but answers no HTTP request', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    const { app, env } = appOn(port, { path: '/health' });
    const result = await doctorOne(app, 'health', env);
    await holder.stop();
    await assertAllGone([holder.pid]);
    expect(result).toMatchObject({
      status: 'fail',
      summary: `the server on 127.0.0.1:${port} accepts connections but answers no HTTP request on the common routes`,
    });
    expect(result.fix).toMatch(/"health": \{"type": "tcp"\}/);
  });
});

describe('health: under a supervisor', () => {
  it('a real supervisor with a healthy server: 200 → ok, naming /health as the only common route answering 200', async () => {
    const port = await freePort();
    const { app, runDir, env } = appOn(port, { path: '/health', timeout: '2s' });
    const { config } = await loadConfig({ cwd: app, env: { PATH: process.env['PATH'] } });
    const events: SupervisorEvent[] = [];
    const supervisor = new Supervisor(config, realDeps({ runDir, baseEnv: { PATH: process.env['PATH'] }, onEvent: (event) => events.push(event) }));
    const done = supervisor.start();
    const ready = await waitFor(() => events.find((event) => event.type === 'ready'), { timeout: 15_000 });
    const pid = ready.type === 'ready' ? ready.pid : 0;
    track(pid);
    const result = await doctorOne(app, 'health', env);
    supervisor.stop();
    await done;
    await assertAllGone([pid]);
    expect(result.status).toBe('ok');
    expect(result.summary).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/health → 200 OK in \\d+ ms; /health answers 200$`));
    expect(result.details.some((detail) => detail.startsWith('no supervisor runs'))).toBe(false);
  });

  it('the recorded instance gives 404 on the configured path: warn naming the routes that answer', async () => {
    const server = await routesServer(['/health', '/healthz']);
    const { app, runDir, env } = appOn(server.port, { path: '/api/v1/public/health' });
    writeRecord(runDir, recordFor('health-app', server.pid, server.port, thisProcessAsSupervisor()));
    const result = await doctorOne(app, 'health', env);
    await server.stop();
    await assertAllGone([server.pid]);
    expect(result).toMatchObject({
      status: 'warn',
      summary: 'the server is up but the health path is wrong: /api/v1/public/health gives 404; /health, /healthz answer 200',
      fix: 'Set "health": {"path": "/health"} in naija-sup.config.json.',
    });
    expect(result.details).toContain('GET /ready: HTTP 404: the server is up but has no such route; set health.path to a route that answers 200 (while the server runs, `naija-sup doctor` lists the common ones that do), or leave health.path out: then any answer below 500 on / means ready');
    expect(result.details).toContain('GET /api/v1/public/health (health.path): HTTP 404: the server is up but has no such route; set health.path to a route that answers 200 (while the server runs, `naija-sup doctor` lists the common ones that do), or leave health.path out: then any answer below 500 on / means ready');
    expect(result.details.filter((detail) => detail.startsWith('GET /api/v1/public/health'))).toHaveLength(1);
  });

  it('only / answers 200: the fix asks for a real health route, with / as the stopgap', async () => {
    const server = await routesServer(['/']);
    const { app, env } = appOn(server.port, { path: '/healthz' });
    const result = await doctorOne(app, 'health', env);
    await server.stop();
    await assertAllGone([server.pid]);
    expect(result).toMatchObject({
      status: 'warn',
      summary: 'the server is up but the health path is wrong: /healthz gives 404; / answers 200',
      fix: 'Add a health route to the server and set health.path to it in naija-sup.config.json; until then "health": {"path": "/"} works, though a 200 on / only shows the server is up.',
    });
  });

  it('refused → fail: the supervisor runs but nothing listens', async () => {
    const port = await freePort();
    const { app, runDir, env } = appOn(port, { path: '/health' });
    // The recorded instance runs but never listens.
    const silent = await startFixture('never-ready.mjs', {}, { readyPattern: /STARTED pid=\d+/ });
    writeRecord(runDir, recordFor('health-app', silent.pid, port, thisProcessAsSupervisor()));
    const result = await doctorOne(app, 'health', env);
    await silent.stop();
    await assertAllGone([silent.pid]);
    expect(result).toMatchObject({
      status: 'fail',
      summary: `nothing listens on port ${port} (127.0.0.1): the supervisor runs, but the server is not listening (starting, crashed, or bound elsewhere)`,
      fix: `Check the supervisor's output or \`naija-sup status\`; make sure the server binds PORT=${port} on HOST=127.0.0.1.`,
    });
  });
});
