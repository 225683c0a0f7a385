/**
 * Atomic file replacement: write a temp file in the same directory with O_EXCL (which refuses to
 * follow or reuse anything already at that name, symlinks included), then rename it over the
 * target. rename(2) replaces a symlink at the target instead of writing through it, so a planted
 * `/tmp/naija-api.pid -> ~/.bashrc` cannot make us clobber another file.
 *
 * No fsync. What these files describe (an instance record, a PID file, the last run) are processes,
 * and no process outlives the machine: after a power loss every reader finds a stale file anyway
 * (its start time and boot id no longer match) or an unreadable one, which each reader takes as
 * absent. Against what can happen (a supervisor killed mid-write), the rename is what counts: a
 * reader sees the old file or the new one, never half of one. And the fsync was not free: it runs
 * on the supervisor's event loop at every spawn: 0.8 ms on average in a loop on the development
 * machine's ext4, and 11 ms in all for one start and one restart in a CPU profile of a supervisor
 * (the journal busy with the new process's writes); in proxy mode no request is relayed meanwhile.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { inRunDir } from './run-dir.js';

/** Names tried before giving up when every temp name is taken (someone is squatting on them). */
const TEMP_ATTEMPTS = 8;

/**
 * Opens a fresh temp file next to `path`. O_EXCL is what makes this safe; the random part only
 * keeps names from colliding. Math.random rather than node:crypto: crypto costs the long-running
 * supervisor about 1 MiB of RSS, and nothing here needs unpredictability.
 */
function openTemp(path: string, mode: number): { tmp: string; fd: number } {
  for (let attempt = 1; ; attempt += 1) {
    const suffix = Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${suffix}.tmp`);
    try {
      return { tmp, fd: openSync(tmp, 'wx', mode) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= TEMP_ATTEMPTS) throw error;
    }
  }
}

/**
 * Replaces `path` with `content`. In a run dir the supervisor holds, the write goes through its
 * handle and fails (E_RUN_DIR) if the directory was swapped since it was checked (src/control/run-dir.ts).
 */
export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const target = inRunDir(path);
  const { tmp, fd } = openTemp(target, mode);
  try {
    writeSync(fd, content);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Removes `path` (no error if absent); in a held run dir, through its handle, like {@link writeFileAtomic}. */
export function removeFile(path: string): void {
  rmSync(inRunDir(path), { force: true });
}
