/**
 * The control socket's client side: connect, ask, stream events, and the flows the small commands
 * share (find the app, clean up after a dead supervisor, stop, wait until ready again).
 *
 * Kept light on purpose: `naija-sup status --name NAME` loads this, the protocol, the paths and the
 * run-dir check, and nothing else (no config loader, no cosmiconfig) so it answers in tens of ms.
 * Everything heavier is imported lazily on the path that needs it.
 */
import { existsSync, lstatSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { sanitizeName } from '../config/app-name.js';
import { NaijaSupError } from '../errors.js';
import type { InstanceRecord } from './record.js';
import { controlPaths, type ControlPaths } from './paths.js';
import {
  LineBuffer,
  MAX_REPLY_BYTES,
  PROTOCOL_VERSION,
  encodeMessage,
  parseMessage,
  type ControlError,
  type ControlErrorCode,
  type ControlReply,
  type ControlRequest,
  type RequestId,
  type StatusSnapshot,
  type StreamedEvent,
} from './protocol.js';
import { checkPrivateDir, checkRunDir, viewRunDirs } from './run-dir.js';

/** A request that failed: the server's error reply, or the connection closed / timed out first. */
export class ControlRequestError extends Error {
  override readonly name = 'ControlRequestError';
  readonly code: ControlErrorCode | 'E_CLOSED' | 'E_TIMEOUT';
  readonly details: string[];

  constructor(code: ControlErrorCode | 'E_CLOSED' | 'E_TIMEOUT', message: string, details: string[] = []) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

type OkReply = Extract<ControlReply, { ok: true }>;
type RequestBody = ControlRequest extends infer R ? R extends ControlRequest ? Omit<R, 'v' | 'id'> : never : never;

interface Pending {
  resolve(reply: OkReply): void;
  reject(error: ControlRequestError): void;
  timer: NodeJS.Timeout;
}

/** One connection to a supervisor's control socket. Requests may overlap; events arrive in between. */
export class ControlConnection {
  private readonly socket: Socket;
  private readonly buffer = new LineBuffer(MAX_REPLY_BYTES);
  private readonly pending = new Map<RequestId, Pending>();
  private eventListener: ((event: StreamedEvent) => void) | null = null;
  private nextId = 1;
  private isClosed = false;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;

  constructor(socket: Socket) {
    this.socket = socket;
    let markClosed!: () => void;
    this.closed = new Promise((resolve) => { markClosed = resolve; });
    socket.on('data', (chunk: Buffer) => {
      const { lines, overflow } = this.buffer.push(chunk);
      for (const line of lines) this.onLine(line);
      if (overflow) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.isClosed = true;
      for (const [id, pending] of this.pending) {
        clearTimeout(pending.timer);
        pending.reject(new ControlRequestError('E_CLOSED', 'the supervisor closed the connection before answering'));
        this.pending.delete(id);
      }
      markClosed();
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    const message = parseMessage(line);
    if (message === null) return;
    if ('event' in message) {
      this.eventListener?.(message.event);
      return;
    }
    // An error without an id (the server could not read our request) answers the oldest request.
    const id = message.id ?? this.pending.keys().next().value;
    if (id === undefined) return;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message);
    else pending.reject(fromControlError(message.error));
  }

  /** Sends one request and resolves with its `ok` reply; rejects with {@link ControlRequestError}. */
  request(body: RequestBody, timeoutMs = 5000): Promise<OkReply> {
    if (this.isClosed) return Promise.reject(new ControlRequestError('E_CLOSED', 'the connection is closed'));
    const id = this.nextId;
    this.nextId += 1;
    return new Promise<OkReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ControlRequestError('E_TIMEOUT', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(encodeMessage({ v: PROTOCOL_VERSION, id, ...body } as ControlRequest));
    });
  }

  /** Starts the event stream; resolves with the status at that moment. One stream per connection. */
  async subscribe(onEvent: (event: StreamedEvent) => void, timeoutMs = 5000): Promise<StatusSnapshot> {
    this.eventListener = onEvent;
    const reply = await this.request({ type: 'events' }, timeoutMs);
    if (!reply.status) throw new ControlRequestError('E_INTERNAL', 'the events reply carried no status');
    return reply.status;
  }

  close(): void {
    this.socket.destroy();
  }
}

function fromControlError(error: ControlError): ControlRequestError {
  return new ControlRequestError(error.code, error.message, error.details ?? []);
}

export type ConnectOutcome =
  | { kind: 'live'; connection: ControlConnection }
  /** No socket file: no supervisor has it (or it exited cleanly). */
  | { kind: 'absent' }
  /** A socket file nobody listens on: its supervisor died without cleaning up. */
  | { kind: 'stale' }
  /**
   * The supervisor closed its listener while our connection still sat in its accept queue: the
   * kernel resets such a connection (ECONNRESET, or EPIPE), and libuv reports it as the connect's
   * own error. Only a supervisor on its way out does that (close() unlinks, then stops listening),
   * so it is "going away", not a failure: callers look again, /proc deciding what is left.
   */
  | { kind: 'closing' };

/** Connects to the control socket; never throws for "not running" (absent / stale) or "going away" (closing). */
export function connectControl(socketPath: string, timeoutMs = 2000): Promise<ConnectOutcome> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NaijaSupError('E_FATAL', `the supervisor does not accept connections on ${socketPath} (no answer within ${timeoutMs} ms)`, {
        fix: 'it may be stopped (SIGSTOP) or overloaded; "naija-sup stop --force" stops it from its record',
      }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ kind: 'live', connection: new ControlConnection(socket) });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT') resolve({ kind: 'absent' });
      else if (error.code === 'ECONNREFUSED' || error.code === 'ENOTSOCK') resolve({ kind: 'stale' });
      else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve({ kind: 'closing' });
      else if (error.code === 'EACCES' || error.code === 'EPERM') {
        reject(new NaijaSupError('E_RUN_DIR', `permission denied on the control socket ${socketPath}`, {
          fix: 'run naija-sup as the user who started the supervisor',
          cause: error,
        }));
      } else reject(new NaijaSupError('E_FATAL', `cannot connect to the control socket ${socketPath}: ${error.message}`, { cause: error }));
    });
  });
}

/** The status of the supervisor at `socketPath`, or null when none listens there. */
export async function fetchStatus(socketPath: string, timeoutMs = 3000): Promise<StatusSnapshot | null> {
  const outcome = await connectControl(socketPath, timeoutMs);
  if (outcome.kind !== 'live') return null;
  try {
    const reply = await outcome.connection.request({ type: 'status' }, timeoutMs);
    return reply.status ?? null;
  } finally {
    outcome.connection.close();
  }
}

// ── Finding the app ─────────────────────────────────────────────────────────────────────────────

export interface LocateOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `--name`: skips loading the config altogether (the fast path). */
  name?: string | undefined;
  /** `--config`. */
  config?: string | undefined;
}

export interface AppLocation {
  name: string;
  /** The configured PID file, when the config was loaded (not with `--name`); null for none. */
  pidFile?: string | null;
  /** null when the run dir does not exist: nothing can be running. */
  paths: ControlPaths | null;
  /**
   * false when nothing names the app: no `--name`, no config file, no NAIJA_SUP_NAME, no package.json
   * with a name, so `name` is only the folder's. The CLI then targets the running apps instead.
   */
  named: boolean;
}

const CANONICAL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * The app's name (from `--name`, else the config as `start` resolves it) and its control paths.
 * Does not create the run dir; refuses one with the wrong owner or mode (E_RUN_DIR).
 */
export async function locateApp(options: LocateOptions): Promise<AppLocation> {
  let name: string;
  let pidFile: string | null | undefined;
  let named = true;
  if (options.name !== undefined) {
    name = options.name;
    if (!CANONICAL_NAME.test(name) || /[-.]$/.test(name)) {
      // Names are normalised the way the config normalises them ("My API" → "my-api").
      name = sanitizeName(name);
      if (name === '') throw new NaijaSupError('E_USAGE', `"${options.name}" is not an app name`, { fix: 'names use letters, digits, ".", "_" and "-"' });
    }
  } else {
    const { loadConfig, readPackageName } = await import('../config/load.js');
    const loaded = await loadConfig({
      cwd: options.cwd,
      ...(options.config === undefined ? {} : { configPath: options.config }),
      env: options.env,
      requireCommand: false,
    });
    name = loaded.config.name;
    pidFile = loaded.config.pidFile;
    named = loaded.filepath !== null || loaded.sources['name']?.kind !== 'default' || readPackageName(loaded.config.cwd) !== null;
  }
  return locationOf(name, options.env, { named, ...(pidFile === undefined ? {} : { pidFile }) });
}

/** The control paths of `name` in the run dir of `env` (null when the run dir does not exist). */
export function locationOf(name: string, env: NodeJS.ProcessEnv, extra: { named: boolean; pidFile?: string | null }): AppLocation {
  const own = checkRunDir(env);
  const holdsApp = (dir: string): boolean => [controlPaths(dir, name).socket, controlPaths(dir, name).record].some((p) => existsSync(p));
  // One user, one view (issue 15): the app may run from another of this user's run dirs. Our own
  // comes first among them and was just checked: only when it does not hold the app are the
  // others listed and checked (each a chain of stats up to /, and every registration read).
  const runDir = own !== null && holdsApp(own) ? own : (viewRunDirs(env).find(holdsApp) ?? own);
  if (runDir === null) return { name, paths: null, ...extra };
  const paths = controlPaths(runDir, name);
  if (paths.socketDir !== runDir) checkPrivateDir(paths.socketDir, 'socket directory');
  return { name, paths, ...extra };
}

// ── After a supervisor died ─────────────────────────────────────────────────────────────────────

export interface StaleInspection {
  /** A supervisor holds the start lock (it is starting right now): nothing was touched. */
  busy: { pid: number | null } | null;
  /** A supervisor answered after all (it finished starting meanwhile). */
  live: boolean;
  staleSocketRemoved: boolean;
  /** The instance record (or the configured PID file) named a process that is gone: removed. */
  staleRecordRemoved: boolean;
  /** The record's instance is still running without its supervisor. */
  orphan: InstanceRecord | null;
  /** The record's supervisor is still alive (it did not answer on the socket). */
  supervisorAlive: boolean;
  /** The instance record as found (before any removal); null when there was none. */
  record: InstanceRecord | null;
}

/** Is the recorded process still the one we recorded (start time and boot id match)? */
export async function stillRunning(pid: number, startTime: string, bootId: string): Promise<boolean> {
  const { isSameProcess, pidExists } = await import('../process/identity.js');
  if (startTime === '') return pidExists(pid);
  return isSameProcess({ pid, startTime, bootId: bootId === '' ? null : bootId }) === 'same';
}

/**
 * Looks at what a dead supervisor left behind, holding the start lock so that no `start` can race:
 * removes a stale socket and a record whose instance is gone; reports an orphaned instance.
 */
export async function inspectStale(paths: ControlPaths, options: { pidFile?: string | null } = {}): Promise<StaleInspection> {
  const result: StaleInspection = { busy: null, live: false, staleSocketRemoved: false, staleRecordRemoved: false, orphan: null, supervisorAlive: false, record: null };
  const { acquireStartLock, lockPathFor } = await import('./start-lock.js');
  const { readRecord, removePidFile, removeRecord } = await import('./record.js');
  const attempt = await acquireStartLock(lockPathFor(paths.socket));
  if (!attempt.acquired) return { ...result, busy: { pid: attempt.holderPid } };
  try {
    let isSocket = false;
    try {
      isSocket = lstatSync(paths.socket).isSocket();
    } catch {
      isSocket = false;
    }
    if (isSocket) {
      const outcome = await connectControl(paths.socket);
      if (outcome.kind === 'live') {
        outcome.connection.close();
        return { ...result, live: true };
      }
      // Rare while we hold the start lock (a supervisor releases it only after closing its socket),
      // but a listener that reset us is not stale: unlink nothing, and let the caller look again.
      if (outcome.kind === 'closing') return { ...result, live: true };
      if (outcome.kind === 'stale') {
        unlinkSync(paths.socket);
        result.staleSocketRemoved = true;
      }
    }
    const record = readRecord(paths.runDir, paths.name);
    result.record = record;
    if (record !== null) {
      result.supervisorAlive = await stillRunning(record.supervisorPid, record.supervisorStartTime, record.bootId);
      const { expandRecord } = await import('./record.js');
      const alive = await Promise.all(expandRecord(record).map((one) => stillRunning(one.pid, one.startTime, one.bootId)));
      // The primary, or any other process the record names (a reload cut short), still runs.
      if (alive.some(Boolean)) {
        result.orphan = record;
      } else if (!result.supervisorAlive) {
        removeRecord(paths.runDir, paths.name, record.pid);
        if (options.pidFile) removePidFile(options.pidFile, record.pid);
        result.staleRecordRemoved = true;
      }
    }
    if (record === null && options.pidFile) result.staleRecordRemoved = await removeDeadPidFile(options.pidFile);
    return result;
  } finally {
    await attempt.lock.release();
  }
}

/** A plain PID file has no start time: it is removed only when no process has its pid at all. */
async function removeDeadPidFile(path: string): Promise<boolean> {
  const { pidExists } = await import('../process/identity.js');
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return false;
  }
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pidExists(pid)) return false;
  rmSync(path, { force: true });
  return true;
}

// ── Waiting for the instance ────────────────────────────────────────────────────────────────────

/** The part of an ExitInfo that crosses the socket inside events. */
export interface StreamedExit {
  code: number | null;
  signal: string | null;
  cause: string;
  summary: string;
  fix: string;
  stderrTail: string[];
}

export type ReadyOutcome =
  | { kind: 'ready'; pid: number; url: string }
  | { kind: 'fatal'; reason: string; exit: StreamedExit | null; exitStatus: number }
  /** The supervisor stopped (restart policy "never" after an exit, or a stop request). */
  | { kind: 'stopped'; lastExit: StreamedExit | null }
  /** The connection closed first (the supervisor died). */
  | { kind: 'closed'; lastExit: StreamedExit | null }
  | { kind: 'timeout'; lastExit: StreamedExit | null };

export interface ReadyWaiter {
  /** Feed it every streamed event. */
  onEvent(event: StreamedEvent): void;
  /** Resolves at the first decisive event, when `connection` closes, or at the deadline. */
  result: Promise<ReadyOutcome>;
}

/**
 * Waits for a `ready` of an instance other than `notPid` (the one being replaced), or for the
 * supervisor to give up. Crashes in between are only remembered: the restart policy may still
 * bring the instance up before the deadline.
 */
export function waitForReady(connection: ControlConnection, options: { notPid: number | null; timeoutMs: number }): ReadyWaiter {
  let settle!: (outcome: ReadyOutcome) => void;
  let lastExit: StreamedExit | null = null;
  let settled = false;
  const result = new Promise<ReadyOutcome>((resolve) => {
    settle = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
  });
  const timer = setTimeout(() => settle({ kind: 'timeout', lastExit }), options.timeoutMs);
  void connection.closed.then(() => settle({ kind: 'closed', lastExit }));
  return {
    result,
    onEvent(event) {
      const e = event as Record<string, unknown>;
      switch (event.type) {
        case 'ready':
          if (typeof e['pid'] === 'number' && e['pid'] !== options.notPid) settle({ kind: 'ready', pid: e['pid'], url: String(e['url'] ?? '') });
          return;
        case 'exited':
          lastExit = (e['exit'] as StreamedExit | undefined) ?? lastExit;
          return;
        case 'fatal':
          settle({ kind: 'fatal', reason: String(e['reason'] ?? 'gave up'), exit: (e['exit'] as StreamedExit | null | undefined) ?? lastExit, exitStatus: Number(e['exitStatus'] ?? 1) });
          return;
        case 'stopped':
          settle({ kind: 'stopped', lastExit });
          return;
        default:
          return;
      }
    },
  };
}

/** Lines that explain a failed start: cause, summary and the stderr tail. */
export function describeExit(exit: StreamedExit | null): string[] {
  if (exit === null) return [];
  const lines = [`cause: ${exit.cause} (${exit.summary})`];
  if (exit.stderrTail.length > 0) {
    lines.push('last stderr lines:');
    for (const line of exit.stderrTail.slice(-20)) lines.push(`  ${line}`);
  }
  return lines;
}

/** Maps a failed request to a user error (rendered by the CLI like every other). */
export function requestFailure(error: unknown, name: string): NaijaSupError {
  if (error instanceof NaijaSupError) return error;
  if (error instanceof ControlRequestError) {
    if (error.code === 'E_RELOAD_REJECTED') {
      return new NaijaSupError('E_CONFIG_INVALID', `reload of "${name}" rejected: ${error.message}`, {
        details: error.details,
        fix: 'fix the config (naija-sup config shows what it resolves to) and reload again',
      });
    }
    if (error.code === 'E_RELOAD_FAILED') {
      return new NaijaSupError('E_RELOAD_FAILED', `${error.message} ("${name}")`, {
        details: error.details,
        fix: `see why in "naija-sup logs --name ${name}"; the previous instance is still the one serving`,
      });
    }
    if (error.code === 'E_TIMEOUT') {
      return new NaijaSupError('E_FATAL', `the supervisor of "${name}" did not answer: ${error.message}`, {
        fix: 'it may be stopped (SIGSTOP) or overloaded; "naija-sup stop --force" stops it from its record',
      });
    }
    if (error.code === 'E_CLOSED') {
      return new NaijaSupError('E_FATAL', `the supervisor of "${name}" closed the connection before answering`, {
        fix: 'its control socket may be saturated (many clients at once): try again; "naija-sup stop --force" stops it from its record without the socket',
      });
    }
    return new NaijaSupError('E_FATAL', `the supervisor of "${name}" refused the request: ${error.message} (${error.code})`, {
      details: error.details,
      fix: error.code === 'E_VERSION' ? 'use the same naija-sup version as the running supervisor' : undefined,
    });
  }
  return new NaijaSupError('E_FATAL', `talking to the supervisor of "${name}" failed: ${String((error as Error)?.message ?? error)}`, { cause: error });
}
