/**
 * `naija-sup export kubernetes`: a Deployment and a Service. The container runs naija-sup (the image
 * of `export dockerfile`), not the server directly: naija-sup adds crash classification, an in-place
 * restart that is faster than a pod restart (about 50 ms with restart.standby), and handoff reloads;
 * Kubernetes keeps doing what it does best (endpoints, rescheduling, the pod restart when naija-sup
 * itself gives up). docs/deploy.md says which does what.
 *
 * The probes mirror the config's: startupProbe ← health (startup), readinessProbe ← health.readiness
 * (else health), livenessProbe ← health.liveness, with a failure threshold that leaves naija-sup the
 * time to restart the server in place first. A log-line probe, which only naija-sup can see, becomes
 * an exec of `naija-sup probe`.
 */
import { stringify } from 'yaml';
import type { ResolvedConfig } from '../config/types.js';
import {
  detectRuntime, envNames, generatedBy, IMAGE_BIN, probeCommand, seconds, startBudgetMs, startCommand, stopBudgetMs, type ExportInput,
} from './common.js';

/** Seconds a terminating pod keeps serving before SIGTERM, so that endpoints are removed first. */
export const PRE_STOP_SECONDS = 5;

type Handler = Record<string, unknown>;

function handler(config: ResolvedConfig, type: string, path: string): Handler {
  if (type === 'http') return { httpGet: { path, port: 'http' } };
  if (type === 'log') return { exec: { command: probeCommand(config) } };
  // 'auto' accepts any answer below 500, which httpGet (200–399) would not: a TCP connect is the honest mirror.
  return { tcpSocket: { port: 'http' } };
}

function probes(config: ResolvedConfig): Record<string, Handler> {
  const h = config.health;
  const startPeriod = seconds(h.interval);
  const startup = {
    ...handler(config, h.type, h.path),
    periodSeconds: startPeriod,
    timeoutSeconds: seconds(h.timeout),
    failureThreshold: Math.ceil(seconds(startBudgetMs(config)) / startPeriod),
  };
  const r = h.readiness;
  const readiness = r === null
    ? { ...handler(config, h.type, h.path), periodSeconds: Math.max(startPeriod, 5), timeoutSeconds: seconds(h.timeout), failureThreshold: 1 }
    : { ...handler(config, r.type, r.path), periodSeconds: seconds(r.interval), timeoutSeconds: seconds(r.timeout), failureThreshold: r.failureThreshold, successThreshold: r.successThreshold };
  const l = h.liveness;
  const livePeriod = seconds(l?.interval ?? 10_000);
  // naija-sup answers a failing liveness probe by restarting the server in place; the pod is
  // restarted only if that did not help within one more stop and start.
  const grace = Math.ceil(seconds(config.shutdown.timeout + h.startupTimeout) / livePeriod);
  const liveness = {
    ...(l === null ? handler(config, 'tcp', '/') : handler(config, l.type, l.path)),
    periodSeconds: livePeriod,
    timeoutSeconds: seconds(l?.timeout ?? 1000),
    failureThreshold: (l?.failureThreshold ?? 3) + grace,
  };
  return { startupProbe: startup, readinessProbe: readiness, livenessProbe: liveness };
}

function envList(config: ResolvedConfig): Record<string, unknown>[] {
  const { secret } = envNames(config);
  return [
    { name: 'PORT', value: String(config.port) },
    { name: 'HOST', value: '0.0.0.0' },
    ...secret.map((name) => ({ name, valueFrom: { secretKeyRef: { name: `${config.name}-secrets`, key: name } } })),
  ];
}

/** The Deployment and the Service, as plain objects (the tests validate them against the schemas). */
export function kubernetesObjects(input: ExportInput): [Record<string, unknown>, Record<string, unknown>] {
  const { config } = input;
  const labels = { 'app.kubernetes.io/name': config.name };
  const container = {
    name: config.name,
    image: `${config.name}:latest`,
    command: ['tini', '--'],
    // The image's command (node with naija-sup's memory flags); its ENV has the malloc settings.
    args: startCommand(input, IMAGE_BIN),
    ports: [{ name: 'http', containerPort: config.port }],
    env: envList(config),
    ...probes(config),
    lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } },
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    securityContext: { runAsNonRoot: true, runAsUser: detectRuntime(config.command) === 'node' ? 1000 : 10001, allowPrivilegeEscalation: false },
  };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: config.name, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          // preStop's sleep counts against this too.
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + seconds(stopBudgetMs(config)),
          containers: [container],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: config.name, labels },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  return [deployment, service];
}

/** The manifest's text: the Deployment, then the Service. */
export function exportKubernetes(input: ExportInput): string {
  const [deployment, service] = kubernetesObjects(input);
  const { secret } = envNames(input.config);
  const header = [
    ...generatedBy('kubernetes', input),
    `# image: build the exported Dockerfile and push it; set the image's name below.`,
    ...(secret.length > 0 ? [`# Secrets: kubectl create secret generic ${input.config.name}-secrets ${secret.map((s) => `--from-literal=${s}=…`).join(' ')}`] : []),
  ];
  const doc = (o: unknown): string => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false });
  return `${header.join('\n')}\n${doc(deployment)}---\n${doc(service)}`;
}
