/**
 * `express`: an Express app whose server is not built with naija-sup/node's expressServerOptions.
 *
 * Express changes the prototype of every request and response (`Object.setPrototypeOf(req,
 * app.request)`); on Node 20's V8 objects changed so survive the young-generation GC, so every
 * request is promoted: scavenges of 3–7 ms every ~100 ms and a mark-compact every ~0.7 s at a few
 * thousand requests a second, a p99 of 8–12 ms at a 0.2 ms median (docs/http-proxy.md, "Express and
 * Object.setPrototypeOf"). `http.createServer(expressServerOptions(app), app)` removes it. Read
 * only: the app's package.json (is express a dependency?) and a bounded walk over its own source
 * files (is expressServerOptions used anywhere?). A warning, never a failure: the app works as it is.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { declaredDependencies } from '../package-json.js';
import { isSmallFile, readSource } from '../source-files.js';
import { isNodeApp } from './runtime.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/**
 * The walk's bounds: a project's own source is small; a bigger tree is not worth reading for a
 * hint (and the walk is synchronous, so it must end on its own).
 */
const MAX_ENTRIES = 20_000;
const MAX_DEPTH = 8;
const SOURCE = /\.(?:[cm]?js|[cm]?ts|jsx|tsx)$/;
const USES_OPTIONS = 'expressServerOptions';

/**
 * The app's package.json: the nearest one at or above `cwd` (a workspace member may have none of
 * its own), and whether it declares express (its range). Null when there is none, or the nearest
 * one does not parse (never a parent's instead) or does not name express.
 */
export function expressPackage(cwd: string): { file: string; version: string } | null {
  for (let dir = cwd, i = 0; i < 32; dir = dirname(dir), i += 1) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const version = declaredDependencies(file)?.get('express');
      return version === undefined ? null : { file, version };
    }
    if (dirname(dir) === dir) return null;
  }
  return null;
}

/**
 * The first source file under `root` that mentions expressServerOptions (node_modules and dot
 * folders left out), and whether the walk stopped at its bounds before the end.
 */
export function findOptionsUse(root: string, maxEntries = MAX_ENTRIES): { file: string | null; truncated: boolean } {
  let entries = 0;
  const walk = (dir: string, depth: number): string | null => {
    let list;
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch {
      return null;
    }
    for (const entry of list) {
      if ((entries += 1) > maxEntries) return null;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.') || depth >= MAX_DEPTH) continue;
        const found = walk(path, depth + 1);
        if (found !== null) return found;
      } else if (entry.isFile() && SOURCE.test(entry.name) && isSmallFile(path) && readSource(path)?.includes(USES_OPTIONS) === true) {
        return path;
      }
    }
    return null;
  };
  const file = walk(root, 0);
  return { file, truncated: file === null && entries > maxEntries };
}

function runExpressCheck(ctx: DoctorContext): CheckOutcome {
  if (!isNodeApp(ctx)) return { status: 'skip', summary: 'not a Node app' };
  const pkg = expressPackage(ctx.app.cwd);
  if (pkg === null) return { status: 'skip', summary: 'not an Express app (no express in its package.json)' };
  const root = dirname(pkg.file);
  const use = findOptionsUse(root);
  if (use.file !== null) {
    return { status: 'ok', summary: `the server is built with expressServerOptions (${relative(root, use.file) || use.file})` };
  }
  return {
    status: 'warn',
    summary: 'Express changes the prototype of every request, so Node 20 promotes each one: GC pauses of 3–7 ms and a p99 of 8–12 ms under load',
    details: [
      `express ${pkg.version} in ${pkg.file}; no source file under ${root} mentions expressServerOptions${use.truncated ? ` (the first ${MAX_ENTRIES} entries looked at)` : ''}`,
      'measured on the example API at 3,200 req/s: p99 9.0–12.5 ms as is, 0.66–1.06 ms with the options (docs/http-proxy.md)',
    ],
    fix: "Build the server with `http.createServer(expressServerOptions(app), app)` (`import { expressServerOptions } from 'naija-sup/node'`) instead of `app.listen(…)` or `http.createServer(app)`; see docs/handoff.md.",
  };
}

export const expressCheck: Check = {
  id: 'express',
  title: "Express's per-request GC",
  run: runExpressCheck,
};
