/**
 * The log writer when its file cannot be written (issue 14), on real files: a symlink planted at the
 * log's name (O_NOFOLLOW refuses it: ELOOP). Reported once per failure streak, the lines kept in a
 * bounded backlog and retried on a timer (fake timers), the recovery reported with what was lost.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogWriter } from '../../src/control/log-files.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-log-errors-'));
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

function planted(): string {
  const target = join(dir, 'elsewhere');
  writeFileSync(target, '');
  symlinkSync(target, join(dir, 'app.log'));
  return target;
}

describe('a log file that cannot be written', () => {
  it('reports once, keeps the lines, and writes them all when a retry succeeds', async () => {
    const target = planted();
    const errors: Error[] = [];
    const recovered: number[] = [];
    const log = createLogWriter({ dir, name: 'app', maxSize: 1 << 20, maxFiles: 2, retryMs: 500, onError: (e) => errors.push(e), onRecover: (n) => recovered.push(n) });
    for (let i = 1; i <= 5; i += 1) log.write(`line ${i}`);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ELOOP']);
    expect(readFileSync(target, 'utf8')).toBe('');
    await vi.advanceTimersByTimeAsync(2000);
    expect(errors).toHaveLength(1);
    expect(recovered).toEqual([]);

    rmSync(join(dir, 'app.log'));
    // No new line: the timer alone retries.
    await vi.advanceTimersByTimeAsync(500);
    expect(recovered).toEqual([0]);
    expect(readFileSync(join(dir, 'app.log'), 'utf8')).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
    log.write('line 6');
    expect(readFileSync(join(dir, 'app.log'), 'utf8')).toMatch(/line 5\nline 6\n$/);
    log.close();
  });

  it('drops the oldest lines beyond 256 KiB and says how many were lost', async () => {
    planted();
    const errors: Error[] = [];
    const recovered: number[] = [];
    const log = createLogWriter({ dir, name: 'app', maxSize: 1 << 20, maxFiles: 2, retryMs: 100, onError: (e) => errors.push(e), onRecover: (n) => recovered.push(n) });
    const line = 'x'.repeat(1023); // 1 KiB with its newline
    for (let i = 0; i < 300; i += 1) log.write(`${i} ${line}`.slice(0, 1023));
    rmSync(join(dir, 'app.log'));
    await vi.advanceTimersByTimeAsync(100);
    expect(recovered).toEqual([300 - 256]);
    const written = readFileSync(join(dir, 'app.log'), 'utf8').split('\n').filter(Boolean);
    expect(written).toHaveLength(256);
    expect(written[0]?.startsWith('44 ')).toBe(true);

    log.close();
  });

  it('close() ends the retries', async () => {
    planted();
    const errors: Error[] = [];
    const log = createLogWriter({ dir, name: 'app', maxSize: 1 << 20, maxFiles: 2, retryMs: 100, onError: (e) => errors.push(e) });
    log.write('lost on close');
    log.close();
    rmSync(join(dir, 'app.log'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(() => readFileSync(join(dir, 'app.log'))).toThrow(/ENOENT/);
    expect(vi.getTimerCount()).toBe(0);
  });
});
