/**
 * Issue 14: nothing of a start outlives it. Each start's ChildHandle holds up to 2 × 64 KiB of
 * the server's stderr (src/process/spawn.ts, KeptLines) and its listeners; a supervisor that kept
 * them would grow with every restart of a crash loop. A real supervisor restarts a real server
 * that writes 20 KiB of stderr and crashes, several times; then, after a full GC, every
 * ChildHandle but the last start's must be gone (weak references only: no sizes, no timing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ChildHandle } from '../../src/process/spawn.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import { assertAllGone, track, waitFor } from '../helpers/processes.js';
import { freePort } from '../helpers/supervise.js';

const handles = vi.hoisted(() => [] as Array<WeakRef<object>>);
vi.mock('../../src/process/spawn.js', async (original) => {
  const real = await original<typeof import('../../src/process/spawn.js')>();
  return {
    ...real,
    spawnInstance: (...args: Parameters<typeof real.spawnInstance>): ChildHandle => {
      const handle = real.spawnInstance(...args);
      handles.push(new WeakRef(handle));
      return handle;
    },
  };
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** A full GC once the current job is over (a WeakRef's target is kept alive until then). */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a crash loop keeps nothing of past starts', () => {
  it('after 6 restarts of a server that writes 20 KiB of stderr and crashes, only the last start\'s handle is still reachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-retention-'));
    dirs.push(dir);
    const port = await freePort();
    const { config } = resolveConfig({
      file: {
        name: 'retention',
        command: [process.execPath, '-e', `process.stderr.write('${'e'.repeat(99)}\\n'.repeat(200)); require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => setTimeout(() => process.exit(1), 30));`],
        port,
        host: '127.0.0.1',
        health: { path: '/', interval: '25ms' },
        restart: { initialDelay: '1ms', maxDelay: '5ms', startRetries: 1000 },
      },
      filepath: join(dir, '.naija-suprc.json'),
      cwd: dir,
      env: {},
      requireCommand: true,
    });
    const events: SupervisorEvent[] = [];
    const pids: number[] = [];
    const supervisor = new Supervisor(config, realDeps({
      runDir: join(dir, 'run'),
      baseEnv: { PATH: process.env['PATH'] },
      onEvent: (event) => {
        if (event.type === 'spawned') {
          pids.push(event.pid);
          track(event.pid);
        }
        // Not the events themselves: an exited event carries the last 20 stderr lines on purpose.
        events.push({ type: event.type } as SupervisorEvent);
      },
    }));
    const done = supervisor.start();
    await waitFor(() => events.filter((e) => e.type === 'exited').length >= 6, { timeout: 60_000, message: () => `${events.filter((e) => e.type === 'exited').length} exits so far` });
    supervisor.stop();
    await done;
    await assertAllGone(pids);
    expect(handles.length).toBeGreaterThanOrEqual(6);
    await collect();
    const alive = handles.slice(0, -1).map((ref, i) => (ref.deref() === undefined ? null : i)).filter((i) => i !== null);
    expect(alive).toEqual([]);
  }, 90_000);
});
