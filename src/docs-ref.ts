/**
 * Where the documentation explains an error or a crash: every `E_*` error and every classified
 * exit points at its section of docs/troubleshooting.md, the way rustc points at its error index.
 * The core names the anchor; the CLI (src/cli/docs-link.ts) turns it into a path the user can open.
 * Tiny and dependency-free: `status` loads it on its fast path.
 */
import type { CrashCause } from './supervisor/events.js';

/** The troubleshooting page, relative to the package root (shipped: package.json "files" has docs/). */
export const TROUBLESHOOTING_DOC = 'docs/troubleshooting.md';

/**
 * Every crash cause, in the order the troubleshooting page lists them. A Record, not an array
 * literal, so that adding a cause to CrashCause without a docs entry fails to compile.
 */
const CAUSE_ORDER: Readonly<Record<CrashCause, number>> = {
  'port-in-use': 0,
  'permission-denied': 1,
  'native-module': 2,
  'module-not-found': 3,
  'spawn-failed': 4,
  'startup-timeout': 5,
  'liveness-failed': 6,
  'dependency-unavailable': 7,
  killed: 8,
  'exit-code': 9,
  'clean-exit': 10,
};

export const CRASH_CAUSES: readonly CrashCause[] = (Object.keys(CAUSE_ORDER) as CrashCause[]).sort(
  (a, b) => CAUSE_ORDER[a] - CAUSE_ORDER[b],
);

/**
 * GitHub's anchor for a heading (github-slugger's rule): lower case; every character that is not
 * a letter, a digit, a mark, `_`, `-` or a space dropped; each space a `-`. `E_PORT_IN_USE` →
 * `e_port_in_use`, `port-in-use` → `port-in-use`. Repeated headings get `-1`, `-2`… from
 * {@link slugger}.
 */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** A slugger for one document: the second "Fix" heading is `fix-1`, as on GitHub. */
export function slugger(): (heading: string) => string {
  // github-slugger's occurrence counting, so that `fix`, `fix`, `fix-1` give fix, fix-1, fix-1-1.
  const occurrences = new Map<string, number>();
  return (heading) => {
    const original = slug(heading);
    let result = original;
    while (occurrences.has(result)) {
      const next = (occurrences.get(original) ?? 0) + 1;
      occurrences.set(original, next);
      result = `${original}-${next}`;
    }
    occurrences.set(result, 0);
    return result;
  };
}

/** The anchor of an error code's section: `E_PORT_IN_USE` → `e_port_in_use`. */
export function errorAnchor(code: string): string {
  return slug(code);
}

/** The anchor of a crash cause's section: `port-in-use` → `port-in-use`. */
export function docsRef(cause: CrashCause | string): string {
  return slug(cause);
}
