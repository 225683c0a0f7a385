/**
 * Alerts that reach a person without Prometheus (issue 17): a hub subscriber that turns the event
 * stream into incidents — fatal, crash loop, not ready for too long, liveness restart — and POSTs
 * one message when each opens and one when it resolves (docs/metrics.md "Webhook alerts").
 *
 * Deduplicated by construction: an incident of a kind is open or not; while it is open, more of the
 * same (another crash, another liveness failure) adds nothing. Delivery (webhook-delivery.ts) only
 * enqueues, so a slow or dead receiver never delays a restart.
 */
import { hostname } from 'node:os';
import type { CrashCause, ExitInfo, SupervisorEvent } from '../supervisor/events.js';
import { CrashRate } from './crash-rate.js';
import { WebhookDelivery, type DeliveryOptions, type WebhookStatus } from './webhook-delivery.js';
import { isoTime } from '../iso-time.js';

export type IncidentKind = 'fatal' | 'crash-loop' | 'not-ready' | 'liveness-restart';

/** Where each incident's runbook section lives; the same anchors as the exported Prometheus rules. */
export const RUNBOOK_BASE = 'https://github.com/naija-sup/naija-sup/blob/main/docs/metrics.md';
export const RUNBOOK_ANCHORS: Readonly<Record<IncidentKind | 'supervisor-down' | 'slow-start' | 'proxy-errors' | 'proxy-latency' | 'dependency-down', string>> = {
  'fatal': 'runbook-fatal',
  'crash-loop': 'runbook-crash-loop',
  'not-ready': 'runbook-not-ready',
  'liveness-restart': 'runbook-liveness-failing',
  'supervisor-down': 'runbook-supervisor-down',
  'slow-start': 'runbook-slow-start',
  'proxy-errors': 'runbook-proxy-errors',
  'proxy-latency': 'runbook-proxy-latency',
  'dependency-down': 'runbook-dependency-down',
};

export function runbookUrl(kind: keyof typeof RUNBOOK_ANCHORS): string {
  return `${RUNBOOK_BASE}#${RUNBOOK_ANCHORS[kind]}`;
}

/** The JSON body of every POST. Documented field by field in docs/metrics.md. */
export interface WebhookPayload {
  version: 1;
  status: 'firing' | 'resolved';
  incident: IncidentKind;
  /** Stable for an incident: its alert and its resolution carry the same id. */
  id: string;
  severity: 'critical' | 'warning';
  app: string;
  host: string;
  supervisorPid: number;
  summary: string;
  description: string;
  cause: CrashCause | null;
  fix: string | null;
  startedAt: string;
  resolvedAt: string | null;
  sentAt: string;
  runbookUrl: string;
  dashboardUrl: string | null;
  /** One line for Slack, Mattermost, Discord (/slack), Teams workflows: they show `text`. */
  text: string;
}

export interface WebhookNotifierOptions extends DeliveryOptions {
  urls: readonly string[];
  /** The app's name (config.name). */
  name: string;
  /** alerts.crashRate; null = no crash-loop alerts. */
  crashRate: number | null;
  /** The crash-rate window, ms (default 60 s). */
  crashWindowMs?: number | undefined;
  /** alerts.notReadyFor, ms. */
  notReadyForMs: number;
  /** What /ready answers now. */
  isReady: () => boolean;
  /** The dashboard's address, when the status server runs. */
  dashboardUrl?: (() => string | null) | undefined;
  /** How often open incidents and the not-ready clock are checked, ms (default 1000). */
  tickMs?: number | undefined;
  /** A delivery was given up: the caller publishes it as a warning event. */
  onWarning?: ((event: SupervisorEvent) => void) | undefined;
}

interface Incident {
  id: string;
  kind: IncidentKind;
  startedAt: number;
  summary: string;
  description: string;
  cause: CrashCause | null;
  fix: string | null;
}

export interface WebhookNotifier {
  handle(event: SupervisorEvent): void;
  status(): WebhookStatus[];
  /** Incidents open now, oldest first. */
  open(): IncidentKind[];
  /** Stops the clock and flushes what is queued (bounded), then aborts the rest. */
  close(): Promise<void>;
}

/** A hub subscriber: `hub.subscribe((e) => notifier.handle(e))`. */
export function createWebhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  const now = options.now ?? Date.now;
  const delivery = new WebhookDelivery(options.urls, {
    ...options,
    onGiveUp: (url, error) => options.onWarning?.({
      type: 'warning',
      message: `webhook ${url} did not take an alert: ${error}`,
      fix: 'check alerts.webhook and that the receiver answers 2xx within 5 s; naija-sup status and the dashboard show each webhook\'s last error',
    }),
  });
  const crashes = new CrashRate({ threshold: options.crashRate, windowMs: options.crashWindowMs, now });
  const incidents = new Map<IncidentKind, Incident>();
  const host = hostname();
  let lastExit: ExitInfo | null = null;
  let notReadySince: number | null = null;
  let ticker: NodeJS.Timeout | null = null;

  const payload = (incident: Incident, resolvedAt: number | null, description: string): WebhookPayload => {
    const status = resolvedAt === null ? 'firing' : 'resolved';
    const summary = resolvedAt === null ? incident.summary : `resolved: ${incident.summary}`;
    const severity = incident.kind === 'fatal' || incident.kind === 'crash-loop' ? 'critical' : 'warning';
    const dashboardUrl = options.dashboardUrl?.() ?? null;
    const icon = resolvedAt === null ? (severity === 'critical' ? ':red_circle:' : ':warning:') : ':white_check_mark:';
    return {
      version: 1, status, incident: incident.kind, id: incident.id, severity, app: options.name, host, supervisorPid: process.pid,
      summary, description, cause: incident.cause, fix: incident.fix,
      startedAt: isoTime(incident.startedAt),
      resolvedAt: resolvedAt === null ? null : isoTime(resolvedAt),
      sentAt: isoTime(now()),
      runbookUrl: runbookUrl(incident.kind), dashboardUrl,
      text: `${icon} [${options.name}@${host}] ${summary}: ${description}${incident.fix !== null && resolvedAt === null ? ` Fix: ${incident.fix}` : ''}`,
    };
  };
  const open = (kind: IncidentKind, summary: string, description: string, exit: ExitInfo | null): void => {
    if (incidents.has(kind)) return;
    const at = now();
    const incident: Incident = { id: `${options.name}-${kind}-${at}`, kind, startedAt: at, summary, description, cause: exit?.cause ?? null, fix: exit?.fix ?? null };
    incidents.set(kind, incident);
    delivery.send(payload(incident, null, description));
  };
  const resolve = (kind: IncidentKind, description: string): void => {
    const incident = incidents.get(kind);
    if (incident === undefined) return;
    incidents.delete(kind);
    delivery.send(payload(incident, now(), description));
  };
  const tick = (): void => {
    const at = now();
    const ready = options.isReady();
    if (ready) {
      notReadySince = null;
      resolve('not-ready', 'the instance is ready again');
      resolve('liveness-restart', 'the restarted instance is ready');
      const threshold = options.crashRate;
      if (threshold !== null && crashes.perMinute(at) <= threshold) resolve('crash-loop', `the crash rate is back at ${crashes.perMinute(at)} per minute or less, and the instance is ready`);
    } else if (notReadySince !== null && at - notReadySince >= options.notReadyForMs) {
      open('not-ready', `${options.name} has not been ready for ${Math.round((at - notReadySince) / 1000)} s`,
        lastExit === null ? 'it is starting or its readiness probe fails' : `last exit: ${lastExit.summary}`, lastExit);
    }
  };
  const startClock = (): void => {
    notReadySince ??= now();
    if (ticker === null) {
      ticker = setInterval(tick, options.tickMs ?? 1000);
      ticker.unref();
    }
  };
  const stopClock = (): void => {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    notReadySince = null;
  };

  return {
    handle(event) {
      switch (event.type) {
        case 'spawning':
          if (!options.isReady()) startClock();
          return;
        case 'readiness-changed':
          if (!event.ready) startClock();
          return;
        case 'ready':
          tick();
          return;
        case 'exited':
          if (event.expected) return;
          lastExit = event.exit;
          startClock();
          if (event.exit.cause !== 'clean-exit' && crashes.record() !== null) {
            open('crash-loop', `${options.name} is crash-looping: ${crashes.count()} crashes in the last ${Math.round(crashes.windowMs / 1000)} s`,
              `above alerts.crashRate (${String(options.crashRate)} per minute); last exit: ${event.exit.summary}`, event.exit);
          }
          return;
        case 'liveness-failed':
          startClock();
          open('liveness-restart', `${options.name} failed its liveness probe and is being restarted`, `${event.failures} failures in a row: ${event.detail}`, null);
          return;
        case 'fatal':
          stopClock();
          open('fatal', `${options.name} gave up: ${event.reason}`, event.exit?.summary ?? event.reason, event.exit);
          return;
        case 'stopped':
          stopClock();
          for (const kind of [...incidents.keys()]) if (kind !== 'fatal') resolve(kind, 'the supervisor was stopped');
          return;
        default:
          return;
      }
    },
    status: () => delivery.status(),
    open: () => [...incidents.keys()],
    async close() {
      stopClock();
      await delivery.close();
    },
  };
}
