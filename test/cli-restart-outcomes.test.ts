/**
 * `naija-sup restart` against a hand-written supervisor on the app's real control socket: what the
 * user reads, and the exit status, when the supervisor is already going away, gives up after the
 * restart, stops, dies, or brings up a new instance. The CLI runs in-process (run(argv, io)).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { run } from '../src/cli/main.js';
import { controlPaths } from '../src/control/paths.js';
import { fakeSupervisor, type FakeSupervisor } from './helpers/fake-supervisor.js';

let dir = '';
let runDir = '';
let fake: FakeSupervisor | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-restart-'));
  runDir = join(dir, 'run');
  mkdirSync(runDir, { mode: 0o700 });
});
afterEach(async () => {
  await fake?.close();
  fake = null;
  rmSync(dir, { recursive: true, force: true });
});

const status = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'api', state: 'ready', instancePid: 100, restarts: 0, url: 'http://127.0.0.1:8000', shutdownTimeoutMs: 1000, startupTimeoutMs: 1000, ...over,
});

/** What the fake supervisor does once asked to restart: events to stream, a status to give after, or close. */
interface Script { before: Record<string, unknown>; after?: unknown[] | 'close'; statusAfter?: Record<string, unknown> | null }

async function supervisor(script: Script): Promise<void> {
  let streamId = 0;
  fake = await fakeSupervisor(controlPaths(runDir, 'api').socket, (req, send, socket) => {
    if (req.type === 'events') {
      streamId = req.id;
      send({ v: 1, id: req.id, ok: true, stream: true, status: script.before });
    } else if (req.type === 'restart') {
      send({ v: 1, id: req.id, ok: true, status: script.before });
      if (script.after === 'close') socket.destroy();
      else for (const event of script.after ?? []) send({ v: 1, id: streamId, event });
    } else if (req.type === 'status') {
      send(script.statusAfter === null ? { v: 1, id: req.id, ok: true } : { v: 1, id: req.id, ok: true, status: script.statusAfter ?? script.before });
    }
  });
}

async function restart(): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: (t) => { out += t; }, stderr: (t) => { err += t; },
    env: { NAIJA_SUP_RUN_DIR: runDir, NO_COLOR: '1', PATH: process.env['PATH'] }, cwd: dir, isTTY: false,
  };
  const code = await run(['restart', '--name', 'api'], io);
  return { code, out, err };
}

const crash = { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: 'read the stderr lines above', stderrTail: ['Error: boom'] };

describe('naija-sup restart: outcomes', () => {
  it.each([
    ['fatal', 'giving up'],
    ['stopped', 'shutting down'],
  ])('a supervisor already %s: not running, exit 3', async (state, words) => {
    await supervisor({ before: status({ state }) });
    expect(await restart()).toEqual({ code: 3, out: `api: not running (its supervisor is ${words})\n`, err: '' });
  });

  it('the supervisor gives up after the restart: why, the last crash, its fix and its exit status', async () => {
    await supervisor({ before: status(), after: [{ type: 'exited', exit: crash }, { type: 'fatal', reason: 'too many restarts', exit: crash, exitStatus: 2 }] });
    const r = await restart();
    expect(r.code).toBe(2);
    expect(r.err).toContain('"api" did not come back after the restart: too many restarts; its supervisor gave up');
    expect(r.err).toContain('cause: exit-code (exited with code 1)');
    expect(r.err).toContain('Error: boom');
    expect(r.err).toContain('read the stderr lines above');
  });

  it('a give-up without an exit still fails (status 1) and points at the logs', async () => {
    await supervisor({ before: status(), after: [{ type: 'fatal', reason: 'the command was not found', exitStatus: 0 }] });
    const r = await restart();
    expect(r.code).toBe(1);
    expect(r.err).toContain('"api" did not come back after the restart: the command was not found');
    expect(r.err).toContain('naija-sup logs --name api');
  });

  it.each([
    ['stops', [{ type: 'stopped', exitStatus: 0, graceful: true }]],
    ['dies', 'close'],
  ] as const)('a supervisor that %s during the restart: said so, exit 1', async (_what, after) => {
    await supervisor({ before: status(), after: after === 'close' ? 'close' : [...after] });
    const r = await restart();
    expect(r.code).toBe(1);
    expect(r.err).toContain('the supervisor of "api" stopped during the restart');
  });

  it('a new instance where there was none: names both, and the restarts and URL when the status says them', async () => {
    await supervisor({ before: status({ instancePid: null }), after: [{ type: 'ready', pid: 12, url: 'http://127.0.0.1:8000' }], statusAfter: status({ instancePid: 12, restarts: 1 }) });
    const r = await restart();
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^api: restarted \(no instance → pid 12, restarts 1, http:\/\/127\.0\.0\.1:8000\) in \d/);
  });

  it('a new instance when the status after it carries nothing: the pids alone', async () => {
    await supervisor({ before: status(), after: [{ type: 'ready', pid: 13, url: '' }], statusAfter: null });
    const r = await restart();
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^api: restarted \(pid 100 → pid 13\) in \d/);
  });
});
