/**
 * Disk problems are never silent (issue 14), with the built binary (`npm run build` first) on a
 * real, tiny filesystem: a 64 KiB tmpfs mounted as the run dir (these tests run as root, as CI
 * does) and filled with a file until the kernel answers ENOSPC, or remounted read-only. Each test
 * unmounts its tmpfs at the end, and ends with nothing left running in the app's folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { BIN, cliApp, endCliApps, processesIn, type CliApp } from './helpers/cli-app.js';
import { fixture, track, waitFor } from './helpers/processes.js';
import { httpGet } from './helpers/supervise.js';

interface Tmpfs {
  dir: string;
  /** Writes a file until the filesystem is full (ENOSPC); returns its size. */
  fill(): number;
  /** Removes what fill() wrote. */
  free(): void;
  readOnly(): void;
}

const mounts: string[] = [];

function mountTmpfs(): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-tiny-disk-'));
  // mode=700: the run dir must be ours and private (src/control/run-dir.ts).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=700', 'tmpfs', dir]);
  mounts.push(dir);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const block = Buffer.alloc(1024, 0x78);
      // At most 64 blocks fit a 64 KiB filesystem: bounded.
      for (let i = 0; i < 1000; i += 1) {
        try {
          writeFileSync(filler, block, { flag: 'a' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          return statSync(filler).size;
        }
      }
      throw new Error(`${dir} never filled up`);
    },
    free() {
      rmSync(filler, { force: true });
    },
    readOnly() {
      execFileSync('mount', ['-o', 'remount,ro', dir]);
    },
  };
}

afterEach(async () => {
  try {
    await endCliApps();
  } finally {
    for (const dir of mounts.splice(0)) {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    }
  }
});

/** `naija-sup start` in the foreground with its JSON event lines collected. */
function startForeground(a: CliApp): { child: ChildProcess; events: Array<Record<string, unknown>>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'start'], { cwd: a.cwd, env: a.env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) track(child.pid);
  const events: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, events, exited };
}

async function statusOf(a: CliApp): Promise<StatusSnapshot> {
  const r = await a.cli(['status', '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusSnapshot;
}

const warnings = (events: Array<Record<string, unknown>>, text: string): string[] =>
  events.filter((e) => e['event'] === 'warning' && String(e['message']).includes(text)).map((e) => String(e['message']));

describe('the run dir on a disk that fills up (a 64 KiB tmpfs)', () => {
  it('a log write that fails is warned once and shown by status; once there is room the kept lines are written and nothing is lost', async () => {
    const disk = mountTmpfs();
    const a = await cliApp();
    a.env['NAIJA_SUP_RUN_DIR'] = disk.dir;
    const sup = startForeground(a);
    await waitFor(() => sup.events.some((e) => e['event'] === 'ready'), { timeout: 20_000, message: () => 'never ready' });
    disk.fill();
    // Each request makes the server print a line, which the supervisor appends to the log. The
    // page the log was writing to may still have room for a few: write until the disk says no.
    // `ms` (the answer's delay) tags each line: distinct and small.
    const sent: number[] = [];
    const printTen = async (from: number): Promise<void> => {
      const batch = Array.from({ length: 10 }, (_, i) => from + i);
      await Promise.all(batch.map((ms) => httpGet(a.port, `/slow?ms=${ms}`)));
      sent.push(...batch);
      await waitFor(() => sup.events.filter((e) => e['stream'] !== undefined).length >= sent.length, { timeout: 5000 });
    };
    for (let round = 0; round < 20 && warnings(sup.events, 'cannot write the log file').length === 0; round += 1) await printTen(round * 10);
    await waitFor(() => warnings(sup.events, 'cannot write the log file').length > 0, { timeout: 5000, message: () => 'no warning' });
    // Twenty more lines while the disk is full: still one warning, and status says so.
    await printTen(300);
    await printTen(310);
    const logPath = join(disk.dir, 'cli-app.log');
    expect(warnings(sup.events, 'cannot write the log file')).toEqual([expect.stringContaining(`${logPath}: ENOSPC`)]);
    const full = await statusOf(a);
    expect(full.diskProblems).toEqual([{ path: logPath, message: expect.stringContaining('ENOSPC') as unknown, since: expect.any(String) as unknown }]);
    const human = await a.cli(['status']);
    expect(human.stdout).toContain(`cannot write ${logPath}`);

    disk.free();
    const recovered = await waitFor(() => warnings(sup.events, 'is written again')[0], { timeout: 10_000, message: () => 'never recovered' });
    expect(recovered).toContain('no line was lost');
    expect((await statusOf(a)).diskProblems).toBeUndefined();
    const log = readFileSync(logPath, 'utf8');
    for (const ms of sent) expect(log).toContain(` ms=${ms}\n`);
    expect(warnings(sup.events, 'cannot write the log file')).toHaveLength(1);

    sup.child.kill('SIGTERM');
    expect(await sup.exited).toBe(0);
  }, 90_000);

  it('a record that cannot be written stops start with E_RUN_DIR, and its server with it', async () => {
    const disk = mountTmpfs();
    const a = await cliApp();
    a.env['NAIJA_SUP_RUN_DIR'] = disk.dir;
    disk.fill();
    const r = await a.cli(['start']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`cannot write the instance record ${join(disk.dir, 'cli-app.json')}: ENOSPC`);
    expect(r.stderr).toContain('(E_RUN_DIR)');
    expect(r.stderr).toContain('fix: free space on the disk that holds the run dir');
    expect(processesIn(a.cwd)).toEqual([]);
    expect(existsSync(join(disk.dir, 'cli-app.json'))).toBe(false);
  }, 60_000);
});

describe('a read-only run dir', () => {
  it('start -d and start both fail with E_RUN_DIR (not exit 70) and leave nothing running', async () => {
    const disk = mountTmpfs();
    const a = await cliApp();
    a.env['NAIJA_SUP_RUN_DIR'] = disk.dir;
    disk.readOnly();
    const detached = await a.cli(['start', '-d']);
    expect(detached.status, detached.stderr).toBe(1);
    expect(detached.stderr).toContain(`cannot create the background supervisor's output file in the run dir ${disk.dir}: EROFS`);
    expect(detached.stderr).toContain('(E_RUN_DIR)');
    const foreground = await a.cli(['start']);
    expect(foreground.status, foreground.stderr).toBe(1);
    expect(foreground.stderr).toContain('EROFS');
    expect(foreground.stderr).toContain('(E_RUN_DIR)');
    expect(processesIn(a.cwd)).toEqual([]);
  }, 60_000);
});

describe('pidFile', () => {
  it('in a directory that does not exist: a config error naming the path, before anything runs', async () => {
    const a = await cliApp({ pidFile: 'no/such/dir/app.pid' });
    const r = await a.cli(['start']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`pidFile ${join(a.cwd, 'no/such/dir/app.pid')}: the directory ${join(a.cwd, 'no/such/dir')} does not exist`);
    expect(r.stderr).toContain('(E_CONFIG_INVALID)');
    expect(processesIn(a.cwd)).toEqual([]);
  });
});

describe('the detached supervisor\'s own output', () => {
  it('rotates like the logs: <name>.out stays under logs.maxSize while a crashing server restarts', async () => {
    const a = await cliApp({
      command: [process.execPath, fixture('crash-after.mjs')],
      env: { CRASH_AFTER_MS: '200' },
      health: { path: '/', interval: '25ms' },
      restart: { initialDelay: '10ms', maxDelay: '20ms' },
      logs: { maxSize: '4KB', maxFiles: 2 },
    });
    const r = await a.cli(['start', '-d']);
    expect(r.status, r.stderr).toBe(0);
    // The resident supervisor runs with small semi-spaces (its RSS stays flat: bench/soak.mjs).
    const { supervisorPid } = await statusOf(a);
    expect(readFileSync(`/proc/${supervisorPid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=1');
    const out = join(a.runDir, 'cli-app.out');
    // A restart writes about 1 KB of event lines: a rotation within a few restarts.
    await waitFor(() => existsSync(`${out}.1`), { timeout: 30_000, message: () => `${out}.1 never appeared` });
    // Twice more past the size, so the copy was replaced at least once (maxFiles 2: no .out.2).
    const first = readFileSync(`${out}.1`, 'utf8');
    await waitFor(() => readFileSync(`${out}.1`, 'utf8') !== first, { timeout: 30_000, message: () => 'rotated only once' });
    expect(statSync(out).size).toBeLessThanOrEqual(4096 + 2048);
    expect(statSync(`${out}.1`).size).toBeGreaterThanOrEqual(4096);
    expect(existsSync(`${out}.2`)).toBe(false);
    expect(readFileSync(`${out}.1`, 'utf8')).toMatch(/"event":"exited"/);
    const stop = await a.cli(['stop']);
    expect(stop.status, stop.stderr).toBe(0);
  }, 90_000);
});
