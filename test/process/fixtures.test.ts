// The shared fixtures do what test/fixtures/README.md promises, so other tests can rely on them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAllGone, killAllTracked, startFixture, waitForLine } from '../helpers/processes.js';

afterEach(() => {
  killAllTracked();
});

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('fixtures', () => {
  it('healthy-server.mjs answers /health and /slow, and drains before exiting 0', async () => {
    const server = await startFixture('healthy-server.mjs', { DRAIN_MS: '200' });
    const base = `http://127.0.0.1:${String(server.port)}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', pid: server.pid });
    expect((await fetch(`${base}/nope`)).status).toBe(404);

    // A request in flight when SIGTERM arrives still gets its answer. The server announces the
    // request when it arrives: only then is it in flight, whatever the machine's speed.
    const slow = fetch(`${base}/slow?ms=150`).then((response) => response.text());
    await waitForLine(server, new RegExp(`^SLOW pid=${String(server.pid)} ms=150$`));
    process.kill(server.pid, 'SIGTERM');
    expect(await slow).toBe('slow 150\n');
    expect(await server.child.waitForExit()).toEqual({ code: 0, signal: null });
    await assertAllGone([server.pid]);
  });

  it('healthy-server.mjs with HEALTH_GATE answers /health 503 while the gate file is missing, 200 once it exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-gate-'));
    try {
      const gate = join(dir, 'open');
      const server = await startFixture('healthy-server.mjs', { HEALTH_GATE: gate });
      const url = `http://127.0.0.1:${String(server.port)}/health`;
      expect((await fetch(url)).status).toBe(503);
      writeFileSync(gate, '');
      expect((await fetch(url)).status).toBe(200);
      rmSync(gate);
      expect((await fetch(url)).status).toBe(503);
      await server.stop();
      await assertAllGone([server.pid]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('python-server.py (Debian python3) answers /health and exits 0 on SIGTERM', async () => {
    const server = await startFixture('python-server.py');
    const health = await fetch(`http://127.0.0.1:${String(server.port)}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', pid: server.pid });
    process.kill(server.pid, 'SIGTERM');
    expect(await server.child.waitForExit()).toEqual({ code: 0, signal: null });
    await assertAllGone([server.pid]);
  });

  it('never-ready.mjs in 503 mode listens but is never healthy; silent mode never listens', async () => {
    const busy = await startFixture('never-ready.mjs', { NEVER_READY_MODE: '503' }, { readyPattern: /LISTENING port=(\d+)/ });
    expect((await fetch(`http://127.0.0.1:${String(busy.port)}/health`)).status).toBe(503);
    const silent = await startFixture('never-ready.mjs', {}, { readyPattern: /STARTED pid=(\d+)/ });
    expect(silent.port).toBeNull();
    await busy.stop();
    await silent.stop();
    await assertAllGone([busy.pid, silent.pid]);
  });

  it('hold-port.mjs holds its port until stopped', async () => {
    const holder = await startFixture('hold-port.mjs');
    const port = holder.port as number;
    expect(await connects(port)).toBe(true);
    await holder.stop();
    await assertAllGone([holder.pid]);
    expect(await connects(port)).toBe(false);
  });

  it('log-ready.mjs prints its readiness line late and never listens', async () => {
    const app = await startFixture('log-ready.mjs', { LOG_DELAY_MS: '100' }, { readyPattern: /STARTED pid=(\d+)/ });
    await waitForLine(app, /^Server is up$/);
    expect(app.port).toBeNull();
    await app.stop();
    await assertAllGone([app.pid]);
  });
});
