/**
 * A supervisor that closes its control socket while a client's connection still waits in its
 * accept queue (it is exiting after another `stop`): the kernel resets the queued connection and
 * libuv reports ECONNRESET as the connect's own error. Before, connectControl turned that into
 * E_FATAL and one of ten concurrent `naija-sup stop`s exited 1 (test/containment/concurrent.test.ts
 * under load). Deterministic here: the fake supervisor stops listening in the same tick as the
 * client's connect(), before its event loop could accept, which is exactly the queued-then-reset case.
 * And the already-handled neighbour: accepted, then the connection and the socket file dropped
 * before any answer (E_CLOSED, then the socket is absent) also ends "not running", exit 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectControl } from '../../src/control/client.js';
import { controlPaths } from '../../src/control/paths.js';
import { stopApp } from '../../src/control/stop-app.js';

let dir = '';
let server: Server | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-closing-'));
});
afterEach(async () => {
  if (server?.listening) await new Promise((resolve) => server?.close(resolve));
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A listener that never gets to accept anyone: closed right after the client's connect(). */
async function listening(path: string): Promise<Server> {
  const s = createServer(() => undefined);
  s.listen(path);
  await new Promise<void>((resolve) => s.once('listening', resolve));
  server = s;
  return s;
}

describe('a supervisor that closes its socket under a queued connection', () => {
  it('connectControl reports "closing" (not E_FATAL) for a connection reset in the accept queue', async () => {
    const path = join(dir, 'app.sock');
    const s = await listening(path);
    const outcome = connectControl(path);
    s.close();
    expect((await outcome).kind).toBe('closing');
  });

  it('stop ends "not running", exit 0, when its connection is reset by a supervisor going away', async () => {
    const paths = controlPaths(dir, 'app');
    const s = await listening(paths.socket);
    const lines: string[] = [];
    const stopping = stopApp({ name: 'app', paths, named: true }, { timeoutMs: undefined, force: false }, {
      out: (text) => lines.push(text),
      notRunningNotes: () => [],
    });
    // close() unlinks the socket file too, as the supervisor's close() does before it stops listening.
    s.close();
    expect(await stopping).toBe(0);
    expect(lines.join('')).toBe('app: not running\n');
  });

  it('stop ends "not running", exit 0, when the supervisor accepts, then drops the connection and its socket before answering', async () => {
    const paths = controlPaths(dir, 'app');
    const s = await listening(paths.socket);
    let dropped = 0;
    // The request arrived; the supervisor is already on its way out (another stop got there first).
    s.on('connection', (socket) => socket.once('data', () => {
      dropped += 1;
      socket.destroy();
      s.close();
    }));
    const lines: string[] = [];
    const code = await stopApp({ name: 'app', paths, named: true }, { timeoutMs: undefined, force: false }, {
      out: (text) => lines.push(text),
      notRunningNotes: () => [],
    });
    expect(dropped).toBe(1);
    expect(code).toBe(0);
    expect(lines.join('')).toBe('app: not running\n');
  });
});
