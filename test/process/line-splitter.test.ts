import { describe, expect, it } from 'vitest';
import { LineSplitter, TRUNCATION_MARKER } from '../../src/process/line-splitter.js';

describe('LineSplitter', () => {
  it('returns complete lines and keeps a partial line for the next chunk', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('one\ntwo\nthr'))).toEqual(['one', 'two']);
    expect(splitter.push(Buffer.from('ee\n'))).toEqual(['three']);
    expect(splitter.end()).toEqual([]);
  });

  it('joins a line written in two chunks ("Server i" + "s up\\n")', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('Server i'))).toEqual([]);
    expect(splitter.push(Buffer.from('s up\n'))).toEqual(['Server is up']);
  });

  it('strips \\r from \\r\\n endings, also when \\r and \\n arrive in different chunks', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('a\r\nb\r'))).toEqual(['a']);
    expect(splitter.push(Buffer.from('\nc'))).toEqual(['b']);
    expect(splitter.end()).toEqual(['c']);
  });

  it('emits a final line without a newline at end()', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('no newline at end')).toEqual([]);
    expect(splitter.end()).toEqual(['no newline at end']);
    // end() resets: nothing is emitted twice.
    expect(splitter.end()).toEqual([]);
  });

  it('keeps empty lines', () => {
    expect(new LineSplitter().push('\n\nx\n')).toEqual(['', '', 'x']);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('naïra ₦\n', 'utf8');
    const cut = bytes.indexOf(0xe2) + 1; // inside the 3-byte "₦"
    const splitter = new LineSplitter();
    expect(splitter.push(bytes.subarray(0, cut))).toEqual([]);
    expect(splitter.push(bytes.subarray(cut))).toEqual(['naïra ₦']);
  });

  it('replaces bytes that are not UTF-8 instead of throwing', () => {
    const splitter = new LineSplitter();
    const lines = splitter.push(Buffer.from([0x62, 0x69, 0x6e, 0x20, 0xff, 0xfe, 0x0a, 0x6f, 0x6b, 0x0a]));
    expect(lines).toEqual(['bin \uFFFD\uFFFD', 'ok']);
  });

  it('caps a line at maxLineLength and drops the rest of it until its newline', () => {
    const splitter = new LineSplitter({ maxLineLength: 8 });
    expect(splitter.push('0123456789abc\nshort\n')).toEqual([`01234567${TRUNCATION_MARKER}`, 'short']);
    expect(splitter.truncatedLines).toBe(1);
  });

  it('does not buffer an endless line: emits its head once it exceeds the cap, then skips to the newline', () => {
    const splitter = new LineSplitter({ maxLineLength: 10 });
    expect(splitter.push('x'.repeat(6))).toEqual([]);
    expect(splitter.push('x'.repeat(6))).toEqual([`${'x'.repeat(10)}${TRUNCATION_MARKER}`]);
    expect(splitter.push('x'.repeat(1000))).toEqual([]);
    expect(splitter.push('tail\nnext\n')).toEqual(['next']);
    expect(splitter.end()).toEqual([]);
  });

  it('caps at 64 KiB by default', () => {
    const [line] = new LineSplitter().push(`${'y'.repeat(70_000)}\n`);
    expect(line).toBe(`${'y'.repeat(64 * 1024)}${TRUNCATION_MARKER}`);
  });

  it('rejects a nonsensical cap', () => {
    expect(() => new LineSplitter({ maxLineLength: 0 })).toThrow(RangeError);
  });
});
