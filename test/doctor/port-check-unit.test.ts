/**
 * doctor's `port` check over a fake /proc (captured /proc/net tables, hand-made processes): an
 * owner this user cannot see, a free port with an IPv6 neighbour on ::1, a foreign owner that
 * `start` would stop (cleanup.killExisting, cleanup.match) or fail on. port-pid.test.ts runs the
 * same check against real listeners.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { portCheck } from '../../src/doctor/checks/port.js';
import type { CheckOutcome, DoctorContext } from '../../src/doctor/types.js';
import { createProc } from '../../src/process/proc-read.js';
import { CAPTURED, makeFakeProc, type FakeProc, type FakeProcOptions } from '../ports/fixtures/fake-proc.js';

let fake: FakeProc | undefined;
const dirs: string[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  fake?.cleanup();
  fake = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function check(options: FakeProcOptions, config: { port: number; host?: string; killExisting?: boolean; match?: string[] }): Promise<CheckOutcome> {
  fake = makeFakeProc(options);
  const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-port-check-'));
  dirs.push(runDir);
  const ctx = {
    loaded: {
      config: {
        name: 'api',
        port: config.port,
        host: config.host ?? '127.0.0.1',
        cleanup: { killExisting: config.killExisting ?? false, match: config.match ?? [] },
      },
    },
    runDir,
    proc: createProc(fake.root),
  } as unknown as DoctorContext;
  return portCheck.run(ctx);
}

describe('port check on a fake /proc', () => {
  it('skips without a valid config', async () => {
    expect(await portCheck.run({ loaded: null } as unknown as DoctorContext)).toEqual({ status: 'skip', summary: 'needs a valid config (see the config check)' });
  });

  it('a socket whose owner no visible process holds: fail, run it as root or that user', async () => {
    const out = await check({ processes: [] }, { port: CAPTURED.nobody4.port });
    expect(out).toMatchObject({
      status: 'fail',
      summary: `127.0.0.1:${CAPTURED.nobody4.port} is held, but its owner is not visible to you (socket uid 65534, user nobody)`,
      fix: `Run \`sudo naija-sup doctor --only port\` (or as nobody) to name it, then stop it; or choose another port with --port.`,
    });
    expect(out.details?.[0]).toBe(`socket 127.0.0.1:${CAPTURED.nobody4.port} (inode ${CAPTURED.nobody4.inode})`);
  });

  it('free on 127.0.0.1 but a server on ::1: warn about "localhost", and how to stop that one', async () => {
    const out = await check({ processes: [{ pid: 4100, argv: ['node', 'old.js'], sockets: [CAPTURED.lo6.inode] }] }, { port: CAPTURED.lo6.port });
    expect(out).toMatchObject({
      status: 'warn',
      summary: `127.0.0.1:${CAPTURED.lo6.port} is free, but another server listens on [::1]:${CAPTURED.lo6.port} (IPv4/IPv6 mismatch)`,
      fix: `Stop the other server (\`naija-sup free-port ${CAPTURED.lo6.port} --host ::1\`), and have clients use 127.0.0.1 rather than "localhost".`,
    });
  });

  const holder = { pid: 4100, ppid: 1, pgid: 4100, uid: 0, startTime: 5000, argv: ['python3', '-m', 'http.server'], cwd: '/srv/old', sockets: [CAPTURED.lo4.inode] };

  it('a foreign owner with cleanup.killExisting on, or matching cleanup.match: warn, start will stop it', async () => {
    const kill = await check({ processes: [holder] }, { port: CAPTURED.lo4.port, killExisting: true });
    expect(kill.status).toBe('warn');
    expect(kill.summary).toBe(`127.0.0.1:${CAPTURED.lo4.port} is held by pid 4100 (root: python3 -m http.server), not started by naija-sup; \`naija-sup start\` will stop it (cleanup.killExisting is on)`);
    expect(kill.details?.[0]).toMatch(new RegExp(`^pid 4100 \\(ppid 1, pgid 4100\\) user root, started \\S+, cwd /srv/old: python3 -m http\\.server — listens on 127\\.0\\.0\\.1:${CAPTURED.lo4.port}$`));
    const match = await check({ processes: [holder] }, { port: CAPTURED.lo4.port, match: ['http.server'] });
    expect(match.summary).toMatch(/will stop it \(its command matches cleanup\.match \(http\.server\)\)$/);
  });

  it('a foreign owner start would not stop: fail, naming free-port, --kill-existing and the next port', async () => {
    const out = await check({ processes: [{ ...holder, argv: [] }] }, { port: CAPTURED.lo4.port, match: ['gunicorn'] });
    expect(out.status).toBe('fail');
    expect(out.summary).toBe(`127.0.0.1:${CAPTURED.lo4.port} is held by pid 4100 (root: ?), not started by naija-sup: \`naija-sup start\` would fail with EADDRINUSE`);
    expect(out.fix).toContain(`\`naija-sup start --port ${CAPTURED.lo4.port + 1}\``);
    expect(out.details?.[0]).toContain(': (no command line) — listens on');
  });

  it("as an ordinary user, another user's owner: fail, ask its owner or use sudo, whatever cleanup says", async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    const out = await check({ processes: [holder] }, { port: CAPTURED.lo4.port, killExisting: true });
    expect(out).toMatchObject({
      status: 'fail',
      summary: `127.0.0.1:${CAPTURED.lo4.port} is held by pid 4100 (root: python3 -m http.server), another user's process: naija-sup will not stop it`,
      fix: `Ask its owner (root) to stop it, or as root: \`sudo naija-sup free-port ${CAPTURED.lo4.port}\`; or choose another port with --port.`,
    });
  });
});
