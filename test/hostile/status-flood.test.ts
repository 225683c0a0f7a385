/**
 * Issue 15, point 1: the status server cannot be starved. Another local user floods the status
 * port of a supervisor started with `ulimit -n 256` with 1,000 idle connections; the supervisor
 * keeps answering, cuts them within seconds, and still restarts its server after a kill -9 (before,
 * the flood ate its descriptors, the restart failed with EMFILE and the supervisor gave up).
 * Needs `npm run build` (the CLI loads dist/) and root (see ./attacker.ts).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { countOpenFiles, readOpenFileLimit } from '../../src/process/proc-read.js';
import { assertAllGone, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';
import { createAttacker, hostileApp, processesIn, rootOnly, type Attacker, type HostileApp } from './attacker.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

describe.skipIf(rootOnly !== null)('the status server cannot be starved (issue 15)', () => {
  let attacker: Attacker | null = null;
  const apps: HostileApp[] = [];
  beforeAll(() => { attacker = createAttacker(); });
  afterEach(async () => {
    try {
      await assertAllGone([...trackedPids.keys()], 20_000);
      for (const app of apps) {
        let left: number[] = [];
        await waitFor(() => (left = processesIn(app.cwd)).length === 0, { timeout: 15_000, message: () => `still running in ${app.cwd}: ${left.join(', ')}` });
      }
    } finally {
      for (const app of apps) for (const pid of processesIn(app.cwd)) track(pid);
      killAllTracked();
      for (const app of apps.splice(0)) app.cleanup();
    }
  });
  afterAll(() => attacker?.remove());

  it('a supervisor under ulimit -n 256 survives 1,000 idle connections from another user, cuts them, and still restarts its server after kill -9', async () => {
    const statusPort = await freePort();
    const app = await hostileApp('flooded', { status: { port: statusPort } });
    apps.push(app);
    const started = await app.cli(['start', '-d'], { ulimit: 256 });
    expect(started.status, started.stdout + started.stderr).toBe(0);
    const before = JSON.parse((await app.cli(['status', '--json'])).stdout) as StatusSnapshot;
    track(before.supervisorPid);
    if (before.instancePid !== null) track(before.instancePid);
    expect(readOpenFileLimit(before.supervisorPid)?.soft).toBe(256);

    const flood = (attacker as Attacker).run('flood.mjs', ['tcp', String(statusPort), '1000', '12000']);
    const opened = await flood.waitFor(/OPENED (\d+) FAILED (\S+)/, 60_000);
    // The kernel completes every handshake (the listen queue), so the attacker got its 1,000.
    expect(Number(opened[1]), opened[0]).toBe(1000);
    // The status server still answers, and the supervisor holds far fewer descriptors than its limit.
    expect((await get(statusPort, '/alive')).status).toBe(200);
    expect(countOpenFiles(before.supervisorPid)).toBeLessThan(256 - 64);

    // kill -9 the server while the flood holds: it comes back (a spawn needs descriptors).
    process.kill(before.instancePid as number, 'SIGKILL');
    const after = await waitFor(async () => {
      const r = await app.cli(['status', '--json']);
      const s = r.status === 0 ? JSON.parse(r.stdout) as StatusSnapshot : null;
      return s !== null && s.state === 'ready' && s.instancePid !== null && s.instancePid !== before.instancePid ? s : null;
    }, { timeout: 30_000, message: 'the server did not come back after kill -9' });
    track(after.instancePid as number);
    expect((await get(app.port, '/health')).status).toBe(200);
    expect(after.supervisorPid).toBe(before.supervisorPid);

    // Every one of the attacker's idle connections was cut by the server before it let go.
    const closed = await flood.waitFor(/CLOSED (\d+) OF (\d+)/, 30_000);
    expect(closed[1]).toBe(closed[2]);
    const log = readFileSync(join(app.runDir, 'flooded.log'), 'utf8');
    expect(log).not.toMatch(/EMFILE|out of file descriptors/);

    const stopped = await app.cli(['stop']);
    expect(stopped.status, stopped.stdout + stopped.stderr).toBe(0);
  });
});
