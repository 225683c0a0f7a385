/**
 * Which directories above a run dir are trusted, and what a supervisor says when its run dir is
 * replaced under it (issue 15): the message must name the owner or the mode that makes a parent
 * unsafe, and what now stands where the run dir was.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureRunDir, inRunDir, untrustedReason } from '../../src/control/run-dir.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-trust-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A user in /etc/passwd other than us, if there is one: [name, uid]. */
function otherUser(): [string, number] | null {
  const me = process.getuid?.() ?? 0;
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && Number(uid) !== me && Number(uid) !== 0) return [name, Number(uid)];
  }
  return null;
}

describe('untrustedReason', () => {
  it('a directory others may write to is trusted only when sticky, like /tmp', () => {
    const d = join(dir, 'shared');
    mkdirSync(d);
    chmodSync(d, 0o777);
    expect(untrustedReason(d)).toBe(`${d} is writable by everyone (mode 777) and not sticky, so others could replace what is inside it`);
    chmodSync(d, 0o775);
    expect(untrustedReason(d)).toBe(`${d} is writable by its group (mode 775) and not sticky, so others could replace what is inside it`);
    chmodSync(d, 0o1777);
    expect(untrustedReason(d)).toBeNull();
    chmodSync(d, 0o755);
    expect(untrustedReason(d)).toBeNull();
  });

  it.runIf(process.getuid?.() === 0)('names the other user who owns a directory, by name when known, else by uid', () => {
    const user = otherUser();
    const named = join(dir, 'named');
    mkdirSync(named);
    expect(user).not.toBeNull(); // every system has daemon or nobody
    const [name, uid] = user as [string, number];
    chownSync(named, uid, uid);
    expect(untrustedReason(named)).toBe(`${named} belongs to ${name} (uid ${uid}), who could replace what is inside it`);
    const unknown = join(dir, 'unknown');
    mkdirSync(unknown);
    chownSync(unknown, 4_123_456, 4_123_456); // in no /etc/passwd
    expect(untrustedReason(unknown)).toBe(`${unknown} belongs to uid 4123456 (uid 4123456), who could replace what is inside it`);
  });
});

describe('a held run dir', () => {
  it('is held once however often it is ensured, and re-held when it was legitimately re-created', () => {
    const env = { NAIJA_SUP_RUN_DIR: join(dir, 'run') };
    const run = ensureRunDir(env);
    expect(ensureRunDir(env)).toBe(run);
    writeFileSync(inRunDir(join(run, 'a.txt')), 'one');
    // Removed and made again (a reboot's tmpfs, a user's rm -rf), then ensured by the next start.
    rmSync(run, { recursive: true });
    ensureRunDir(env);
    writeFileSync(inRunDir(join(run, 'b.txt')), 'two');
    expect(readFileSync(join(run, 'b.txt'), 'utf8')).toBe('two');
  });

  it.each([
    ['a symlink', (run: string) => symlinkSync(join(dir, 'elsewhere'), run)],
    ['a file', (run: string) => writeFileSync(run, '')],
    ['gone', () => undefined],
  ])('refuses to write once it was replaced by %s, and says so', (now, replace) => {
    const env = { NAIJA_SUP_RUN_DIR: join(dir, 'run') };
    const run = ensureRunDir(env);
    mkdirSync(join(dir, 'elsewhere'));
    renameSync(run, join(dir, 'moved'));
    replace(run);
    expect(() => inRunDir(join(run, 'api.json'))).toThrow(`the run directory ${run} was replaced after it was checked (it is now ${now}); nothing was written there`);
  });
});
