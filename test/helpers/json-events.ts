/**
 * The events of a supervisor run with NAIJA_SUP_LOG_FORMAT=json, read from its stdout as it
 * grows: each complete line is parsed once (a supervisor under load writes thousands).
 */
import { waitFor } from './processes.js';

export type LogLine = Record<string, unknown> & { event?: string; time?: string };

export interface JsonEvents {
  /** Every JSON line written so far. */
  lines(): LogLine[];
  /** The lines of one event type, in order. */
  events(type: string): LogLine[];
  /** The `index`-th (0-based) event of `type`, waiting for it up to `timeout` ms. */
  waitEvent(type: string, index: number, timeout?: number): Promise<LogLine>;
}

export function jsonEvents(output: { stdout(): string; stderr(): string }): JsonEvents {
  let parsedUpTo = 0;
  const parsed: LogLine[] = [];
  const lines = (): LogLine[] => {
    const text = output.stdout();
    const end = text.lastIndexOf('\n') + 1;
    if (end > parsedUpTo) {
      for (const line of text.slice(parsedUpTo, end).split('\n')) {
        if (line.trim() === '') continue;
        try {
          parsed.push(JSON.parse(line) as LogLine);
        } catch {
          // Not a JSON line (nothing else is expected on stdout); ignore it.
        }
      }
      parsedUpTo = end;
    }
    return parsed;
  };
  const events = (type: string): LogLine[] => lines().filter((line) => line.event === type);
  return {
    lines,
    events,
    waitEvent: (type, index, timeout = 30_000) =>
      waitFor(() => events(type)[index], {
        timeout,
        interval: 10,
        message: () => `no "${type}" event #${index + 1}; log:\n${output.stdout().slice(-6000)}\n${output.stderr().slice(-2000)}`,
      }),
  };
}
