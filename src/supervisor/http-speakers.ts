/**
 * health.type "auto" (the default when no health check is configured) takes a server that accepts
 * the connection but never answers HTTP for a non-HTTP server, and so for up (src/health/http.ts,
 * judgeAnyAnswer). That reading is only sound for a server that has never spoken HTTP: an
 * instance that answered an HTTP status earlier in its life (a 503 while it warmed up, a 200) and
 * now lets the probe time out is an HTTP server too busy or too stuck to answer — not ready. Seen
 * under CPU pressure: a replacement whose /health said 503 was reported ready because one probe
 * timed out.
 *
 * This remembers, per instance pid, whether it has answered HTTP, and turns a later "accepts TCP
 * but does not answer HTTP" into a failed probe.
 */
import type { ProbeOutcome } from './runner-deps.js';

export class HttpSpeakers {
  readonly #pids = new Set<number>();

  /** The outcome of an "auto" probe of `pid`, judged by what that instance answered before. */
  judge(pid: number, outcome: ProbeOutcome, timeoutMs: number): ProbeOutcome {
    if (outcome.status !== undefined) {
      this.#pids.add(pid);
      return outcome;
    }
    if (!outcome.ok || !this.#pids.has(pid)) return outcome;
    return {
      ok: false,
      latencyMs: outcome.latencyMs,
      detail: `no HTTP answer within ${timeoutMs} ms, though this instance answered HTTP before: an HTTP server that goes silent is not ready`,
    };
  }

  /** The instance is gone: a new process with the same pid starts with a clean slate. */
  forget(pid: number): void {
    this.#pids.delete(pid);
  }
}
