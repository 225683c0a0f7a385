/**
 * `naija-sup scale` against a hand-written supervisor (old supervisors without instance lists,
 * a refusal), and `ls`'s table for apps without port, folder or a readable give-up time, and with
 * instances. The CLI runs in-process (run(argv, io)).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { renderApps } from '../src/cli/commands/ls.js';
import { run } from '../src/cli/main.js';
import type { AppEntry } from '../src/control/apps.js';
import { controlPaths } from '../src/control/paths.js';
import { fakeSupervisor, type FakeSupervisor } from './helpers/fake-supervisor.js';

let dir = '';
let runDir = '';
let fake: FakeSupervisor | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-scale-'));
  runDir = join(dir, 'run');
  mkdirSync(runDir, { mode: 0o700 });
});
afterEach(async () => {
  await fake?.close();
  fake = null;
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: (t) => { out += t; }, stderr: (t) => { err += t; },
    env: { NAIJA_SUP_RUN_DIR: runDir, NO_COLOR: '1', PATH: process.env['PATH'] }, cwd: dir, isTTY: false,
  };
  return { code: await run(argv, io), out, err };
}

describe('naija-sup scale', () => {
  it('a supervisor whose status lists no instances counts as one, and the new pid is its instance pid', async () => {
    const requests: unknown[] = [];
    fake = await fakeSupervisor(controlPaths(runDir, 'api').socket, (req, send) => {
      requests.push(req);
      if (req.type === 'status') send({ v: 1, id: req.id, ok: true });
      else if (req.type === 'scale') send({ v: 1, id: req.id, ok: true, status: { name: 'api', instancePid: 4242 } });
    });
    const r = await cli(['scale', '1', '--name', 'api']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^api: 1 → 1 instance \(pids 4242\) in \d/);
    expect(requests).toContainEqual(expect.objectContaining({ type: 'scale', instances: 1 }));
  });

  it('lists each instance\'s pid, "-" for one not running', async () => {
    fake = await fakeSupervisor(controlPaths(runDir, 'api').socket, (req, send) => {
      if (req.type === 'status') send({ v: 1, id: req.id, ok: true, status: { name: 'api', instances: [{ index: 0, pid: 1 }], shutdownTimeoutMs: 100, startupTimeoutMs: 100 } });
      else send({ v: 1, id: req.id, ok: true, status: { name: 'api', instances: [{ index: 0, pid: 1 }, { index: 1, pid: null }, { index: 2, pid: 3 }] } });
    });
    const r = await cli(['scale', '3', '--name', 'api']);
    expect(r.out).toMatch(/^api: 1 → 3 instances \(pids 1, -, 3\) in \d/);
  });

  it('a scale the supervisor refuses fails with its reasons', async () => {
    fake = await fakeSupervisor(controlPaths(runDir, 'api').socket, (req, send) => {
      if (req.type === 'status') send({ v: 1, id: req.id, ok: true, status: { name: 'api' } });
      else send({ v: 1, id: req.id, ok: false, error: { code: 'E_BAD_REQUEST', message: 'scale to 2 did not take effect', details: ['port 8001 is in use'] } });
    });
    const r = await cli(['scale', '2', '--name', 'api']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('the supervisor of "api" refused the request: scale to 2 did not take effect (E_BAD_REQUEST)');
    expect(r.err).toContain('port 8001 is in use');
  });
});

describe('renderApps', () => {
  const entry = (over: Partial<AppEntry>): AppEntry => ({
    name: 'api', state: 'running', running: true, pid: 10, port: 8000, uptimeMs: 500, restarts: 0, cwd: '/srv/api', supervisorPid: 9, url: null, gaveUp: null, ...over,
  });

  it('a dash for what is not known, "gave up" alone when its time cannot be read, and a line per instance', () => {
    const lines = renderApps([
      entry({ name: 'old', state: 'gave-up', running: false, pid: null, port: null, uptimeMs: null, restarts: null, cwd: null, gaveUp: { at: 'not a date', reason: 'x' } }),
      entry({ name: 'multi', instances: [{ index: 0, state: 'ready', pid: 21, restarts: 1 }, { index: 1, state: 'backoff', pid: null, restarts: 4 }] as AppEntry['instances'] }),
    ], Date.UTC(2025, 0, 1));
    expect(lines.map((l) => l.split(/\s{2,}/))).toEqual([
      ['NAME', 'STATE', 'PID', 'PORT', 'UPTIME', 'RESTARTS', 'CWD'],
      ['old', 'gave up', '-', '-', '-', '-', '-'],
      ['multi', 'running', '10', '8000', '500 ms', '0', '/srv/api'],
      ['', 'multi#0', 'ready', '21', '1'],
      ['', 'multi#1', 'backoff', '-', '4'],
    ]);
  });
});
