/**
 * `naija-sup probe`: exit 0 when the app is ready, 1 otherwise (no supervisor, still starting,
 * stopped), through the built binary as a container's HEALTHCHECK runs it; `probe --name N` skips
 * commander (the fast path). Unit: the verdict from a status snapshot.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeVerdict } from '../../src/cli/commands/probe.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { BIN, cliApp, endCliApps } from '../helpers/cli-app.js';
import { track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

describe('probe verdict', () => {
  const base = { name: 'api', state: 'ready', instancePid: 42, health: null } as unknown as StatusSnapshot;
  it('ready with no failing probe is 0; anything else is 1, saying why', () => {
    expect(probeVerdict(base)).toEqual({ ok: true, line: 'api: ready (pid 42)' });
    expect(probeVerdict({ ...base, state: 'starting' })).toEqual({ ok: false, line: 'api: not ready (starting)' });
    expect(probeVerdict({ ...base, health: { ok: false, probe: 'readiness', detail: 'HTTP 503', latencyMs: 1, at: '' } })).toEqual({ ok: false, line: 'api: readiness probe failing: HTTP 503' });
    expect(probeVerdict({ ...base, health: { ok: true, probe: 'liveness', detail: 'HTTP 200', latencyMs: 1, at: '' } }).ok).toBe(true);
  });
});

describe('naija-sup probe (built binary)', () => {
  it('1 with no supervisor; 1 while the server is not ready; 0 once ready; 1 after stop', async () => {
    const app = await cliApp({ name: 'probe-app', health: { path: '/health', interval: '25ms', startupTimeout: '30s' } });
    const gate = join(app.cwd, 'gate');
    const file = join(app.cwd, '.naija-suprc.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), env: { HEALTH_GATE: gate } }));
    const none = await app.cli(['probe', '--name', 'probe-app']);
    expect(none).toMatchObject({ status: 1, stdout: 'probe-app: not running (no run directory)\n' });

    const sup = spawn(process.execPath, [BIN, 'start'], { cwd: app.cwd, env: app.env, stdio: 'ignore' });
    if (sup.pid !== undefined) track(sup.pid);
    const exited = new Promise<number | null>((resolve) => sup.once('close', (code) => resolve(code)));
    // The health gate is closed: the supervisor runs, the server does not pass its startup probe.
    const starting = await waitFor(async () => {
      const r = await app.cli(['probe', '--name', 'probe-app']);
      return /not ready \(starting\)/.test(r.stdout) ? r : null;
    }, { timeout: 20_000, interval: 50 });
    expect(starting.status).toBe(1);

    writeFileSync(gate, '');
    const ready = await waitFor(async () => {
      const r = await app.cli(['probe', '--name', 'probe-app']);
      return r.status === 0 ? r : null;
    }, { timeout: 20_000, interval: 50 });
    expect(ready.stdout).toMatch(/^probe-app: ready \(pid \d+\)\n$/);
    // Without --name it finds the app through the config (the full CLI path): the same answer.
    expect((await app.cli(['probe'])).status).toBe(0);

    sup.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopped = await app.cli(['probe', '--name', 'probe-app']);
    expect(stopped).toMatchObject({ status: 1, stdout: 'probe-app: not running (no supervisor answers)\n' });
  });
});
