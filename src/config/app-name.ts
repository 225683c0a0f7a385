/**
 * App names: what keys an app's PID file, control socket and logs. A module of its own, importing
 * nothing: `status --name N` and `stop --name N` normalise the name they are given without loading
 * the config schema (src/cli/quick-forms.ts, issue 19).
 */

/** Turns a package or folder name into one safe for file names: [a-z0-9._-], at most 64 characters. */
export function sanitizeName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
}
