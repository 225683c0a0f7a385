/**
 * The instance record: who the running instance is, written when it starts and removed when it
 * stops. A PID alone is a guess (PIDs are reused; pid_max is 32768 on this machine), so the record
 * carries the boot id and the start time (field 22 of /proc/PID/stat): nothing is ever signalled
 * from a record unless both still match (src/process/identity.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

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
  rmSync(recordPath(runDir, name), { force: true });
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
