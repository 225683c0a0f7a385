import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration, tryParseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [250, 250],
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0.5m', 30_000],
    [' 10s ', 10_000],
    ['10 s', 10_000],
    [MAX_DURATION_MS, MAX_DURATION_MS],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_DURATION_MS + 1, '5', 'fast', '', '5 sec', '1e3s', '-5s', '5S', '25d'] as const)(
    'rejects %j',
    (input) => {
      expect(tryParseDuration(input)).toBeUndefined();
      expect(() => parseDuration(input)).toThrow(RangeError);
      expect(() => parseDuration(input)).toThrow(/expected a duration like "5s"/);
    },
  );

  it('rejects values that are not numbers or strings', () => {
    for (const input of [null, undefined, true, {}, ['5s']]) expect(tryParseDuration(input)).toBeUndefined();
  });

  it('rejects durations that would overflow Node timers', () => {
    expect(tryParseDuration('25d')).toBeUndefined();
    expect(tryParseDuration('597h')).toBeUndefined();
    expect(tryParseDuration('596h')).toBe(596 * 3_600_000);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1001, '1.001s'],
    [30_000, '30s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [5_400_000, '90m'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('is read back to the same number', () => {
    const samples = [0, 1, 7, 100, 999, 1000, 1001, 1234, 59_999, 60_000, 61_000, 3_599_999, 3_600_000, 7_200_000, MAX_DURATION_MS];
    for (let ms = 0; ms < 5000; ms += 37) samples.push(ms);
    for (const ms of samples) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
