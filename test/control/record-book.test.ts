import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordBook } from '../../src/control/record-book.js';
import { expandRecord, readRecord, writeRecord, type InstanceRecord } from '../../src/control/record.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function runDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'naija-sup-book-'));
  dirs.push(d);
  return d;
}

const rec = (pid: number, port = 8000): InstanceRecord => ({
  version: 1, name: 'api', pid, pgid: pid, startTime: String(pid * 10), bootId: 'b', cmdline: ['node', 's.js'], port, host: '127.0.0.1',
  supervisorPid: process.pid, supervisorStartTime: '1', startedAt: pid, cwd: '/srv',
});

describe('RecordBook: one record naming every process of the app', () => {
  it('the newest live process is the primary, the rest are its others; removing one rewrites, the last removes the file', () => {
    const dir = runDir();
    const book = new RecordBook(dir);
    book.add(rec(100));
    expect(readRecord(dir, 'api')).toMatchObject({ pid: 100 });
    expect(readRecord(dir, 'api')?.others).toBeUndefined();
    book.add(rec(200, 41000));
    const both = readRecord(dir, 'api') as InstanceRecord;
    expect(both.pid).toBe(200);
    expect(both.others).toEqual([{ pid: 100, pgid: 100, startTime: '1000', cmdline: ['node', 's.js'], port: 8000, host: '127.0.0.1', startedAt: 100 }]);
    expect(expandRecord(both).map((r) => [r.pid, r.port, r.supervisorPid])).toEqual([[200, 41000, process.pid], [100, 8000, process.pid]]);
    // A rollback: green (200) goes, blue (100) is the primary again.
    book.remove('api', 200);
    expect(readRecord(dir, 'api')).toMatchObject({ pid: 100 });
    expect(readRecord(dir, 'api')?.others).toBeUndefined();
    book.remove('api', 100);
    expect(readRecord(dir, 'api')).toBeNull();
  });

  it('never rewrites a record another supervisor owns now', () => {
    const dir = runDir();
    const book = new RecordBook(dir);
    book.add(rec(100));
    book.add(rec(200));
    writeRecord(dir, { ...rec(300), supervisorPid: process.pid + 1 });
    book.remove('api', 200);
    expect(readRecord(dir, 'api')).toMatchObject({ pid: 300 });
  });
});
