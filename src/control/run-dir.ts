/**
 * The per-user run directory: instance records, control sockets and logs (issue 5).
 * `$XDG_RUNTIME_DIR/naija-sup` when set, else `<tmpdir>/naija-sup-<uid>`. It must be a real
 * directory (not a symlink), owned by this user, with no group/other permissions: another user who
 * could write here could make us signal their choice of PID.
 *
 * That is not enough on its own (issue 15): whoever controls a directory above it can rename the
 * run dir away after our check and put a symlink in its place — root after `su` without `-` keeps
 * the other user's XDG_RUNTIME_DIR, and would then write its records wherever that user chose. So
 * every directory above it must be trusted too (owned by root or by us, not writable by others
 * unless sticky, like /tmp), and the supervisor holds the directory open and writes through that
 * handle (`/proc/self/fd/N/<file>`, Linux's openat), checking before each write that the path
 * still names it.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, parse, sep } from 'node:path';
import { NaijaSupError } from '../errors.js';
import { isRunDirRegistration, runDirRegistration, shortSocketDir, standardRunDirs } from './paths.js';

export function runDirPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['NAIJA_SUP_RUN_DIR'];
  if (override) return override;
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg) return join(xdg, 'naija-sup');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `naija-sup-${uid}`);
}

/**
 * Creates the run dir (0700) if needed, verifies it and every directory above it, and holds it
 * open so later writes cannot be redirected ({@link inRunDir}); returns its path.
 */
export function ensureRunDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = runDirPath(env);
  // The parents first: creating a directory inside one another user controls is already a mistake.
  const parent = dirname(dir);
  if (existsSync(parent)) checkAncestors(parent, 'run directory');
  ensurePrivateDir(dir, 'run directory');
  checkAncestors(parent, 'run directory');
  hold(dir);
  register(dir);
  return dir;
}

/**
 * The run dir if it exists and is safe to trust; null when it does not exist (so nothing can be
 * running). Clients (`status`, `stop`) use this instead of {@link ensureRunDir}: asking about an
 * app must not create directories, yet a socket in a directory someone else controls could lie.
 * @throws NaijaSupError E_RUN_DIR when it exists with the wrong type, owner or mode, or under a
 *   directory another user controls.
 */
export function checkRunDir(env: NodeJS.ProcessEnv = process.env): string | null {
  return checkRunDirAt(runDirPath(env));
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

function myUid(fallback: number): number {
  return typeof process.getuid === 'function' ? process.getuid() : fallback;
}

function verifyPrivateDir(dir: string, what: string): string {
  const st = lstatSync(dir);
  const uid = myUid(st.uid);
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

/** S_ISVTX (not in Node's fs.constants). */
const STICKY = 0o1000;

/** The name of another user (never ours: {@link untrustedReason} asks only about others). */
function userName(uid: number): string {
  try {
    const line = process.getBuiltinModule('node:fs').readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    return line?.split(':')[0] ?? `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

/**
 * Why `dir` (an existing directory above a private one) cannot be trusted, or null: someone other
 * than root and us owns it, or others may write to it and it is not sticky (in a sticky directory
 * like /tmp only an entry's owner may rename or remove it).
 */
export function untrustedReason(dir: string): string | null {
  const st = statSync(dir);
  const uid = myUid(st.uid);
  if (st.uid !== 0 && st.uid !== uid) return `${dir} belongs to ${userName(st.uid)} (uid ${st.uid}), who could replace what is inside it`;
  const sticky = (st.mode & STICKY) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky) return `${dir} is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}) and not sticky, so others could replace what is inside it`;
  return null;
}

/** Every directory from the root down to `dir`, as written and as resolved (symlinks followed). */
function chain(dir: string): string[] {
  const out = new Set<string>();
  for (const path of [dir, realpathSync(dir)]) {
    const root = parse(path).root;
    let current = root;
    out.add(root);
    for (const part of path.slice(root.length).split(sep).filter((p) => p !== '')) {
      current = join(current, part);
      out.add(current);
    }
  }
  return [...out];
}

/**
 * Refuses a private directory under a directory another user controls.
 * @throws NaijaSupError E_RUN_DIR naming the directory, its owner, and the way out.
 */
export function checkAncestors(dir: string, what = 'run directory'): void {
  for (const ancestor of chain(dir)) {
    let why: string | null;
    try {
      why = untrustedReason(ancestor);
    } catch {
      continue; // vanished meanwhile: the private directory's own checks will fail
    }
    if (why === null) continue;
    throw new NaijaSupError('E_RUN_DIR', `refusing the ${what} ${join(dir, '…')}: ${why}`, {
      details: [
        'a user who controls a directory above the run directory can swap it for a symlink after naija-sup checked it, and have the records (and the signals that follow them) land where they choose',
        'after "su" or "sudo" without "-", XDG_RUNTIME_DIR still names the previous user\'s directory',
      ],
      fix: 'use "su -" or "sudo -i" (they set XDG_RUNTIME_DIR for the new user), or set NAIJA_SUP_RUN_DIR to a directory of yours under trusted parents',
    });
  }
}

/** A run dir held open: the descriptor, and the identity the path must keep. */
interface Held {
  fd: number;
  dev: number;
  ino: number;
}

const held = new Map<string, Held>();

/** /proc/self/fd is how Linux offers openat() to a language without it; elsewhere: re-check only. */
const PROC_FD = '/proc/self/fd';

function hold(dir: string): void {
  const st = lstatSync(dir);
  const existing = held.get(dir);
  if (existing !== undefined && existing.dev === st.dev && existing.ino === st.ino) return;
  if (existing !== undefined) closeSync(existing.fd);
  // O_NOFOLLOW|O_DIRECTORY: the handle is to the directory we just checked, never a symlink's target.
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  const fst = fstatSync(fd);
  if (fst.dev !== st.dev || fst.ino !== st.ino) {
    closeSync(fd);
    throw swapped(dir, 'while it was being opened');
  }
  held.set(dir, { fd, dev: fst.dev, ino: fst.ino });
}

function swapped(dir: string, when: string): NaijaSupError {
  let now = 'gone';
  try {
    const st = lstatSync(dir);
    now = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? `another directory (owner uid ${st.uid})` : 'a file';
  } catch {
    // gone
  }
  return new NaijaSupError('E_RUN_DIR', `the run directory ${dir} was replaced ${when} (it is now ${now}); nothing was written there`, {
    fix: 'someone with access to its parent directory replaced it: find out who, stop this supervisor ("naija-sup stop"), and start it with a run directory under trusted parents (NAIJA_SUP_RUN_DIR)',
  });
}

/**
 * The path to use for writing `path` when it lies in a held run dir: checked that the run dir is
 * still the directory that was verified (not a symlink, same inode), then reached through the
 * held descriptor so a swap after the check changes nothing. Other paths are returned unchanged.
 * @throws NaijaSupError E_RUN_DIR when the run dir was replaced since it was checked.
 */
export function inRunDir(path: string): string {
  const dir = dirname(path);
  const h = held.get(dir);
  if (h === undefined) return path;
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    throw swapped(dir, 'after it was checked');
  }
  if (!st.isDirectory() || st.dev !== h.dev || st.ino !== h.ino) throw swapped(dir, 'after it was checked');
  return existsSync(PROC_FD) ? join(PROC_FD, String(h.fd), basename(path)) : path;
}

// ── One user, one view (issue 15) ───────────────────────────────────────────────────────────────

/**
 * Records `dir` in the user's short directory (private, like the run dir), so that a command run
 * with another environment — a cron job without XDG_RUNTIME_DIR — still finds the apps in it.
 * Best effort: a run dir that cannot be registered is still found if it is a standard one.
 */
function register(dir: string): void {
  try {
    const file = runDirRegistration(dir);
    ensurePrivateDir(shortSocketDir(), 'socket directory');
    checkAncestors(dirname(shortSocketDir()), 'socket directory');
    if (existsSync(file) && readFileSync(file, 'utf8') === dir) return;
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, dir);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch {
    // The standard run dirs are found without it.
  }
}

/** Run dirs registered by this user's supervisors; registrations of vanished dirs are pruned. */
function registeredRunDirs(): string[] {
  const short = shortSocketDir();
  try {
    if (checkPrivateDir(short, 'socket directory') === null) return [];
  } catch {
    return []; // not ours or not private: nothing in it is trusted
  }
  const dirs: string[] = [];
  for (const file of readdirSync(short).filter(isRunDirRegistration)) {
    try {
      const dir = readFileSync(join(short, file), 'utf8');
      if (existsSync(dir)) dirs.push(dir);
      else rmSync(join(short, file), { force: true });
    } catch {
      // Raced with its removal.
    }
  }
  return dirs;
}

/**
 * Every run dir of this user that exists and is safe to trust, `env`'s own first: the standard
 * ones (with and without XDG_RUNTIME_DIR) and every registered one. A run dir that fails the
 * checks is left out silently here; the commands that use it as their own report it.
 */
export function userRunDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const all = [...new Set([runDirPath(env), ...standardRunDirs(env), ...registeredRunDirs()])];
  return all.filter((dir) => {
    try {
      return checkRunDirAt(dir) !== null;
    } catch {
      return false;
    }
  });
}

/**
 * The run dirs a command looks through for apps: all of the user's ({@link userRunDirs}), unless
 * NAIJA_SUP_RUN_DIR names one — an explicit, isolated run dir (tests, containers) sees only itself.
 */
export function viewRunDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env['NAIJA_SUP_RUN_DIR']) {
    const own = checkRunDir(env);
    return own === null ? [] : [own];
  }
  return userRunDirs(env);
}

function checkRunDirAt(dir: string): string | null {
  const checked = checkPrivateDir(dir, 'run directory');
  if (checked !== null) checkAncestors(dirname(checked), 'run directory');
  return checked;
}
