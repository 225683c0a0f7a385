/**
 * docs/runbook.md's `safe-check` blocks, run for real: each names a situation ("api-down",
 * "port-held"…) that this test stages with real processes — a server that cannot start, a crash
 * loop, a port held by a stranger, a bcrypt without its binary, a running server, a supervisor
 * killed with SIGKILL — then runs every command of the block through `sh` in the app's folder, with
 * APP and PORT set as the runbook tells the reader to, and checks each `# shows:` line against what
 * the command printed. A block for a situation this test cannot stage, or a staging no block uses,
 * fails the test. Drives the built binary (`npm run build` first).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN, cliApp, endCliApps, type CliApp } from '../helpers/cli-app.js';
import { fixture, isRunning, startFixture, waitFor } from '../helpers/processes.js';
import { read } from './markdown.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODULES = join(ROOT, 'node_modules');

interface Check {
  command: string;
  /** Literal texts, or /regex/ sources (matched with the m flag). */
  shows: string[];
}

interface CheckBlock {
  situation: string;
  checks: Check[];
}

/** The runbook's ```sh safe-check <situation> blocks. */
export function safeCheckBlocks(markdown: string): CheckBlock[] {
  const blocks: CheckBlock[] = [];
  let current: CheckBlock | null = null;
  let inOther = false;
  for (const line of markdown.split('\n')) {
    if (current === null && !inOther) {
      const open = /^```sh safe-check ([\w-]+)\s*$/.exec(line);
      if (open) current = { situation: open[1] as string, checks: [] };
      else if (line.startsWith('```')) inOther = true;
      continue;
    }
    if (line.startsWith('```')) {
      if (current !== null) blocks.push(current);
      current = null;
      inOther = false;
      continue;
    }
    if (current === null) continue;
    const shows = /^# shows: (.+)$/.exec(line);
    if (shows) {
      const last = current.checks.at(-1);
      if (!last) throw new Error(`"# shows:" before any command in the ${current.situation} block`);
      last.shows.push(shows[1] as string);
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      current.checks.push({ command: line, shows: [] });
    }
  }
  return blocks;
}

/** A folder with `naija-sup` in it, for PATH: the runbook's commands call it by name. */
const binDir = mkdtempSync(join(tmpdir(), 'naija-sup-runbook-bin-'));
symlinkSync(BIN, join(binDir, 'naija-sup'));
afterAll(() => rmSync(binDir, { recursive: true, force: true }));
afterEach(endCliApps);

function sh(app: CliApp, command: string): Promise<{ status: number; output: string }> {
  const env = { ...app.env, APP: 'cli-app', PORT: String(app.port), PATH: `${binDir}:${app.env['PATH'] ?? ''}` };
  return new Promise((resolve) => {
    execFile('sh', ['-c', `${command} 2>&1`], { cwd: app.cwd, env, timeout: 60_000, encoding: 'utf8' }, (error, stdout) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, output: stdout });
    });
  });
}

async function statusJson(app: CliApp): Promise<Record<string, unknown>> {
  const r = await app.cli(['status', '--json']);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Stages each situation; returns the app the block's commands run against. The finally-step stops what is left. */
const SITUATIONS: Record<string, () => Promise<{ app: CliApp; cleanup?: () => Promise<void> }>> = {
  // The server cannot start (a missing module): the supervisor gave up.
  'api-down': async () => {
    const app = await cliApp({ command: [process.execPath, '-e', "require('express-is-not-installed')"] });
    expect((await app.cli(['start', '-d'])).status).not.toBe(0);
    return { app };
  },
  // A server that crashes after each start and is restarted with backoff.
  'crash-loop': async () => {
    const app = await cliApp({ command: [process.execPath, fixture('crash-after.mjs')], env: { CRASH_AFTER_MS: '200' }, health: { path: '/', interval: '25ms' } });
    expect((await app.cli(['start', '-d'])).status).toBe(0);
    await waitFor(async () => Number((await statusJson(app))['restarts']) >= 1, { timeout: 20_000, message: () => 'no restart yet' });
    return { app, cleanup: async () => { await app.cli(['stop']); } };
  },
  // Another program listens on the app's port.
  'port-held': async () => {
    const app = await cliApp();
    const holder = await startFixture('hold-port.mjs', { PORT: String(app.port), HOST: '127.0.0.1' });
    expect((await app.cli(['start', '-d'])).status).not.toBe(0);
    return { app, cleanup: async () => { await holder.stop(); } };
  },
  // bcrypt 6 deployed without its prebuilt binary for this platform (N8): a native-module crash.
  'native-module': async () => {
    const app = await cliApp({ command: [process.execPath, 'server.js'] });
    const bcrypt = join(app.cwd, 'node_modules', 'bcrypt');
    cpSync(join(MODULES, 'bcrypt'), bcrypt, { recursive: true, filter: (source) => !/[/\\]bcrypt[/\\](src|test|examples)([/\\]|$)/.test(source) });
    rmSync(join(bcrypt, 'prebuilds', 'linux-x64'), { recursive: true });
    symlinkSync(join(MODULES, 'node-gyp-build'), join(app.cwd, 'node_modules', 'node-gyp-build'));
    writeFileSync(join(app.cwd, 'package.json'), JSON.stringify({ name: 'cli-app', private: true, dependencies: { bcrypt: '^6.0.0' } }));
    writeFileSync(join(app.cwd, 'server.js'), "require('bcrypt');\nrequire('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n");
    expect((await app.cli(['start', '-d'])).status).not.toBe(0);
    return { app };
  },
  // A healthy server under supervision.
  memory: async () => {
    const app = await cliApp();
    expect((await app.cli(['start', '-d'])).status).toBe(0);
    return { app, cleanup: async () => { await app.cli(['stop']); } };
  },
  // The supervisor SIGKILLed; its server runs on, orphaned.
  'supervisor-killed': async () => {
    const app = await cliApp();
    expect((await app.cli(['start', '-d'])).status).toBe(0);
    const supervisorPid = Number((await statusJson(app))['supervisorPid']);
    process.kill(supervisorPid, 'SIGKILL');
    await waitFor(() => !isRunning(supervisorPid), { message: () => `supervisor ${supervisorPid} still running` });
    return { app, cleanup: async () => { expect((await app.cli(['stop'])).status).toBe(0); } };
  },
};

const BLOCKS = safeCheckBlocks(read(join(ROOT, 'docs/runbook.md')));

function expectShows(output: string, shows: string, command: string): void {
  const regex = /^\/(.+)\/$/.exec(shows);
  if (regex) expect(output, `${command} should show ${shows}`).toMatch(new RegExp(regex[1] as string, 'm'));
  else expect(output, `${command} should show ${shows}`).toContain(shows);
}

describe('docs/runbook.md safe-check blocks', () => {
  it('parses blocks, and every block is for a situation this test stages, and every staging is used', () => {
    expect(BLOCKS.length).toBeGreaterThanOrEqual(6);
    for (const block of BLOCKS) {
      expect(Object.keys(SITUATIONS), `block "${block.situation}"`).toContain(block.situation);
      expect(block.checks.length).toBeGreaterThan(0);
      for (const check of block.checks) expect(check.shows.length, check.command).toBeGreaterThan(0);
    }
    expect(new Set(BLOCKS.map((b) => b.situation))).toEqual(new Set(Object.keys(SITUATIONS)));
  });

  it('the parser reads commands and their shows lines, and skips other blocks', () => {
    const parsed = safeCheckBlocks('```sh\nrm -rf /\n```\n```sh safe-check x\nnaija-sup ls\n# shows: a\n# shows: /b/\n\n# a comment\nnaija-sup status\n# shows: c\n```\n');
    expect(parsed).toEqual([{ situation: 'x', checks: [{ command: 'naija-sup ls', shows: ['a', '/b/'] }, { command: 'naija-sup status', shows: ['c'] }] }]);
  });

  for (const block of BLOCKS) {
    it(`${block.situation}: each command shows what the runbook says`, async () => {
      const stage = SITUATIONS[block.situation];
      if (!stage) throw new Error(`no staging for ${block.situation}`);
      const { app, cleanup } = await stage();
      try {
        for (const check of block.checks) {
          const { output } = await sh(app, check.command);
          for (const shows of check.shows) expectShows(output, shows, check.command);
        }
      } finally {
        await cleanup?.();
      }
    }, 90_000);
  }
});
