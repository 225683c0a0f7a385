/**
 * The few asynchronous file operations naija-sup needs, as promises over node:fs's callbacks.
 *
 * Not node:fs/promises: loading it loads seven more of Node's own modules (FileHandle brings
 * readline's interface for `readLines`, plus the directory and watch helpers), 0.55 MiB of a
 * process's RSS measured on a bare node with the background supervisor's flags, and that
 * supervisor lives for days (issue 19: its idle RSS). node:fs is loaded in every process anyway.
 */
import { close, open, read, readdir, readFile, rm, writeFile } from 'node:fs';

type Done<T> = (error: NodeJS.ErrnoException | null, value: T) => void;

/** A promise settled by a node-style callback. */
function settled<T>(start: (done: Done<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

export const readTextFile = (path: string, encoding: BufferEncoding = 'utf8'): Promise<string> =>
  settled<string>((done) => readFile(path, encoding, done));

export const writeTextFile = (path: string, text: string): Promise<void> =>
  settled<void>((done) => writeFile(path, text, (error) => done(error, undefined)));

/** `rm -f`: a missing file is no error. */
export const removeFile = (path: string): Promise<void> =>
  settled<void>((done) => rm(path, { force: true }, (error) => done(error, undefined)));

export const listDir = (path: string): Promise<string[]> => settled<string[]>((done) => readdir(path, done));

/** Opens `path` for reading; resolves with the fd. */
export const openForReading = (path: string): Promise<number> => settled<number>((done) => open(path, 'r', done));

/** Reads into `buffer` from the fd's current position; resolves with the bytes read. */
export const readInto = (fd: number, buffer: Buffer): Promise<number> =>
  settled<number>((done) => read(fd, buffer, 0, buffer.length, null, (error, bytesRead) => done(error, bytesRead)));

/** Closes `fd` without waiting for it (an error closing a read-only fd changes nothing we read). */
export function closeSoon(fd: number): void {
  close(fd, () => undefined);
}
