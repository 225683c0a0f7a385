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
  return new IncidentNotifier(options);
}

/** Opens and resolves incidents from supervisor events and the not-ready clock; each change is POSTed. */
class IncidentNotifier implements WebhookNotifier {
  private readonly now: () => number;
  private readonly delivery: WebhookDelivery;
  private readonly crashes: CrashRate;
  private readonly incidents = new Map<IncidentKind, Incident>();
  private readonly host = hostname();
  private lastExit: ExitInfo | null = null;
  private notReadySince: number | null = null;
  private ticker: NodeJS.Timeout | null = null;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.now = options.now ?? Date.now;
    this.delivery = new WebhookDelivery(options.urls, {
      ...options,
      onGiveUp: (url, error) => options.onWarning?.({
        type: 'warning',
        message: `webhook ${url} did not take an alert: ${error}`,
        fix: 'check alerts.webhook and that the receiver answers 2xx within 5 s; naija-sup status and the dashboard show each webhook\'s last error',
      }),
    });
    this.crashes = new CrashRate({ threshold: options.crashRate, windowMs: options.crashWindowMs, now: this.now });
  }

  /** An arrow property: callers may pass `notifier.handle` on its own. */
  handle = (event: SupervisorEvent): void => {
    const name = this.options.name;
    switch (event.type) {
      case 'spawning':
        if (!this.options.isReady()) this.startClock();
        return;
      case 'readiness-changed':
        if (!event.ready) this.startClock();
        return;
      case 'ready':
        this.tick();
        return;
      case 'exited':
        if (!event.expected) this.exited(event.exit);
        return;
      case 'liveness-failed':
        this.startClock();
        this.openIncident('liveness-restart', `${name} failed its liveness probe and is being restarted`, `${event.failures} failures in a row: ${event.detail}`, null);
        return;
      case 'fatal':
        this.stopClock();
        this.openIncident('fatal', `${name} gave up: ${event.reason}`, event.exit?.summary ?? event.reason, event.exit);
        return;
      case 'stopped':
        this.stopClock();
        for (const kind of [...this.incidents.keys()]) if (kind !== 'fatal') this.resolve(kind, 'the supervisor was stopped');
        return;
      default:
        return;
    }
  };

  status(): WebhookStatus[] {
    return this.delivery.status();
  }

  open(): IncidentKind[] {
    return [...this.incidents.keys()];
  }

  async close(): Promise<void> {
    this.stopClock();
    await this.delivery.close();
  }

  private exited(exit: ExitInfo): void {
    this.lastExit = exit;
    this.startClock();
    if (exit.cause !== 'clean-exit' && this.crashes.record() !== null) {
      this.openIncident('crash-loop', `${this.options.name} is crash-looping: ${this.crashes.count()} crashes in the last ${Math.round(this.crashes.windowMs / 1000)} s`,
        `above alerts.crashRate (${String(this.options.crashRate)} per minute); last exit: ${exit.summary}`, exit);
    }
  }

  private payload(incident: Incident, resolvedAt: number | null, description: string): WebhookPayload {
    const { name } = this.options;
    const status = resolvedAt === null ? 'firing' : 'resolved';
    const summary = resolvedAt === null ? incident.summary : `resolved: ${incident.summary}`;
    const severity = incident.kind === 'fatal' || incident.kind === 'crash-loop' ? 'critical' : 'warning';
    const dashboardUrl = this.options.dashboardUrl?.() ?? null;
    const icon = resolvedAt === null ? (severity === 'critical' ? ':red_circle:' : ':warning:') : ':white_check_mark:';
    return {
      version: 1, status, incident: incident.kind, id: incident.id, severity, app: name, host: this.host, supervisorPid: process.pid,
      summary, description, cause: incident.cause, fix: incident.fix,
      startedAt: isoTime(incident.startedAt),
      resolvedAt: resolvedAt === null ? null : isoTime(resolvedAt),
      sentAt: isoTime(this.now()),
      runbookUrl: runbookUrl(incident.kind), dashboardUrl,
      text: `${icon} [${name}@${this.host}] ${summary}: ${description}${incident.fix !== null && resolvedAt === null ? ` Fix: ${incident.fix}` : ''}`,
    };
  }

  private openIncident(kind: IncidentKind, summary: string, description: string, exit: ExitInfo | null): void {
    if (this.incidents.has(kind)) return;
    const at = this.now();
    const incident: Incident = { id: `${this.options.name}-${kind}-${at}`, kind, startedAt: at, summary, description, cause: exit?.cause ?? null, fix: exit?.fix ?? null };
    this.incidents.set(kind, incident);
    this.delivery.send(this.payload(incident, null, description));
  }

  private resolve(kind: IncidentKind, description: string): void {
    const incident = this.incidents.get(kind);
    if (incident === undefined) return;
    this.incidents.delete(kind);
    this.delivery.send(this.payload(incident, this.now(), description));
  }

  private tick(): void {
    const at = this.now();
    if (this.options.isReady()) {
      this.notReadySince = null;
      this.resolve('not-ready', 'the instance is ready again');
      this.resolve('liveness-restart', 'the restarted instance is ready');
      const threshold = this.options.crashRate;
      if (threshold !== null && this.crashes.perMinute(at) <= threshold) this.resolve('crash-loop', `the crash rate is back at ${this.crashes.perMinute(at)} per minute or less, and the instance is ready`);
    } else if (this.notReadySince !== null && at - this.notReadySince >= this.options.notReadyForMs) {
      const { lastExit } = this;
      this.openIncident('not-ready', `${this.options.name} has not been ready for ${Math.round((at - this.notReadySince) / 1000)} s`,
        lastExit === null ? 'it is starting or its readiness probe fails' : `last exit: ${lastExit.summary}`, lastExit);
    }
  }

  private startClock(): void {
    this.notReadySince ??= this.now();
    if (this.ticker === null) {
      this.ticker = setInterval(() => this.tick(), this.options.tickMs ?? 1000);
      this.ticker.unref();
    }
  }

  private stopClock(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.notReadySince = null;
  }
}
