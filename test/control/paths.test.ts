import { describe, expect, it } from 'vitest';
import { SUN_PATH_MAX_BYTES, controlPaths, lockNameFor, socketPathFor } from '../../src/control/paths.js';

describe('control paths', () => {
  it('puts <name>.sock, the record, the log and the daemon output in the run dir', () => {
    expect(controlPaths('/run/user/1000/naija-sup', 'api')).toEqual({
      runDir: '/run/user/1000/naija-sup',
      name: 'api',
      socket: '/run/user/1000/naija-sup/api.sock',
      socketDir: '/run/user/1000/naija-sup',
      record: '/run/user/1000/naija-sup/api.json',
      log: '/run/user/1000/naija-sup/api.log',
      daemonLog: '/run/user/1000/naija-sup/api.out',
    });
  });

  it('keeps the socket path within sun_path whatever the name and run dir', () => {
    const longName = 'a'.repeat(64);
    const runDir = '/run/user/1000/naija-sup/' + 'x'.repeat(30);
    const hashed = socketPathFor(runDir, longName);
    expect(hashed.socketDir).toBe(runDir);
    expect(hashed.socket).toMatch(/\/s-[0-9a-f]{16}\.sock$/);
    expect(Buffer.byteLength(hashed.socket)).toBeLessThanOrEqual(SUN_PATH_MAX_BYTES);

    const deepRunDir = '/home/someone/' + 'very-long-folder-name/'.repeat(8) + 'run';
    const short = socketPathFor(deepRunDir, 'api', { uid: 1000 });
    expect(short.socketDir).toBe('/tmp/naija-sup-1000-s');
    expect(short.socket).toMatch(/^\/tmp\/naija-sup-1000-s\/[0-9a-f]{16}\.sock$/);
    // Deterministic (every client computes the same path), and distinct per run dir and name.
    expect(socketPathFor(deepRunDir, 'api', { uid: 1000 })).toEqual(short);
    expect(socketPathFor(deepRunDir + '2', 'api', { uid: 1000 }).socket).not.toBe(short.socket);
    expect(socketPathFor(deepRunDir, 'api2', { uid: 1000 }).socket).not.toBe(short.socket);
  });

  it('names the start lock in the abstract namespace, per uid and socket', () => {
    const a = lockNameFor('/run/a.sock', { uid: 1000 });
    expect(a.startsWith('\0naija-sup-lock-1000-')).toBe(true);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(SUN_PATH_MAX_BYTES);
    expect(lockNameFor('/run/a.sock', { uid: 1000 })).toBe(a);
    expect(lockNameFor('/run/b.sock', { uid: 1000 })).not.toBe(a);
    expect(lockNameFor('/run/a.sock', { uid: 1001 })).not.toBe(a);
  });
});
