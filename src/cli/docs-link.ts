/**
 * The docs reference printed after an error or a classified crash: a path the user can open,
 * ending in the section's anchor. The page ships with the package (package.json "files" has
 * docs/), so the path is the one on this machine, not a URL: it works offline and always matches
 * the installed version. Shown relative to the working directory when it lies inside it (a
 * checkout: `docs/troubleshooting.md#e_port_in_use`; an app that installed the package:
 * `node_modules/naija-sup/docs/troubleshooting.md#…`), absolute otherwise (a global install).
 */
import { isAbsolute, relative } from 'node:path';
import { TROUBLESHOOTING_DOC } from '../docs-ref.js';
import { packagePath } from '../package-root.js';

/** The troubleshooting page on this machine. */
export const TROUBLESHOOTING_FILE = packagePath(TROUBLESHOOTING_DOC);

/** `see <path>#<anchor>`'s path part, for `anchor` (from docsRef or errorAnchor). */
export function docsLink(anchor: string, cwd: string): string {
  const shown = relative(cwd, TROUBLESHOOTING_FILE);
  const inside = shown !== '' && !shown.startsWith('..') && !isAbsolute(shown);
  return `${inside ? shown : TROUBLESHOOTING_FILE}#${anchor}`;
}
