/**
 * A real supervisor (Supervisor + realDeps, in the test's process) in front of
 * test/fixtures/healthy-server.mjs whose /health answers 503 until its gate file exists: shared by
 * the integration tests that drive readiness by opening and closing the gate.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import { FIXTURES_DIR, fixture, killAllTracked, track } from './processes.js';
import { freePort } from './supervise.js';

export type Cleanup = () => Promise<void> | void;

/**
 * A list of cleanups run after each test, last added first. Every one runs even after one fails (a
 * supervisor that would not stop); the first failure then fails the test.
 */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    const failures: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => failures.push(e));
    killAllTracked();
    if (failures.length > 0) throw failures[0];
  });
  return cleanups;
}

export interface GatedApp {
  /** A temporary folder (removed at the end) holding the gate file and the run dir. */
  tmp: string;
  /** While this file is missing, the server's /health answers 503. */
  gate: string;
  port: number;
  config: ResolvedConfig;
}

/** The resolved config of a gated healthy-server.mjs on a free port, named `name`. */
export async function gatedApp(cleanups: Cleanup[], name: string, health: Record<string, unknown>, options: { gateOpen: boolean }): Promise<GatedApp> {
  const tmp = mkdtempSync(join(tmpdir(), `naija-sup-${name}-`));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  const port = await freePort();
  const gate = join(tmp, 'healthy');
  if (options.gateOpen) writeFileSync(gate, '');
  const { config } = resolveConfig({
    cwd: FIXTURES_DIR,
    env: {},
    filepath: join(tmp, '.naija-suprc.json'),
    file: { name, command: [process.execPath, fixture('healthy-server.mjs')], env: { HEALTH_GATE: gate }, port, health, shutdown: { timeout: '5s' } },
  });
  return { tmp, gate, port, config };
}

/** A Supervisor with the real effects, its run dir in `app.tmp`; every spawned pid is tracked (and killed at the end). */
export function realSupervisor(app: GatedApp, onEvent: (event: SupervisorEvent) => void): Supervisor {
  mkdirSync(join(app.tmp, 'run'), { mode: 0o700 });
  const tracked = (event: SupervisorEvent): void => {
    if (event.type === 'spawned') track(event.pid);
    onEvent(event);
  };
  return new Supervisor(app.config, realDeps({ runDir: join(app.tmp, 'run'), baseEnv: { PATH: process.env['PATH'], HOME: process.env['HOME'] }, onEvent: tracked }));
}
