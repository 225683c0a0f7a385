/**
 * The instance record: who the running instance is, written when it starts and removed when it
 * stops. A PID alone is a guess (PIDs are reused; pid_max is 32768 on this machine), so the record
 * carries the boot id and the start time (field 22 of /proc/PID/stat): nothing is ever signalled
 * from a record unless both still match (src/process/identity.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SupervisorEvent } from '../supervisor/events.js';
import { removeFile, writeFileAtomic } from './atomic-file.js';
import type { StatusSnapshot } from './protocol.js';
import { isoTime } from '../iso-time.js';

export interface InstanceRecord {
  /** Format version of this file. */
  version: 1;
  name: string;
  pid: number;
  pgid: number;
  /** /proc/PID/stat field 22 (clock ticks since boot), as a decimal string; "" off Linux. */
  startTime: string;
  bootId: string;
  cmdline: string[];
  port: number;
  host: string;
  supervisorPid: number;
  /** The supervisor's own start time, to tell a live supervisor from a reused PID. */
  supervisorStartTime: string;
  /** ms epoch. */
  startedAt: number;
  cwd: string;
  /**
   * The other processes this supervisor owns beside the primary one (issue 14): during a reload,
   * the old blue that still drains or the green that starts; in proxy mode each on its own private
   * port. A supervisor SIGKILLed mid-reload leaves all of them; the next `start` or `stop` finds
   * them here. Absent when there are none.
   */
  others?: InstanceRef[];
}

/** One more process a record names: identity and address, the supervisor fields are the record's. */
export type InstanceRef = Pick<InstanceRecord, 'pid' | 'pgid' | 'startTime' | 'cmdline' | 'port' | 'host' | 'startedAt'>;

/** The record's primary process and each of its others, each as a record of its own. */
export function expandRecord(record: InstanceRecord): InstanceRecord[] {
  const { others, ...primary } = record;
  return [primary, ...(others ?? []).map((ref) => ({ ...primary, ...ref }))];
}

export function recordPath(runDir: string, name: string): string {
  return join(runDir, `${name}.json`);
}

export function writeRecord(runDir: string, record: InstanceRecord): string {
  const path = recordPath(runDir, record.name);
  writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n', 0o600);
  return path;
}

/** Reads a record; null when absent or unreadable as a record (a broken file is treated as stale). */
export function readRecord(runDir: string, name: string): InstanceRecord | null {
  let text: string;
  try {
    text = readFileSync(recordPath(runDir, name), 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as Partial<InstanceRecord>;
    if (value.version !== 1 || typeof value.pid !== 'number' || typeof value.pgid !== 'number') return null;
    return value as InstanceRecord;
  } catch {
    return null;
  }
}

/** Removes the record only if it still describes `pid` (a newer supervisor may own the name now). */
export function removeRecord(runDir: string, name: string, pid: number): void {
  const current = readRecord(runDir, name);
  if (current && current.pid !== pid) return;
  removeFile(recordPath(runDir, name));
}

export function writePidFile(path: string, pid: number): void {
  writeFileAtomic(path, `${pid}\n`, 0o644);
}

/** Removes the PID file only if it still holds `pid`. */
export function removePidFile(path: string, pid: number): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  if (text.trim() === String(pid)) rmSync(path, { force: true });
}

// ── What a supervisor that gave up leaves behind ────────────────────────────────────────────────

/**
 * `<name>.last-run` (JSON): written when the supervisor gives up (fatal), because it exits right
 * after and `status` would otherwise only say "not running". Removed when an instance of the name
 * is ready again, so it always describes the latest failed run. Not `<name>.last.json`: that is
 * the instance record of an app named "<name>.last" (names may contain dots); no app's file ends
 * in `.last-run`.
 */
export interface LastRun {
  version: 1;
  name: string;
  state: 'fatal';
  /** Why the supervisor gave up (the fatal event's reason). */
  reason: string;
  /** ISO 8601. */
  at: string;
  /** The supervisor's exit status. */
  exitStatus: number;
  restarts: number;
  lastExit: {
    code: number | null;
    signal: string | null;
    cause: string;
    summary: string;
    fix: string;
    /** ISO 8601. */
    at: string;
    stderrTail: string[];
  } | null;
  port: number;
  host: string;
  cwd: string;
  supervisorPid: number;
}

export function lastRunPath(runDir: string, name: string): string {
  return join(runDir, `${name}.last-run`);
}

export function writeLastRun(runDir: string, lastRun: LastRun): void {
  writeFileAtomic(lastRunPath(runDir, lastRun.name), JSON.stringify(lastRun, null, 2) + '\n', 0o600);
}

/** The last run's record; null when there is none or it is unreadable. */
export function readLastRun(runDir: string, name: string): LastRun | null {
  try {
    const value = JSON.parse(readFileSync(lastRunPath(runDir, name), 'utf8')) as Partial<LastRun>;
    return value.version === 1 && typeof value.reason === 'string' && typeof value.at === 'string' ? (value as LastRun) : null;
  } catch {
    return null;
  }
}

export function removeLastRun(runDir: string, name: string): void {
  removeFile(lastRunPath(runDir, name));
}

/**
 * A hub subscriber for `start`: on `fatal` it writes `<name>.last-run` from the event and the
 * status at that moment; on `ready` it removes a previous one. Never throws (the run dir may be
 * gone): losing this record must not change how the supervisor ends.
 */
export function lastRunRecorder(runDir: string, status: () => StatusSnapshot): (event: SupervisorEvent) => void {
  let cleared = false;
  return (event) => {
    try {
      if (event.type === 'ready' && !cleared) {
        cleared = true;
        removeLastRun(runDir, status().name);
      } else if (event.type === 'fatal') {
        writeLastRun(runDir, lastRunFrom(event, status()));
      }
    } catch {
      // Best effort, see above.
    }
  };
}

function lastRunFrom(event: Extract<SupervisorEvent, { type: 'fatal' }>, s: StatusSnapshot): LastRun {
  const exit = event.exit;
  return {
    version: 1,
    name: s.name,
    state: 'fatal',
    reason: event.reason,
    at: isoTime(Date.now()),
    exitStatus: event.exitStatus,
    restarts: s.restarts,
    lastExit: exit === null ? null : {
      code: exit.code,
      signal: exit.signal,
      cause: exit.cause,
      summary: exit.summary,
      fix: exit.fix,
      at: isoTime(exit.at),
      stderrTail: exit.stderrTail.slice(-20),
    },
    port: s.port,
    host: s.host,
    cwd: s.cwd,
    supervisorPid: s.supervisorPid,
  };
}
