/**
 * `import()` of an npm package or of a file URL, through one door.
 *
 * Why a door: bin/naija-sup.js runs the CLI's CommonJS bundles from V8 code caches (the start
 * bundle loads in ~5 ms with the functions `start` runs already compiled, instead of ~14 for its
 * top level alone; scripts/bundle.mjs). On Node 20 a script compiled from a code
 * cache loses its dynamic-import callback: its own `import()` throws
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. So the bin opens the door from its own module, where
 * `import()` works, and every import of a package or file goes through it. Without a door (the
 * library, the ESM chunks, tests), this module's own `import()` does the work.
 */

/** Where bin/naija-sup.js puts its import function (a registered symbol: no name to collide with). */
export const IMPORT_DOOR = Symbol.for('naija-sup.import');

type Door = (specifier: string) => Promise<unknown>;

/** `import(specifier)`, through the door when the bin opened one. */
export function importModule<T>(specifier: string): Promise<T> {
  const door = (globalThis as { [IMPORT_DOOR]?: Door })[IMPORT_DOOR];
  return (door === undefined ? import(specifier) : door(specifier)) as Promise<T>;
}
