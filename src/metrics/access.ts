/**
 * Who may read the status server (issue 17): it binds loopback unless told otherwise, and with
 * `status.token` set, /health, /metrics and the dashboard ask for the token — as a bearer header
 * (Prometheus's `authorization`, curl) or as `?token=` (a browser's address bar, which the
 * dashboard's own requests then repeat). /alive and /ready stay open: they say one bit, and
 * orchestrator probes rarely send headers. The dashboard's static files hold no data.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const OPEN_PATHS = new Set(['/alive', '/ready', '/dashboard/uplot.js', '/dashboard/uplot.css', '/dashboard/style.css', '/dashboard/app.js']);

/** Whether `req` may read `path` under `token` (null = no token configured: everything is open). */
export function authorized(req: IncomingMessage, path: string, token: string | null | undefined): boolean {
  if (token === null || token === undefined || OPEN_PATHS.has(path)) return true;
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  const query = new URL(req.url ?? '/', 'http://status.invalid').searchParams.get('token');
  return [bearer, query].some((given) => given !== undefined && given !== null && sameSecret(given, token));
}

/** Constant-time on digests, so neither the content nor the length of the token leaks by timing. */
function sameSecret(given: string, token: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}
