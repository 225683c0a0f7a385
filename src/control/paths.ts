/**
 * Where an app's control files live in the run dir: `<name>.sock` (the control socket, 0600),
 * `<name>.json` (the instance record), `<name>.log` (+ `.log.1`… rotated) and `<name>.out` (the
 * detached supervisor's own stdout/stderr).
 *
 * A Unix socket path must fit `sun_path`: 108 bytes on Linux, one of them the terminating NUL.
 * `$XDG_RUNTIME_DIR/naija-sup/<64-char name>.sock` fits, but `NAIJA_SUP_RUN_DIR` or a long
 * `$TMPDIR` may not, and Node then fails with a bare EINVAL. So the socket falls back, in order, to
 * a short hashed name in the run dir, then to a hashed name in a short per-user directory under
 * /tmp (checked like the run dir: 0700, ours). The choice depends only on the paths and the uid,
 * so `start` and every client compute the same one.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Usable bytes of `sun_path` (108 minus the terminating NUL). */
export const SUN_PATH_MAX_BYTES = 107;

export interface ControlPaths {
  runDir: string;
  name: string;
  /** The control socket. */
  socket: string;
  /** The directory holding the socket: `runDir`, or the short fallback directory (ensure it too). */
  socketDir: string;
  /** The instance record (src/control/record.ts). */
  record: string;
  /** The current log file; rotated files are `<log>.1` … `<log>.<maxFiles-1>`. */
  log: string;
  /** stdout/stderr of a detached supervisor (small: the rotating log holds the instance's output). */
  daemonLog: string;
}

export interface PathOptions {
  /** Default: process.getuid(). */
  uid?: number;
  /** Parent of the last-resort socket directory. Default '/tmp'. */
  shortRoot?: string;
}

/**
 * sha256 hex of `text`. node:crypto is loaded on first use only (process.getBuiltinModule, Node
 * 20.16+): the common path, `status --name NAME` with a short socket path, never needs it.
 */
function sha256(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

function shortHash(text: string): string {
  return sha256(text).slice(0, 16);
}

function fits(path: string): boolean {
  return Buffer.byteLength(path) <= SUN_PATH_MAX_BYTES;
}

function currentUid(options: PathOptions): number {
  return options.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0);
}

/** The socket path for `name` in `runDir`, and the directory it lives in. */
export function socketPathFor(runDir: string, name: string, options: PathOptions = {}): { socket: string; socketDir: string } {
  const plain = join(runDir, `${name}.sock`);
  if (fits(plain)) return { socket: plain, socketDir: runDir };
  const hashed = join(runDir, `s-${shortHash(name)}.sock`);
  if (fits(hashed)) return { socket: hashed, socketDir: runDir };
  const dir = shortSocketDir(options);
  return { socket: join(dir, `${shortHash(`${runDir}\0${name}`)}.sock`), socketDir: dir };
}

/** The last-resort socket directory (shared by every run dir of this user): `ls` looks there too. */
export function shortSocketDir(options: PathOptions = {}): string {
  return join(options.shortRoot ?? '/tmp', `naija-sup-${currentUid(options)}-s`);
}

export function controlPaths(runDir: string, name: string, options: PathOptions = {}): ControlPaths {
  const { socket, socketDir } = socketPathFor(runDir, name, options);
  return {
    runDir,
    name,
    socket,
    socketDir,
    record: join(runDir, `${name}.json`),
    log: join(runDir, `${name}.log`),
    daemonLog: join(runDir, `${name}.out`),
  };
}


/**
 * The run dirs a user's naija-sup uses without NAIJA_SUP_RUN_DIR, whatever the environment of the
 * command at hand (issue 15, "one user, one view"): a shell has XDG_RUNTIME_DIR, a cron job or a
 * `sudo` does not, and both must see each other's apps. Existence is not checked here.
 */
export function standardRunDirs(env: NodeJS.ProcessEnv, options: PathOptions = {}): string[] {
  const uid = currentUid(options);
  const xdg = env['XDG_RUNTIME_DIR'];
  const dirs = [
    ...(xdg ? [join(xdg, 'naija-sup')] : []),
    join('/run/user', String(uid), 'naija-sup'),
    join(tmpdir(), `naija-sup-${uid}`),
    join(options.shortRoot ?? '/tmp', `naija-sup-${uid}`),
  ];
  return [...new Set(dirs)];
}

/**
 * Where a run dir is registered in the user's short directory, so every command can find it. The
 * name only has to be the same for the same run dir (the file holds the path): FNV-1a 64, not
 * sha256, because every `start` registers and node:crypto cost it ~9 ms and the resident
 * supervisor 0.7 MiB of RSS (issue 19). Registrations named by older versions are read alike.
 */
export function runDirRegistration(runDir: string, options: PathOptions = {}): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(runDir)) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return join(shortSocketDir(options), `rundir-${hash.toString(16).padStart(16, '0')}`);
}

/** Whether a file in the short directory is a run dir registration. */
export function isRunDirRegistration(file: string): boolean {
  return /^rundir-[0-9a-f]{16}$/.test(file);
}
