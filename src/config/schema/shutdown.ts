/**
 * How the server is stopped: the signal that asks it to stop (`shutdown.signal`) and how long it
 * has before the whole process group is killed (`shutdown.timeout`).
 */
import type { SignalInput } from '../define-config.js';
import { durationLeaf, fail, leaf, ok, secondsEnv, section, value } from './builders.js';

/** Stop signals naija-sup can send, by their full name. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const satisfies readonly NodeJS.Signals[];

/** "TERM", "sigterm", "SIGTERM" → "SIGTERM"; undefined for anything else. */
export function normalizeSignal(raw: unknown): NodeJS.Signals | undefined {
  if (typeof raw !== 'string') return undefined;
  const upper = raw.trim().toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return (STOP_SIGNALS as readonly string[]).includes(full) ? (full as NodeJS.Signals) : undefined;
}

const signalLeaf = leaf<SignalInput, NodeJS.Signals>({
  description: 'Signal that asks the server to stop gracefully ("TERM" means "SIGTERM").',
  typeText: STOP_SIGNALS.map((s) => `"${s}"`).join(' | '),
  jsonSchema: { enum: [...STOP_SIGNALS, ...STOP_SIGNALS.map((s) => s.slice(3))] },
  default: value('SIGTERM'),
  parse: (raw) => {
    const signal = normalizeSignal(raw);
    return signal === undefined ? fail(`a signal name: ${STOP_SIGNALS.join(', ')}`, raw) : ok(signal);
  },
});

export const shutdownSection = section('How the server is stopped.', {
  signal: signalLeaf,
  timeout: durationLeaf('Time between the stop signal and SIGKILL of the whole process group. In proxy mode a reload also waits up to this long, before the stop signal, for the old instance to answer the requests it was sent.', 30_000, [secondsEnv('GRACEFUL_TIMEOUT')]),
});
