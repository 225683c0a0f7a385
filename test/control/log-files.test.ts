/**
 * The run dir's log files on a real filesystem: rotation by size, the tail across rotated files,
 * and a follower that keeps up across rotations.
 */
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogWriter, existingLogFiles, formatLogEvent, logFilePath, readLogTail } from '../../src/control/log-files.js';
import { followLog } from '../../src/control/log-follow.js';
import { waitFor } from '../helpers/processes.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-logs-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (i: number): string => `line ${String(i).padStart(4, '0')} ${'x'.repeat(40)}`; // 50 bytes + newline

describe('createLogWriter', () => {
  it('rotates by size and keeps at most maxFiles files of at most maxSize bytes', () => {
    const writer = createLogWriter({ dir, name: 'api', maxSize: 1000, maxFiles: 3 });
    for (let i = 0; i < 200; i += 1) writer.write(line(i));
    writer.close();
    const files = existingLogFiles(dir, 'api');
    expect(files).toEqual([logFilePath(dir, 'api'), logFilePath(dir, 'api', 1), logFilePath(dir, 'api', 2)]);
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(1000);
    // The newest lines are in the current file, the older ones in .1 and .2, nothing older survives.
    const current = readFileSync(files[0] as string, 'utf8').trim().split('\n');
    expect(current.at(-1)).toBe(line(199));
    const oldest = readFileSync(files[2] as string, 'utf8').trim().split('\n');
    expect(Number(oldest[0]?.slice(5, 9))).toBeGreaterThan(100);
    expect(lstatSync(files[0] as string).mode & 0o777).toBe(0o600);
  });

  it('with maxFiles 1 starts the one file afresh', () => {
    const writer = createLogWriter({ dir, name: 'api', maxSize: 200, maxFiles: 1 });
    for (let i = 0; i < 10; i += 1) writer.write(line(i));
    writer.close();
    expect(existingLogFiles(dir, 'api')).toEqual([logFilePath(dir, 'api')]);
    expect(readFileSync(logFilePath(dir, 'api'), 'utf8').trim().split('\n').at(-1)).toBe(line(9));
  });

  it('removes rotated files beyond a lowered maxFiles, keeps one line per write, cuts giant lines', () => {
    for (let i = 1; i <= 4; i += 1) writeFileSync(logFilePath(dir, 'api', i), 'old\n');
    const writer = createLogWriter({ dir, name: 'api', maxSize: 100, maxFiles: 2 });
    writer.write('two\nlines');
    writer.write('y'.repeat(500));
    writer.close();
    expect(existingLogFiles(dir, 'api')).toEqual([logFilePath(dir, 'api'), logFilePath(dir, 'api', 1)]);
    expect(readFileSync(logFilePath(dir, 'api', 1), 'utf8')).toBe('two lines\n');
    expect(readFileSync(logFilePath(dir, 'api'), 'utf8')).toBe(`${'y'.repeat(99)}\n`);
  });

  it('never writes through a symlink planted at the log name', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, logFilePath(dir, 'api'));
    const errors: Error[] = [];
    const writer = createLogWriter({ dir, name: 'api', maxSize: 1000, maxFiles: 2, onError: (e) => errors.push(e) });
    writer.write('attack');
    writer.write('again');
    writer.close();
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(errors).toHaveLength(1); // one report per failure streak
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ELOOP');
  });

  it('formats events: instance output as out/err, supervisor events as sup, none for records', () => {
    const at = new Date('2025-01-02T03:04:05.006Z');
    expect(formatLogEvent({ type: 'output', instance: 1, stream: 'stderr', line: 'boom' }, at)).toBe('2025-01-02T03:04:05.006Z err | boom');
    expect(formatLogEvent({ type: 'output', instance: 1, stream: 'stdout', line: 'hi' }, at)).toBe('2025-01-02T03:04:05.006Z out | hi');
    expect(formatLogEvent({ type: 'ready', instance: 1, pid: 42, readyInMs: 120.4, url: 'http://127.0.0.1:3000/health' }, at)).toBe('2025-01-02T03:04:05.006Z sup | ready: pid 42 in 120 ms at http://127.0.0.1:3000/health');
    expect(formatLogEvent({ type: 'record-written', recordPath: '/r', pidFile: null }, at)).toBeNull();
    // restart.maxRestarts null (the default) is no limit, never the word "null".
    expect(formatLogEvent({ type: 'backoff', delayMs: 400, attempt: 4, restartsInWindow: 4, maxRestarts: null }, at)).toBe('2025-01-02T03:04:05.006Z sup | restarting in 400 ms (attempt 4; 4 restarts in the window)');
    expect(formatLogEvent({ type: 'backoff', delayMs: 400, attempt: 4, restartsInWindow: 4, maxRestarts: 5 }, at)).toBe('2025-01-02T03:04:05.006Z sup | restarting in 400 ms (attempt 4; 4/5 restarts in the window)');
  });
});

describe('readLogTail', () => {
  it('returns the last n lines across rotated files, oldest first, and where the current file ends', () => {
    const writer = createLogWriter({ dir, name: 'api', maxSize: 520, maxFiles: 5 }); // 10 lines per file
    for (let i = 0; i < 35; i += 1) writer.write(line(i));
    writer.close();
    const tail = readLogTail(dir, 'api', 12);
    expect(tail.lines).toEqual(Array.from({ length: 12 }, (_, k) => line(23 + k)));
    expect(tail.position).toEqual({ ino: statSync(logFilePath(dir, 'api')).ino, offset: statSync(logFilePath(dir, 'api')).size });
    expect(readLogTail(dir, 'api', 1000).lines).toHaveLength(35);
    expect(readLogTail(dir, 'api', 0).lines).toEqual([]);
    expect(readLogTail(dir, 'nothing', 10)).toEqual({ lines: [], position: null });
  });

  it('reads a large file from its end only', () => {
    const writer = createLogWriter({ dir, name: 'big', maxSize: 10 * 1024 * 1024, maxFiles: 2 });
    for (let i = 0; i < 50_000; i += 1) writer.write(line(i % 10_000));
    writer.close();
    expect(readLogTail(dir, 'big', 3).lines).toEqual([line(9997), line(9998), line(9999)]);
  });
});

describe('followLog', () => {
  it('prints lines appended after the tail, and keeps following across rotations', async () => {
    // 10 files of 300 bytes: the burst below rotates several times between two polls, yet every
    // line is still on disk, so the follower must print each exactly once.
    const writer = createLogWriter({ dir, name: 'api', maxSize: 300, maxFiles: 10 });
    writer.write('before');
    const { position } = readLogTail(dir, 'api', 10);
    const seen: string[] = [];
    const abort = new AbortController();
    const following = followLog({ dir, name: 'api', signal: abort.signal, from: position, onLine: (l) => seen.push(l), pollMs: 10 });
    writer.write('after 1');
    await waitFor(() => seen.includes('after 1'), { message: () => `seen: ${seen.join('|')}` });
    // 20 lines of ~50 bytes: several rotations while following.
    for (let i = 0; i < 20; i += 1) writer.write(line(i));
    await waitFor(() => seen.includes(line(19)), { message: () => `seen: ${seen.join('|')}` });
    abort.abort();
    await following;
    writer.close();
    expect(seen).not.toContain('before');
    // No line lost or doubled across the rotations.
    expect(existingLogFiles(dir, 'api').length).toBeGreaterThan(3);
    expect(seen).toEqual(['after 1', ...Array.from({ length: 20 }, (_, i) => line(i))]);
  });

  it('waits for a log that does not exist yet, and ends when aborted', async () => {
    const seen: string[] = [];
    const abort = new AbortController();
    const following = followLog({ dir, name: 'late', signal: abort.signal, onLine: (l) => seen.push(l), pollMs: 10 });
    const writer = createLogWriter({ dir, name: 'late', maxSize: 1000, maxFiles: 2 });
    writer.write('first');
    await waitFor(() => seen.includes('first'));
    abort.abort();
    await following;
    writer.close();
    expect(seen).toEqual(['first']);
  });
});
