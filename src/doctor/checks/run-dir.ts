/**
 * `run-dir`: the per-user run directory (instance records, later the control socket) is a real
 * directory, owned by this user, mode 700. Read-only: lstat only, never created here — `start`
 * creates it (src/control/run-dir.ts `ensureRunDir` applies the same rules and refuses to run).
 */
import { existsSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkAncestors, runDirPath } from '../../control/run-dir.js';
import { isNaijaSupError } from '../../errors.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

export const runDirCheck: Check = {
  id: 'run-dir',
  title: 'run directory',
  run(ctx: DoctorContext): CheckOutcome {
    const dir = runDirPath({ ...ctx.env });
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    // `start` refuses a run dir under a directory another user controls (issue 15): say so first.
    const above = untrustedParent(dirname(dir));
    if (above !== null) return above;
    let st;
    try {
      st = lstatSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return {
          status: 'ok',
          summary: `${dir} does not exist yet; \`naija-sup start\` creates it (mode 700)`,
          details: [`parent: ${dirname(dir)}`],
        };
      }
      return {
        status: 'fail',
        summary: `cannot inspect ${dir}: ${(error as Error).message}`,
        fix: 'Set NAIJA_SUP_RUN_DIR to a directory you own.',
      };
    }
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0');
    const details = [`owner uid ${st.uid}${uid === undefined ? '' : ` (you are uid ${uid})`}, mode ${mode}`];
    if (!st.isDirectory()) {
      return {
        status: 'fail',
        summary: `${dir} is not a directory (${st.isSymbolicLink() ? 'a symlink' : 'a file'} is in its place)`,
        details,
        fix: `Remove ${dir} if you did not create it on purpose (\`rm ${dir}\`), or set NAIJA_SUP_RUN_DIR.`,
      };
    }
    if (uid !== undefined && st.uid !== uid) {
      return {
        status: 'fail',
        summary: `${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`,
        details,
        fix: 'Another user may be trying to hijack it: remove it as its owner, or set NAIJA_SUP_RUN_DIR to a directory you own.',
      };
    }
    if ((st.mode & 0o077) !== 0) {
      return {
        status: 'fail',
        summary: `${dir} has mode ${mode}; it must be 700 (no access for group and others)`,
        details,
        fix: `chmod 700 ${dir}`,
      };
    }
    return { status: 'ok', summary: `${dir} is yours, mode 700`, details };
  },
};

function untrustedParent(parent: string): CheckOutcome | null {
  if (!existsSync(parent)) return null;
  try {
    checkAncestors(parent, 'run directory');
    return null;
  } catch (error) {
    if (!isNaijaSupError(error)) throw error;
    return { status: 'fail', summary: error.message, details: [...error.details], ...(error.fix === undefined ? {} : { fix: error.fix }) };
  }
}
