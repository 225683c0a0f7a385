/**
 * The people-facing part of observability (issue 17), assembled for supervise(): the dashboard's
 * history (when the status server runs) and the webhook notifier (when alerts.webhook is set). One
 * hub subscriber, one closer, and the dashboard's routes for the status server — so the composition
 * root wires it in a few lines.
 */
import type { ResolvedConfig } from '../config/types.js';
import { displayUrl } from '../control/protocol.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import { dashboardRoutes, type RouteHandler } from './dashboard.js';
import { DashboardHistory } from './history.js';
import type { SupervisorMetrics } from './registry.js';
import type { HealthSnapshot } from './status-server.js';
import type { WebhookStatus } from './webhook-delivery.js';
import { createWebhookNotifier, type WebhookNotifier } from './webhooks.js';

export interface MonitoringOptions {
  config: ResolvedConfig;
  /** The event-fed metrics; null when neither the status server nor alerts.crashRate needs them. */
  metrics: SupervisorMetrics | null;
  /** The configuration in force now (a reload may change it). */
  currentConfig: () => ResolvedConfig;
  /** What /ready answers. */
  isReady: () => boolean;
  /** Into the hub: a webhook that gives up becomes a warning in the log. */
  publish: (event: SupervisorEvent) => void;
}

export interface Monitoring {
  handle(event: SupervisorEvent): void;
  /** The webhooks' delivery status for `status`; undefined without alerts.webhook. */
  readonly webhooks: (() => WebhookStatus[]) | undefined;
  /** The dashboard, for startStatusServer's `routes`; null without metrics. */
  routes(snapshot: () => HealthSnapshot): RouteHandler | null;
  close(): Promise<void>;
}

/** Null when there is nothing to do: no status server and no webhook. */
export function startMonitoring(options: MonitoringOptions): Monitoring | null {
  const { config, metrics } = options;
  const history = metrics !== null && config.status.port !== null ? new DashboardHistory({ metrics }) : null;
  let statusUrl: string | null = null;
  const notifier: WebhookNotifier | null = config.alerts.webhook.length === 0 ? null : createWebhookNotifier({
    urls: config.alerts.webhook,
    name: config.name,
    crashRate: config.alerts.crashRate,
    notReadyForMs: config.alerts.notReadyFor,
    isReady: options.isReady,
    dashboardUrl: () => (statusUrl === null ? null : `${statusUrl}/`),
    // Not synchronously: the warning must not re-enter the hub while it delivers an event.
    onWarning: (event) => queueMicrotask(() => options.publish(event)),
  });
  if (history === null && notifier === null) return null;
  if (history !== null) void history.sample().catch(() => undefined);
  return {
    webhooks: notifier === null ? undefined : () => notifier.status(),
    handle(event) {
      if (event.type === 'status-server') statusUrl = event.url;
      history?.handle(event);
      notifier?.handle(event);
    },
    routes(snapshot) {
      if (history === null) return null;
      return dashboardRoutes({
        snapshot,
        history,
        app: () => {
          const c = options.currentConfig();
          return { name: c.name, url: displayUrl(c.host, c.port), mode: c.mode, liveness: c.health.liveness !== null };
        },
        alerts: notifier === null ? undefined : () => ({ webhooks: notifier.status(), open: notifier.open() }),
      });
    },
    async close() {
      history?.close();
      await notifier?.close();
    },
  };
}
