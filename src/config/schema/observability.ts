/**
 * What naija-sup tells about the server: the status HTTP server (`status`), warnings in its log
 * (`alerts`), the form of its own log lines (`logFormat`) and the rotation of the log files
 * (`logs`).
 */
import type { LogFormat } from '../types.js';
import { decodeList, decodeNumber, durationLeaf, fail, integerLeaf, leaf, ok, parseHost, parsePort, section, sizeLeaf, value } from './builders.js';

export const statusSection = section('The status HTTP server: /alive, /ready, /health, /metrics and the dashboard at /.', {
  port: leaf<number | null, number | null>({
    description: 'Port of the status server; null keeps it off.',
    typeText: 'integer 1–65535 | null',
    jsonSchema: { type: ['integer', 'null'], minimum: 1, maximum: 65535 },
    default: value(null),
    fromEnv: decodeNumber,
    parse: (raw) => {
      if (raw === null) return ok(null);
      const port = parsePort(raw);
      return port.ok ? port : fail('a port 1–65535 or null', raw);
    },
  }),
  host: leaf<string, string>({
    description: 'Host the status server binds. Its endpoints have no authentication: keep it on loopback unless the network in front of it is trusted.',
    typeText: 'string',
    jsonSchema: { type: 'string', minLength: 1 },
    default: value('127.0.0.1'),
    parse: parseHost,
  }),
  maxConnections: integerLeaf('Connections the status server holds at once (lowered to a quarter of the fd limit, and 128 fds are always kept for the supervisor\'s own work); when full, the oldest idle one is closed for a new one.', 1, 64),
  token: leaf<string | null, string | null>({
    description: 'A shared secret the status server asks for on /health, /metrics and the dashboard: as "Authorization: Bearer <token>" or "?token=<token>" (/alive and /ready stay open for probes). Set one before exposing the server beyond loopback; null asks for nothing.',
    typeText: 'string (16+ characters) | null',
    jsonSchema: { type: ['string', 'null'], minLength: 16 },
    default: value(null),
    parse: (raw) => (raw === null || (typeof raw === 'string' && raw.trim().length >= 16 && !/\s/.test(raw))
      ? ok(raw)
      : fail('a token of at least 16 characters without spaces, or null', raw, 'generate one with: openssl rand -hex 24')),
  }),
});

/** http(s) URLs only: a webhook is POSTed to, and a typo ("htps://") should fail at load, not at the first crash. */
function parseWebhooks(raw: unknown): ReturnType<typeof ok<string[]>> | ReturnType<typeof fail> {
  if (raw === null) return ok([]);
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list)) return fail('a URL, a list of URLs or null', raw);
  const urls: string[] = [];
  for (const item of list as unknown[]) {
    const url = typeof item === 'string' && URL.canParse(item) ? new URL(item) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) return fail('http:// or https:// URLs', item);
    urls.push(item as string);
  }
  return ok(urls);
}

export const alertsSection = section('Warnings in the supervisor\'s log, and alerts POSTed to webhooks (docs/metrics.md "Webhook alerts").', {
  crashRate: leaf<number | null, number | null>({
    description: 'Crashes per minute above which a warning is logged; null turns it off.',
    typeText: 'number > 0 | null',
    jsonSchema: { type: ['number', 'null'], exclusiveMinimum: 0 },
    default: value(null),
    fromEnv: decodeNumber,
    parse: (raw) => (raw === null || (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) ? ok(raw) : fail('a number above 0 (crashes per minute) or null', raw)),
  }),
  webhook: leaf<string | string[] | null, string[]>({
    description: 'URL (or list of URLs) that receives a JSON POST, Slack-compatible, for each incident and its resolution: fatal, crash loop (above alerts.crashRate), not ready for longer than alerts.notReadyFor, liveness restart.',
    typeText: 'URL | URL[] | null',
    jsonSchema: {
      oneOf: [
        { type: 'null' },
        { type: 'string', pattern: '^https?://' },
        { type: 'array', items: { type: 'string', pattern: '^https?://' } },
      ],
    },
    default: value([]),
    defaultLabel: 'none',
    envForm: 'comma-separated URLs',
    fromEnv: decodeList,
    parse: parseWebhooks,
  }),
  notReadyFor: durationLeaf('How long the instance may stay not ready (starting, restarting, readiness failing) before a "not ready" webhook alert; also the `for:` of the exported Prometheus rule.', 120_000),
});

export const logFormatLeaf = leaf<LogFormat | null, LogFormat | null>({
  description: 'Format of the supervisor\'s own log lines: "human" (aligned text) or "json" (one JSON object per line); null picks human on a terminal and JSON otherwise.',
  typeText: '"human" | "json" | null',
  jsonSchema: { enum: ['human', 'json', null] },
  default: value(null),
  parse: (raw) => (raw === null || raw === 'human' || raw === 'json' ? ok(raw) : fail('one of "human", "json", null', raw)),
});

export const logsSection = section('The log files in the run directory, rotated by size.', {
  maxSize: sizeLeaf('Size at which a log file is rotated. A size is integer bytes or a number with a binary unit: "512KB", "10MB", "1GB" (1 KB = 1024 B).', 10 * 1024 * 1024),
  maxFiles: integerLeaf('Files kept per log, the current one included; the oldest is deleted on rotation.', 1, 5),
});
