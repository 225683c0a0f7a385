/**
 * Issue 15, "output is safe to show": a server's terminal escape sequences and control characters
 * do not reach the terminal through `logs` or the foreground output unless `--raw`.
 * terminalSafe() itself, then the real thing: a server that prints them, read back with `logs`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { terminalSafe } from '../../src/cli/terminal-text.js';
import { EventRenderer } from '../../src/cli/event-renderer.js';
import type { CliIO } from '../../src/cli/context.js';
import { cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture, track } from '../helpers/processes.js';

const ESC = '\u001b';

describe('terminalSafe', () => {
  it.each([
    ['a colour (CSI SGR) is removed', `${ESC}[31mred${ESC}[0m`, 'red'],
    ['clear screen and cursor moves are removed', `${ESC}[2J${ESC}[1;1Hhidden?`, 'hidden?'],
    ['a window title (OSC … BEL) is removed', `${ESC}]0;pwned\u0007after`, 'after'],
    ['a hyperlink (OSC 8 … ST) is removed, its text kept', `${ESC}]8;;http://evil${ESC}\\click${ESC}]8;;${ESC}\\`, 'click'],
    ['a C1 CSI is removed', '\u009b2Jx', 'x'],
    ['a bell and a carriage return are shown escaped', 'ring\u0007\rover', 'ring\\x07\\x0dover'],
    ['a bidi override is shown escaped', 'abc\u202edef', 'abc\\u202edef'],
    ['a lone ESC is shown escaped', `x${ESC}`, 'x\\x1b'],
    ['tabs and plain text are kept', 'a\tb ünïcödé', 'a\tb ünïcödé'],
  ])('%s', (_what, input, shown) => {
    expect(terminalSafe(input)).toBe(shown);
  });
});

describe('the foreground output', () => {
  function render(raw: boolean): string {
    let out = '';
    const io: CliIO = { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, env: { NO_COLOR: '1' }, cwd: '/', isTTY: false };
    const renderer = new EventRenderer(io, { name: 'api', raw, verbose: false, portOrigin: null });
    renderer.handle({ type: 'output', instance: 1, stream: 'stdout', line: `${ESC}]0;pwned\u0007hello${ESC}[2J` });
    return out;
  }
  it('strips escapes from the server\'s lines, and keeps them with --raw', () => {
    expect(render(false)).toBe('[api] hello\n');
    expect(render(true)).toBe(`${ESC}]0;pwned\u0007hello${ESC}[2J\n`);
  });
});

afterEach(endCliApps);

describe('logs', () => {
  it('shows a hostile server\'s lines without their escapes, and with them under --raw', async () => {
    const line = String.raw`printf 'title\033]0;PWNED\007 clear\033[2J bell\007 end\n'`;
    const app = await cliApp({ command: ['sh', '-c', `${line}; exec "$0" "$1"`, process.execPath, fixture('healthy-server.mjs')] });
    const started = await app.cli(['start', '-d']);
    expect(started.status).toBe(0);
    track((JSON.parse(readFileSync(join(app.runDir, 'cli-app.json'), 'utf8')) as { supervisorPid: number }).supervisorPid);
    try {
      const safe = await app.cli(['logs', '-n', '200']);
      expect(safe.stdout).toContain('title clear bell\\x07 end');
      expect(safe.stdout).not.toContain(ESC);
      expect(safe.stdout).not.toContain('\u0007');
      const raw = await app.cli(['logs', '-n', '200', '--raw']);
      expect(raw.stdout).toContain(`title${ESC}]0;PWNED\u0007 clear${ESC}[2J bell\u0007 end`);
      // The detached supervisor's own (foreground) output, kept in the run dir, is safe too.
      expect(readFileSync(join(app.runDir, 'cli-app.out'), 'utf8')).not.toContain(ESC);
    } finally {
      expect((await app.cli(['stop'])).status).toBe(0);
    }
  });
});
