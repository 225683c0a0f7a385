import { describe, expect, it } from 'vitest';
import { formatSize, MAX_SIZE_BYTES, parseSize, tryParseSize } from '../../src/config/size.js';

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

describe('parseSize', () => {
  it.each([
    [0, 0],
    [1, 1],
    [1_048_576, MB],
    ['100B', 100],
    ['512KB', 512 * KB],
    ['10MB', 10 * MB],
    ['1GB', GB],
    ['1.5MB', 1.5 * MB],
    ['1.5KB', 1536],
    ['0.1KB', 102],
    ['10mb', 10 * MB],
    ['10Mb', 10 * MB],
    [' 10 MB ', 10 * MB],
    ['2gb', 2 * GB],
    [MAX_SIZE_BYTES, MAX_SIZE_BYTES],
  ] as const)('%j → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_SIZE_BYTES + 2, '10', '', 'big', '10 megabytes', '10M', '10K', '1TB', '-5MB', '1e3B', '10MiB'] as const)(
    'rejects %j',
    (input) => {
      expect(tryParseSize(input)).toBeUndefined();
      expect(() => parseSize(input)).toThrow(RangeError);
      expect(() => parseSize(input)).toThrow(/expected a size like "10MB"/);
    },
  );

  it('rejects values that are not numbers or strings', () => {
    for (const input of [null, undefined, true, {}, ['10MB']]) expect(tryParseSize(input)).toBeUndefined();
  });

  it('rejects sizes beyond what a JS number holds exactly', () => {
    expect(tryParseSize('9000000GB')).toBeUndefined();
    expect(tryParseSize('8000000GB')).toBe(8_000_000 * GB);
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0B'],
    [1, '1B'],
    [1000, '1000B'],
    [1024, '1KB'],
    [1536, '1536B'],
    [512 * KB, '512KB'],
    [1.5 * MB, '1536KB'],
    [10 * MB, '10MB'],
    [GB, '1GB'],
    [3 * GB, '3GB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('is read back to the same number', () => {
    const samples = [0, 1, 7, 1023, 1024, 1025, 1536, MB - 1, MB, MB + KB, 10 * MB, GB, GB + 1, 5 * GB, MAX_SIZE_BYTES];
    for (let bytes = 0; bytes < 200_000; bytes += 1021) samples.push(bytes);
    for (const bytes of samples) expect(parseSize(formatSize(bytes))).toBe(bytes);
  });
});
