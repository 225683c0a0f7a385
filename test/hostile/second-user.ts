/**
 * A second local user for the hostile-neighbour tests (issue 15): created with useradd for the
 * test file, removed in afterAll. Only root can do that; the callers skip, saying why, otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
export const NOT_ROOT_REASON = 'skipped: creating a second local user (useradd) needs root';

export interface SecondUser {
  name: string;
  uid: number;
  gid: number;
  /** Runs `argv` as this user (no groups), returns stdout; throws on a non-zero exit. */
  run(argv: string[]): string;
  remove(): void;
}

export function createSecondUser(): SecondUser {
  const name = `naijasup-t-${randomBytes(4).toString('hex')}`;
  execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', name]);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid,
    gid,
    run: (argv) => execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...argv], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }),
    remove: () => { execFileSync('userdel', [name]); },
  };
}
