import { describe, expect, it } from 'vitest';
import { SUN_PATH_MAX_BYTES, controlPaths, socketPathFor } from '../../src/control/paths.js';
import { lockPathFor } from '../../src/control/start-lock.js';

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

  it('puts the start lock beside the socket, as long as it, so it fits wherever the socket does', () => {
    expect(lockPathFor('/run/user/0/naija-sup/api.sock')).toBe('/run/user/0/naija-sup/api.lock');
    const deep = socketPathFor('/home/someone/' + 'very-long-folder-name/'.repeat(8) + 'run', 'api', { uid: 1000 }).socket;
    expect(Buffer.byteLength(lockPathFor(deep))).toBe(Buffer.byteLength(deep));
    expect(Buffer.byteLength(lockPathFor(deep))).toBeLessThanOrEqual(SUN_PATH_MAX_BYTES);
  });
});
