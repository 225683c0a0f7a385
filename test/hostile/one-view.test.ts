/**
 * Issue 15, "one user, one view": a shell (XDG_RUNTIME_DIR set) and a cron job (none; another
 * TMPDIR) use different run dirs. The cron job's `start --kill-existing` must not stop the shell's
 * supervised instance, and its `ls`, `status` and `stop` see the shell's app. Real supervisors,
 * real port, through the built CLI (`npm run build` first).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cliApp, endCliApps } from '../helpers/cli-app.js';
import { isRunning, track, waitFor } from '../helpers/processes.js';

function runCli(cwd: string, env: Record<string, string | undefined>, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

afterEach(endCliApps);

describe('two run dirs of one user', () => {
  it('a cron job without XDG_RUNTIME_DIR sees, protects and stops the app a shell started with it', async () => {
    const shell = await cliApp({ name: 'shell-app' });
    const xdg = join(shell.cwd, 'xdg');
    mkdirSync(xdg, { mode: 0o700 });
    const shellEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', XDG_RUNTIME_DIR: xdg };
    // The cron job: same port (a stale config, or a mistake), no XDG_RUNTIME_DIR, its own TMPDIR.
    const cron = await cliApp({ name: 'cron-app', port: shell.port });
    const cronTmp = join(cron.cwd, 'tmp');
    mkdirSync(cronTmp, { mode: 0o700 });
    const cronEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', TMPDIR: cronTmp };

    const started = await runCli(shell.cwd, shellEnv, ['start', '-d']);
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    const record = JSON.parse(readFileSync(join(xdg, 'naija-sup', 'shell-app.json'), 'utf8')) as { pid: number; supervisorPid: number };
    track(record.supervisorPid);
    track(record.pid);

    // --kill-existing from the other run dir: refused, the shell's instance untouched.
    const kill = await runCli(cron.cwd, cronEnv, ['start', '--kill-existing']);
    expect(kill.stderr).toContain('(E_PORT_IN_USE)');
    expect(kill.stderr).toContain('supervised by naija-sup (app "shell-app"');
    expect(kill.status).not.toBe(0);
    expect(isRunning(record.pid)).toBe(true);

    // ls, status and stop from the cron job's environment see the shell's app.
    const ls = await runCli(cron.cwd, cronEnv, ['ls']);
    expect(ls.stdout).toMatch(/^shell-app\s/m);
    const status = await runCli(cron.cwd, cronEnv, ['status', '--name', 'shell-app', '--json']);
    expect(status.status).toBe(0);
    expect((JSON.parse(status.stdout) as { instancePid: number }).instancePid).toBe(record.pid);
    const stop = await runCli(cron.cwd, cronEnv, ['stop', '--name', 'shell-app']);
    expect(stop.status).toBe(0);
    await waitFor(() => !isRunning(record.supervisorPid), { timeout: 10_000, message: 'the supervisor did not end' });
  });
});
