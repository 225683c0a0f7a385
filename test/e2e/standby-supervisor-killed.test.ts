/**
 * A supervisor killed with SIGKILL cannot clean up; its parked warm standby must still not outlive
 * it. The kernel closes the supervisor's end of the gate pipe, and the gate exits on end of file
 * without running the server. (The instance itself is left running, as a SIGKILLed supervisor
 * always leaves it: the next `start` finds it through the record — preflight's job, tested there.)
 * Runs the built binary (bin/naija-sup.js).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { freePort, httpGet } from '../helpers/supervise.js';

const BIN = fileURLToPath(new URL('../../bin/naija-sup.js', import.meta.url));
let tmp: string | null = null;

afterEach(() => {
  killAllTracked();
  if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
});

describe('warm standby after the supervisor is SIGKILLed', () => {
  it('the parked standby exits on its own, without running the server; the instance keeps serving', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'naija-sup-standby-kill-'));
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'start', '--verbose', '--port', String(port), '--', process.execPath, fixture('healthy-server.mjs')], {
      cwd: tmp,
      env: {
        PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1',
        NAIJA_SUP_LOG_FORMAT: 'human', NAIJA_SUP_RUN_DIR: join(tmp, 'run'), NAIJA_SUP_HEALTH_INTERVAL: '25ms', NAIJA_SUP_RESTART_STANDBY: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child.pid ?? -1);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const parked = Number((await waitFor(() => /warm standby ready: pid (\d+)/.exec(output), { timeout: 20_000, message: () => `no standby:\n${output}` }))[1]);
    const instance = Number(/READY port=\d+ pid=(\d+)/.exec(output)?.[1]);
    track(parked);
    track(instance);
    expect(readFileSync(`/proc/${parked}/cmdline`, 'utf8')).toContain('healthy-server.mjs');

    process.kill(child.pid ?? -1, 'SIGKILL');
    await expect(exited).resolves.toBe('SIGKILL');
    await assertAllGone([parked], 5000);
    expect(output).not.toMatch(new RegExp(`pid=${parked}\\b`)); // it never ran the server
    expect((await httpGet(port, '/health')).status).toBe(200); // the orphaned instance still serves

    process.kill(-instance, 'SIGTERM'); // ours to end: the test started it (through the supervisor)
    await assertAllGone([...trackedPids.keys()], 10_000);
  });
});
