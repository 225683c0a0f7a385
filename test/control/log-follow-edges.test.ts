/**
 * `naija-sup logs` and the log writer at their edges: settings that cannot work, event lines the
 * supervisor writes while it runs, and a follower that starts after the file rotated, meets a
 * file truncated in place, a line without its newline, or several rotations between two looks.
 */
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogWriter, formatLogEvent, logFilePath, readLogTail } from '../../src/control/log-files.js';
import { followLog } from '../../src/control/log-follow.js';
import { waitFor } from '../helpers/processes.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-follow-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (i: number): string => `line ${String(i).padStart(4, '0')} ${'x'.repeat(40)}`; // 50 bytes + newline
const AT = new Date('2025-01-02T03:04:05.006Z');
const sup = (text: string): string => `2025-01-02T03:04:05.006Z sup | ${text}`;

/** Follows `name` from `from` into `seen` until the returned stop() is called. */
function follow(name: string, from: ReturnType<typeof readLogTail>['position'] | undefined, pollMs = 10): { seen: string[]; stop: () => Promise<void> } {
  const seen: string[] = [];
  const abort = new AbortController();
  const following = followLog({ dir, name, signal: abort.signal, ...(from === undefined ? {} : { from }), onLine: (l) => seen.push(l), pollMs });
  return { seen, stop: async () => { abort.abort(); await following; } };
}

describe('createLogWriter: settings', () => {
  it('refuses a size or file count that cannot hold a line', () => {
    expect(() => createLogWriter({ dir, name: 'api', maxSize: 0, maxFiles: 2 })).toThrow('maxSize must be a positive integer, got 0');
    expect(() => createLogWriter({ dir, name: 'api', maxSize: 1.5, maxFiles: 2 })).toThrow(RangeError);
    expect(() => createLogWriter({ dir, name: 'api', maxSize: 100, maxFiles: 0 })).toThrow('maxFiles must be an integer ≥ 1, got 0');
  });

  it('writes nothing after close', () => {
    const writer = createLogWriter({ dir, name: 'api', maxSize: 1000, maxFiles: 2 });
    writer.write('kept');
    writer.close();
    writer.write('dropped');
    expect(readLogTail(dir, 'api', 10).lines).toEqual(['kept']);
  });
});

describe('formatLogEvent: supervisor lines', () => {
  it('words liveness failures, forwarded signals, an empty preflight and a fatal without an exit', () => {
    expect(formatLogEvent({ type: 'liveness-failed', instance: 1, failures: 3, detail: 'GET /live → HTTP 500' }, AT)).toBe(sup('liveness probe failed 3 times: GET /live → HTTP 500'));
    expect(formatLogEvent({ type: 'signal-forwarded', signal: 'SIGUSR1', pid: 12 }, AT)).toBe(sup('forwarded SIGUSR1 to pid 12'));
    expect(formatLogEvent({ type: 'preflight', durationMs: 1, findings: [] }, AT)).toBe(sup('preflight: nothing to clean up'));
    expect(formatLogEvent({ type: 'fatal', reason: 'the command was not found', exit: null, exitStatus: 1 }, AT)).toBe(sup('gave up: the command was not found'));
  });
});

describe('followLog: edges', () => {
  it('starts in the rotated file when the log rotated between the tail and the follow', async () => {
    const writer = createLogWriter({ dir, name: 'api', maxSize: 300, maxFiles: 5 });
    writer.write('a');
    const { position } = readLogTail(dir, 'api', 10);
    for (let i = 0; i < 7; i += 1) writer.write(line(i)); // rotates once, after line 4
    writer.close();
    expect(statSync(logFilePath(dir, 'api', 1)).ino).toBe(position?.ino);
    const f = follow('api', position);
    await waitFor(() => f.seen.includes(line(6)), { message: () => `seen: ${f.seen.join('|')}` });
    await f.stop();
    expect(f.seen).toEqual(Array.from({ length: 7 }, (_, i) => line(i)));
  });

  it('reads the new file from its start when the one it tailed was removed', async () => {
    writeFileSync(logFilePath(dir, 'api'), 'old\n');
    const { position } = readLogTail(dir, 'api', 10);
    // Replaced by a new file (written beside it first, so it cannot reuse the old inode), not rotated.
    writeFileSync(join(dir, 'replacement'), 'new 1\nnew 2\n');
    renameSync(join(dir, 'replacement'), logFilePath(dir, 'api'));
    const f = follow('api', position);
    await waitFor(() => f.seen.includes('new 2'), { message: () => `seen: ${f.seen.join('|')}` });
    await f.stop();
    expect(f.seen).toEqual(['new 1', 'new 2']);
  });

  it('starts over in a file truncated in place', async () => {
    const path = logFilePath(dir, 'api');
    writeFileSync(path, `${line(0)}\n${line(1)}\n`);
    const f = follow('api', readLogTail(dir, 'api', 10).position);
    appendFileSync(path, `${line(2)}\n`);
    await waitFor(() => f.seen.includes(line(2)), { message: () => `seen: ${f.seen.join('|')}` });
    truncateSync(path, 0);
    appendFileSync(path, 'short\n');
    await waitFor(() => f.seen.includes('short'), { message: () => `seen: ${f.seen.join('|')}` });
    await f.stop();
    expect(f.seen).toEqual([line(2), 'short']);
  });

  it('prints a last line without its newline once the file it was in is rotated away', async () => {
    const path = logFilePath(dir, 'api');
    writeFileSync(path, 'start\n');
    const f = follow('api', readLogTail(dir, 'api', 10).position);
    appendFileSync(path, 'no newline yet');
    renameSync(path, logFilePath(dir, 'api', 1));
    writeFileSync(path, 'next\n');
    await waitFor(() => f.seen.includes('next'), { message: () => `seen: ${f.seen.join('|')}` });
    await f.stop();
    expect(f.seen).toEqual(['no newline yet', 'next']);
  });

  it('after several rotations between two looks, reads every rotated file still there once, oldest first', async () => {
    // maxFiles 3: the file being followed is rotated out of existence by the burst below.
    const writer = createLogWriter({ dir, name: 'api', maxSize: 110, maxFiles: 3 }); // 2 lines per file
    writer.write('first');
    const f = follow('api', readLogTail(dir, 'api', 10).position, 200);
    // Synchronous: all of it lands before the follower looks again.
    for (let i = 0; i < 10; i += 1) writer.write(line(i));
    writer.close();
    await waitFor(() => f.seen.includes(line(9)), { message: () => `seen: ${f.seen.join('|')}` });
    await f.stop();
    // Lines 0–3 went with the deleted files; the rest arrive once each, in order.
    expect(f.seen.slice(-6)).toEqual([4, 5, 6, 7, 8, 9].map(line));
    expect(new Set(f.seen).size).toBe(f.seen.length);
  });
});

describe('followLog: a read that fails', () => {
  it('closes the file it follows when reading it fails after a rotation (a directory at the log’s name)', async () => {
    const log = logFilePath(dir, 'api');
    appendFileSync(log, 'one\n');
    const fdsTo = (target: string): string[] =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === target;
        } catch {
          return false;
        }
      });
    // A free fd number below the follower's, so the file opened after the rotation does not get the
    // number of the one just closed (a second close of that number would hide a leak).
    const hole = openSync('/dev/null', 'r');
    const seen: string[] = [];
    const abort = new AbortController();
    const following = followLog({ dir, name: 'api', signal: abort.signal, from: readLogTail(dir, 'api', 0).position, onLine: (l) => seen.push(l), pollMs: 10 });
    const outcome = following.then(() => 'ended', (error: NodeJS.ErrnoException) => error.code ?? error.message);
    appendFileSync(log, 'two\n');
    await waitFor(() => seen.includes('two'), { timeout: 5000 });
    closeSync(hole);
    renameSync(log, `${log}.1`);
    mkdirSync(log); // the new current "file" opens, and cannot be read
    expect(await outcome).toBe('EISDIR');
    expect(fdsTo(log)).toEqual([]);
    abort.abort();
  });
});
