/**
 * The per-user run directory: instance records, control sockets and logs (issue 5).
 * `$XDG_RUNTIME_DIR/naija-sup` when set, else `<tmpdir>/naija-sup-<uid>`. It must be a real
 * directory (not a symlink), owned by this user, with no group/other permissions: another user who
 * could write here could make us signal their choice of PID.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NaijaSupError } from '../errors.js';

export function runDirPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['NAIJA_SUP_RUN_DIR'];
  if (override) return override;
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg) return join(xdg, 'naija-sup');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `naija-sup-${uid}`);
}

/** Creates the run dir (0700) if needed and verifies its owner and mode; returns its path. */
export function ensureRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return ensurePrivateDir(runDirPath(env), 'run directory');
}

/**
 * The run dir if it exists and is safe to trust; null when it does not exist (so nothing can be
 * running). Clients (`status`, `stop`) use this instead of {@link ensureRunDir}: asking about an
 * app must not create directories, yet a socket in a directory someone else controls could lie.
 * @throws NaijaSupError E_RUN_DIR when it exists with the wrong type, owner or mode.
 */
export function checkRunDir(env: NodeJS.ProcessEnv = process.env): string | null {
  return checkPrivateDir(runDirPath(env), 'run directory');
}

/** Like {@link checkRunDir} for any private directory (the short socket directory). */
export function checkPrivateDir(dir: string, what = 'run directory'): string | null {
  try {
    lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new NaijaSupError('E_RUN_DIR', `cannot read the ${what} ${dir}: ${(error as Error).message}`, {
      fix: 'set NAIJA_SUP_RUN_DIR to a directory you own, or fix the permissions of its parent',
      cause: error,
    });
  }
  return verifyPrivateDir(dir, what);
}

/**
 * Creates `dir` (0700) if needed, then verifies it: a real directory (not a symlink), owned by this
 * user, no group/other permissions. Used for the run dir and for the short socket directory.
 */
export function ensurePrivateDir(dir: string, what = 'run directory'): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new NaijaSupError('E_RUN_DIR', `cannot create the ${what} ${dir}: ${(error as Error).message}`, {
      fix: 'set NAIJA_SUP_RUN_DIR to a directory you own, or fix the permissions of its parent',
      cause: error,
    });
  }
  return verifyPrivateDir(dir, what);
}

function verifyPrivateDir(dir: string, what: string): string {
  const st = lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (!st.isDirectory()) {
    throw new NaijaSupError('E_RUN_DIR', `the ${what} ${dir} is not a directory (a symlink or a file is in its place)`, {
      fix: `remove ${dir} if you did not create it on purpose, or set NAIJA_SUP_RUN_DIR`,
    });
  }
  if (st.uid !== uid) {
    throw new NaijaSupError('E_RUN_DIR', `the ${what} ${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`, {
      fix: `another user may be trying to hijack it: remove it as its owner, or set NAIJA_SUP_RUN_DIR to a directory you own`,
    });
  }
  if ((st.mode & 0o077) !== 0) {
    throw new NaijaSupError('E_RUN_DIR', `the ${what} ${dir} has mode ${(st.mode & 0o777).toString(8)}; it must be 700`, {
      fix: `chmod 700 ${dir}`,
    });
  }
  return dir;
}
