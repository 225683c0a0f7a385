/**
 * src/iso-time.ts writes what Date.prototype.toISOString writes (the resident never calls the
 * latter: see the module's header), for every kind of time value.
 */
import { describe, expect, it } from 'vitest';
import { isoTime } from '../src/iso-time.js';

const MAX = 8.64e15; // the largest time value ECMAScript allows, either side of the epoch

describe('isoTime', () => {
  it('writes what toISOString writes at the edges: the epoch, years 0 and 9999 and beyond, leap days, the limits', () => {
    const edges = [0, -1, 1, 999, 1000, 951_782_400_000, 951_868_799_999, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_000, -62_167_219_200_001, MAX, -MAX, 1.5];
    for (const ms of edges) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('writes what toISOString writes for 20,001 times across the whole range (every field varying), and for now', () => {
    // Evenly spread, plus a prime number of ms per step so that the days, hours and ms all vary.
    for (let i = 0; i <= 20_000; i++) {
      const ms = Math.max(-MAX, Math.min(MAX, -MAX + i * (MAX / 10_000) + i * 7_919_993));
      expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
    }
    const now = Date.now();
    expect(isoTime(now)).toBe(new Date(now).toISOString());
  });

  it('throws a RangeError for what is not a time, as toISOString does', () => {
    for (const ms of [Number.NaN, MAX + 1, Number.POSITIVE_INFINITY]) {
      expect(() => isoTime(ms)).toThrow(RangeError);
      expect(() => new Date(ms).toISOString()).toThrow(RangeError);
    }
    // A field missing from a record read from disk: no invented time.
    expect(() => isoTime(undefined as unknown as number)).toThrow(RangeError);
  });
});
