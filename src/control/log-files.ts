/**
 * The run dir's log files (issue 5): the supervisor's events and the instance's output, one line
 * each, in `<name>.log`, rotated by size so a chatty server cannot fill the disk:
 *
 * ```
 * <name>.log   ← written now
 * <name>.log.1 ← the previous maxSize bytes
 * …
 * <name>.log.<maxFiles-1>  (the oldest; the one before it is deleted)
 * ```
 *
 * At most `maxSize × maxFiles` bytes (plus one line). Rotation renames, so a reader that holds the
 * old file open (`logs -f`) finishes it and then moves on to the new one.
 *
 * Writes are synchronous: one `write(2)` per line keeps the lines of a crash in the file even if
 * the supervisor dies right after, and never interleaves lines.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { redactUrlsIn } from '../config/redact.js';
import { formatDuration } from '../elapsed.js';
import { inRunDir } from './run-dir.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import { isoTime } from '../iso-time.js';

export const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 5;

export interface LogWriterOptions {
  dir: string;
  name: string;
  /** Bytes per file before it rotates. */
  maxSize: number;
  /** Files kept, the current one included (≥ 1). */
  maxFiles: number;
  /** Called once when a write or a rotation starts failing (the disk is full…); the writer keeps the lines and retries. */
  onError?: (error: Error) => void;
  /** Called when writes work again: `lost` lines did not fit the bounded backlog kept meanwhile. */
  onRecover?: (lost: number) => void;
  /** How often a failing writer retries with no new line to write, ms. Default 1000. */
  retryMs?: number;
}

export interface LogWriter {
  /** The current file. */
  readonly path: string;
  /** Appends one line (newlines inside it become spaces). */
  write(line: string): void;
  /** Appends the log line of a supervisor event (see {@link formatLogEvent}); skips events with none. */
  event(event: SupervisorEvent, at?: Date): void;
  close(): void;
}

/** `<dir>/<name>.log`, then `.1`, `.2`, … */
export function logFilePath(dir: string, name: string, index = 0): string {
  return join(dir, index === 0 ? `${name}.log` : `${name}.log.${index}`);
}

// O_NOFOLLOW: never append through a symlink someone planted at the log's name.
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
/** Lines kept while writes fail, bytes: the oldest go first beyond it (and are counted as lost). */
const BACKLOG_MAX_BYTES = 256 * 1024;

export function createLogWriter(options: LogWriterOptions): LogWriter {
  return new FileLogWriter(options);
}

/**
 * The rotating writer. Its methods are arrow properties: callers may pass `writer.write` on its own.
 * While writes fail, lines wait in a backlog (bounded: a full disk must not fill memory instead) and
 * a timer retries, so a quiet server's last lines still land once the disk has room again.
 */
class FileLogWriter implements LogWriter {
  readonly path: string;
  private fd: number | null = null;
  private size = 0;
  private failing = false;
  private closed = false;
  private readonly backlog: Buffer[] = [];
  private backlogBytes = 0;
  private lost = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LogWriterOptions) {
    const { dir, name } = options;
    if (!(Number.isInteger(options.maxSize) && options.maxSize > 0)) throw new RangeError(`maxSize must be a positive integer, got ${String(options.maxSize)}`);
    if (!(Number.isInteger(options.maxFiles) && options.maxFiles >= 1)) throw new RangeError(`maxFiles must be an integer ≥ 1, got ${String(options.maxFiles)}`);
    this.path = logFilePath(dir, name);
    removeSurplus(dir, name, options.maxFiles);
  }

  write = (line: string): void => {
    if (this.closed) return;
    // Events arrive redacted (src/app/supervise.ts); URL userinfo is hidden again here because a
    // line written directly (or by a library user's own writer) must obey the same rule.
    let data = Buffer.from(`${redactUrlsIn(line).replace(/[\r\n]+/g, ' ')}\n`);
    const { maxSize } = this.options;
    if (data.length > maxSize) data = Buffer.concat([data.subarray(0, Math.max(0, maxSize - 1)), Buffer.from('\n')]);
    this.backlog.push(data);
    this.backlogBytes += data.length;
    while (this.backlogBytes > BACKLOG_MAX_BYTES && this.backlog.length > 1) {
      this.backlogBytes -= (this.backlog.shift() as Buffer).length;
      this.lost += 1;
    }
    this.flush();
  };

  event = (event: SupervisorEvent, at: Date = new Date()): void => {
    const line = formatLogEvent(event, at);
    if (line !== null) this.write(line);
  };

  close = (): void => {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.closeFd();
  };

  private closeFd(): void {
    if (this.fd === null) return;
    try { closeSync(this.fd); } catch { /* already unusable, or nothing left to do */ }
    this.fd = null;
  }

  private report(error: unknown): void {
    // One report per failure streak: a full disk must not produce one event per output line.
    if (this.failing) return;
    this.failing = true;
    this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }

  private open(): number {
    // inRunDir: through the supervisor's handle on its run dir, refused if the dir was swapped.
    const opened = openSync(inRunDir(this.path), OPEN_FLAGS, 0o600);
    this.fd = opened;
    this.size = fstatSync(opened).size;
    return opened;
  }

  private rotate(): number {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    const { dir, name, maxFiles } = this.options;
    if (maxFiles === 1) {
      rmSync(inRunDir(this.path), { force: true });
    } else {
      // Oldest first, so each rename lands on a name that was just vacated (the last one replaces).
      for (let i = maxFiles - 1; i >= 1; i -= 1) {
        try {
          renameSync(inRunDir(logFilePath(dir, name, i - 1)), inRunDir(logFilePath(dir, name, i)));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    }
    return this.open();
  }

  /** Bytes written: fewer than asked when the disk filled up mid-line. */
  private append(data: Buffer): number {
    let target = this.fd ?? this.open();
    if (this.size > 0 && this.size + data.length > this.options.maxSize) target = this.rotate();
    const written = writeSync(target, data);
    this.size += written;
    return written;
  }

  private flush(): boolean {
    try {
      for (let next = this.backlog[0]; next !== undefined; next = this.backlog[0]) {
        const written = this.append(next);
        if (written === 0) throw new Error(`nothing written to ${this.path}`);
        this.backlogBytes -= written;
        // A short write: the rest of the line waits, so a retry never writes its start twice.
        if (written < next.length) this.backlog[0] = next.subarray(written);
        else this.backlog.shift();
      }
    } catch (error) {
      this.report(error);
      // Reopen on the next try: the file may have been removed or the disk freed.
      this.closeFd();
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null;
        if (!this.closed) this.flush();
      }, this.options.retryMs ?? 1000).unref();
      return false;
    }
    if (this.failing) {
      this.failing = false;
      this.options.onRecover?.(this.lost);
      this.lost = 0;
    }
    return true;
  }
}

/** Deletes rotated files beyond `maxFiles` (left over when the setting was lowered). */
function removeSurplus(dir: string, name: string, maxFiles: number): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  const prefix = `${name}.log.`;
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const index = Number(entry.slice(prefix.length));
    if (Number.isInteger(index) && index >= maxFiles) rmSync(join(dir, entry), { force: true });
  }
}

/** Every event but 'output', which {@link formatLogEvent} writes as the server's own line. */
function describeEvent(event: SupervisorEvent): string | null {
  switch (event.type) {
    case 'config-loaded': return `config loaded from ${event.file ?? '(no file: defaults, environment and flags)'}`;
    case 'preflight': return event.findings.length === 0 ? 'preflight: nothing to clean up' : `preflight: ${event.findings.join('; ')}`;
    case 'spawning': return `spawning instance #${event.instance} on port ${event.port}: ${event.command.join(' ')}`;
    case 'spawned': return `instance #${event.instance} spawned: pid ${event.pid}`;
    case 'probe': return `health probe ${event.ok ? 'passed' : 'failed'} (${formatDuration(event.latencyMs)}): ${event.detail}`;
    case 'ready': return `ready: pid ${event.pid} in ${formatDuration(event.readyInMs)} at ${event.url}`;
    case 'exited': {
      const tail = event.exit.stderrTail.length > 0 ? ` | last stderr: ${event.exit.stderrTail.slice(-3).join(' / ')}` : '';
      const instance = event.pid ? `instance pid ${event.pid}` : 'the instance';
      return `${instance}${event.expected ? ' stopped on request' : ''}: ${event.exit.summary} (cause ${event.exit.cause})${event.expected ? '' : `; fix: ${event.exit.fix}`}${tail}`;
    }
    case 'backoff': return `restarting in ${formatDuration(event.delayMs)} (attempt ${event.attempt}; ${event.restartsInWindow}${event.maxRestarts === null ? '' : `/${event.maxRestarts}`} restarts in the window)`;
    case 'restarting': return `restarting (${event.reason})`;
    case 'liveness-failed': return `liveness probe failed ${event.failures} times: ${event.detail}`;
    case 'stopping': return `stopping (${event.reason}): ${event.signal}, SIGKILL after ${formatDuration(event.timeoutMs)}`;
    case 'escalated': return `escalated to SIGKILL (${event.reason})`;
    case 'stopped': return `stopped (${event.graceful ? 'gracefully' : 'killed'}), exit status ${event.exitStatus}`;
    case 'fatal': return `gave up: ${event.reason}${event.exit ? ` (cause ${event.exit.cause}; fix: ${event.exit.fix})` : ''}`;
    case 'reload-requested': return `reload requested (${event.source})`;
    case 'reload-rejected': return `reload rejected, the instance keeps running: ${event.errors.join('; ')}`;
    case 'signal-forwarded': return `forwarded ${event.signal} to pid ${event.pid}`;
    case 'record-written': return null;
    case 'record-error': return `cannot write the instance record: ${event.message}`;
    case 'warning': return `warning: ${event.message}${event.fix ? ` (fix: ${event.fix})` : ''}`;
    default:
      // Events added later (the union grows with each feature) still get a line: type and fields.
      return genericLine(event);
  }
}

/**
 * `type key=value …` for an event without its own wording; values are the event's own data. An
 * absent value (undefined, null) is left out: never `cause=undefined` or `pid=null`.
 */
function genericLine(event: { type: string }): string {
  const fields = Object.entries(event)
    .filter(([key, value]) => key !== 'type' && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [event.type, ...fields].join(' ');
}

/**
 * One log line for an event: `<ISO time> out | …` and `err | …` for the instance's output,
 * `sup | …` for the supervisor's own events; null for events not worth a line.
 */
export function formatLogEvent(event: SupervisorEvent, at: Date = new Date()): string | null {
  if (event.type === 'output') return `${isoTime(at.getTime())} ${event.stream === 'stderr' ? 'err' : 'out'} | ${event.line}`;
  const text = describeEvent(event);
  return text === null ? null : `${isoTime(at.getTime())} sup | ${text}`;
}

// ── Reading ─────────────────────────────────────────────────────────────────────────────────────

/** Where a reader stopped in the current file, so a follower continues without a gap. */
export interface LogPosition {
  ino: number;
  offset: number;
}

/** How much a log reader reads at a time, bytes. */
export const CHUNK = 64 * 1024;

/** The existing log files of `name`, newest first. */
export function existingLogFiles(dir: string, name: string, maxIndex = 1000): string[] {
  const files: string[] = [];
  for (let i = 0; i <= maxIndex; i += 1) {
    const path = logFilePath(dir, name, i);
    try {
      statSync(path);
    } catch {
      // Rotation numbers are contiguous; the current file may be missing right after a rotation.
      if (i === 0) continue;
      break;
    }
    files.push(path);
  }
  return files;
}

/**
 * The last `n` lines of one file (read backwards in chunks, never the whole file), its inode and the
 * size read; null when it cannot be opened (missing, or a symlink: O_NOFOLLOW).
 */
export function tailFile(path: string, n: number): { lines: string[]; ino: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    const size = st.size;
    let pos = size;
    const chunks: Buffer[] = [];
    let newlines = 0;
    // Bounded by size / CHUNK rounds. n + 1 newlines guarantee n whole lines (the file ends in one).
    while (pos > 0 && newlines <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      const read = readSync(fd, buf, 0, len, pos);
      const part = buf.subarray(0, read);
      chunks.unshift(part);
      for (let i = part.indexOf(0x0a); i !== -1; i = part.indexOf(0x0a, i + 1)) newlines += 1;
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (pos > 0) lines.shift(); // the first piece is the end of a line we did not read whole
    return { lines: n === 0 ? [] : lines.slice(-n), ino: st.ino, size };
  } finally {
    closeSync(fd);
  }
}

/** The last `n` lines across the rotated files, oldest first, and where the current file ended. */
export function readLogTail(dir: string, name: string, n: number): { lines: string[]; position: LogPosition | null } {
  let lines: string[] = [];
  let position: LogPosition | null = null;
  for (const path of existingLogFiles(dir, name)) {
    const need = n - lines.length;
    const isCurrent = path === logFilePath(dir, name);
    if (need <= 0 && !isCurrent) break;
    const tail = tailFile(path, Math.max(0, need));
    if (tail === null) continue;
    if (isCurrent) position = { ino: tail.ino, offset: tail.size };
    lines = [...tail.lines, ...lines];
  }
  return { lines, position };
}
