/**
 * Atomic file replacement: write a temp file in the same directory with O_EXCL (which refuses to
 * follow or reuse anything already at that name, symlinks included), fsync it, then rename it
 * over the target. rename(2) replaces a symlink at the target instead of writing through it, so a
 * planted `/tmp/naija-api.pid -> ~/.bashrc` cannot make us clobber another file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const { tmp, fd } = openTemp(path, mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
