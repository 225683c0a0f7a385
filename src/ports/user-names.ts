/**
 * uid → login name for the owners of a port, without spawning anything: /etc/passwd, then
 * os.userInfo() for our own uid (users from LDAP/NSS are not in /etc/passwd), else the number.
 */

import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

/** The uid → name table of a passwd file; empty when it cannot be read. */
export function readPasswd(file: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of (readOptional(file) ?? '').split('\n')) {
    const [name, , uid] = line.split(':');
    if (name !== undefined && name !== '' && uid !== undefined && /^\d+$/.test(uid) && !users.has(Number(uid))) {
      users.set(Number(uid), name);
    }
  }
  return users;
}

/** The login name of `uid`, or the uid itself as text when nobody knows it. */
export function userName(uid: number, passwd: ReadonlyMap<number, string>): string {
  const name = passwd.get(uid);
  if (name !== undefined) return name;
  // Users from LDAP/NSS are not in /etc/passwd; os.userInfo() asks getpwuid, but only for ourselves.
  if (uid === process.getuid?.()) {
    try {
      return userInfo().username;
    } catch {
      // no passwd entry at all (containers run with --user 1234): fall through
    }
  }
  return String(uid);
}

/** Reads a file, or undefined when it does not exist or cannot be read. */
function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
