import { describe, expect, it } from 'vitest';
import { bindConflicts } from '../../src/ports/bind-conflicts.js';

/**
 * The measured matrix (failures-and-ports.md §2, Node on the project machine, bindv6only=0):
 * rows are the existing listener, columns the host the new server binds. true = EADDRINUSE.
 */
const TARGETS = ['0.0.0.0', '127.0.0.1', '::', '::1'] as const;
const MATRIX: Record<string, readonly boolean[]> = {
  '::': [true, true, true, true],
  '0.0.0.0': [true, true, true, false],
  '127.0.0.1': [true, true, true, false],
  '::1': [false, false, true, true],
  // As /proc/net/tcp6 prints a listener on ::ffff:127.0.0.1: it behaves as 127.0.0.1.
  '::ffff:127.0.0.1': [true, true, true, false],
};

describe('bindConflicts: the measured dual-stack matrix (bindv6only=0)', () => {
  for (const [listener, row] of Object.entries(MATRIX)) {
    TARGETS.forEach((target, index) => {
      const expected = row[index];
      it(`listener ${listener} ${expected === true ? 'blocks' : 'does not block'} a bind on ${target}`, () => {
        expect(bindConflicts(listener, target)).toBe(expected);
        expect(bindConflicts(listener, target, { bindv6only: false })).toBe(expected);
      });
    });
  }
});

describe('bindConflicts: target forms', () => {
  it('treats an omitted or empty host as `::`, which conflicts with every listener', () => {
    for (const listener of ['0.0.0.0', '127.0.0.1', '::', '::1', '192.0.2.2', 'fd00::2']) {
      expect(bindConflicts(listener, undefined)).toBe(true);
      expect(bindConflicts(listener, '')).toBe(true);
    }
  });

  it('checks "localhost" as both 127.0.0.1 and ::1', () => {
    expect(bindConflicts('127.0.0.1', 'localhost')).toBe(true);
    expect(bindConflicts('::1', 'LOCALHOST')).toBe(true);
    expect(bindConflicts('0.0.0.0', 'localhost')).toBe(true);
    expect(bindConflicts('192.0.2.2', 'localhost')).toBe(false);
    expect(bindConflicts('fd00::2', 'localhost')).toBe(false);
  });

  it('compares specific addresses exactly, per family', () => {
    expect(bindConflicts('192.0.2.2', '127.0.0.1')).toBe(false);
    expect(bindConflicts('192.0.2.2', '192.0.2.2')).toBe(true);
    expect(bindConflicts('192.0.2.2', '0.0.0.0')).toBe(true);
    expect(bindConflicts('fd00::2', '::1')).toBe(false);
    expect(bindConflicts('fd00::2', 'fd00:0:0::2')).toBe(true);
    expect(bindConflicts('fd00::2', '[fd00::2]')).toBe(true);
    expect(bindConflicts('fd00::2', '127.0.0.1')).toBe(false);
  });

  it('treats IPv4-mapped targets as IPv4', () => {
    expect(bindConflicts('127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(bindConflicts('::1', '::ffff:127.0.0.1')).toBe(false);
    expect(bindConflicts('::ffff:192.0.2.2', '192.0.2.2')).toBe(true);
    expect(bindConflicts('::ffff:192.0.2.2', '127.0.0.1')).toBe(false);
  });

  it('drops an IPv6 zone id', () => {
    expect(bindConflicts('fe80::1', 'fe80::1%eth0')).toBe(true);
  });

  it('counts an unresolved name or unreadable listener text as conflicting, never as harmless', () => {
    expect(bindConflicts('::1', 'api.internal')).toBe(true);
    expect(bindConflicts('not-an-address', '127.0.0.1')).toBe(true);
  });
});

describe('bindConflicts with bindv6only=1', () => {
  const v6only = { bindv6only: true };

  it('a `::` listener no longer covers IPv4', () => {
    expect(bindConflicts('::', '127.0.0.1', v6only)).toBe(false);
    expect(bindConflicts('::', '0.0.0.0', v6only)).toBe(false);
    expect(bindConflicts('::', '::1', v6only)).toBe(true);
    expect(bindConflicts('::', '::', v6only)).toBe(true);
  });

  it('a `::` target no longer conflicts with IPv4 listeners', () => {
    expect(bindConflicts('0.0.0.0', '::', v6only)).toBe(false);
    expect(bindConflicts('127.0.0.1', undefined, v6only)).toBe(false);
    expect(bindConflicts('::1', '::', v6only)).toBe(true);
  });

  it('leaves same-family rules alone', () => {
    expect(bindConflicts('0.0.0.0', '127.0.0.1', v6only)).toBe(true);
    expect(bindConflicts('::1', '127.0.0.1', v6only)).toBe(false);
  });
});
