/**
 * `naija-sup logs --follow`: the lines appended to an app's log file, across rotations and
 * truncation (the files themselves are written by log-files.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { abortableSleep } from '../process/terminate.js';
import { CHUNK, existingLogFiles, logFilePath, type LogPosition } from './log-files.js';

export interface FollowOptions {
  dir: string;
  name: string;
  /** Ends the follow (Ctrl+C). */
  signal: AbortSignal;
  onLine(line: string): void;
  /** Where to start in the current file (from {@link readLogTail}); default: its end. */
  from?: LogPosition | null;
  /** How often the file is checked, ms. Default 100. */
  pollMs?: number;
}

interface OpenFile {
  fd: number;
  ino: number;
  offset: number;
}

/**
 * Prints lines appended to the current log file until `signal` aborts, following it across
 * rotations (the old file is read to its end before the new one is opened) and truncation.
 * Polls the file size: inotify misses renames on some filesystems and polling is enough for a
 * human watching a log.
 */
export async function followLog(options: FollowOptions): Promise<void> {
  const follower = new LogFollower(options);
  try {
    follower.start();
    // Bounded by the caller's signal (Ctrl+C); each round sleeps pollMs.
    while (!options.signal.aborted) {
      follower.poll();
      await abortableSleep(options.pollMs ?? 100, options.signal);
    }
  } finally {
    follower.close();
  }
}

/** One follow: the file being read, and the lines read so far, split at newlines. */
class LogFollower {
  private readonly path: string;
  private partial: Buffer = Buffer.alloc(0);
  /** The file being followed; set as soon as it is open, so that close() closes it whatever throws. */
  private current: OpenFile | null = null;

  constructor(private readonly options: FollowOptions) {
    this.path = logFilePath(options.dir, options.name);
  }

  /** Opens the current file where the tail stopped; if it rotated in between, finishes the rotated one first. */
  start(): void {
    const { dir, name } = this.options;
    const from = this.options.from ?? null;
    const opened = openAt(this.path, from === null ? 'end' : from.offset);
    this.current = opened;
    if (opened !== null && from !== null && opened.ino !== from.ino) {
      opened.offset = 0;
      const rotated = openAt(logFilePath(dir, name, 1), from.offset);
      try {
        if (rotated !== null && rotated.ino === from.ino) this.drain(rotated);
      } finally {
        closeFile(rotated);
      }
    }
  }

  /** Reads what was appended to the current file; after a rotation, the rest of it, the files in between and the new one. */
  poll(): void {
    const current = this.current;
    if (current !== null) this.drain(current);
    let st: { ino: number } | null;
    try {
      st = statSync(this.path);
    } catch {
      st = null; // mid-rotation: the new file is not there yet
    }
    if (st === null || (current !== null && st.ino === current.ino)) return;
    if (current !== null) {
      this.drain(current);
      this.flushPartial();
      this.catchUp(current.ino);
    }
    this.flushPartial();
    this.close();
    this.current = openAt(this.path, 0);
    if (this.current !== null) this.drain(this.current);
  }

  close(): void {
    closeFile(this.current);
    this.current = null;
  }

  private emit(data: Buffer): void {
    let buf = this.partial.length > 0 ? Buffer.concat([this.partial, data]) : data;
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a)) {
      this.options.onLine(buf.subarray(0, nl).toString('utf8'));
      buf = buf.subarray(nl + 1);
    }
    this.partial = Buffer.from(buf);
  }

  private flushPartial(): void {
    if (this.partial.length > 0) this.options.onLine(this.partial.toString('utf8'));
    this.partial = Buffer.alloc(0);
  }

  private drain(file: OpenFile): void {
    const buf = Buffer.alloc(CHUNK);
    const size = fstatSync(file.fd).size;
    if (size < file.offset) file.offset = 0; // truncated in place
    // Bounded: reads at most what was there when we looked (plus one chunk).
    for (let rounds = Math.ceil((size - file.offset) / CHUNK) + 1; rounds > 0; rounds -= 1) {
      const read = readSync(file.fd, buf, 0, CHUNK, file.offset);
      if (read <= 0) break;
      file.offset += read;
      this.emit(Buffer.from(buf.subarray(0, read)));
    }
  }

  /**
   * After a rotation, reads the rotated files written after the one we held (`heldIno`), oldest
   * first: a burst may rotate several times between two polls. Rotation only shifts names up, so
   * if the held file is no longer among them (deleted as the oldest), every rotated file is newer.
   */
  private catchUp(heldIno: number): void {
    const rotated: OpenFile[] = [];
    for (const file of existingLogFiles(this.options.dir, this.options.name).slice(1)) {
      const opened = openAt(file, 0);
      if (opened !== null) rotated.push(opened);
    }
    const held = rotated.findIndex((file) => file.ino === heldIno);
    const newer = held === -1 ? rotated : rotated.slice(0, held);
    for (const file of newer.reverse()) {
      this.drain(file);
      this.flushPartial();
    }
    for (const file of rotated) closeFile(file);
  }
}

function openAt(filePath: string, offset: number | 'end'): OpenFile | null {
  try {
    const fd = openSync(filePath, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    return { fd, ino: st.ino, offset: offset === 'end' ? st.size : Math.min(offset, st.size) };
  } catch {
    return null;
  }
}

function closeFile(file: OpenFile | null): void {
  if (file !== null) {
    try { closeSync(file.fd); } catch { /* already closed */ }
  }
}
