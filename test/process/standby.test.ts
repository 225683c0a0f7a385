/**
 * The warm standby (src/process/standby.ts) against real Node processes: it parks before the
 * server's code, runs it only when released, with the environment restored, and ends without
 * running it when discarded or when the supervisor's end of the pipe closes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isNodeCommand, Standby, standbyEnv, STANDBY_FD_ENV, STANDBY_GATE_PATH, STANDBY_SAVED_OPTIONS_ENV } from '../../src/process/standby.js';
import { assertAllGone, childEnv, killAllTracked, trackChild } from '../helpers/processes.js';

const node = process.execPath;
// The "server": prints what it sees of the gate's variables, then exits 0.
const SERVER = [
  node,
  '-e',
  'console.log("SERVER " + JSON.stringify({ options: process.env.NODE_OPTIONS ?? null, fd: process.env.NAIJA_SUP_STANDBY_FD ?? null, saved: process.env.NAIJA_SUP_STANDBY_NODE_OPTIONS ?? null, at: Date.now() }))',
];

const started: Standby[] = [];
function park(env: Record<string, string | undefined> = {}): Standby {
  const standby = new Standby({ command: SERVER, cwd: process.cwd(), env: childEnv(env), fingerprint: 'f' });
  trackChild(standby.handle);
  started.push(standby);
  return standby;
}
function armed(standby: Standby): Promise<void> {
  return new Promise((resolve, reject) => {
    if (standby.state === 'armed') return resolve();
    standby.once('armed', resolve);
    standby.once('gone', (exit) => reject(new Error(`standby gone before it was armed: ${JSON.stringify(exit)}`)));
  });
}
function lines(standby: Standby): string[] {
  const out: string[] = [];
  standby.handle.on('line', (_stream, line) => out.push(line));
  return out;
}

afterEach(async () => {
  const pids = started.map((s) => s.pid).filter((p): p is number => p !== null);
  started.length = 0;
  try {
    await assertAllGone(pids);
  } finally {
    killAllTracked();
  }
});

describe('Standby', () => {
  it('parks before the server code, and runs it on release with NODE_OPTIONS and the gate variables restored', async () => {
    const standby = park({ NODE_OPTIONS: '--no-warnings' });
    const out = lines(standby);
    await armed(standby);
    expect(standby.state).toBe('armed');
    const releasedAt = Date.now();
    const handle = standby.release();
    expect(standby.state).toBe('released');
    const exit = await handle.waitForExit();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(out).toHaveLength(1);
    const seen = JSON.parse((out[0] ?? '').replace(/^SERVER /, '')) as { options: string | null; fd: string | null; saved: string | null; at: number };
    expect(seen).toEqual({ options: '--no-warnings', fd: null, saved: null, at: expect.any(Number) as number });
    // The server's code ran only after the release, not while it was parked.
    expect(seen.at).toBeGreaterThanOrEqual(releasedAt);
  });

  it('removes NODE_OPTIONS entirely when the user had none', async () => {
    const standby = park({ NODE_OPTIONS: undefined });
    const out = lines(standby);
    await armed(standby);
    await standby.release().waitForExit();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^SERVER \{"options":null,"fd":null,"saved":null,"at":\d+\}$/);
  });

  it('leaves the worker threads of a promoted server alone: they keep the user\'s NODE_OPTIONS', async () => {
    const standby = new Standby({
      command: [node, '-e', 'const { Worker } = require("node:worker_threads"); new Worker("console.log(\'WORKER \' + (process.env.NODE_OPTIONS ?? null))", { eval: true }).on("exit", () => console.log("MAIN " + (process.env.NODE_OPTIONS ?? null)))'],
      cwd: process.cwd(),
      env: childEnv({ NODE_OPTIONS: '--no-warnings' }),
      fingerprint: 'f',
    });
    trackChild(standby.handle);
    started.push(standby);
    const out = lines(standby);
    await armed(standby);
    await expect(standby.release().waitForExit()).resolves.toEqual({ code: 0, signal: null });
    expect(out).toEqual(['WORKER --no-warnings', 'MAIN --no-warnings']);
  });

  it('discard() ends a parked standby without running the server code', async () => {
    const standby = park();
    const out = lines(standby);
    await armed(standby);
    await standby.discard();
    expect(standby.state).toBe('gone');
    expect(standby.handle.exitInfo).not.toBeNull();
    expect(out).toEqual([]);
    expect(() => standby.release()).toThrow(/gone, not armed/);
  });

  it('exits 0 by itself, without running the server, when the supervisor end of the pipe closes (a supervisor that died)', async () => {
    const standby = park();
    const out = lines(standby);
    await armed(standby);
    standby.handle.extraPipe?.destroy(); // what the kernel does to a SIGKILLed supervisor's fds
    await expect(standby.handle.waitForExit()).resolves.toEqual({ code: 0, signal: null });
    expect(standby.state).toBe('gone');
    expect(out).toEqual([]);
  });

  it('reports a standby that dies while parked as gone', async () => {
    const standby = park();
    await armed(standby);
    const gone = new Promise<string>((resolve) => standby.once('gone', (_exit, why) => resolve(why)));
    process.kill(standby.pid ?? -1, 'SIGKILL');
    // Lost as soon as its end of the gate pipe closes, before the exit is even reported.
    await expect(gone).resolves.toMatch(/gate pipe closed|killed by SIGKILL/);
    expect(standby.state).toBe('gone');
    expect(() => standby.release()).toThrow(/gone, not armed/);
    await expect(standby.handle.waitForExit()).resolves.toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('standbyEnv / isNodeCommand', () => {
  it('puts the gate first in NODE_OPTIONS, keeps the user\'s options after it, and saves them', () => {
    const env = standbyEnv({ NODE_OPTIONS: '--max-old-space-size=512', A: '1' }, 4, '/opt/app/gate.cjs');
    expect(env['NODE_OPTIONS']).toBe('--require /opt/app/gate.cjs --max-old-space-size=512');
    expect(env[STANDBY_FD_ENV]).toBe('4');
    expect(env[STANDBY_SAVED_OPTIONS_ENV]).toBe('--max-old-space-size=512');
    expect(env['A']).toBe('1');
  });

  it('quotes a gate path with spaces or quotes the way NODE_OPTIONS parses it', () => {
    expect(standbyEnv({}, 3, '/home/a b/gate.cjs')['NODE_OPTIONS']).toBe('--require "/home/a b/gate.cjs"');
    expect(standbyEnv({}, 3, '/x/"q"\\/gate.cjs')['NODE_OPTIONS']).toBe('--require "/x/\\"q\\"\\\\/gate.cjs"');
    expect(STANDBY_GATE_PATH).toMatch(/bin\/standby-gate\.cjs$/);
  });

  it('accepts node itself only, never a shell, npm or another runtime', () => {
    for (const command of [['node', 's.js'], ['/usr/bin/node', 's.js'], ['nodejs', 's.js'], ['node20', 's.js'], [node, 's.js']]) {
      expect(isNodeCommand(command), command.join(' ')).toBe(true);
    }
    for (const command of [['sh', '-c', 'node s.js'], ['npm', 'start'], ['/usr/bin/python3', '-m', 'uvicorn'], ['nodemon', 's.js'], ['']]) {
      expect(isNodeCommand(command), command.join(' ')).toBe(false);
    }
  });
});
