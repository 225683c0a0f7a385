/**
 * Issue 15, point 3: the start lock cannot be squatted. Up to 0.1 the lock was the Linux abstract
 * socket `naija-sup-lock-<uid>-<sha256(socket path)[:32]>`: another user bound it first, root's
 * `start` failed with E_ALREADY_RUNNING (supervisor pid 1), and `stop` advised root to kill pid 1.
 * Here the attacker performs that same attack, then tries the new lock in the 0700 run dir; and a
 * lock holder that lies about its pid is not believed. Needs `npm run build` and root (./attacker.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { ensureRunDir } from '../../src/control/run-dir.js';
import { startControlServer } from '../../src/control/server.js';
import { lockPathFor } from '../../src/control/start-lock.js';
import { NaijaSupError } from '../../src/errors.js';
import { assertAllGone, killAllTracked, track, trackedPids, waitFor } from '../helpers/processes.js';
import { createAttacker, hostileApp, processesIn, rootOnly, type Attacker, type HostileApp } from './attacker.js';

/** The abstract name naija-sup ≤ 0.1 took as its start lock for `socketPath`. */
function oldLockName(socketPath: string): string {
  const uid = (process.getuid as () => number)();
  return `naija-sup-lock-${uid}-${createHash('sha256').update(socketPath).digest('hex').slice(0, 32)}`;
}

describe.skipIf(rootOnly !== null)('the start lock cannot be squatted (issue 15)', () => {
  let attacker: Attacker | null = null;
  const apps: HostileApp[] = [];
  const cleanups: Array<() => void> = [];
  beforeAll(() => { attacker = createAttacker(); });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
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

  it('another user squatting the old abstract lock name no longer stops root\'s start, and cannot create the new lock', async () => {
    const app = await hostileApp('squatted');
    apps.push(app);
    const socket = join(app.runDir, 'squatted.sock');
    const squat = (attacker as Attacker).run('squat.mjs', [oldLockName(socket), '20000']);
    // The real attack: the name is free for anyone to take.
    await squat.waitFor(/^SQUATTING$/m);

    const started = await app.cli(['start', '-d']);
    expect(started.status, started.stdout + started.stderr).toBe(0);
    expect(started.stdout + started.stderr).not.toMatch(/E_ALREADY_RUNNING|pid 1\b/);
    const status = JSON.parse((await app.cli(['status', '--json'])).stdout) as StatusSnapshot;
    track(status.supervisorPid);
    if (status.instancePid !== null) track(status.instancePid);
    expect(status.supervisorPid).not.toBe(1);

    // The new lock lives in the 0700 run dir: the attacker cannot create it (nor reach the socket).
    const intrusion = (attacker as Attacker).run('intrude.mjs', [socket, lockPathFor(socket)]);
    await intrusion.exited;
    expect(intrusion.output()).toMatch(/^CREATE EACCES$/m);
    expect(intrusion.output()).toMatch(/^CONNECT EACCES$/m);

    const stopped = await app.cli(['stop']);
    expect(stopped.status, stopped.stdout + stopped.stderr).toBe(0);
    expect(stopped.stdout).not.toMatch(/kill 1\b/);
    squat.child.kill('SIGTERM');
    await squat.exited;
  });

  it('a lock holder that claims to be pid 1 is not believed: the refusal names no pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-liar-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const runDir = ensureRunDir({ NAIJA_SUP_RUN_DIR: join(dir, 'run') });
    const socket = join(runDir, 'api.sock');
    // A process of ours (this one) holds the lock but says it is pid 1, bound wherever it likes.
    const liar: Server = createServer((c) => c.on('error', () => undefined).end(`${JSON.stringify({ pid: 1, boundAs: join(runDir, '.fake0') })}\n`));
    await new Promise<void>((resolve) => liar.listen(lockPathFor(socket), () => resolve()));
    cleanups.push(() => liar.close());
    const error = await startControlServer({ socketPath: socket, target: {} as never, name: 'api' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NaijaSupError);
    expect(error).toMatchObject({ code: 'E_ALREADY_RUNNING' });
    expect((error as NaijaSupError).message).toBe('"api" is already running (another naija-sup is starting it)');
  });
});
