/**
 * `restart.standby` end to end: the supervisor parks a spare Node process once the instance is
 * ready, promotes it when the instance is kill -9ed, parks the next one, and leaves nothing behind.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/context.js';
import { run } from '../../src/cli/main.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { assertAllGone, fixture, isRunning, survivors, track, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

const node = process.execPath;
let current: InProcessSupervisor | null = null;

function supervise(argv: string[], env: Record<string, string | undefined> = {}): InProcessSupervisor {
  current = superviseInProcess(argv, { NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_RESTART_STANDBY: 'true', ...env });
  return current;
}

/** Pids of the "warm standby ready" lines so far, tracked for the end-of-test assertion. */
function standbyPids(sup: InProcessSupervisor): number[] {
  return [...(sup.stdout() + sup.stderr()).matchAll(/warm standby ready: pid (\d+)/g)].map((m) => {
    const pid = Number(m[1]);
    track(pid);
    return pid;
  });
}

/** `naija-sup status --json` against the in-process supervisor. */
async function statusOf(sup: InProcessSupervisor): Promise<StatusSnapshot> {
  let out = '';
  const io: CliIO = { stdout: (t) => { out += t; }, stderr: () => undefined, env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: sup.runDir }, cwd: sup.tmp, isTTY: false };
  expect(await run(['status', '--name', 'standby-api', '--json'], io)).toBe(0);
  return JSON.parse(out) as StatusSnapshot;
}

async function health(port: number): Promise<number | null> {
  const r = await httpGet(port, '/health');
  return r.status === 200 ? (JSON.parse(r.body) as { pid: number }).pid : null;
}

/** SIGTERM, status 0, and every instance and standby it started is gone. */
async function stopAndAssertGone(sup: InProcessSupervisor): Promise<void> {
  const all = [...sup.pids, ...standbyPids(sup)];
  sup.signal('SIGTERM');
  await expect(sup.done).resolves.toBe(0);
  await assertAllGone(all);
}

afterEach(async () => {
  const sup = current;
  current = null;
  await finishSupervisor(sup);
});

describe('restart.standby (real processes)', () => {
  it('promotes the parked standby after kill -9, parks a new one, and stops them all', async () => {
    const port = await freePort();
    const sup = supervise(['--verbose', '--port', String(port), '--', node, fixture('healthy-server.mjs')], { NAIJA_SUP_NAME: 'standby-api' });
    await sup.waitFor(/is ready in \d+ ms/);
    await sup.waitFor(/warm standby ready: pid \d+/);
    const [parked] = standbyPids(sup);
    const first = sup.pids[0];
    // Exactly one standby so far, a live process of its own beside the instance.
    expect(standbyPids(sup)).toHaveLength(1);
    expect(parked).not.toBe(first);
    expect(isRunning(parked ?? -1)).toBe(true);
    // Parked: alive, but it has not run the server (no READY line from it) and does not serve.
    expect(readFileSync(`/proc/${parked}/cmdline`, 'utf8').split('\0')).toContain(fixture('healthy-server.mjs'));
    expect(sup.stdout()).not.toMatch(new RegExp(`pid=${parked}\\b`));
    expect(await health(port)).toBe(first);

    // The standby stays parked for a known second before the kill, so an uptime counted from the
    // promotion and one counted from the parking differ by at least that second, not by how soon a
    // poll happened to notice the parking.
    const PARKED_MS = 1000;
    await new Promise((resolve) => setTimeout(resolve, PARKED_MS));
    const killedAt = Date.now();
    process.kill(first ?? -1, 'SIGKILL');
    await sup.waitFor(new RegExp(`warm standby pid ${parked} takes over`));
    await waitFor(async () => (await health(port)) === parked, { timeout: 10_000, message: 'the promoted standby never answered' });
    await sup.waitFor(new RegExp(`READY port=${port} pid=${parked}\\b`));

    // The next standby is parked once the promoted one is ready; status names it, and counts the
    // promoted instance's uptime from its promotion, not from when it was parked.
    await waitFor(() => standbyPids(sup).length === 2, { timeout: 10_000, message: () => `no second standby:\n${sup.stderr()}` });
    const next = standbyPids(sup)[1];
    const status = await statusOf(sup);
    const sinceKill = Date.now() - killedAt;
    expect(status.instancePid).toBe(parked);
    expect(status.standbyPid).toBe(next);
    // Counted from the promotion (after the kill): at most the time since the kill. Counted from the
    // parking, it would exceed it by PARKED_MS less the tail of one local status request.
    expect(status.instanceUptimeMs).toBeLessThanOrEqual(sinceKill);
    const all = [...sup.pids, ...standbyPids(sup)];

    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    expect(sup.stderr()).toMatch(/warm standby pid \d+ ended: the supervisor stopped/);
    // `start` returns only once the parked standby has exited too: no polling here.
    expect(survivors(all)).toEqual([]);
    // The supervisor's last line is that it stopped; the standby's end is reported before it.
    expect(sup.stderr().trimEnd().split('\n').at(-1)).toMatch(/stopped after/);
  });

  it('in handoff mode the gate is fd 4 beside the listening socket; after a zero-downtime reload the promoted instance gets its own standby, which takes over on kill -9', async () => {
    const port = await freePort();
    const sup = supervise(['--verbose', '--mode', 'handoff', '--port', String(port), '--', node, fixture('reload/fd-server.mjs')]);
    await sup.waitFor(/warm standby ready: pid \d+/);
    const [first] = standbyPids(sup);
    expect(readFileSync(`/proc/${first}/environ`, 'utf8').split('\0')).toContain('NAIJA_SUP_STANDBY_FD=4');
    expect(await health(port)).toBe(sup.pids[0]);

    sup.signal('SIGHUP'); // zero-downtime reload: green starts fresh, blue drains
    await sup.waitFor(/reload done in/);
    await waitFor(() => standbyPids(sup).length === 2, { timeout: 15_000, message: () => `no standby for the promoted instance:\n${sup.stderr()}` });
    const second = standbyPids(sup)[1];
    const green = await health(port);
    expect(green).not.toBeNull();
    expect(green).not.toBe(sup.pids[0]);
    expect(green).not.toBe(first);

    process.kill(green ?? -1, 'SIGKILL');
    await sup.waitFor(new RegExp(`warm standby pid ${second} takes over`));
    await waitFor(async () => (await health(port)) === second, { timeout: 10_000, message: 'the promoted standby never answered on the handed-over socket' });
    await stopAndAssertGone(sup);
  });

  it('a SIGHUP reload that changes the environment discards the parked standby and starts fresh', async () => {
    const port = await freePort();
    const configFile = (tmp: string): string => join(tmp, 'naija-sup.config.json');
    const write = (tmp: string, flavour: string): void => {
      writeFileSync(configFile(tmp), JSON.stringify({ command: [node, fixture('healthy-server.mjs')], env: { FLAVOUR: flavour } }));
    };
    current = superviseInProcess(['--verbose', '--port', String(port)], { NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_RESTART_STANDBY: 'true' }, (tmp) => write(tmp, 'a'));
    const sup = current;
    await sup.waitFor(/warm standby ready: pid \d+/);
    const [parked] = standbyPids(sup);
    write(sup.tmp, 'b');
    sup.signal('SIGHUP');
    await sup.waitFor(new RegExp(`warm standby pid ${parked} ended: a reload or restart starts a fresh process`));
    await waitFor(async () => { const pid = await health(port); return pid !== null && pid !== sup.pids[0]; }, { timeout: 10_000, message: 'no new instance after SIGHUP' });
    const second = await health(port);
    expect(second).not.toBe(parked);
    expect(readFileSync(`/proc/${second}/environ`, 'utf8').split('\0')).toContain('FLAVOUR=b');
    await assertAllGone([parked ?? -1]);
    await waitFor(() => standbyPids(sup).length === 2, { timeout: 10_000, message: () => `no new standby after the reload:\n${sup.stderr()}` });
    await stopAndAssertGone(sup);
  });

  it('refuses restart.standby for a command that is not node, naming the key and why', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', 'sh', '-c', `exec ${node} ${fixture('healthy-server.mjs')}`]);
    const status = await sup.done;
    expect(status).not.toBe(0);
    expect(sup.stderr()).toMatch(/restart\.standby: needs a command that runs node directly .* got "sh"/);
    expect(sup.pids).toEqual([]);
  });
});
