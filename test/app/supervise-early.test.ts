/**
 * supervise() (src/app/supervise.ts) before its app exists: a stop that comes first ends it with
 * 0 and starts nothing; a reload then says the supervisor is still starting; a reload whose
 * configuration cannot be read is rejected with the reason, published as an event. Real run dir
 * and control socket in a temporary directory; no instance is ever spawned.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { supervise } from '../../src/app/supervise.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { fixtureCommand } from '../helpers/processes.js';
import { runnerConfig } from '../helpers/runner-config.js';
import { freePort } from '../helpers/supervise.js';

const dirs: string[] = [];
const running: Array<ReturnType<typeof supervise>> = [];
afterEach(async () => {
  // A failed assertion must not pull the run dir from under a supervisor still winding down.
  for (const sup of running.splice(0)) {
    sup.stop();
    await sup.done.catch(() => undefined);
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `reloadConfig`: null re-reads the same configuration. */
async function early(reloadConfig: (() => Promise<never>) | null): Promise<{ events: SupervisorEvent[]; sup: ReturnType<typeof supervise> }> {
  const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-supervise-'));
  dirs.push(tmp);
  const config = runnerConfig({ name: `early-${process.pid}`, command: fixtureCommand('healthy-server.mjs'), cwd: tmp, port: await freePort() });
  const events: SupervisorEvent[] = [];
  const loaded = { config, sources: {}, filepath: null };
  const sup = supervise({
    loaded,
    reloadConfig: reloadConfig ?? (() => Promise.resolve(loaded)),
    env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(tmp, 'run') },
    onEvent: (e) => events.push(e),
  });
  running.push(sup);
  return { events, sup };
}

describe('supervise() before the app exists', () => {
  it('a stop that comes first ends it with 0, having started nothing; a reload meanwhile says it is still starting', async () => {
    const { events, sup } = await early(null);
    sup.stop();
    await expect(sup.reload()).resolves.toEqual({ ok: false, errors: ['the supervisor is still starting'] });
    await expect(sup.done).resolves.toBe(0);
    expect(events.some((e) => e.type === 'spawning')).toBe(false);
  });

  it('rejects a reload whose configuration cannot be read, with the reason, and says so in the event stream', async () => {
    // A loader may fail with anything, not only an Error.
    const { events, sup } = await early(() => Promise.reject('the config file vanished'));
    sup.stop();
    await expect(sup.reload()).resolves.toEqual({ ok: false, errors: ['the config file vanished'] });
    await expect(sup.done).resolves.toBe(0);
    expect(events).toContainEqual({ type: 'reload-rejected', errors: ['the config file vanished'] });
  });
});
