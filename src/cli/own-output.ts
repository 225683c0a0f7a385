/**
 * The detached supervisor's own stdout/stderr (`<name>.out`, src/cli/detach.ts) rotates like the
 * logs (issue 14: it had grown to 4.4 MB after 2,086 restarts). It is a file `start -d` opened for
 * us (O_APPEND) and renamed once we owned the name, so we cannot reopen it by name: when it passes
 * logs.maxSize, we copy it to `<name>.out.1` (shifting the older copies up) and truncate it in
 * place. Our writes to a file are synchronous and we are its only writer, so nothing written
 * between the copy and the truncation is lost.
 */
import { constants, copyFileSync, fstatSync, ftruncateSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { basename } from 'node:path';

export interface OwnOutputOptions {
  /** Bytes before it rotates (logs.maxSize). */
  maxSize: number;
  /** Files kept, the current one included (logs.maxFiles). */
  maxFiles: number;
  /** The fd whose file rotates. Default 1 (stderr shares its file). */
  fd?: number;
}

/** Rotates the file behind our stdout when it is too big; call after each write. Never throws. */
export function ownOutputRotator(options: OwnOutputOptions): { check(): void } {
  const fd = options.fd ?? 1;
  let broken = false;
  return {
    check(): void {
      if (broken) return;
      let path: string;
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) throw new Error('not a file');
        if (st.size < options.maxSize) return;
        path = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        // A pipe, a terminal, no /proc: nothing to rotate, and no need to look again each event.
        broken = true;
        return;
      }
      // Still the hidden per-start name (start -d has not settled it yet), or gone: leave it.
      if (!basename(path).endsWith('.out') || path.endsWith(' (deleted)')) return;
      try {
        rotate(path, options.maxFiles);
      } catch {
        // The copy failed (a full disk): the old lines go, the file stays bounded all the same.
      }
      try {
        ftruncateSync(fd, 0);
      } catch {
        broken = true;
      }
    },
  };
}

function rotate(path: string, maxFiles: number): void {
  if (maxFiles <= 1) return;
  // Oldest first, so each rename lands on a name that was just vacated (the last one replaces).
  for (let i = maxFiles - 1; i >= 2; i -= 1) {
    try {
      renameSync(`${path}.${i - 1}`, `${path}.${i}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  // Copied under a name of its own, then renamed over `.1` at once: a reader of `.1` (`naija-sup
  // logs`, a tail) sees the previous copy or the whole new one, never a half-written file. EXCL:
  // never copy through something planted at the temporary name. One fixed name (this supervisor is
  // the file's only writer): a copy left by a crash mid-rotation is removed by the next rotation.
  const copy = `${path}.1.tmp`;
  rmSync(copy, { force: true });
  try {
    copyFileSync(path, copy, constants.COPYFILE_EXCL);
    renameSync(copy, `${path}.1`);
  } catch (error) {
    rmSync(copy, { force: true });
    throw error;
  }
}
