/**
 * The dashboard (issue 17): one page at `/` and `/dashboard` that says in one look whether the API
 * is healthy and why not, `/dashboard.json` behind it for live updates, and its static files. A
 * route handler for the status server: `startStatusServer({ …, routes: dashboardRoutes({...}) })`.
 *
 * Everything it shows comes from the same event-fed sources as /health and /metrics (the health
 * snapshot, DashboardHistory) plus the webhook notifier's status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DASHBOARD_CSS, DASHBOARD_JS, uplotAsset } from './dashboard-assets.js';
import { CHARTS, renderPage, renderSections, type DashboardData } from './dashboard-html.js';
import type { DashboardHistory } from './history.js';
import type { HealthSnapshot } from './status-server.js';
import type { WebhookStatus } from './webhook-delivery.js';

export interface DashboardOptions {
  /** The /health body. */
  snapshot: () => HealthSnapshot;
  /** The app as configured now (a reload may change it). */
  app: () => { name: string; url: string; mode: string; liveness: boolean };
  history: DashboardHistory;
  /** The webhooks' status and the open incidents; null (or absent) when no webhook is configured. */
  alerts?: (() => { webhooks: WebhookStatus[]; open: string[] } | null) | undefined;
  now?: (() => number) | undefined;
}

/** Handles a dashboard path and resolves true, or resolves false for the status server's own routes. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;

/** The page may load only its own files and fetch only its own JSON. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function buildDashboardData(options: DashboardOptions): DashboardData {
  const history = options.history;
  const app = options.app();
  const c = history.columns;
  return {
    nowMs: (options.now ?? Date.now)(),
    app: { name: app.name, url: app.url, mode: app.mode },
    health: options.snapshot(),
    liveness: app.liveness,
    probes: history.probes,
    exits: history.exits,
    starts: history.starts,
    latest: {
      cpuPercent: c.cpuPercent.at(-1) ?? null,
      supervisorRssBytes: process.memoryUsage.rss(),
      supervisorCpuPercent: c.supervisorCpuPercent.at(-1) ?? 0,
    },
    proxy: history.proxy,
    alerts: options.alerts?.() ?? null,
    history: c,
  };
}

export function dashboardRoutes(options: DashboardOptions): RouteHandler {
  return async (req, res, path) => {
    const asset = ASSETS[path];
    if (asset === undefined && path !== '/' && path !== '/dashboard' && path !== '/dashboard.json') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return true;
    }
    if (asset !== undefined) {
      // Static and versioned with the package: a browser may keep them for a while.
      res.setHeader('Cache-Control', 'max-age=300');
      reply(res, 200, asset.type, await asset.body());
      return true;
    }
    const data = buildDashboardData(options);
    res.setHeader('Cache-Control', 'no-store');
    if (path === '/dashboard.json') {
      reply(res, 200, 'application/json; charset=utf-8', `${JSON.stringify({ ...data, html: renderSections(data), charts: CHARTS })}\n`);
      return true;
    }
    const token = new URL(req.url ?? '/', 'http://status.invalid').searchParams.get('token');
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    reply(res, 200, 'text/html; charset=utf-8', renderPage(data, { query: token === null ? '' : `?token=${encodeURIComponent(token)}` }));
    return true;
  };
}

const ASSETS: Readonly<Record<string, { type: string; body: () => Promise<string> | string }>> = {
  '/dashboard/uplot.js': { type: 'text/javascript; charset=utf-8', body: () => uplotAsset('js') },
  '/dashboard/uplot.css': { type: 'text/css; charset=utf-8', body: () => uplotAsset('css') },
  '/dashboard/style.css': { type: 'text/css; charset=utf-8', body: () => DASHBOARD_CSS },
  '/dashboard/app.js': { type: 'text/javascript; charset=utf-8', body: () => DASHBOARD_JS },
};

function reply(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
