/**
 * hasControllingTerminal: field 7 (tty_nr) of /proc/PID/stat, from a fake /proc and from real
 * processes — one under `script` (a pty as its controlling terminal) and one in a session of its
 * own (setsid, as a detached supervisor runs).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { parseProcStat } from '../../src/process/proc-read.js';
import { hasControllingTerminal } from '../../src/process/terminal.js';
import { assertAllGone, createFakeProc, fixtureCommand, killAllTracked, startFixture, track, trackedPids, waitFor } from '../helpers/processes.js';

afterEach(async () => {
  try {
    await assertAllGone([...trackedPids.keys()]);
  } finally {
    killAllTracked();
  }
});

// Captured on this machine: `cat /proc/self/stat` under `script` (tty_nr 34816 = pts/0) and outside it.
const ON_PTY = '7325 (cat) R 7324 7325 7325 34816 7325 4194304 230 0 0 0 0 0 0 0 20 0 1 0 33193 3133440 381 18446744073709551615 0\n';
const NO_TTY = '7326 (cat) R 7322 7322 2967 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 33195 3133440 417 18446744073709551615 0\n';

describe('hasControllingTerminal', () => {
  it('parses tty_nr (field 7)', () => {
    expect(parseProcStat(ON_PTY)?.ttyNr).toBe(34816);
    expect(parseProcStat(NO_TTY)?.ttyNr).toBe(0);
  });

  it('reads it from /proc/PID/stat', () => {
    const proc = createFakeProc();
    try {
      for (const [pid, line] of [[7325, ON_PTY], [7326, NO_TTY]] as const) {
        mkdirSync(join(proc.root, String(pid)), { recursive: true });
        writeFileSync(join(proc.root, String(pid), 'stat'), line);
      }
      expect(hasControllingTerminal(7325, { proc: createProc(proc.root) })).toBe(true);
      expect(hasControllingTerminal(7326, { proc: createProc(proc.root) })).toBe(false);
      expect(hasControllingTerminal(7327, { proc: createProc(proc.root) })).toBe(false); // gone
    } finally {
      proc.cleanup();
    }
  });

  it('a process under script has one; a process in a session of its own has none', async () => {
    const own = await startFixture('hold-port.mjs', { PORT: '0' }); // spawnInstance: setsid
    expect(hasControllingTerminal(own.pid)).toBe(false);

    const command = fixtureCommand('hold-port.mjs').map((a) => `'${a}'`).join(' ');
    const script = spawn('script', ['-qec', `exec ${command}`, '/dev/null'], { env: { PATH: process.env['PATH'], PORT: '0' }, stdio: ['pipe', 'pipe', 'ignore'] });
    track(script.pid as number);
    let out = '';
    script.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const match = await waitFor(() => /READY port=\d+ pid=(\d+)/.exec(out), { timeout: 10_000, message: () => `no READY under script: ${out}` });
    const onPty = Number(match[1]);
    track(onPty);
    expect(hasControllingTerminal(onPty)).toBe(true);

    const exited = new Promise((resolve) => script.once('exit', resolve));
    process.kill(onPty, 'SIGTERM');
    await exited;
    await own.stop();
  });
});
