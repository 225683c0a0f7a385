/**
 * `--log-format json` (issue 7): the supervisor's events as JSON lines on stdout, for log shippers
 * (Docker, Kubernetes, Railway) that expect one object per line.
 *
 * - a supervisor event → `{"time", "level", "event", "name", ...its fields}` (`name` is the app's;
 *   an event field with a fixed key's name is written as `<event>_<key>`, e.g. `dependency_name`);
 * - a line of the child's output → `{"time", "stream", "line", "name", "instance"}`;
 * - an unexpected exit and a fatal with an exit also carry `docs`, the troubleshooting section.
 *
 * Levels: `error` for fatal; `warn` for an unexpected exit, an escalation, a failed liveness probe,
 * warnings and other things that need a look (a rejected reload, a failing readiness probe, a
 * dependency that did not answer); `debug` for a repeated passing probe, written only with
 * --verbose; `info` for the rest. The same stream feeds the human renderer (event-renderer.ts).
 */
import { docsRef } from '../docs-ref.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import type { CliIO } from './context.js';
import { docsLink } from './docs-link.js';
import { isoTime } from '../iso-time.js';

export type JsonLevel = 'debug' | 'info' | 'warn' | 'error';

export interface JsonRendererOptions {
  /** The app's name, on every line. */
  name: string;
  /** Also write debug lines (every passing probe). */
  verbose?: boolean | undefined;
  /** Clock for `time`; default `() => new Date()`. */
  now?: (() => Date) | undefined;
}

/** The level of a supervisor event in the JSON log. */
export function eventLevel(event: SupervisorEvent): JsonLevel {
  switch (event.type) {
    case 'fatal':
      return 'error';
    case 'exited':
      return event.expected ? 'info' : 'warn';
    case 'escalated':
    case 'liveness-failed':
    case 'warning':
    case 'record-error':
    case 'reload-rejected':
      return 'warn';
    case 'readiness-changed':
      return event.ready ? 'info' : 'warn';
    case 'dependency':
      return event.ok ? 'info' : 'warn';
    case 'reload-finished':
      return event.outcome === 'reloaded' || event.outcome === 'restarted' ? 'info' : 'warn';
    case 'standby':
      return event.state === 'lost' ? 'warn' : 'info';
    case 'probe':
      // A passing probe after the first repeats every interval: noise unless asked for.
      return event.ok && !event.first ? 'debug' : 'info';
    case 'config-loaded':
    case 'preflight':
    case 'spawning':
    case 'spawned':
    case 'ready':
    case 'backoff':
    case 'restarting':
    case 'stopping':
    case 'stopped':
    case 'reload-requested':
    case 'signal-forwarded':
    case 'record-written':
    case 'output':
    case 'reload-started':
    case 'listener':
    case 'status-server':
      return 'info';
    case 'port-holders':
      return 'error';
    default: {
      const never: never = event;
      void never;
      return 'info';
    }
  }
}

export class JsonRenderer {
  private readonly io: CliIO;
  private readonly opts: JsonRendererOptions;
  private readonly now: () => Date;

  constructor(io: CliIO, opts: JsonRendererOptions) {
    this.io = io;
    this.opts = opts;
    this.now = opts.now ?? (() => new Date());
  }

  handle(event: SupervisorEvent): void {
    const time = isoTime(this.now().getTime());
    if (event.type === 'output') {
      this.write({ time, stream: event.stream, line: event.line, name: this.opts.name, instance: event.instance });
      return;
    }
    const level = eventLevel(event);
    if (level === 'debug' && this.opts.verbose !== true) return;
    const { type, ...fields } = event;
    const record: Record<string, unknown> = { time, level, event: type, name: this.opts.name };
    for (const [key, value] of Object.entries(fields)) {
      // A field may not shadow a fixed key: the 'dependency' event's `name` becomes `dependency_name`.
      record[key in record ? `${type}_${key}` : key] = value;
    }
    // A classified crash points at its troubleshooting section, as the human renderer does.
    const exit = event.type === 'fatal' || (event.type === 'exited' && !event.expected) ? event.exit : null;
    if (exit !== null) record['docs'] = docsLink(docsRef(exit.cause), this.io.cwd);
    this.write(record);
  }

  /** A line of the CLI's own (not an event): same shape, `event: "message"`. Mirrors EventRenderer.say. */
  say(text: string, kind: 'info' | 'ok' | 'warn' | 'error' = 'info'): void {
    const level: JsonLevel = kind === 'ok' ? 'info' : kind;
    this.write({ time: isoTime(this.now().getTime()), level, event: 'message', name: this.opts.name, message: text });
  }

  /** Nothing to release (no spinner); here so both renderers share a shape. */
  close(): void {
    // Intentionally empty.
  }

  private write(record: Record<string, unknown>): void {
    this.io.stdout(`${JSON.stringify(record)}\n`);
  }
}
