/**
 * Issue 15, "the run dir cannot be swapped", attacked for real by a second local user created for
 * the test (root only: skipped with the reason printed otherwise — this machine runs as root).
 *
 * 1. root with another user's XDG_RUNTIME_DIR (`su` without `-`): start refuses, naming the owner,
 *    and creates nothing there.
 * 2. A run dir whose parent falls to another user after start: that user swaps the run dir for a
 *    symlink to a directory of theirs; the supervisor's next record write (after a crash and
 *    restart) is refused and reported, and nothing lands where the user chose.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture, track, waitFor } from '../helpers/processes.js';
import { createAttacker, rootOnly, type Attacker } from './attacker.js';

/** Runs a shell command line as the attacker (setpriv: their uid and gid, no groups). */
function asAttacker(user: Attacker, script: string): void {
  execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'sh', '-c', script], { env: { PATH: '/usr/bin:/bin' } });
}

function runCli(cwd: string, env: Record<string, string | undefined>, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe.skipIf(rootOnly !== null)('a run dir another user could swap', () => {
  let user: Attacker;
  beforeAll(() => { user = createAttacker(); });
  afterAll(() => { (user as Attacker | undefined)?.remove(); }); // unset when useradd failed
  afterEach(endCliApps);

  it('root with another user\'s XDG_RUNTIME_DIR: start refuses, names the owner, creates nothing', async () => {
    const app = await cliApp();
    // What /run/user/<uid> looks like: the user's own, 0700.
    const runtime = join(app.cwd, 'runtime');
    mkdirSync(runtime);
    chownSync(runtime, user.uid, user.gid);
    chmodSync(runtime, 0o700);
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', XDG_RUNTIME_DIR: runtime };

    const r = await runCli(app.cwd, env, ['start']);
    expect(r.stderr).toContain('(E_RUN_DIR)');
    expect(r.stderr).toContain(`${runtime} belongs to ${user.name} (uid ${user.uid})`);
    expect(r.stderr).toContain('su -');
    expect(r.status).toBe(1);
    expect(readdirSync(runtime)).toEqual([]);
    // doctor says the same before anything is started.
    const doctor = await runCli(app.cwd, env, ['doctor', '--only', 'run-dir']);
    expect(doctor.stdout).toContain(`${runtime} belongs to ${user.name} (uid ${user.uid})`);
    expect(doctor.status).toBe(1);

    // Clients refuse too once a run dir is there (`status` reads records from it).
    mkdirSync(join(runtime, 'naija-sup'), { mode: 0o700 });
    const s = await runCli(app.cwd, env, ['status', '--name', 'cli-app']);
    expect(s.stderr).toContain('(E_RUN_DIR)');
  });

  it('a run dir swapped for a symlink after start: the next record write is refused and reported, nothing lands in the target', async () => {
    const app = await cliApp({
      command: [process.execPath, fixture('crash-after.mjs')],
      env: { CRASH_AFTER_MS: '3000' },
      health: { path: '/', interval: '25ms' },
    });
    const parent = join(app.cwd, 'parent');
    mkdirSync(parent, { mode: 0o755 });
    // The other user must be able to reach the parent (root keeps the folder; others may only pass).
    chmodSync(app.cwd, 0o711);
    const runDir = join(parent, 'run');
    const env = { ...app.env, NAIJA_SUP_RUN_DIR: runDir };

    const started = await runCli(app.cwd, env, ['start', '-d']);
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    const record = JSON.parse(readFileSync(join(runDir, 'cli-app.json'), 'utf8')) as { supervisorPid: number; pid: number };
    track(record.supervisorPid);

    try {
      // The parent falls to the other user, who swaps the run dir for a symlink to a directory of theirs.
      chownSync(parent, user.uid, user.gid);
      asAttacker(user, `mv ${runDir} ${parent}/run.old && mkdir ${parent}/target && ln -s target ${runDir}`);
      const moved = join(parent, 'run.old');

      // The instance crashes, the supervisor restarts it and tries to write the new record.
      await waitFor(() => existsSync(join(moved, 'cli-app.log')) && /was replaced after it was checked/.test(readFileSync(join(moved, 'cli-app.log'), 'utf8')), {
        timeout: 20_000,
        message: () => `no record-error in the log:\n${readFileSync(join(moved, 'cli-app.log'), 'utf8')}`,
      });
      expect(readFileSync(join(moved, 'cli-app.log'), 'utf8')).toContain(`the run directory ${runDir} was replaced after it was checked (it is now a symlink)`);
      expect(readdirSync(join(parent, 'target'))).toEqual([]);

      // A new start refuses the parent the other user now owns.
      const again = await runCli(app.cwd, env, ['start']);
      expect(again.stderr).toContain(`${parent} belongs to ${user.name}`);
      expect(again.status).toBe(1);
    } finally {
      // The client cannot reach it through the swapped path (that is the point): stop it by pid.
      process.kill(record.supervisorPid, 'SIGTERM');
      await waitFor(() => !existsSync(`/proc/${record.supervisorPid}`), { timeout: 20_000 });
    }
    expect(readdirSync(join(parent, 'target'))).toEqual([]);
  });
});
