/**
 * Hostile-neighbour tests (issue 15) need a second, unprivileged local user: created here with
 * useradd (no home, no shell), removed with userdel in afterAll. Creating users needs root; when
 * the tests do not run as root, {@link rootOnly} says why and the suite does not run (this
 * project's machines and CI run as root, so there they always run).
 *
 * Its processes are started with setpriv (same pid, so the tests track and assert them gone) and
 * run only the scripts in test/hostile/fixtures/, each bounded in count and time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture } from '../helpers/processes.js';
import { track, waitFor } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';

export const BIN = fileURLToPath(new URL('../../bin/naija-sup.js', import.meta.url));
export const HOSTILE_FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Why these tests cannot run here, or null when they can (root). Printed once when not null. */
export const rootOnly: string | null = typeof process.getuid === 'function' && process.getuid() === 0
  ? null
  : 'issue 15 attack tests need root to create a second local user (useradd); run them as root';
if (rootOnly !== null) console.log(`test/hostile: skipped: ${rootOnly}`);

export interface Attacker {
  name: string;
  uid: number;
  gid: number;
  /** Runs a fixture of test/hostile/fixtures/ as the attacker; its pid is tracked. */
  run(script: string, args: string[]): AttackProcess;
  remove(): void;
}

export interface AttackProcess {
  child: ChildProcess;
  output(): string;
  /** Waits until the output matches; returns the match. */
  waitFor(regex: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** useradd and userdel live in /usr/sbin, which a non-login PATH (cron, CI runners) may lack. */
const ADMIN_ENV = { ...process.env, PATH: `${process.env['PATH'] ?? '/usr/bin:/bin'}:/usr/sbin:/sbin` };

export function createAttacker(): Attacker {
  const name = `naijasup-attacker-${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', name], { env: ADMIN_ENV, timeout: 30_000 });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  let removed = false;
  return {
    name,
    uid,
    gid,
    run(script, args) {
      const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, join(HOSTILE_FIXTURES, script), ...args], {
        cwd: '/',
        env: { PATH: process.env['PATH'] },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (child.pid !== undefined) track(child.pid);
      let text = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => { text += d; });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => { text += d; });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return {
        child,
        output: () => text,
        exited,
        waitFor: (regex, timeoutMs = 30_000) => waitFor(() => regex.exec(text), { timeout: timeoutMs, message: () => `attacker output: ${text}` }),
      };
    },
    remove() {
      if (removed) return;
      removed = true;
      // Anything of its still running would make userdel refuse; the scripts end by themselves.
      execFileSync('userdel', [name], { env: ADMIN_ENV, timeout: 30_000 });
    },
  };
}

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

export interface HostileApp {
  cwd: string;
  runDir: string;
  port: number;
  /** Runs the CLI (optionally under `ulimit -n`); resolves with its status and output. */
  cli(args: string[], options?: { ulimit?: number; timeoutMs?: number }): Promise<{ status: number; stdout: string; stderr: string }>;
  cleanup(): void;
}

/** An app folder with a config for the healthy fixture (plus `config`), and its private run dir. */
export async function hostileApp(name: string, config: Record<string, unknown> = {}): Promise<HostileApp> {
  const cwd = mkdtempSync(join(tmpdir(), 'naija-sup-hostile-'));
  const runDir = join(cwd, 'run');
  const port = await freePort();
  writeFileSync(join(cwd, '.naija-suprc.json'), JSON.stringify({
    name,
    command: [process.execPath, fixture('healthy-server.mjs')],
    port,
    host: '127.0.0.1',
    health: { path: '/health', interval: '50ms' },
    shutdown: { timeout: '5s' },
    ...config,
  }));
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir };
  return {
    cwd,
    runDir,
    port,
    cli: (args, options = {}) => new Promise((resolve) => {
      const argv = options.ulimit === undefined
        ? [process.execPath, BIN, ...args]
        : ['/bin/sh', '-c', `ulimit -n ${options.ulimit} && exec "$0" "$@"`, process.execPath, BIN, ...args];
      const child = spawn(argv[0] as string, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ status: code ?? -1, stdout, stderr });
      });
    }),
    cleanup: () => rmSync(cwd, { recursive: true, force: true }),
  };
}
