/**
 * Issue 12, "real apps on the first try": each test stages, with a real server process, what a real
 * third-party app did to naija-sup's first minute — no /health route, a health route that answers
 * 503, a server that never answers, one that ignores PORT (in direct and proxy mode), one that binds
 * another host, and a PORT exported in the environment over the config file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAllGone, fixture } from '../helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

const node = process.execPath;
let current: InProcessSupervisor | null = null;

function supervise(
  argv: string[] | ((tmp: string) => string[]),
  env: Record<string, string | undefined> = {},
  setup?: (tmp: string) => void,
): InProcessSupervisor {
  current = superviseInProcess(argv, { NAIJA_SUP_HEALTH_INTERVAL: '25ms', ...env }, setup);
  return current;
}

afterEach(async () => {
  const sup = current;
  current = null;
  await finishSupervisor(sup);
});

/** Stops the supervisor the way a user does and checks that nothing it started is left. */
async function stopAndAssertGone(sup: InProcessSupervisor): Promise<void> {
  sup.signal('SIGTERM');
  await expect(sup.done).resolves.toBe(0);
  await assertAllGone(sup.pids);
}

/** The one start of a failing server: no retries, a short startup budget. */
const FAIL_FAST = { NAIJA_SUP_RESTART_START_RETRIES: '0', NAIJA_SUP_HEALTH_STARTUP_TIMEOUT: '1500ms' };

describe('readiness with no health check configured (the default rule)', () => {
  it('a server with no health route (404 on every path, / included) is ready, and the ready line says how', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('routes-server.mjs')], { OK_ROUTES: '' });
    const [line] = await sup.waitFor(/^.*is ready in .*$/m);
    expect(line).toContain(`— http://127.0.0.1:${port} (pid ${sup.pids[0]}): answers HTTP 404 on /; set health.path for a real health check`);
    expect((await httpGet(port, '/')).status).toBe(404);
    await stopAndAssertGone(sup);
  });

  it('a server that accepts TCP but does not speak HTTP is ready as a TCP server', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('hold-port.mjs')], { NAIJA_SUP_HEALTH_TIMEOUT: '300ms' });
    const [line] = await sup.waitFor(/^.*is ready in .*$/m);
    expect(line).toContain('accepts TCP connections but does not answer HTTP');
    await stopAndAssertGone(sup);
  });

  it('a 5xx is not ready: a server answering 503 on / is not counted up', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('never-ready.mjs')], { ...FAIL_FAST, NEVER_READY_MODE: '503' });
    await expect(sup.done).resolves.toBe(1);
    expect(sup.stderr()).not.toMatch(/is ready in/);
    expect(sup.stderr()).toContain('GET / → HTTP 503 not ready');
    await assertAllGone(sup.pids);
  });
});

describe('a configured health path that fails: its last answer is the reason', () => {
  it('503 with a body: shown at once while waiting, then the reason of the failed start with its count', async () => {
    const port = await freePort();
    const sup = supervise(
      ['--port', String(port), '--', node, fixture('never-ready.mjs')],
      { ...FAIL_FAST, NAIJA_SUP_HEALTH_PATH: '/health', NEVER_READY_MODE: '503', NEVER_READY_BODY: '{"db":"down"}' },
    );
    // At once: the warning comes while the start is still waiting, before the startup timeout.
    await sup.waitFor(/GET \/health → HTTP 503 \{"db":"down"\}: the server is up but reports an error; .* \(still waiting, up to health\.startupTimeout\)/);
    expect(sup.stderr()).not.toMatch(/never got ready|giving up/);
    await expect(sup.done).resolves.toBe(1);
    const err = sup.stderr();
    expect(err).toMatch(/GET \/health → HTTP 503 \{"db":"down"\} \(\d+ times, not ready within 1\.5 s\): the server is up but reports an error/);
    // The warning is said once, not at every probe.
    expect(err.match(/still waiting/g)).toHaveLength(1);
    expect(err).not.toContain('check that the server listens on PORT');
    await assertAllGone(sup.pids);
  });

  it('404: the server is up but has no such route, and the fix is health.path', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('routes-server.mjs')], { ...FAIL_FAST, NAIJA_SUP_HEALTH_PATH: '/health', OK_ROUTES: '/' });
    await expect(sup.done).resolves.toBe(1);
    const err = sup.stderr();
    expect(err).toMatch(/GET \/health → HTTP 404 \(\d+ times, not ready within 1\.5 s\): the server is up but has no such route/);
    expect(err).toContain('fix: set health.path to a route that answers 200');
    expect(err).not.toContain('check that the server listens on PORT');
    await assertAllGone(sup.pids);
  });

  it('a server that never answers gets the generic advice, with what the probe found', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('never-ready.mjs')], FAIL_FAST);
    await expect(sup.done).resolves.toBe(1);
    const err = sup.stderr();
    expect(err).toContain(`not ready within 1.5 s (health.startupTimeout): the last probe found connection refused (nothing is listening on 127.0.0.1:${port})`);
    expect(err).toContain(`check that the server listens on PORT (naija-sup passes PORT=${port})`);
    await assertAllGone(sup.pids);
  });
});

describe('a server that does not listen where it was told', () => {
  it('ignores PORT (direct mode): the failure names where it listens instead', async () => {
    const [port, own] = [await freePort(), await freePort()];
    const sup = supervise(['--port', String(port), '--', node, fixture('fixed-port-server.mjs')], { ...FAIL_FAST, NAIJA_SUP_HEALTH_STARTUP_TIMEOUT: '3s', FIXED_PORT: String(own) });
    const expected = `the server listens on 127.0.0.1:${own}, not on port ${port} (PORT=${port}): it ignores PORT`;
    await sup.waitFor(new RegExp(expected.replace(/[.()]/g, '\\$&')));
    await expect(sup.done).resolves.toBe(1);
    expect(sup.stderr()).toContain(`not ready within 3 s: ${expected}`);
    expect(sup.stderr()).toContain(`or set port to ${own}`);
    await assertAllGone(sup.pids);
  });

  it('ignores PORT and binds the public port itself (proxy mode): the error names that cause, not a port conflict to free', async () => {
    const port = await freePort();
    const sup = supervise(['--mode', 'proxy', '--port', String(port), '--', node, fixture('fixed-port-server.mjs')], { FIXED_PORT: String(port) });
    await expect(sup.done).resolves.toBe(1);
    const err = sup.stderr();
    expect(err).toMatch(new RegExp(`the server tried to bind port ${port} itself — the public port the proxy holds — instead of the private port in PORT \\(\\d+\\): it ignores PORT`));
    expect(err).not.toContain('--kill-existing');
    expect(err).not.toMatch(/port \d+ is already in use/);
    await assertAllGone(sup.pids);
  });

  it('proxy mode: the ready line shows the public URL, not the instance\'s private one', async () => {
    const port = await freePort();
    const sup = supervise(['--mode', 'proxy', '--port', String(port), '--', node, fixture('routes-server.mjs')], { OK_ROUTES: '/' });
    const [line] = await sup.waitFor(/^.*is ready in .*$/m);
    expect(line).toContain(`— http://127.0.0.1:${port} (pid`);
    expect((await httpGet(port, '/')).status).toBe(200);
    await stopAndAssertGone(sup);
  });

  it('binds 0.0.0.0 while host is 127.0.0.1: ready, and said once', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('fixed-port-server.mjs')], { FIXED_PORT: String(port), FIXED_HOST: '0.0.0.0' });
    await sup.waitFor(/is ready in/);
    await sup.waitFor(new RegExp(`the server listens on 0\\.0\\.0\\.0:${port}, not on 127\\.0\\.0\\.1 as configured \\(host\\): it is reachable from other machines too`));
    await stopAndAssertGone(sup);
    expect(sup.stderr().match(/not on 127\.0\.0\.1 as configured/g)).toHaveLength(1);
  });
});

describe('where the port came from', () => {
  it('PORT in the environment over the config file is announced in the start line', async () => {
    const [filePort, envPort] = [await freePort(), await freePort()];
    const sup = supervise([], { PORT: String(envPort), OK_ROUTES: '/' }, (tmp) => {
      writeFileSync(join(tmp, 'naija-sup.config.json'), JSON.stringify({ name: 'api', port: filePort, command: [node, fixture('routes-server.mjs')] }));
    });
    const [line] = await sup.waitFor(/^.*started api .*$/m);
    expect(line).toContain(`PORT=${envPort} — env PORT, over ${filePort} from file naija-sup.config.json`);
    await sup.waitFor(/is ready in/);
    await stopAndAssertGone(sup);
  });
});
