/**
 * What an app's package.json declares, for the doctor checks that ask about a dependency
 * (bcrypt-node, express): every dependency kind, name → version range. Read only.
 */
import { readFileSync } from 'node:fs';

const KINDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/**
 * The dependencies `file` declares, name → range (the first kind that names it wins, in the order
 * npm installs them); null when the file is missing, not JSON, or not an object.
 */
export function declaredDependencies(file: string): Map<string, string> | null {
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) return null;
  const declared = new Map<string, string>();
  for (const kind of KINDS) {
    const deps = (pkg as Record<string, unknown>)[kind];
    if (deps === null || typeof deps !== 'object') continue;
    for (const [name, range] of Object.entries(deps)) if (!declared.has(name)) declared.set(name, typeof range === 'string' ? range : '');
  }
  return declared;
}
