/**
 * Where naija-sup's own package is on disk, and its version: the one place that answers it.
 *
 * The CLI runs from two layouts of the same code: `dist/<folder>/<module>.js` as tsc emits it (what
 * the library exports and the tests load), and the CLI bundle's chunks in `dist/bundle/`
 * (scripts/bundle.mjs, issue 19), where every module sits at one depth. A path written relative to
 * one module's own URL (`../../../package.json`) is right in one layout and wrong in the other, so
 * the root is found instead: the nearest folder above this module that holds a package.json. That
 * is the package's own in both layouts, installed (`node_modules/naija-sup/`) or not; dist/ has none.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;
let version: string | undefined;

/** The package's root folder: the nearest one above this module with a package.json (at most 4 up). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4 && !existsSync(join(dir, 'package.json')); up++) dir = dirname(dir);
  root = dir;
  return root;
}

/** A file of the package, by its path from the root: `packagePath('bin', 'naija-sup.js')`. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

/** naija-sup's version, from its package.json (read once). */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}
