/**
 * Disk problems are never silent (issue 14): a log write that fails (disk full, read-only, a
 * planted symlink) is said once as a warning, shown by `status` until writes work again, and
 * retried by the log writer; an instance record that cannot be written before any was ever written
 * stops `start` with E_RUN_DIR, because without a record a later start cannot find the instance if
 * this supervisor dies (orphan recovery is blind).
 */
import type { DiskProblem } from '../control/protocol.js';
import { NaijaSupError } from '../errors.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import { isoTime } from '../iso-time.js';

export interface DiskWatchOptions {
  /** Adds an event to the stream; called from a microtask, never inside another event's delivery. */
  publish(event: SupervisorEvent): void;
  /** The first instance's record could not be written: stop the app (start then fails with `runDirError`). */
  stop(): void;
  now?: () => number;
}

export class DiskWatch {
  private readonly options: DiskWatchOptions;
  private readonly failing = new Map<string, DiskProblem>();
  private recorded = false;
  /** Set when the first record could not be written: `start` fails with it. */
  runDirError: NaijaSupError | null = null;

  constructor(options: DiskWatchOptions) {
    this.options = options;
  }

  /** The log writer's onError: its lines wait in a backlog and it retries. */
  logFailed(path: string, error: Error): void {
    this.failing.set(path, { path, message: error.message, since: isoTime((this.options.now ?? Date.now)()) });
    this.later({ type: 'warning', message: `cannot write the log file ${path}: ${error.message}; its lines are kept (up to 256 KiB) and the write is retried every second`, fix: fixFor(error) });
  }

  /** The log writer's onRecover. */
  logRecovered(path: string, lost: number): void {
    this.failing.delete(path);
    this.later({ type: 'warning', message: `the log file ${path} is written again${lost > 0 ? `; ${lost} lines did not fit the backlog and are lost` : '; no line was lost'}` });
  }

  /** Every event: the record's writes. */
  observe(event: SupervisorEvent): void {
    if (event.type === 'record-written') {
      this.recorded = true;
      for (const [path, problem] of this.failing) if (problem.message.startsWith('record: ')) this.failing.delete(path);
      return;
    }
    if (event.type !== 'record-error' || event.file === 'pid-file') return;
    const path = event.path ?? 'the instance record';
    this.failing.set(path, { path, message: `record: ${event.message}`, since: isoTime((this.options.now ?? Date.now)()) });
    if (this.recorded || this.runDirError !== null) return;
    this.runDirError = new NaijaSupError('E_RUN_DIR', `cannot write the instance record ${path}: ${event.message}`, {
      details: ['without a record, a later start or stop cannot find this instance if the supervisor dies: the instance was stopped'],
      fix: fixFor(new Error(event.message)),
    });
    queueMicrotask(() => this.options.stop());
  }

  /** What `status` shows. */
  problems(): DiskProblem[] {
    return [...this.failing.values()];
  }

  private later(event: SupervisorEvent): void {
    queueMicrotask(() => this.options.publish(event));
  }
}

function fixFor(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code ?? /^([A-Z]+):/.exec(error.message)?.[1];
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free space on the disk that holds the run dir (df -h), or point NAIJA_SUP_RUN_DIR at another disk';
    case 'EROFS':
      return 'the run dir is on a read-only filesystem: point NAIJA_SUP_RUN_DIR (or XDG_RUNTIME_DIR) at a writable directory';
    case 'ELOOP':
      return 'a symlink is in the place of the file: remove it (naija-sup never writes through one)';
    default:
      return 'check that the run dir is writable and its disk has space';
  }
}
