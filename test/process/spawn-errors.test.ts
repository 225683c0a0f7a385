/**
 * What a failed spawn says: out of file descriptors (naija-sup's own limit, with the limit and the
 * count, or the system's table), an environment too large for execve, and any other errno.
 */
import { describe, expect, it } from 'vitest';
import { SpawnError, startInstance } from '../../src/process/spawn.js';
import { FIXTURES_DIR, childEnv } from '../helpers/processes.js';

describe('SpawnError messages', () => {
  it('EMFILE names naija-sup\'s own open-files limit and how many are open, not the command', () => {
    const error = new SpawnError('EMFILE', 'fd-limit', ['node', 'server.js'], '/srv/api');
    expect(error.message).toMatch(/^could not start the server: naija-sup is out of file descriptors \(EMFILE: open-files limit \d+, \d+ open; ulimit -n, or LimitNOFILE= under systemd\)$/);
    expect(error.message).not.toContain('server.js');
    expect(error.exitStatus).toBe(1);
  });

  it('ENFILE blames the system\'s file table', () => {
    expect(new SpawnError('ENFILE', 'fd-limit', ['node'], '/').message).toBe(
      'could not start the server: the system is out of file descriptors (ENFILE: its file table, fs.file-max, is full)',
    );
  });

  it('any other errno names the command and the code', () => {
    expect(new SpawnError('EIO', 'other', ['node', 'server.js'], '/').message).toBe('could not start node (EIO)');
  });
});

describe('a spawn the kernel refuses', () => {
  it('an environment value over 128 KiB is E2BIG, said in words', async () => {
    const error = await startInstance({ command: [process.execPath, '-v'], cwd: FIXTURES_DIR, env: childEnv({ HUGE: 'x'.repeat(200 * 1024) }) })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpawnError);
    expect(error).toMatchObject({ code: 'E2BIG', reason: 'other', exitStatus: 1 });
    expect((error as Error).message).toBe(
      `could not start ${process.execPath}: its arguments and environment are too large for the kernel (E2BIG; one value may be at most 128 KiB, all together about 2 MiB)`,
    );
  });
});
