/**
 * What the startup probe has answered during one start, and what that says (issue 12): the ready
 * line's "how", and — when the start times out — the failure's reason. A server that answered is
 * reported by its answer (`GET /health → HTTP 404 (191 times, …): the server is up but has no such
 * route`), never by the generic "check that the server listens on PORT".
 */
import type { ResolvedConfig } from '../config/types.js';
import type { BindFinding } from './bind-check.js';
import { formatDuration } from '../elapsed.js';
import type { ProbeFailure } from './machine.js';

/** What one probe found (the runner's ProbeOutcome is this plus its latency). */
export interface ProbeAnswer {
  ok: boolean;
  detail: string;
  /** The HTTP status, when the server answered one. */
  status?: number;
  /** A failing HTTP answer split into the answer, its meaning and the fix (src/health/http.ts). */
  failure?: { answer: string; meaning: string; fix: string };
}

/** What a probe answered, timings aside: two probes with the same key said the same thing. */
function answerKey(outcome: ProbeAnswer): string {
  return outcome.status !== undefined ? `HTTP ${outcome.status}` : outcome.detail.replace(/\d+(\.\d+)? ms/g, '');
}

export class StartupAnswers {
  private key: string | null = null;
  private last: ProbeAnswer | null = null;
  /** Consecutive probes with the last answer. */
  times = 0;
  /** Every probe of this start. */
  attempts = 0;
  /** The server listens somewhere else (it ignores PORT): the reason, when the start times out. */
  bindFinding: BindFinding | null = null;

  /** Counts one answer; true when it differs from the one before (the first always does). */
  count(outcome: ProbeAnswer): boolean {
    const key = answerKey(outcome);
    const same = this.key === key;
    this.attempts += 1;
    this.key = key;
    this.last = outcome;
    this.times = same ? this.times + 1 : 1;
    return !same;
  }

  /** Why the start was not ready within health.startupTimeout; undefined when no probe ran. */
  failure(config: ResolvedConfig): ProbeFailure | undefined {
    const last = this.last;
    if (last === null) return undefined;
    const times = this.times === 1 ? 'once' : `${this.times} times`;
    const within = formatDuration(config.health.startupTimeout);
    if (this.bindFinding) return { summary: `not ready within ${within}: ${this.bindFinding.message}`, fix: this.bindFinding.fix };
    if (last.failure) return { summary: `${last.failure.answer} (${times}, not ready within ${within}): ${last.failure.meaning}`, fix: last.failure.fix };
    return {
      summary: `not ready within ${within} (health.startupTimeout): the last probe found ${last.detail} (${times})`,
      fix: `check that the server listens on PORT (naija-sup passes PORT=${config.port}) on host ${config.host}; raise health.startupTimeout if it is just slow`,
    };
  }
}

/**
 * The ready event's url and, when the default rule decided it, how (issue 12): a server passed by
 * "any answer" is not health-checked for real, and the ready line says so.
 */
export function readyDescription(config: ResolvedConfig, result: ProbeAnswer): { url: string; how?: string } {
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  switch (config.health.type) {
    case 'http': return { url: `${base}${config.health.path}` };
    case 'auto': {
      const how = result.status === undefined
        ? `${result.detail}; set health.type to "tcp" to say so, or health.path for an HTTP health check`
        : `${result.detail}; set health.path for a real health check`;
      return { url: base, how };
    }
    default: return { url: base, how: 'accepts TCP connections' };
  }
}

