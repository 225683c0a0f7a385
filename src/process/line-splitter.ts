/**
 * Turns a child's byte stream into whole lines.
 *
 * A pipe delivers chunks, not lines: a line may arrive in pieces (a log-line readiness matcher must
 * still see "Server is up" when it came as "Server i" + "s up\n"), a multi-byte UTF-8 character may
 * be cut between chunks, a Windows-style server ends lines with "\r\n", and the last line may have no
 * newline at all. Output that is not UTF-8 must not crash the supervisor (supervisord's end-to-end
 * tests check exactly that), so invalid bytes become U+FFFD.
 */

import { StringDecoder } from 'node:string_decoder';

/** Default cap for one line: 64 KiB (measured in UTF-16 code units, i.e. JS string length). */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

/** Appended to a line that hit the cap; the rest of that line (up to its newline) is dropped. */
export const TRUNCATION_MARKER = ' …[truncated]';

export interface LineSplitterOptions {
  /** Longest line kept, in characters; longer lines are cut and marked. Default 64 KiB. */
  maxLineLength?: number;
}

/**
 * Incremental splitter: feed it chunks with {@link LineSplitter.push}, get back the lines they
 * completed; call {@link LineSplitter.end} once the stream has ended to get a final unterminated
 * line. Pure (no streams, no timers), so it is unit-testable and reusable by the log probe.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLineLength: number;
  #pending = '';
  /** True while we are discarding the tail of an over-long line until its newline. */
  #discarding = false;
  #truncatedLines = 0;

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxLineLength must be a positive integer, got ${String(max)}`);
    }
    this.#maxLineLength = max;
  }

  /** How many lines were cut at the cap so far. */
  get truncatedLines(): number {
    return this.#truncatedLines;
  }

  /** Feeds one chunk; returns the lines it completed (without their "\n" or "\r\n"). */
  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    return this.#consume(text);
  }

  /** Call once at end of stream: returns the final line if it had no newline (and any decoder leftovers). */
  end(): string[] {
    const lines = this.#consume(this.#decoder.end());
    if (this.#pending.length > 0 && !this.#discarding) {
      lines.push(stripCarriageReturn(this.#pending));
    }
    this.#pending = '';
    this.#discarding = false;
    return lines;
  }

  #consume(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    // Bounded by the number of newlines in `text`: each iteration moves `start` past one.
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      const piece = text.slice(start, newline);
      start = newline + 1;
      if (this.#discarding) {
        // The over-long line finally ended; its head was already emitted.
        this.#discarding = false;
        this.#pending = '';
        continue;
      }
      const line = this.#pending + piece;
      this.#pending = '';
      lines.push(this.#capped(stripCarriageReturn(line)));
    }
    if (start < text.length && !this.#discarding) {
      this.#pending += text.slice(start);
      if (this.#pending.length > this.#maxLineLength) {
        // Emit the head now rather than buffering without bound: a child that prints megabytes
        // without a newline must not grow the supervisor's memory.
        lines.push(this.#capped(this.#pending));
        this.#pending = '';
        this.#discarding = true;
      }
    }
    return lines;
  }

  #capped(line: string): string {
    if (line.length <= this.#maxLineLength) return line;
    this.#truncatedLines += 1;
    return line.slice(0, this.#maxLineLength) + TRUNCATION_MARKER;
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
