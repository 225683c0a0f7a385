/**
 * src/import-module.ts: the one door for import() of packages and files (bin/naija-sup.js opens it
 * for the start bundle run from its code cache; test/e2e/fast-paths.test.ts runs that for real).
 */
import { describe, expect, it, vi } from 'vitest';
import { IMPORT_DOOR, importModule } from '../src/import-module.js';

describe('importModule', () => {
  it('imports by itself without a door, and through the door when the bin opened one', async () => {
    expect((await importModule<typeof import('node:path')>('node:path')).posix.join('a', 'b')).toBe('a/b');
    const door = vi.fn(() => Promise.resolve({ through: 'the door' }));
    const slot = globalThis as { [IMPORT_DOOR]?: unknown };
    slot[IMPORT_DOOR] = door;
    try {
      expect(await importModule('some-package')).toEqual({ through: 'the door' });
      expect(door).toHaveBeenCalledWith('some-package');
    } finally {
      delete slot[IMPORT_DOOR];
    }
  });
});
