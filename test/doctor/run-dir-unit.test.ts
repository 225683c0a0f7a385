/**
 * doctor's `run-dir` check against temp directories (port-pid.test.ts has missing, 755, a symlink
 * and 700): a parent another user could swap, a path under a file, a regular file in its place, and
 * a run dir that belongs to someone else (our uid as the check sees it, mocked).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runDirCheck } from '../../src/doctor/checks/run-dir.js';
import type { CheckOutcome, DoctorContext } from '../../src/doctor/types.js';

const root = mkdtempSync(join(tmpdir(), 'naija-sup-run-dir-check-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const check = (dir: string): CheckOutcome => runDirCheck.run({ env: { NAIJA_SUP_RUN_DIR: dir } } as unknown as DoctorContext) as CheckOutcome;

describe('run-dir', () => {
  it('under a directory anyone may write (no sticky bit): fail, naming why start refuses it', () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const out = check(join(open, 'naija-sup'));
    expect(out.status).toBe('fail');
    expect(out.summary).toMatch(new RegExp(`^refusing the run directory ${open}/…: `));
    expect(out.fix).toContain('NAIJA_SUP_RUN_DIR');
  });

  it('a path under a regular file: cannot inspect it, set NAIJA_SUP_RUN_DIR', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const out = check(join(file, 'naija-sup'));
    expect(out).toMatchObject({ status: 'fail', fix: 'Set NAIJA_SUP_RUN_DIR to a directory you own.' });
    expect(out.summary).toMatch(/^cannot inspect .*a-file\/naija-sup: ENOTDIR/);
  });

  it('a regular file in its place: fail, remove it', () => {
    const file = join(root, 'in-place');
    writeFileSync(file, '', { mode: 0o600 });
    expect(check(file)).toMatchObject({ status: 'fail', summary: `${file} is not a directory (a file is in its place)` });
  });

  it('a run dir that is not ours: fail, another user may be trying to hijack it', () => {
    // Directly under the system temp dir (root's, sticky: a trusted parent for anyone), owned by
    // the real uid; the check is made to see us as another user.
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-run-dir-theirs-'));
    try {
      chmodSync(dir, 0o700);
      const real = process.getuid?.() ?? 0;
      vi.spyOn(process, 'getuid').mockReturnValue(real + 4242);
      const out = check(dir);
      expect(out).toMatchObject({ status: 'fail', summary: `${dir} belongs to uid ${real}, not to you (uid ${real + 4242})` });
      expect(out.details).toEqual([`owner uid ${real} (you are uid ${real + 4242}), mode 700`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
