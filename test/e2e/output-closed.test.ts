/**
 * The built binary keeps supervising after whoever read its output has gone (`naija-sup start | tee
 * log` whose tee died): writes fail with EPIPE, and that must not kill the supervisor and orphan the
 * server. Runs `npm run build`'s output (bin/naija-sup.js).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { freePort, httpGet } from '../helpers/supervise.js';

const BIN = fileURLToPath(new URL('../../bin/naija-sup.js', import.meta.url));
let tmp: string | null = null;

afterEach(async () => {
  try {
    await assertAllGone([...trackedPids.keys()], 10_000);
  } finally {
    killAllTracked();
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
    tmp = null;
  }
});

describe('output reader gone', () => {
  it('a supervisor whose stdout and stderr pipes were closed still stops the server gracefully on SIGTERM and exits 0', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'naija-sup-epipe-'));
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'start', '--port', String(port), '--', process.execPath, fixture('healthy-server.mjs')], {
      cwd: tmp,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_LOG_FORMAT: 'human', NAIJA_SUP_RUN_DIR: join(tmp, 'run'), NAIJA_SUP_HEALTH_INTERVAL: '25ms' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const supervisor = track(child.pid ?? -1);
    expect(supervisor).not.toBeNull();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    await waitFor(() => /READY port=\d+ pid=(\d+)/.exec(output), { timeout: 15_000, message: () => `not ready:\n${output}` });
    const serverPid = Number(/READY port=\d+ pid=(\d+)/.exec(output)?.[1]);
    track(serverPid);
    await waitFor(() => /is ready in/.test(output), { timeout: 15_000, message: () => `no ready line:\n${output}` });

    // The reader goes away: every later write of the supervisor hits a closed pipe.
    child.stdout.destroy();
    child.stderr.destroy();
    expect((await httpGet(port, '/health')).status).toBe(200);

    process.kill(child.pid ?? -1, 'SIGTERM'); // the server prints DRAINING/CLOSED into the closed pipe
    await expect(exited).resolves.toEqual({ code: 0, signal: null });
    await assertAllGone([serverPid]);
  });
});
