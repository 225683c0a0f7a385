/**
 * `naija-sup free-port` through the CLI entry (`run(argv, io)`) with a captured io: nothing to
 * free, a dry run, a real stop, --json, and a bad --timeout. Real holders on 127.0.0.1, ephemeral
 * ports; every process started is gone at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { run } from '../src/cli/main.js';
import type { FreePortResult } from '../src/ports/free-port.js';
import { assertAllGone, isRunning, killAllTracked, startFixture } from './helpers/processes.js';
import { freePort as unusedPort } from './helpers/supervise.js';

let runDir: string;
let out = '';
let err = '';
let io: CliIO;

beforeEach(() => {
  runDir = mkdtempSync(join(tmpdir(), 'naija-sup-cli-free-port-'));
  out = '';
  err = '';
  io = {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    env: { NAIJA_SUP_RUN_DIR: runDir, NO_COLOR: '1' },
    cwd: process.cwd(),
    isTTY: false,
  };
});

afterEach(() => {
  const leftovers = killAllTracked();
  rmSync(runDir, { recursive: true, force: true });
  expect(leftovers, 'processes a test left running').toEqual([]);
});

describe('naija-sup free-port', () => {
  it('exits 0 when nothing holds the port', async () => {
    const port = await unusedPort();
    expect(await run(['free-port', String(port), '--host', '127.0.0.1'], io)).toBe(0);
    expect(out).toContain(`nothing listens on port ${port} (checked for a bind on 127.0.0.1:${port})`);
    expect(out).toContain(`port ${port} is free.`);
    expect(err).toBe('');
  });

  it('--dry-run shows the owner (pid, user, age, command) and exits 1 without stopping it', async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    expect(await run(['free-port', String(port), '--dry-run'], io)).toBe(1);
    expect(out).toContain(`port ${port} ([::]:${port}) is held by 1 process:`);
    expect(out).toMatch(new RegExp(`pid ${holder.pid}  user ${userInfo().username}  up (<1s|\\d+s)  pgid ${holder.pgid}  ppid ${process.pid}  127\\.0\\.0\\.1:${port}`));
    expect(out).toContain('hold-port.mjs');
    expect(out).toContain(`dry run: nothing was stopped. To stop it: naija-sup free-port ${port}`);
    expect(err).toContain(`port ${port} is not free: dry run: 1 process(es) hold the port`);
    expect(isRunning(holder.pid)).toBe(true);
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it('stops the owner gracefully, confirms the port is free and exits 0', async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    expect(await run(['free-port', String(port), '--host', '127.0.0.1', '--timeout', '3s'], io)).toBe(0);
    expect(out).toMatch(new RegExp(`stopped process group ${holder.pgid} \\(pids ${holder.pid}: .*hold-port\\.mjs\\): exited after SIGTERM in \\d+ ms`));
    expect(out).toContain(`port ${port} is free.`);
    await assertAllGone([holder.pid]);
  });

  it('--json prints the result object (owners before, what was stopped, free)', async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    expect(await run(['free-port', String(port), '--json', '--dry-run'], io)).toBe(1);
    const dry = JSON.parse(out) as FreePortResult;
    expect(dry).toMatchObject({ port, free: false, stopped: [], before: { kind: 'held' } });
    expect(dry.owners.map((o) => o.pid)).toEqual([holder.pid]);

    out = '';
    expect(await run(['free-port', String(port), '--json'], io)).toBe(0);
    const done = JSON.parse(out) as FreePortResult;
    expect(done.free).toBe(true);
    expect(done.stopped.map((s) => [s.pid, s.outcome])).toEqual([[holder.pid, 'exited']]);
    await assertAllGone([holder.pid]);
  });

  it('rejects a bad --timeout with a usage error (exit 2)', async () => {
    const port = await unusedPort();
    expect(await run(['free-port', String(port), '--timeout', 'soon'], io)).toBe(2);
    expect(err).toContain('--timeout: expected a duration like "5s"');
    expect(err).toContain('(E_USAGE)');
  });
});
