/**
 * A minimal .tar.gz writer (POSIX ustar, gzip from node:zlib) for `doctor --bundle`: regular files
 * only, in one folder. Written here rather than added as a dependency (tar-stream, archiver): a
 * bundle holds a handful of small text files, which is ~50 lines, and a bug-report tool should not
 * need the `tar` binary, which a slim container may lack.
 */
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  /** Path inside the archive, '/'-separated; at most 100 bytes (no ustar prefix split needed here). */
  name: string;
  content: string | Buffer;
  /** Default 0o600: a bundle is diagnostic data, readable by its owner. */
  mode?: number;
  /** Seconds since the epoch. */
  mtime: number;
}

const BLOCK = 512;

/** An octal field of `width` bytes: digits, zero-padded, then NUL (the ustar convention). */
function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(entry: TarEntry, size: number): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  if (name.length > 100) throw new Error(`tar entry name over 100 bytes: ${entry.name}`);
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0);
  block.write(octal(entry.mode ?? 0o600, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid: the reader's own is more useful than ours
  block.write(octal(0, 8), 116, 'ascii'); // gid
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(Math.floor(entry.mtime), 12), 136, 'ascii');
  block.write(' '.repeat(8), 148, 'ascii'); // checksum field counts as spaces while summing
  block.write('0', 156, 'ascii'); // typeflag: regular file
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** The uncompressed tar stream of `entries`, ended by two zero blocks. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content;
    parts.push(header(entry, data.length), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** `entries` as a .tar.gz. */
export function tarGz(entries: readonly TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}
