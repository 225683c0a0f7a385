/**
 * Reading an app's own source for the doctor's static hints (handoff-drain-hint, express): small
 * files only, since a source file is small and a bundle is not worth guessing in. Read only.
 */
import { readFileSync, statSync } from 'node:fs';

/** Larger files are not read. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

/** Whether `path` is a regular file of at most {@link MAX_SOURCE_BYTES}. */
export function isSmallFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && stat.size <= MAX_SOURCE_BYTES;
  } catch {
    return false;
  }
}

/** The text of `path`, or null when it cannot be read. */
export function readSource(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
