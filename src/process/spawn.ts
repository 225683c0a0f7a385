/**
 * Starts the supervised server and turns it into a typed {@link ChildHandle}: line events per
 * stream, one exit event, the stderr of this start (bounded) for crash classification, and the
 * identity the instance record needs.
 *
 * Why `node:child_process.spawn` and not execa (research/failures-and-ports.md §3): execa's
 * `cleanup` (kill the child when the parent exits) is disabled when `detached: true`, and its
 * `kill()`/`forceKillAfterDelay` target only the direct child's PID, never the group — so a
 * server behind `sh -c` or with workers would be left behind. We need `detached: true` (below) and
 * group signalling (terminate.ts), so execa adds nothing here; it stays for short doctor probes.
 */

import { spawn as nodeSpawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions, StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import type { Duplex, Readable } from 'node:stream';
import { NaijaSupError } from '../errors.js';
import { PROC, processIdentity } from './identity.js';
import type { Proc } from './identity.js';
import type { ProcessIdentity } from './identity.js';
import { DEFAULT_MAX_LINE_LENGTH, LineSplitter } from './line-splitter.js';
import type { GroupTarget } from './terminate.js';

/** Which pipe a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** How the child ended: exactly one of the two is non-null (Node's 'exit' contract). */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The spawn function, injectable for tests; `node:child_process.spawn` fits it. */
export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface SpawnInstanceOptions {
  /** argv; never run through a shell. */
  command: readonly string[];
  /** Working directory (must exist). */
  cwd: string;
  /** The child's whole environment; entries whose value is undefined are left out. */
  env: Record<string, string | undefined>;
  /** Open file descriptors to pass to the child as fd 3, 4, … (the handoff listener). */
  extraFds?: readonly number[];
  /**
   * Open one more pipe after `extraFds` (fd 3 + extraFds.length in the child), reachable as
   * {@link ChildHandle.extraPipe}: the warm standby's gate (src/process/standby.ts).
   */
  extraPipe?: boolean;
  /** How long to wait for stdout/stderr to end after the process exited before 'exit' fires. Default 200 ms. */
  exitFlushMs?: number;
  /** Longest single output line kept. Default 64 KiB. */
  maxLineLength?: number;
  /** The /proc tree the child's identity is read from; the real one by default. */
  proc?: Proc;
  spawn?: SpawnFunction;
  /** Clock for `startedAt`. */
  now?: () => number;
}

/**
 * Why a spawn failed, in the terms the user needs. `fd-limit`: the supervisor (EMFILE) or the
 * system (ENFILE) is out of file descriptors — about us, not the command, and it passes.
 */
export type SpawnFailureReason = 'command-not-found' | 'permission-denied' | 'cwd-not-found' | 'fd-limit' | 'other';

/**
 * The command could not be started at all (it never ran). `exitStatus` follows the shell: 127 when
 * the command does not exist, 126 when it is not executable, 1 otherwise.
 */
export class SpawnError extends Error {
  override readonly name = 'SpawnError';
  /** errno code: 'ENOENT', 'EACCES', … */
  readonly code: string;
  readonly reason: SpawnFailureReason;
  readonly exitStatus: number;
  readonly command: readonly string[];
  readonly cwd: string;

  constructor(code: string, reason: SpawnFailureReason, command: readonly string[], cwd: string, cause?: unknown) {
    super(describeSpawnFailure(code, reason, command, cwd), cause === undefined ? undefined : { cause });
    this.code = code;
    this.reason = reason;
    this.exitStatus = spawnFailureExitStatus(code, reason);
    this.command = command;
    this.cwd = cwd;
  }
}

/** Shell convention for an exec failure: ENOENT → 127 ("command not found"), EACCES → 126, else 1. */
export function spawnFailureExitStatus(code: string, reason?: SpawnFailureReason): number {
  if (reason === 'cwd-not-found') return 1;
  if (code === 'ENOENT') return 127;
  if (code === 'EACCES' || code === 'EPERM') return 126;
  return 1;
}

/** The events of a {@link ChildHandle}. */
export interface ChildHandleEvents {
  /** One output line, without its newline; non-UTF-8 bytes are replaced with U+FFFD. */
  line: [stream: OutputStream, line: string];
  /**
   * Fires once, after the process exited and its stdout/stderr ended — or, if something else (a
   * grandchild) keeps the pipes open, after a short bounded flush. Never fires after 'error'.
   */
  exit: [info: ExitInfo];
  /** The command could not be started; no 'exit' follows. Attach a listener before the next tick. */
  error: [error: SpawnError];
}

/**
 * How much stderr one start keeps for crash classification, at each end: the first and the last
 * STDERR_KEEP_CHARS characters (each line counts its length + 1) and at most STDERR_KEEP_LINES
 * lines. Both ends, because the line that names a failure is not always near the end: Node's
 * "Could not locate the bindings file" comes first of 26 lines, and a crash after hours of
 * logging comes last. Bounded, because a server may log to stderr for months.
 */
export const STDERR_KEEP_CHARS = 64 * 1024;
export const STDERR_KEEP_LINES = 1000;

/**
 * The first and the last lines of one stream within the budget above; what falls between is
 * counted, not kept. A line too long for the budget still gets the tail to itself (the line
 * splitter caps it at 64 KiB), so memory stays under 2 × budget + one line.
 */
export class KeptLines {
  readonly #head: string[] = [];
  #headChars = 0;
  #headClosed = false;
  readonly #tail: string[] = [];
  #tailChars = 0;
  #skipped = 0;

  push(line: string): void {
    const cost = line.length + 1;
    if (!this.#headClosed) {
      if (this.#head.length < STDERR_KEEP_LINES && this.#headChars + cost <= STDERR_KEEP_CHARS) {
        this.#head.push(line);
        this.#headChars += cost;
        return;
      }
      // Once one line does not fit, the head is over: later short lines must not jump the order.
      this.#headClosed = true;
    }
    this.#tail.push(line);
    this.#tailChars += cost;
    while (this.#tail.length > 1 && (this.#tailChars > STDERR_KEEP_CHARS || this.#tail.length > STDERR_KEEP_LINES)) {
      this.#tailChars -= (this.#tail.shift() as string).length + 1;
      this.#skipped += 1;
    }
  }

  /** Lines that fell between the head and the tail. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Everything kept, oldest first; a gap is marked by one line saying how many lines it hides. */
  all(): string[] {
    if (this.#skipped === 0) return [...this.#head, ...this.#tail];
    return [...this.#head, `[naija-sup: ${this.#skipped} stderr line${this.#skipped === 1 ? '' : 's'} not kept]`, ...this.#tail];
  }

  /** The last `n` lines; never reaches across a gap into the head. */
  last(n: number): string[] {
    if (n <= 0) return [];
    const tail = this.#tail.slice(-n);
    if (this.#skipped > 0 || tail.length >= n) return tail;
    return [...this.#head.slice(-(n - tail.length)), ...tail];
  }
}

const DEFAULT_EXIT_FLUSH_MS = 200;

/**
 * A spawned instance. Emits 'line', then exactly one of 'exit' or 'error'. It never signals the
 * child itself: stopping is terminate.ts's job, which works on the whole group with identity checks.
 */
export class ChildHandle extends EventEmitter<ChildHandleEvents> {
  /** null when the spawn failed ('error' follows). */
  readonly pid: number | null;
  /** The process group: the child leads its own (`detached: true`), so pgid === pid. */
  readonly pgid: number | null;
  /** ms since the epoch, when spawn returned. */
  readonly startedAt: number;
  readonly command: readonly string[];
  /** Our end of the extra pipe ({@link SpawnInstanceOptions.extraPipe}); null without one. */
  extraPipe: Duplex | null = null;

  readonly #identity: ProcessIdentity | null;
  readonly #stderr = new KeptLines();
  #exitInfo: ExitInfo | null = null;
  #spawnError: SpawnError | null = null;
  #finished = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #outputs: Readable[] = [];

  /** @internal Use {@link spawnInstance}. */
  constructor(
    child: ChildProcess | null,
    options: Required<Pick<SpawnInstanceOptions, 'exitFlushMs' | 'maxLineLength' | 'proc'>> & {
      command: readonly string[];
      cwd: string;
      startedAt: number;
      preSpawnError: SpawnError | null;
    },
  ) {
    super();
    this.command = options.command;
    this.startedAt = options.startedAt;
    this.pid = child?.pid ?? null;
    this.pgid = this.pid;
    // Read now: uv_spawn returns only after exec succeeded, and until Node reaps the child (in a
    // later event-loop turn) its /proc entry exists even if it already died. So this cannot miss.
    this.#identity = this.pid === null ? null : processIdentity(this.pid, { proc: options.proc });

    if (options.preSpawnError !== null) {
      this.#failLater(options.preSpawnError);
      return;
    }
    if (child === null) return;

    child.on('error', (error: NodeJS.ErrnoException) => {
      // After a successful spawn, ChildProcess 'error' only reports failed kill()/send(), which we
      // never use; before it, it is the spawn failure itself.
      if (this.pid !== null) return;
      this.#fail(spawnErrorFrom(error, options.command, options.cwd));
    });
    if (this.pid === null) return;

    let openStreams = 0;
    const attach = (stream: Readable | null, name: OutputStream): void => {
      if (stream === null) return;
      openStreams += 1;
      this.#outputs.push(stream);
      const splitter = new LineSplitter({ maxLineLength: options.maxLineLength });
      stream.on('data', (chunk: Buffer) => {
        for (const line of splitter.push(chunk)) this.#emitLine(name, line);
      });
      stream.once('close', () => {
        for (const line of splitter.end()) this.#emitLine(name, line);
        openStreams -= 1;
        if (openStreams === 0 && this.#exitInfo !== null) this.#finish();
      });
      // A read error on our end of a pipe must not become an uncaught 'error'; 'close' follows.
      stream.on('error', () => undefined);
    };
    attach(child.stdout, 'stdout');
    attach(child.stderr, 'stderr');

    child.once('exit', (code, signal) => {
      this.#exitInfo = { code, signal };
      if (openStreams === 0) {
        this.#finish();
        return;
      }
      // A grandchild (a worker, or the server behind `sh -c`) may hold the pipes open long after
      // the child died; report the exit anyway after a short flush. Later lines still arrive.
      this.#flushTimer = setTimeout(() => this.#finish(), options.exitFlushMs);
    });
  }

  /**
   * Closes our ends of stdout/stderr. A descendant that escaped the group (setsid) and inherited
   * the pipes keeps them open for as long as it lives; an open pipe keeps Node's event loop, and so
   * the supervisor, alive. Called once the instance's processes are gone (or survived SIGKILL):
   * whatever a stray still writes is lost, which beats a supervisor that never exits.
   */
  closeOutput(): void {
    for (const stream of this.#outputs) stream.destroy();
    this.#outputs = [];
  }

  /** The process as /proc saw it right after the spawn; null if the spawn failed or /proc is unavailable. */
  identity(): ProcessIdentity | null {
    return this.#identity;
  }

  /**
   * What terminate.ts needs to stop this instance's group. null when the spawn failed. Off Linux
   * (no identity) the start time is '' and identity checks are degraded (see isSameProcess).
   */
  groupTarget(): GroupTarget | null {
    if (this.pid === null || this.pgid === null) return null;
    return {
      pid: this.pid,
      pgid: this.pgid,
      startTime: this.#identity?.startTime ?? '',
      bootId: this.#identity?.bootId ?? null,
      ownChild: true,
    };
  }

  /** The last `n` stderr lines of this start, oldest first: for display. */
  stderrTail(n = 20): string[] {
    return this.#stderr.last(n);
  }

  /**
   * All the stderr this start kept (its first and last lines, see {@link STDERR_KEEP_CHARS}),
   * oldest first: for crash classification, which must see the key line wherever it is.
   */
  stderrKept(): string[] {
    return this.#stderr.all();
  }

  /** The exit, once 'exit' has fired; null before. */
  get exitInfo(): ExitInfo | null {
    return this.#finished ? this.#exitInfo : null;
  }

  /** Resolves with the exit info when 'exit' fires (at once if it already has); rejects on a spawn error. */
  waitForExit(): Promise<ExitInfo> {
    if (this.#spawnError !== null) return Promise.reject(this.#spawnError);
    if (this.#finished && this.#exitInfo !== null) return Promise.resolve(this.#exitInfo);
    return new Promise<ExitInfo>((resolve, reject) => {
      const onExit = (info: ExitInfo): void => {
        this.off('error', onError);
        resolve(info);
      };
      const onError = (error: SpawnError): void => {
        this.off('exit', onExit);
        reject(error);
      };
      this.once('exit', onExit);
      this.once('error', onError);
    });
  }

  #emitLine(stream: OutputStream, line: string): void {
    if (stream === 'stderr') this.#stderr.push(line);
    this.emit('line', stream, line);
  }

  #finish(): void {
    if (this.#finished || this.#exitInfo === null) return;
    this.#finished = true;
    clearTimeout(this.#flushTimer);
    this.emit('exit', this.#exitInfo);
  }

  #fail(error: SpawnError): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#spawnError = error;
    this.emit('error', error);
  }

  #failLater(error: SpawnError): void {
    // Like Node's own spawn errors: delivered on the next tick, so a listener attached right after
    // spawnInstance() returns still receives it.
    process.nextTick(() => this.#fail(error));
  }
}

/** A handle whose spawn succeeded. */
export type RunningChild = ChildHandle & { readonly pid: number; readonly pgid: number };

/**
 * Spawns `command` (no shell) as the leader of a new session and process group (`detached: true`,
 * i.e. setsid): a terminal Ctrl+C then reaches only the supervisor, which forwards the signal to the
 * group exactly once — uvicorn treats a second SIGINT as "force exit". stdin is ignored; stdout and
 * stderr are piped and split into lines; `extraFds` become fd 3, 4, ….
 *
 * A spawn failure (missing command, not executable, missing cwd) is reported by an 'error' event on
 * the next tick, with `pid === null`. Throws only for an empty command.
 */
export function spawnInstance(options: SpawnInstanceOptions): ChildHandle {
  const [file, ...args] = options.command;
  if (file === undefined || file === '') {
    throw new NaijaSupError('E_NO_COMMAND', 'No command to start.', {
      fix: 'Set `command` in the config file or pass it after `--`.',
    });
  }
  const settings = {
    command: [...options.command],
    cwd: options.cwd,
    exitFlushMs: options.exitFlushMs ?? DEFAULT_EXIT_FLUSH_MS,
    maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    proc: options.proc ?? PROC,
    startedAt: (options.now ?? Date.now)(),
  };

  // Node reports a missing cwd as `spawn <command> ENOENT`, which would read as "command not found"
  // (exit 127). Check first so the message names the real problem.
  if (!isDirectory(options.cwd)) {
    return new ChildHandle(null, {
      ...settings,
      preSpawnError: new SpawnError('ENOENT', 'cwd-not-found', settings.command, options.cwd),
    });
  }

  const extraFds = options.extraFds ?? [];
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...extraFds, ...(options.extraPipe === true ? ['pipe' as const] : [])];
  const spawn = options.spawn ?? nodeSpawn;
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.cwd,
      env: definedEntries(options.env),
      stdio,
      detached: true,
      shell: false,
      windowsHide: true,
    });
  } catch (error) {
    // Node throws (instead of emitting 'error') for arguments it refuses before any exec: a NUL
    // byte in an argument or an environment value (ERR_INVALID_ARG_VALUE). Config validation
    // catches those it can see; whatever gets here is a failed spawn, never a supervisor crash.
    return new ChildHandle(null, { ...settings, preSpawnError: spawnErrorFrom(error as NodeJS.ErrnoException, settings.command, options.cwd) });
  }
  const handle = new ChildHandle(child, { ...settings, preSpawnError: null });
  if (options.extraPipe === true) {
    // undefined when the spawn failed before the pipes existed (EMFILE): 'error' follows.
    const pipe = child.stdio?.[3 + extraFds.length];
    if (pipe !== null && pipe !== undefined && 'write' in pipe) {
      handle.extraPipe = pipe as Duplex;
      // A reset by the child's end must not become an uncaught 'error'; the owner sees 'close'.
      handle.extraPipe.on('error', () => undefined);
    }
  }
  return handle;
}

/**
 * {@link spawnInstance}, awaited until the spawn is known to have succeeded. Rejects with a
 * {@link SpawnError} (its `exitStatus` is 127/126/1) when the command could not be started.
 */
export function startInstance(options: SpawnInstanceOptions): Promise<RunningChild> {
  const handle = spawnInstance(options);
  return new Promise<RunningChild>((resolve, reject) => {
    if (handle.pid === null) {
      handle.once('error', reject);
      return;
    }
    resolve(handle as RunningChild);
  });
}

function spawnErrorFrom(error: NodeJS.ErrnoException, command: readonly string[], cwd: string): SpawnError {
  const code = error.code ?? 'UNKNOWN';
  const reason: SpawnFailureReason =
    code === 'ENOENT' ? 'command-not-found'
      : code === 'EACCES' || code === 'EPERM' ? 'permission-denied'
        : code === 'EMFILE' || code === 'ENFILE' ? 'fd-limit'
          : 'other';
  return new SpawnError(code, reason, command, cwd, error);
}

function describeSpawnFailure(code: string, reason: SpawnFailureReason, command: readonly string[], cwd: string): string {
  const file = command[0] ?? '';
  switch (reason) {
    case 'command-not-found':
      return `command not found: ${file} (${code})`;
    case 'permission-denied':
      return `permission denied: ${file} is not executable (${code})`;
    case 'cwd-not-found':
      return `working directory does not exist: ${cwd}`;
    case 'fd-limit':
      return describeFdShortage(code);
    case 'other':
      // execve(2) refuses an argument or environment string over 128 KiB (MAX_ARG_STRLEN), or all
      // of them together over the stack limit's quarter (about 2 MiB by default).
      if (code === 'E2BIG') return `could not start ${file}: its arguments and environment are too large for the kernel (E2BIG; one value may be at most 128 KiB, all together about 2 MiB)`;
      return `could not start ${file} (${code})`;
  }
}

/**
 * Out of file descriptors: the message names the limit (from /proc/self/limits) and what holds
 * them, never the cwd or the command, which are fine. Counting /proc/self/fd needs a descriptor
 * itself, so the count may be unknown right when it matters.
 */
function describeFdShortage(code: string): string {
  if (code === 'ENFILE') return 'could not start the server: the system is out of file descriptors (ENFILE: its file table, fs.file-max, is full)';
  const limit = PROC.openFileLimit();
  const open = PROC.countOpenFiles();
  const held = open === null ? '' : `, ${open} open`;
  return limit === null
    ? 'could not start the server: naija-sup is out of file descriptors (EMFILE: its open-files limit, ulimit -n, is reached)'
    : `could not start the server: naija-sup is out of file descriptors (EMFILE: open-files limit ${limit.soft}${held}; ulimit -n, or LimitNOFILE= under systemd)`;
}

function definedEntries(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
