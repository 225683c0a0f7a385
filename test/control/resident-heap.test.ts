/**
 * boundYoungGeneration (src/cli/resident.ts): the foreground `start` cannot be given V8 flags
 * before its heap is set up, so it stops the young generation from growing at run time. Checked
 * in a real node (the built module, `npm run build` first) that allocates short-lived objects
 * until an unbounded young generation would have grown, and on the choice it leaves to the user.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

import { boundYoungGeneration } from '../../src/cli/resident.js';

const RESIDENT = fileURLToPath(new URL('../../dist/cli/resident.js', import.meta.url));

/** new_space's size (bytes) in a fresh node after 2 million short-lived objects, bounded or not. */
function newSpaceAfterChurn(bound: boolean): number {
  const script = `
    const { getHeapSpaceStatistics } = await import('node:v8');
    if (${bound}) await (await import(${JSON.stringify(RESIDENT)})).boundYoungGeneration();
    let keep = [];
    for (let i = 0; i < 2e6; i += 1) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; }
    console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env['PATH'] } }));
}

describe('boundYoungGeneration', () => {
  it('keeps the young generation at its initial 1 MB semi-spaces under allocation churn (unbounded, it grows)', () => {
    const MiB = 1024 * 1024;
    expect(newSpaceAfterChurn(false)).toBeGreaterThan(4 * MiB);
    expect(newSpaceAfterChurn(true)).toBeLessThanOrEqual(2 * MiB);
  }, 60_000);

  it('leaves the heap alone when the user chose a young generation size, on the command line or in NODE_OPTIONS', async () => {
    // It reaches node:v8 through process.getBuiltinModule (see the module): a stand-in there.
    const setFlags = vi.fn();
    const real = process.getBuiltinModule.bind(process);
    const spy = vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) => (id === 'node:v8' ? { setFlagsFromString: setFlags } : real(id))) as typeof process.getBuiltinModule);
    try {
      await boundYoungGeneration(['--max-semi-space-size=16'], {});
      await boundYoungGeneration([], { NODE_OPTIONS: '--enable-source-maps --semi-space-growth-factor=4' });
      await boundYoungGeneration(['--min-semi-space-size=2'], {});
      expect(setFlags).not.toHaveBeenCalled();
      await boundYoungGeneration(['--enable-source-maps'], { NODE_OPTIONS: '--max-old-space-size=512' });
      expect(setFlags).toHaveBeenCalledWith('--semi-space-growth-factor=1');
    } finally {
      spy.mockRestore();
    }
  });
});
