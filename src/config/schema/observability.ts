/**
 * What naija-sup tells about the server: the status HTTP server (`status`), warnings in its log
 * (`alerts`), the form of its own log lines (`logFormat`) and the rotation of the log files
 * (`logs`).
 */
import type { LogFormat } from '../types.js';
import { decodeNumber, fail, integerLeaf, leaf, ok, parseHost, parsePort, section, sizeLeaf, value } from './builders.js';

export const statusSection = section('The status HTTP server: /alive, /ready, /health and /metrics.', {
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
});

export const alertsSection = section('Warnings in the supervisor\'s log.', {
  crashRate: leaf<number | null, number | null>({
    description: 'Crashes per minute above which a warning is logged; null turns it off.',
    typeText: 'number > 0 | null',
    jsonSchema: { type: ['number', 'null'], exclusiveMinimum: 0 },
    default: value(null),
    fromEnv: decodeNumber,
    parse: (raw) => (raw === null || (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) ? ok(raw) : fail('a number above 0 (crashes per minute) or null', raw)),
  }),
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
