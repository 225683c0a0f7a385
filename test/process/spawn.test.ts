import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { NaijaSupError } from '../../src/errors.js';
import { readProcStat } from '../../src/process/identity.js';
import { TRUNCATION_MARKER } from '../../src/process/line-splitter.js';
import {
  KeptLines,
  SpawnError,
  STDERR_KEEP_CHARS,
  STDERR_KEEP_LINES,
  spawnFailureExitStatus,
  spawnInstance,
  startInstance,
  type ChildHandle,
  type ExitInfo,
  type OutputStream,
  type SpawnFunction,
} from '../../src/process/spawn.js';
import {
  assertAllGone,
  childEnv,
  fixture,
  fixtureCommand,
  FIXTURES_DIR,
  killAllTracked,
  trackChild,
  waitForLine,
} from '../helpers/processes.js';

interface Collected {
  handle: ChildHandle;
  lines: { stream: OutputStream; line: string }[];
  linesAtExit: number;
  exit: ExitInfo;
}

/** Runs a fixture to its end, collecting every line and the exit. */
async function runToExit(name: string, env: Record<string, string> = {}): Promise<Collected> {
  const handle = spawnInstance({ command: fixtureCommand(name), cwd: FIXTURES_DIR, env: childEnv(env) });
  trackChild(handle);
  const lines: Collected['lines'] = [];
  handle.on('line', (stream, line) => lines.push({ stream, line }));
  let linesAtExit = -1;
  handle.once('exit', () => {
    linesAtExit = lines.length;
  });
  const exit = await handle.waitForExit();
  return { handle, lines, linesAtExit, exit };
}

const numbered = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `e${from + i}`);

const of = (collected: Collected, stream: OutputStream): string[] =>
  collected.lines.filter((entry) => entry.stream === stream).map((entry) => entry.line);

afterEach(() => {
  vi.useRealTimers();
  killAllTracked();
});

describe('spawnInstance with real processes', () => {
  it('emits each line with its stream, and exit only after the last line', async () => {
    const run = await runToExit('print-output.mjs');
    expect(of(run, 'stdout')).toEqual(['out 1', 'out 2', 'out 3']);
    expect(of(run, 'stderr')).toEqual(['err 1', 'err 2', 'err 3']);
    expect(run.linesAtExit).toBe(6);
    expect(run.exit).toEqual({ code: 0, signal: null });
    expect(run.handle.exitInfo).toEqual({ code: 0, signal: null });
    await assertAllGone([run.handle.pid as number]);
  });

  it('handles \\r\\n and a last line without a newline', async () => {
    const run = await runToExit('print-output.mjs', { OUTPUT_MODE: 'crlf' });
    expect(of(run, 'stdout')).toEqual(['a', 'b', 'no newline at end']);
    await assertAllGone([run.handle.pid as number]);
  });

  it('survives output that is not UTF-8', async () => {
    const run = await runToExit('print-output.mjs', { OUTPUT_MODE: 'binary' });
    expect(of(run, 'stdout')).toEqual(['bin \uFFFD\uFFFD', 'after binary']);
    expect(run.exit.code).toBe(0);
    await assertAllGone([run.handle.pid as number]);
  });

  it('caps a very long line and goes on with the next', async () => {
    const run = await runToExit('print-output.mjs', { OUTPUT_MODE: 'long-line', LENGTH: '100000' });
    expect(of(run, 'stdout')).toEqual([`${'x'.repeat(64 * 1024)}${TRUNCATION_MARKER}`, 'short']);
    await assertAllGone([run.handle.pid as number]);
  });

  it('keeps all the stderr of a short run and returns the last n', async () => {
    const run = await runToExit('print-output.mjs', { OUTPUT_MODE: 'many-stderr', LINES: '60' });
    expect(run.handle.stderrKept()).toEqual(numbered(1, 60));
    expect(run.handle.stderrTail()).toEqual(numbered(41, 60));
    expect(run.handle.stderrTail(5)).toEqual(numbered(56, 60));
    expect(run.handle.stderrTail(100)).toEqual(numbered(1, 60));
    expect(run.handle.stderrTail(0)).toEqual([]);
    await assertAllGone([run.handle.pid as number]);
  });

  it('keeps the first and the last lines of a long stderr, bounded, and counts the lines between', async () => {
    const total = 3 * STDERR_KEEP_LINES;
    const run = await runToExit('print-output.mjs', { OUTPUT_MODE: 'many-stderr', LINES: String(total) });
    expect(of(run, 'stderr')).toHaveLength(total);
    expect(run.handle.stderrKept()).toEqual([
      ...numbered(1, STDERR_KEEP_LINES),
      `[naija-sup: ${STDERR_KEEP_LINES} stderr lines not kept]`,
      ...numbered(2 * STDERR_KEEP_LINES + 1, total),
    ]);
    // The display tail never reaches across the gap.
    expect(run.handle.stderrTail(STDERR_KEEP_LINES + 5)).toEqual(numbered(2 * STDERR_KEEP_LINES + 1, total));
    await assertAllGone([run.handle.pid as number]);
  });

  it('sees a line written in two chunks as one line', async () => {
    const handle = spawnInstance({ command: fixtureCommand('log-ready.mjs'), cwd: FIXTURES_DIR, env: childEnv({ SPLIT_GAP_MS: '50' }) });
    trackChild(handle);
    const lines: string[] = [];
    handle.on('line', (_stream, line) => lines.push(line));
    await waitForLine(handle, /^Server is up$/, 10_000);
    expect(lines.filter((line) => line.startsWith('Server') || line.startsWith('s up'))).toEqual(['Server is up']);
    const target = handle.groupTarget();
    if (target === null) throw new Error('no target');
    process.kill(target.pid, 'SIGTERM'); // our own child, just spawned: it is the leader of its group
    expect(await handle.waitForExit()).toEqual({ code: null, signal: 'SIGTERM' });
    await assertAllGone([target.pid]);
  });

  it('reports a death by signal', async () => {
    const run = await runToExit('exit-with.mjs', { EXIT_SIGNAL: 'SIGKILL' });
    expect(run.exit).toEqual({ code: null, signal: 'SIGKILL' });
    await assertAllGone([run.handle.pid as number]);
  });

  it('passes the exit code through', async () => {
    const run = await runToExit('exit-with.mjs', { EXIT_CODE: '42', STDERR_TEXT: 'bye' });
    expect(run.exit).toEqual({ code: 42, signal: null });
    expect(run.handle.stderrTail()).toEqual(['bye']);
    await assertAllGone([run.handle.pid as number]);
  });

  it('starts the child as leader of its own session and process group', async () => {
    const handle = spawnInstance({ command: fixtureCommand('never-ready.mjs'), cwd: FIXTURES_DIR, env: childEnv() });
    trackChild(handle);
    await waitForLine(handle, /STARTED/);
    const stat = readProcStat(handle.pid as number);
    const self = readProcStat(process.pid);
    expect(handle.pgid).toBe(handle.pid);
    expect(stat?.pgid).toBe(handle.pid);
    expect(stat?.sid).toBe(handle.pid);
    expect(stat?.pgid).not.toBe(self?.pgid);
    expect(handle.identity()).toMatchObject({ pid: handle.pid, pgid: handle.pid, cmdline: fixtureCommand('never-ready.mjs') });
    expect(handle.startedAt).toBeLessThanOrEqual(Date.now());
    process.kill(handle.pid as number, 'SIGTERM');
    await handle.waitForExit();
    await assertAllGone([handle.pid as number]);
  });

  it('gives the child exactly the env it was given, minus undefined values', async () => {
    const handle = spawnInstance({
      command: [process.execPath, '-e', 'console.log(`${process.env.FOO}|${process.env.BAR}|${process.env.HOME === undefined}`)'],
      cwd: FIXTURES_DIR,
      env: { FOO: 'foo', BAR: undefined, PATH: process.env['PATH'] },
    });
    trackChild(handle);
    const match = await waitForLine(handle, /^.*\|.*$/);
    expect(match[0]).toBe('foo|undefined|true');
    await handle.waitForExit();
    await assertAllGone([handle.pid as number]);
  });

  it('passes extra fds as fd 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-fd-'));
    const file = join(dir, 'out.txt');
    const fd = openSync(file, 'w');
    try {
      const handle = spawnInstance({
        command: [process.execPath, '-e', "require('node:fs').writeSync(3, 'via fd 3')"],
        cwd: dir,
        env: childEnv(),
        extraFds: [fd],
      });
      trackChild(handle);
      expect(await handle.waitForExit()).toEqual({ code: 0, signal: null });
      expect(readFileSync(file, 'utf8')).toBe('via fd 3');
      await assertAllGone([handle.pid as number]);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('spawn failures', () => {
  it('reports a missing command as ENOENT with exit status 127, and no exit event', async () => {
    const handle = spawnInstance({ command: ['naija-sup-no-such-command-xyz', '--flag'], cwd: FIXTURES_DIR, env: childEnv() });
    expect(handle.pid).toBeNull();
    expect(handle.groupTarget()).toBeNull();
    const exitListener = vi.fn();
    handle.on('exit', exitListener);
    const error = await new Promise<SpawnError>((resolve) => handle.once('error', resolve));
    expect(error).toBeInstanceOf(SpawnError);
    expect(error).toMatchObject({ code: 'ENOENT', reason: 'command-not-found', exitStatus: 127 });
    expect(error.message).toContain('naija-sup-no-such-command-xyz');
    await expect(handle.waitForExit()).rejects.toBe(error);
    expect(exitListener).not.toHaveBeenCalled();
  });

  it('reports a file that is not executable as EACCES with exit status 126', async () => {
    // The fixture has no execute bit.
    await expect(startInstance({ command: [fixture('healthy-server.mjs')], cwd: FIXTURES_DIR, env: childEnv() })).rejects.toMatchObject({
      code: 'EACCES',
      reason: 'permission-denied',
      exitStatus: 126,
    });
  });

  it('names a missing working directory instead of calling the command missing', async () => {
    const error = await startInstance({ command: [process.execPath, '-v'], cwd: '/nonexistent/naija-sup-dir', env: childEnv() }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'ENOENT', reason: 'cwd-not-found', exitStatus: 1 });
    expect((error as Error).message).toContain('/nonexistent/naija-sup-dir');
  });

  it('throws E_NO_COMMAND for an empty command', () => {
    expect(() => spawnInstance({ command: [], cwd: FIXTURES_DIR, env: {} })).toThrow(NaijaSupError);
    expect(() => spawnInstance({ command: [''], cwd: FIXTURES_DIR, env: {} })).toThrow(/No command/);
  });

  it('maps errno codes to shell exit statuses', () => {
    expect(spawnFailureExitStatus('ENOENT')).toBe(127);
    expect(spawnFailureExitStatus('EACCES')).toBe(126);
    expect(spawnFailureExitStatus('E2BIG')).toBe(1);
    expect(spawnFailureExitStatus('ENOENT', 'cwd-not-found')).toBe(1);
  });

  it('startInstance resolves with a running child', async () => {
    const child = await startInstance({ command: fixtureCommand('exit-with.mjs'), cwd: FIXTURES_DIR, env: childEnv({ EXIT_CODE: '3' }) });
    trackChild(child);
    expect(child.pid).toBeGreaterThan(0);
    expect(await child.waitForExit()).toEqual({ code: 3, signal: null });
    await assertAllGone([child.pid]);
  });
});

describe('spawnInstance with an injected spawn (no processes)', () => {
  class FakeChild extends EventEmitter {
    readonly stdout = new PassThrough();
    readonly stderr = new PassThrough();
    constructor(readonly pid: number | undefined) {
      super();
    }
  }

  const fakeSpawn = (child: FakeChild, calls: unknown[][]): SpawnFunction =>
    ((file: string, args: readonly string[], options: SpawnOptions) => {
      calls.push([file, args, options]);
      return child as unknown as ChildProcess;
    }) as SpawnFunction;

  it('spawns detached, without a shell, with stdin ignored and extra fds after stderr', () => {
    const calls: unknown[][] = [];
    spawnInstance({
      command: ['uvicorn', 'app:app', '--fd', '3'],
      cwd: FIXTURES_DIR,
      env: { A: '1', B: undefined },
      extraFds: [7],
      spawn: fakeSpawn(new FakeChild(4321), calls),
      proc: createProc('/nonexistent-proc'),
    });
    expect(calls).toHaveLength(1);
    const [file, args, options] = calls[0] as [string, string[], SpawnOptions];
    expect(file).toBe('uvicorn');
    expect(args).toEqual(['app:app', '--fd', '3']);
    expect(options).toMatchObject({ detached: true, shell: false, stdio: ['ignore', 'pipe', 'pipe', 7], env: { A: '1' }, cwd: FIXTURES_DIR });
    expect(options.env).not.toHaveProperty('B');
  });

  it('fires exit after a bounded flush when a grandchild keeps the pipes open', async () => {
    vi.useFakeTimers();
    const child = new FakeChild(4321);
    const handle = spawnInstance({
      command: ['server'],
      cwd: FIXTURES_DIR,
      env: {},
      spawn: fakeSpawn(child, []),
      exitFlushMs: 200,
      proc: createProc('/nonexistent-proc'),
    });
    const exits: ExitInfo[] = [];
    const lines: string[] = [];
    handle.on('exit', (info) => exits.push(info));
    handle.on('line', (_stream, line) => lines.push(line));

    child.stdout.write('before exit\n');
    child.emit('exit', null, 'SIGTERM');
    await vi.advanceTimersByTimeAsync(199);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([{ code: null, signal: 'SIGTERM' }]);
    expect(lines).toEqual(['before exit']);

    // A grandchild still writing: lines keep coming, exit does not fire twice.
    child.stdout.write('from the grandchild\n');
    child.stdout.end();
    child.stderr.end();
    await vi.advanceTimersByTimeAsync(10);
    expect(lines).toEqual(['before exit', 'from the grandchild']);
    expect(exits).toHaveLength(1);
  });

  it('fires exit as soon as both pipes have closed, flushing a last unterminated line first', async () => {
    vi.useFakeTimers();
    const child = new FakeChild(4321);
    const handle = spawnInstance({ command: ['server'], cwd: FIXTURES_DIR, env: {}, spawn: fakeSpawn(child, []), proc: createProc('/nonexistent-proc') });
    const events: string[] = [];
    handle.on('line', (stream, line) => events.push(`${stream}:${line}`));
    handle.on('exit', (info) => events.push(`exit:${String(info.code)}`));
    child.stderr.write('Error: partial');
    child.emit('exit', 1, null);
    child.stdout.end();
    child.stderr.end();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['stderr:Error: partial', 'exit:1']);
    expect(handle.stderrTail()).toEqual(['Error: partial']);
  });
});

describe('KeptLines (the stderr kept for classification)', () => {
  it('keeps everything while it fits', () => {
    const kept = new KeptLines();
    for (const line of ['a', 'b', 'c']) kept.push(line);
    expect(kept.all()).toEqual(['a', 'b', 'c']);
    expect(kept.last(2)).toEqual(['b', 'c']);
    expect(kept.skipped).toBe(0);
  });

  it('bounds memory by characters: a flood of long lines keeps about 64 KiB at each end', () => {
    const kept = new KeptLines();
    const line = (i: number): string => `${String(i).padStart(6, '0')}${'x'.repeat(1017)}`; // 1023 chars + 1 = 1 KiB each
    for (let i = 0; i < 10_000; i += 1) kept.push(line(i));
    const all = kept.all();
    const chars = all.reduce((sum, text) => sum + text.length + 1, 0);
    expect(chars).toBeLessThanOrEqual(2 * STDERR_KEEP_CHARS + 100);
    expect(all[0]).toBe(line(0));
    expect(all[63]).toBe(line(63));
    expect(all[64]).toBe(`[naija-sup: ${10_000 - 128} stderr lines not kept]`);
    expect(all.at(-1)).toBe(line(9_999));
    expect(all).toHaveLength(64 + 1 + 64);
  });

  it('bounds memory by lines: a flood of empty lines keeps at most STDERR_KEEP_LINES at each end', () => {
    const kept = new KeptLines();
    for (let i = 0; i < 5 * STDERR_KEEP_LINES; i += 1) kept.push('');
    expect(kept.all()).toHaveLength(2 * STDERR_KEEP_LINES + 1);
    expect(kept.skipped).toBe(3 * STDERR_KEEP_LINES);
  });

  it('a line longer than the budget closes the head and still gets the tail to itself', () => {
    const kept = new KeptLines();
    const huge = 'y'.repeat(STDERR_KEEP_CHARS + 10);
    kept.push('first');
    kept.push(huge);
    kept.push('short after');
    expect(kept.all()).toEqual(['first', '[naija-sup: 1 stderr line not kept]', 'short after']);
    kept.push(huge);
    expect(kept.last(1)).toEqual([huge]);
  });
});
