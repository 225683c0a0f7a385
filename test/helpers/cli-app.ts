/**
 * An app in a temporary folder for tests that drive the built binary (`npm run build` first):
 * its config, its run dir, a `cli()` that runs `naija-sup` there, and the end-of-test check that
 * nothing runs in that folder any more. The supervisor is often a grandchild whose pid no test
 * knows in advance, so "gone" means: no process has the folder as its working directory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertAllGone, fixture, killAllTracked, track, trackedPids, waitFor } from './processes.js';
import { freePort } from './supervise.js';

export const BIN = fileURLToPath(new URL('../../bin/naija-sup.js', import.meta.url));

const dirs: string[] = [];

/** Pids whose working directory is `dir` (the supervisor and the instance run there). */
export function processesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** Whether `pid` is a naija-sup supervisor of this build (`node … bin/naija-sup.js start …`). */
function isSupervisor(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(BIN) && argv.includes('start');
  } catch {
    return false; // gone
  }
}

/** Whether `pid` has exited: gone, or a zombie (state Z or X) not reaped yet. */
function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** `pid (state S, ppid 1, pgid 7): node server.js`, for a failure message; the pid alone once it is gone. */
function describePid(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return `${pid} (state ${state}, ppid ${ppid}, pgid ${pgid}): ${cmdline}`;
  } catch {
    return `${pid} (gone since)`;
  }
}

/**
 * Right after `stop` returned: no process of the app's instance may run in `dir`. Its supervisor
 * may: `stop` returns once it has released the app's name, without waiting for it to close its
 * log and exit (issue 19), so that one must end on its own, within a deadline.
 */
export async function assertStoppedIn(dir: string): Promise<void> {
  // The supervisor may exit between the listing and the look at its command line: exited (a
  // zombie whose parent, PID 1 after setsid, has not reaped it yet) runs nothing.
  const instance = processesIn(dir).filter((pid) => !isSupervisor(pid) && !hasExited(pid));
  if (instance.length > 0) throw new Error(`still running in ${dir} when stop returned: ${instance.map(describePid).join('; ')}`);
  let left: number[] = [];
  await waitFor(() => (left = processesIn(dir)).length === 0, { timeout: 10_000, message: () => `the supervisor did not end after stop: ${left.join(', ')}` });
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface CliApp {
  cwd: string;
  runDir: string;
  port: number;
  env: Record<string, string | undefined>;
  cli(args: string[], timeoutMs?: number): Promise<CliResult>;
}

/** A folder with `.naija-suprc.json` (healthy-server.mjs on a free port unless `config` says otherwise). */
export async function cliApp(config: Record<string, unknown> = {}): Promise<CliApp> {
  const cwd = mkdtempSync(join(tmpdir(), 'naija-sup-cli-app-'));
  dirs.push(cwd);
  const runDir = join(cwd, 'run');
  const port = await freePort();
  writeFileSync(join(cwd, '.naija-suprc.json'), JSON.stringify({
    name: 'cli-app',
    command: [process.execPath, fixture('healthy-server.mjs')],
    port,
    host: '127.0.0.1',
    health: { path: '/health', interval: '25ms' },
    shutdown: { timeout: '5s' },
    ...config,
  }));
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
  return {
    cwd,
    runDir,
    port,
    env,
    cli: (args, timeoutMs = 60_000) => new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { cwd, env, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ status, stdout, stderr });
      });
    }),
  };
}

/** afterEach: every tracked process and every process in an app's folder is gone; then removes the folders. */
export async function endCliApps(): Promise<void> {
  const pids = [...trackedPids.keys()];
  try {
    await assertAllGone(pids, 15_000);
    for (const dir of dirs) {
      let left: number[] = [];
      await waitFor(() => (left = processesIn(dir)).length === 0, { timeout: 15_000, message: () => `still running in ${dir}: ${left.join(', ')}` });
    }
  } finally {
    for (const dir of dirs) for (const pid of processesIn(dir)) track(pid);
    killAllTracked();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
