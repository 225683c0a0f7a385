/**
 * The control socket's wire protocol (issue 5): newline-delimited JSON over a Unix socket.
 *
 * ```
 * client → {"v":1,"id":1,"type":"status"}
 * server ← {"v":1,"id":1,"ok":true,"status":{…StatusSnapshot}}
 * client → {"v":1,"id":2,"type":"stop","timeoutMs":5000,"force":false}
 * server ← {"v":1,"id":2,"ok":true,"status":{…before the stop}}
 * client → {"v":1,"id":3,"type":"events"}
 * server ← {"v":1,"id":3,"ok":true,"stream":true,"status":{…}}
 * server ← {"v":1,"id":3,"event":{"type":"ready",…}}            (until either side closes)
 * server ← {"v":1,"id":null,"ok":false,"error":{"code":"E_MALFORMED","message":"…"}}
 * ```
 *
 * Every request carries the protocol version `v`; a server answers a version it does not speak
 * with `E_VERSION` (and the versions it does), so a newer client fails clearly against an older
 * supervisor. This module is types and pure functions only: the fast clients (`status`) import it.
 */

/** The one protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** A request line longer than this (bytes, without the newline) is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * The client's limit for reply lines. Replies are small, but an `events` stream carries the
 * instance's output lines (truncated by the server to {@link MAX_STREAMED_LINE_CHARS}).
 */
export const MAX_REPLY_BYTES = 1024 * 1024;

/** Output lines streamed to `events` subscribers are cut to this many characters. */
export const MAX_STREAMED_LINE_CHARS = 8 * 1024;

export type RequestId = string | number;

export type RequestType = 'status' | 'stop' | 'restart' | 'reload' | 'rollback' | 'events' | 'scale';

export const REQUEST_TYPES: readonly RequestType[] = ['status', 'stop', 'restart', 'reload', 'rollback', 'events', 'scale'];

/** The most instances `scale` asks for: a typo (10000) must not fork-bomb the machine. */
export const MAX_INSTANCES = 256;

export type ControlRequest =
  | { v: 1; id: RequestId; type: 'status' }
  /** `timeoutMs` shortens the grace period before SIGKILL; `force` kills the group at once. */
  | { v: 1; id: RequestId; type: 'stop'; timeoutMs?: number; force?: boolean }
  | { v: 1; id: RequestId; type: 'restart' }
  /** `parallel`: replace up to this many instances at a time (default 1; `reload --parallel K`). */
  | { v: 1; id: RequestId; type: 'reload'; parallel?: number }
  /** Back to the configuration before the last reload, by the same blue/green procedure. */
  | { v: 1; id: RequestId; type: 'rollback' }
  | { v: 1; id: RequestId; type: 'events' }
  /** Runs `instances` instances from now on, the others untouched (issue 20). */
  | { v: 1; id: RequestId; type: 'scale'; instances: number };

/**
 * Stable error codes of the protocol (not the CLI's `E_*` table: a client maps them).
 * - `E_MALFORMED`: the line is not a JSON object.
 * - `E_TOO_LARGE`: the line exceeded {@link MAX_REQUEST_BYTES}; the connection is closed.
 * - `E_VERSION`: `v` is missing or not {@link PROTOCOL_VERSION}.
 * - `E_UNKNOWN_TYPE`: `type` is not one of {@link REQUEST_TYPES}.
 * - `E_BAD_REQUEST`: a field has the wrong type, or the request is not allowed now.
 * - `E_RELOAD_REJECTED`: the new config is invalid; the instance keeps running (`details`).
 * - `E_INTERNAL`: the supervisor failed to answer (a bug); it keeps running.
 */
export type ControlErrorCode =
  | 'E_MALFORMED'
  | 'E_TOO_LARGE'
  | 'E_VERSION'
  | 'E_UNKNOWN_TYPE'
  | 'E_BAD_REQUEST'
  | 'E_RELOAD_REJECTED'
  | 'E_RELOAD_FAILED'
  | 'E_INTERNAL';

export interface ControlError {
  code: ControlErrorCode;
  message: string;
  /** Further lines (each config problem of a rejected reload). */
  details?: string[];
}

/** The last exit of the instance, as `status` shows it. */
export interface LastExitSnapshot {
  code: number | null;
  signal: string | null;
  /** A CrashCause (src/supervisor/events.ts): 'exit-code', 'killed', 'startup-timeout', … */
  cause: string;
  summary: string;
  /** ISO 8601. */
  at: string;
}

/** Which probe produced a result: `startup` only decides when the instance is up, never its health now. */
export type ProbeKindName = 'startup' | 'liveness' | 'readiness';

/** One probe result known to the supervisor. */
export interface HealthSnapshot {
  ok: boolean;
  detail: string;
  latencyMs: number;
  /** ISO 8601. */
  at: string;
  probe: ProbeKindName;
}

/**
 * What `status` answers (and `status --json` prints). It never holds an environment value: only
 * numbers, the state, and the texts the supervisor itself wrote.
 */
export interface StatusSnapshot {
  name: string;
  /** The supervisor's state: idle, spawning, starting, ready, backoff, stopping, stopped, fatal. */
  state: string;
  supervisorPid: number;
  /** Field 22 of /proc/<supervisorPid>/stat, so a client can tell it from a reused pid ("" off Linux). */
  supervisorStartTime: string;
  instancePid: number | null;
  /** Field 22 of the instance's /proc stat; null when no instance runs. */
  instanceStartTime: string | null;
  /** /proc/sys/kernel/random/boot_id; null off Linux. */
  bootId: string | null;
  port: number;
  host: string;
  mode: string;
  /** The address a client would use: http://<host>:<port> (0.0.0.0 and :: shown as 127.0.0.1). */
  url: string;
  /** How long the supervisor has run, ms. */
  uptimeMs: number;
  /** How long the current instance has run, ms; null when none runs. */
  instanceUptimeMs: number | null;
  restarts: number;
  lastExit: LastExitSnapshot | null;
  /**
   * The current health: the last result of a liveness or readiness probe, null while none has run.
   * A startup probe never counts (it only said the instance came up): see `lastProbe`.
   */
  health: HealthSnapshot | null;
  /** The last probe of any kind (startup included), null before the first. */
  lastProbe: HealthSnapshot | null;
  /** The probes that watch the running instance; empty: nobody checks its health after startup. */
  healthWatchedBy: Array<'liveness' | 'readiness'>;
  /** The instance's working directory (the app's folder). */
  cwd: string;
  /** Resident memory of the instance's whole process group, bytes. */
  rss: number | null;
  /** CPU use of the instance's group, percent of one core, since the previous sample. */
  cpuPercent: number | null;
  /** health.startupTimeout and shutdown.timeout, so clients can bound their waits. */
  startupTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** naija-sup's version. */
  version: string;
  /** The parked warm standby's pid (restart.standby); absent when there is none. */
  standbyPid?: number;
  /**
   * Every live process of the instance, escaped descendants (setsid) included, with its start time:
   * `stop` waits for exactly these and reports which of them survived. Absent from older supervisors.
   */
  processes?: Array<{ pid: number; startTime: string }>;
  /**
   * Each instance of an app that runs more than one (`instances`, issue 20), in index order; the
   * top-level fields are instance 0's. Absent with one instance.
   */
  instances?: InstanceStatus[];
  /** The whole app when it runs more than one instance: sums over `instances`. */
  total?: { instances: number; ready: number; restarts: number; rss: number | null; cpuPercent: number | null };
  /** Each alerts.webhook URL (path redacted) and how its deliveries go; absent without webhooks. */
  webhooks?: Array<{ url: string; delivered: number; failed: number; failing: boolean; lastError: string | null }>;
  /**
   * Files the supervisor cannot write now (a full or read-only disk): the log keeps its lines in a
   * bounded backlog and retries. Absent when every write works (and from older supervisors).
   */
  diskProblems?: DiskProblem[];
  /**
   * The supervisor's last warnings (at most 8, oldest first; a repeated one counted, at its last
   * time): a process it stopped at start, a server that listens on more than it was told.
   * Absent while there is none (and from older supervisors).
   */
  warnings?: Array<{ at: string; message: string; count: number; fix?: string }>;
  /**
   * The supervisor's own memory (process.memoryUsage(), bytes), so a long run can tell V8's heap
   * from native growth (issue 14). Absent from older supervisors.
   */
  supervisorMemory?: SupervisorMemory;
}

/** process.memoryUsage() of the supervisor process, bytes. */
export interface SupervisorMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface DiskProblem {
  /** The file that cannot be written. */
  path: string;
  /** The error ("ENOSPC: no space left on device, write"). */
  message: string;
  /** When writes started failing, ISO time. */
  since: string;
}

/** One instance of an app (NAIJA_SUP_INSTANCE = index). */
export interface InstanceStatus {
  index: number;
  state: string;
  pid: number | null;
  restarts: number;
  /** Resident memory and CPU (percent of one core) of its process group; null when not running. */
  rss: number | null;
  cpuPercent: number | null;
  /** The last exit's summary, or null. */
  lastExit: string | null;
}

/** Events as streamed: the supervisor's own event objects (src/supervisor/events.ts). */
export type StreamedEvent = { type: string } & Record<string, unknown>;

export type ControlReply =
  | { v: 1; id: RequestId | null; ok: true; status?: StatusSnapshot; stream?: true }
  | { v: 1; id: RequestId | null; ok: false; error: ControlError };

export type ControlMessage = ControlReply | { v: 1; id: RequestId; event: StreamedEvent };

/** One JSON line, newline included. */
export function encodeMessage(message: ControlRequest | ControlMessage): string {
  return `${JSON.stringify(message)}\n`;
}

export function errorReply(id: RequestId | null, code: ControlErrorCode, message: string, details?: string[]): ControlReply {
  return { v: 1, id, ok: false, error: details === undefined ? { code, message } : { code, message, details } };
}

export type ParsedRequest =
  | { ok: true; request: ControlRequest }
  | { ok: false; reply: ControlReply };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= 128) || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Validates one request line. Never throws: anything that is not a well-formed request of this
 * version becomes the error reply to send back (with the request's id when it had a usable one).
 */
export function parseRequest(line: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, reply: errorReply(null, 'E_MALFORMED', `not JSON: ${(error as Error).message}`) };
  }
  if (!isRecord(value)) return { ok: false, reply: errorReply(null, 'E_MALFORMED', 'a request must be a JSON object like {"v":1,"id":1,"type":"status"}') };
  const id = isRequestId(value['id']) ? value['id'] : null;
  if (value['v'] !== PROTOCOL_VERSION) {
    return { ok: false, reply: errorReply(id, 'E_VERSION', `protocol version ${JSON.stringify(value['v'] ?? null)} is not supported; this supervisor speaks v${PROTOCOL_VERSION} (upgrade or downgrade the client to match)`) };
  }
  if (id === null) return { ok: false, reply: errorReply(null, 'E_BAD_REQUEST', '"id" must be a string (at most 128 characters) or a finite number') };
  const type = value['type'];
  if (typeof type !== 'string' || !(REQUEST_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reply: errorReply(id, 'E_UNKNOWN_TYPE', `unknown request type ${JSON.stringify(type ?? null)}; expected one of ${REQUEST_TYPES.join(', ')}`) };
  }
  if (type === 'stop') {
    const timeoutMs = value['timeoutMs'];
    const force = value['force'];
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > 2_147_483_647)) {
      return { ok: false, reply: errorReply(id, 'E_BAD_REQUEST', '"timeoutMs" must be a number of milliseconds, 0 to 2147483647') };
    }
    if (force !== undefined && typeof force !== 'boolean') {
      return { ok: false, reply: errorReply(id, 'E_BAD_REQUEST', '"force" must be true or false') };
    }
    return {
      ok: true,
      request: {
        v: 1, id, type,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(force === undefined ? {} : { force }),
      },
    };
  }
  if (type === 'scale') {
    const instances = value['instances'];
    if (typeof instances !== 'number' || !Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) {
      return { ok: false, reply: errorReply(id, 'E_BAD_REQUEST', `"instances" must be an integer from 1 to ${MAX_INSTANCES}`) };
    }
    return { ok: true, request: { v: 1, id, type, instances } };
  }
  if (type === 'reload') {
    const parallel = value['parallel'];
    if (parallel !== undefined && (typeof parallel !== 'number' || !Number.isInteger(parallel) || parallel < 1 || parallel > MAX_INSTANCES)) {
      return { ok: false, reply: errorReply(id, 'E_BAD_REQUEST', `"parallel" must be an integer from 1 to ${MAX_INSTANCES}`) };
    }
    return { ok: true, request: { v: 1, id, type, ...(parallel === undefined ? {} : { parallel }) } };
  }
  return { ok: true, request: { v: 1, id, type: type as Exclude<RequestType, 'stop' | 'scale' | 'reload'> } };
}

/** A reply or streamed message, checked just enough to be used safely; null when it is not one. */
export function parseMessage(line: string): ControlMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isRecord(value) || value['v'] !== PROTOCOL_VERSION) return null;
  if ('event' in value) return isRecord(value['event']) && typeof value['event']['type'] === 'string' ? (value as ControlMessage) : null;
  if (value['ok'] === true) return value as ControlMessage;
  if (value['ok'] === false && isRecord(value['error']) && typeof value['error']['code'] === 'string') return value as ControlMessage;
  return null;
}

/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of an unfinished line:
 * once a line grows past the limit, `push` reports `overflow` and the caller stops reading (a
 * client that never sends a newline cannot make the supervisor buffer without bound).
 */
export class LineBuffer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): { lines: string[]; overflow: boolean } {
    const lines: string[] = [];
    let start = 0;
    // Bounded by the chunk's length: each round consumes at least one byte.
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxBytes) return this.overflowed(lines);
      const whole = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      lines.push(whole.toString('utf8').replace(/\r$/, ''));
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.pendingBytes + rest.length > this.maxBytes) return this.overflowed(lines);
    if (rest.length > 0) {
      // Copy: the stream may reuse its buffer.
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return { lines, overflow: false };
  }

  private overflowed(lines: string[]): { lines: string[]; overflow: boolean } {
    this.pending = [];
    this.pendingBytes = 0;
    return { lines, overflow: true };
  }
}

/** The address a local client would use for `host`: wildcard binds are reached on loopback. */
export function displayUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
