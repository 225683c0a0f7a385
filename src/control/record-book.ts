/**
 * The record of an app whose supervisor owns several instance processes at once (a blue and a
 * green during a reload): one file, `<name>.json`, whose primary is the newest live process and
 * whose `others` are the rest (issue 14). Every instance of one running app writes through the same
 * book, so the file always names every process the supervisor owns at that moment.
 */
import type { InstanceRecord } from './record.js';
import { readRecord, recordPath, removeRecord, writeRecord } from './record.js';

export class RecordBook {
  private readonly runDir: string;
  /** Live processes by pid, oldest first (a Map keeps insertion order). */
  private readonly live = new Map<number, InstanceRecord>();

  constructor(runDir: string) {
    this.runDir = runDir;
  }

  /** Adds (or refreshes) a process and rewrites the file. Returns its path. */
  add(record: InstanceRecord): string {
    this.live.delete(record.pid);
    this.live.set(record.pid, record);
    return this.write(record.name);
  }

  /** Removes a process; the file goes when none is left (and it is still ours). */
  remove(name: string, pid: number): void {
    if (!this.live.delete(pid)) {
      removeRecord(this.runDir, name, pid);
      return;
    }
    if (this.live.size === 0) {
      removeRecord(this.runDir, name, pid);
      return;
    }
    // Another supervisor may own the name now (ours wrote a file it no longer names): leave it be.
    const current = readRecord(this.runDir, name);
    if (current !== null && current.supervisorPid !== process.pid) return;
    this.write(name);
  }

  private write(name: string): string {
    const all = [...this.live.values()];
    const primary = all[all.length - 1] as InstanceRecord;
    const others = all.slice(0, -1).map(({ pid, pgid, startTime, cmdline, port, host, startedAt }) => ({ pid, pgid, startTime, cmdline, port, host, startedAt }));
    writeRecord(this.runDir, others.length === 0 ? primary : { ...primary, others });
    return recordPath(this.runDir, name);
  }
}
