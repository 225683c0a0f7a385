/**
 * The /proc readers (src/process/proc-read.ts) on a fake /proc laid out in a temporary directory:
 * every parser's edges, and every reader's answer for a missing or unreadable file. (Readers of the
 * real /proc are exercised by identity.test.ts and the integration suites.)
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSameProcess, pidExists } from '../../src/process/identity.js';
import {
  countOpenFiles, DEFAULT_PROC_ROOT, hasExited, hasProcFs, isPlausiblePid, parseProcStat, parseVmRss, readCmdline, readOpenFileLimit,
  readProcNetTable, readProcStat, readSocketInodes, readUid, readUnixListenerInodes, readUptimeSeconds, readVmRss,
} from '../../src/process/proc-read.js';
import { readProcNetTableAsync } from '../../src/process/proc-io.js';
import { createFakeProc, statLine, type FakeProc } from '../helpers/processes.js';

let proc: FakeProc;
beforeEach(() => {
  proc = createFakeProc('boot-A');
});
afterEach(() => proc.cleanup());

function write(relative: string, text: string): string {
  const path = join(proc.root, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('parseProcStat: what it refuses', () => {
  const good = statLine({ pid: 10, comm: 'node', startTime: '123' });

  it('accepts the kernel\'s line, also with a run of spaces between fields', () => {
    expect(parseProcStat(good)).toMatchObject({ pid: 10, comm: 'node', state: 'S', startTime: '123' });
    expect(parseProcStat(good.replace(') S ', ')   S   '))).toMatchObject({ pid: 10, state: 'S', ppid: 1 });
    expect(parseProcStat(` ${good}`)?.pid).toBe(10);
    // The pid is whatever precedes the "(", also one digit without a space.
    expect(parseProcStat(good.replace(/^10 \(/, '7('))?.pid).toBe(7);
  });

  it.each([
    ['no comm at all', '10 S 1 10 10 0'],
    ['a comm that is not closed', '10 (node S 1 10 10 0'],
    ['a ")" before the "("', '10 ) S 1 (node'],
    ['a ")" before the "(", even with every field after it', '10 ) S 1 10 10 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 123 0 (x'],
    ['no pid before the comm', '(node) S 1 10 10 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 123 0'],
    ['pid 0', good.replace(/^10 /, '0 ')],
    ['a state of two letters', good.replace(') S ', ') SS ')],
    ['a state that is a digit', good.replace(') S ', ') 1 ')],
    ['a start time with a sign', good.replace(' 123 ', ' -123 ')],
    ['a start time with a unit', good.replace(' 123 ', ' 123x ')],
    ['a start time that is not a number', good.replace(' 123 ', ' x123 ')],
    ['a line cut before the start time', good.split(' ').slice(0, 21).join(' ')],
  ])('refuses %s', (_what, line) => {
    expect(parseProcStat(line)).toBeNull();
  });

  it('takes the comm between the first "(" and the last ")"', () => {
    expect(parseProcStat('10 (a (b)) S 1 10 10 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 123 0')?.comm).toBe('a (b)');
  });
});

describe('hasExited: a zombie whose threads are still going', () => {
  it('reads /proc/PID/task: exited once every readable thread is a zombie or dead; not when none is readable', () => {
    proc.add({ pid: 50, state: 'Z', threads: 3 });
    const stat = readProcStat(50, proc.root);
    if (stat === null) throw new Error('fake stat unreadable');
    // No task directory: cannot tell, so not exited.
    expect(hasExited(stat, proc.root)).toBe(false);
    write('50/task/50/stat', statLine({ pid: 50, state: 'Z' }));
    write('50/task/51/stat', statLine({ pid: 51, state: 'S' }));
    expect(hasExited(stat, proc.root)).toBe(false);
    write('50/task/51/stat', statLine({ pid: 51, state: 'X' }));
    mkdirSync(join(proc.root, '50', 'task', '52')); // a thread gone between the listing and the read
    expect(hasExited(stat, proc.root)).toBe(true);
    // A task directory whose threads are all unreadable tells nothing.
    rmSync(join(proc.root, '50', 'task'), { recursive: true });
    mkdirSync(join(proc.root, '50', 'task', '53'), { recursive: true });
    expect(hasExited(stat, proc.root)).toBe(false);
    // A thread whose stat is garbage is not known to be a zombie.
    write('50/task/53/stat', 'garbage');
    expect(hasExited(stat, proc.root)).toBe(false);
  });

  it('a running process has not exited, whatever its threads', () => {
    proc.add({ pid: 51, state: 'R', threads: 1 });
    expect(hasExited(readProcStat(51, proc.root)!, proc.root)).toBe(false);
  });
});

describe('readers of one process', () => {
  it('give nothing for a pid that cannot name a process, without reading', () => {
    proc.add({ pid: 1, cmdline: ['init'] });
    write('0/status', 'Uid:\t0\t0\t0\t0\nVmRSS:\t 100 kB\n');
    write('0/stat', statLine({ pid: 1 }));
    write('0/cmdline', 'x\0');
    expect(readProcStat(0, proc.root)).toBeNull();
    expect(readCmdline(0, proc.root)).toEqual([]);
    expect(readUid(0, proc.root)).toBeNull();
    expect(readVmRss(0, proc.root)).toBeNull();
    expect(readCmdline(-1, proc.root)).toEqual([]);
    expect(isPlausiblePid(1)).toBe(true);
    expect([0, -1, 1.5, Number.NaN].map(isPlausiblePid)).toEqual([false, false, false, false]);
  });

  it('readCmdline: the arguments, an empty last one kept when it is real, [] for an empty or missing file', () => {
    write('60/cmdline', 'node\0server.js\0');
    expect(readCmdline(60, proc.root)).toEqual(['node', 'server.js']);
    write('60/cmdline', 'node\0\0');
    expect(readCmdline(60, proc.root)).toEqual(['node', '']);
    write('60/cmdline', 'renamed by setproctitle');
    expect(readCmdline(60, proc.root)).toEqual(['renamed by setproctitle']);
    write('60/cmdline', '');
    expect(readCmdline(60, proc.root)).toEqual([]);
    expect(readCmdline(61, proc.root)).toEqual([]);
  });

  it('readUid: the first (real) uid of the Uid line, only at the start of a line', () => {
    write('70/status', 'Name:\tnode\nUid:\t1000\t0\t0\t0\n');
    expect(readUid(70, proc.root)).toBe(1000);
    write('70/status', 'Name:\tnode\nUid:  1001\t0\t0\t0\n');
    expect(readUid(70, proc.root)).toBe(1001);
    write('70/status', 'Name:\tnode\nXUid:\t5\nGid:\t0\n');
    expect(readUid(70, proc.root)).toBeNull();
    expect(readUid(71, proc.root)).toBeNull();
  });

  it('parseVmRss / readVmRss: kB are KiB; the line must start the line; null without it or the file', () => {
    expect(parseVmRss('Name:\tnode\nVmRSS:\t   51200 kB\n')).toBe(51200 * 1024);
    expect(parseVmRss('VmRSS:\t1  kB')).toBe(1024);
    expect(parseVmRss('Name:\tnode\nXVmRSS:\t1 kB\n')).toBeNull();
    expect(parseVmRss('Name:\tkthreadd\n')).toBeNull();
    write('80/status', 'VmRSS:\t2 kB\n');
    expect(readVmRss(80, proc.root)).toBe(2048);
    expect(readVmRss(81, proc.root)).toBeNull();
  });
});

describe('machine-wide readers', () => {
  it('readUptimeSeconds: the first number, with any whitespace after it', () => {
    write('uptime', '12345.67   890.12\n');
    expect(readUptimeSeconds(proc.root)).toBe(12345.67);
    write('uptime', '12345.67\t890.12\n');
    expect(readUptimeSeconds(proc.root)).toBe(12345.67);
  });

  it('hasProcFs: a fake root is trusted; the real one is probed', () => {
    expect(hasProcFs(proc.root)).toBe(true);
    expect(hasProcFs(join(proc.root, 'nowhere'))).toBe(true);
    expect(hasProcFs(DEFAULT_PROC_ROOT)).toBe(process.platform === 'linux');
    expect(hasProcFs()).toBe(process.platform === 'linux');
  });

  it('readOpenFileLimit: soft and hard, "unlimited" as Infinity, null when absent or not numbers', () => {
    const limits = (soft: string, hard: string) =>
      `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             63432                63432                processes \nMax open files            ${soft}                 ${hard}              files     \n`;
    write('90/limits', limits('1024', '524288'));
    expect(readOpenFileLimit(90, proc.root)).toEqual({ soft: 1024, hard: 524288 });
    write('90/limits', limits('unlimited', 'unlimited'));
    expect(readOpenFileLimit(90, proc.root)).toEqual({ soft: Infinity, hard: Infinity });
    write('90/limits', limits('1024', 'lots'));
    expect(readOpenFileLimit(90, proc.root)).toBeNull();
    write('90/limits', limits('many', '4096'));
    expect(readOpenFileLimit(90, proc.root)).toBeNull();
    write('90/limits', 'Limit Soft Hard\nMax processes 1 1 processes\n');
    expect(readOpenFileLimit(90, proc.root)).toBeNull();
    write('90/limits', 'Limit Soft Hard\n#Max open files 1 1 files\n');
    expect(readOpenFileLimit(90, proc.root)).toBeNull();
    expect(readOpenFileLimit(91, proc.root)).toBeNull();
    write('self/limits', limits('256', '512'));
    expect(readOpenFileLimit('self', proc.root)).toEqual({ soft: 256, hard: 512 });
    expect(readOpenFileLimit()).not.toBeNull(); // this test process has a limit
  });

  it('countOpenFiles and readSocketInodes: entries of /proc/PID/fd; sockets by their link', () => {
    const fd = join(proc.root, '100', 'fd');
    mkdirSync(fd, { recursive: true });
    symlinkSync('/dev/null', join(fd, '0'));
    symlinkSync('socket:[4242]', join(fd, '3'));
    symlinkSync('pipe:[77]', join(fd, '4'));
    symlinkSync('socket:[17]', join(fd, '5'));
    writeFileSync(join(fd, '6'), 'not a link'); // unreadable as a link: skipped
    expect(countOpenFiles(100, proc.root)).toBe(5);
    expect(readSocketInodes(100, proc.root)?.sort((a, b) => a - b)).toEqual([17, 4242]);
    expect(countOpenFiles(101, proc.root)).toBeNull();
    expect(readSocketInodes(101, proc.root)).toBeNull();
    mkdirSync(join(proc.root, 'self', 'fd'), { recursive: true });
    symlinkSync('socket:[9]', join(proc.root, 'self', 'fd', '7'));
    expect(countOpenFiles('self', proc.root)).toBe(1);
    expect(countOpenFiles()).toBeGreaterThan(0); // this test process has files open
  });

  it('readUnixListenerInodes: listening sockets bound to exactly that path, spaces included', () => {
    const header = 'Num       RefCount Protocol Flags    Type St Inode Path';
    write('net/unix', [
      header,
      '0000000000000000: 00000002 00000000 00010000 0001 01 3001 /run/naija-sup/api.sock',
      '0000000000000000: 00000003 00000000 00000000 0001 03 3002 /run/naija-sup/api.sock', // connected, not listening
      '0000000000000000: 00000002 00000000 00010000 0001 01 3003 /run/naija-sup/other.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 3004 /tmp/with space/api.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 3005', // unnamed
      '0000000000000000: 00000002 00000000 00010000 0001 01 3006 /run/naija-sup/api.sock',
      // The kernel pads the inode to five columns ("%5lu").
      '0000000000000000: 00000002 00000000 00010000 0001 01   308 /run/naija-sup/api.sock',
      '  0000000000000000: 00000002 00000000 00010000 0001 01 3009 /run/naija-sup/api.sock',
      '',
    ].join('\n'));
    expect(readUnixListenerInodes('/run/naija-sup/api.sock', proc.root)).toEqual([3001, 3006, 308, 3009]);
    expect(readUnixListenerInodes('/tmp/with space/api.sock', proc.root)).toEqual([3004]);
    expect(readUnixListenerInodes('/nowhere.sock', proc.root)).toEqual([]);
    // The header line is never a socket, even when it names the path.
    write('net/unix', `0000000000000000: 00000002 00000000 00010000 0001 01 3007 /x.sock\n${header}`);
    expect(readUnixListenerInodes('/x.sock', proc.root)).toEqual([]);
    expect(readUnixListenerInodes('/x.sock', join(proc.root, 'nowhere'))).toEqual([]);
  });
});

describe('readProcNetTableAsync', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'naija-sup-proc-net-async-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what readProcNetTable reads: a file whole, however many reads it takes, an empty one as "", a missing one as null', async () => {
    const line = (n: number) => `${String(n).padStart(4, ' ')}: ${'0'.repeat(140)}\n`;
    const big = Array.from({ length: 3000 }, (_, n) => line(n)).join('');
    writeFileSync(join(dir, 'tcp'), big);
    expect(await readProcNetTableAsync(join(dir, 'tcp'))).toBe(big);
    writeFileSync(join(dir, 'empty'), '');
    expect(await readProcNetTableAsync(join(dir, 'empty'))).toBe('');
    expect(await readProcNetTableAsync(join(dir, 'missing'))).toBeNull();
    expect(await readProcNetTableAsync(dir)).toBeNull();
  });

  it('ends at a short read, as the last page of a kernel table is, without the read that would see the end', async () => {
    // A FIFO whose writer stays open: a reader that waited for the end would never return.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const read = readProcNetTableAsync(fifo);
    const writer = openSync(fifo, 'w'); // returns once the reader has opened its end
    try {
      writeSync(writer, '   0: a short table\n');
      expect(await read).toBe('   0: a short table\n');
    } finally {
      closeSync(writer);
    }
  });
});

describe('readProcNetTable', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'naija-sup-proc-net-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file whole, however many reads it takes, and an empty one as ""', () => {
    const line = (n: number) => `${String(n).padStart(4, ' ')}: ${'0'.repeat(140)}\n`;
    const big = Array.from({ length: 3000 }, (_, n) => line(n)).join('');
    writeFileSync(join(dir, 'tcp'), big);
    expect(readProcNetTable(join(dir, 'tcp'))).toBe(big);
    const small = line(1);
    writeFileSync(join(dir, 'small'), small);
    expect(readProcNetTable(join(dir, 'small'))).toBe(small);
    writeFileSync(join(dir, 'empty'), '');
    expect(readProcNetTable(join(dir, 'empty'))).toBe('');
  });

  it('closes the file it opened, also after a failed read', () => {
    writeFileSync(join(dir, 'tcp'), 'x\n');
    const before = countOpenFiles();
    for (let i = 0; i < 40; i += 1) {
      readProcNetTable(join(dir, 'tcp'));
      readProcNetTable(dir);
    }
    expect(countOpenFiles()).toBeLessThan((before ?? 0) + 10);
  });

  it('null for a file that is missing or cannot be read as one', () => {
    expect(readProcNetTable(join(dir, 'missing'))).toBeNull();
    expect(readProcNetTable(dir)).toBeNull(); // a directory: the read fails
  });

  it('reads the real table (latin1 text with its header)', () => {
    expect(readProcNetTable('/proc/net/tcp')).toMatch(/^\s*sl\s+local_address/);
  });
});

describe('identity off a real /proc', () => {
  it('pidExists: this process and its parent exist; no pid below 1 does, nor a pid beyond the kernel\'s range', () => {
    expect(pidExists(process.pid)).toBe(true);
    expect(pidExists(0)).toBe(false);
    expect(pidExists(-1)).toBe(false);
    expect(pidExists(2 ** 22 + 1)).toBe(false);
    // PID 1 belongs to another user in some sandboxes (EPERM): it exists either way.
    expect(pidExists(1)).toBe(true);
  });

  it('isSameProcess on the real /proc: this process is itself', () => {
    const stat = readProcStat(process.pid);
    expect(isSameProcess({ pid: process.pid, startTime: stat?.startTime ?? '', bootId: null })).toBe('same');
    expect(isSameProcess({ pid: process.pid, startTime: '1', bootId: null })).toBe('reused');
  });
});
