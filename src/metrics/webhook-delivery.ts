/**
 * Delivery of webhook alerts (issue 17): one serial queue per URL, so a resolution never overtakes
 * its alert; bounded retries with exponential backoff; a timeout per attempt; and nothing the
 * supervisor ever waits for — `send` only enqueues. What each URL last did is kept for `status` and
 * the dashboard, because a webhook that silently fails is worse than none.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as tls from 'node:tls';
import { redactWebhook } from '../config/redact.js';
import { readTextFile } from '../fs-async.js';
import { isoTime } from '../iso-time.js';
import { heldCaFile } from '../process/resident-flags.js';

/** POSTs `body` (JSON) to `url`; resolves with the HTTP status, rejects on a network error or abort. */
export type PostJson = (url: string, body: string, signal: AbortSignal) => Promise<number>;

export interface DeliveryOptions {
  /** Attempts per message, the first included (default 4). */
  attempts?: number | undefined;
  /** The wait before the first retry, ms; doubles per retry (default 1000). */
  backoffMs?: number | undefined;
  /** Per attempt, ms (default 5000). */
  timeoutMs?: number | undefined;
  /** Messages waiting per URL beyond which the oldest is dropped (default 50). */
  maxQueue?: number | undefined;
  post?: PostJson | undefined;
  now?: (() => number) | undefined;
  /** Called once per message that every attempt failed to deliver (the caller logs a warning). */
  onGiveUp?: ((url: string, error: string) => void) | undefined;
}

/** What one webhook URL has done, for `status` and the dashboard. The URL's path is redacted. */
export interface WebhookStatus {
  url: string;
  delivered: number;
  /** Messages given up after every attempt (or dropped from a full queue). */
  failed: number;
  /** Attempts that failed, retries included. */
  failedAttempts: number;
  /** Messages waiting or in flight. */
  pending: number;
  /** True when the last message was given up and none was delivered since. */
  failing: boolean;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
}

interface Target {
  url: string;
  queue: string[];
  busy: boolean;
  status: WebhookStatus;
}

/** The TLS context of the held NODE_EXTRA_CA_CERTS file, made once per path (a failed read is retried). */
const heldCaContexts = new Map<string, Promise<tls.SecureContext | undefined>>();

/** The certificates node trusts by default: its own roots, and the system's where a flag asks for them (Node 22.15+). */
function defaultCertificates(): readonly string[] {
  const get = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  return typeof get === 'function' ? get('default') : tls.rootCertificates;
}

/** What a webhook trusts with the held file's text `pem`: node's default certificates, then the file's. */
export function certificatesWith(pem: string): string[] {
  return [...defaultCertificates(), pem];
}

/**
 * The TLS options for a webhook's connection. A supervisor (the background one of `start -d`,
 * and `start` run by the launcher) starts without NODE_EXTRA_CA_CERTS, which it holds for its
 * server (src/process/resident-flags.ts, HELD_CA_ENV: Node parses the file at every start-up),
 * so it trusts what node would have with
 * the variable set: node's default certificates and the file's. The context is made once per
 * file and reused: making one parses every certificate (20–60 ms of CPU for a system bundle),
 * too much for every POST. It holds them for the supervisor's life, so after the first https
 * delivery the memory the supervisor saved at start is spent again (a review measured 1.4 MiB
 * more than with the variable read at start; leaving out the file's repeats of node's roots
 * did not make it smaller). Undefined (node's default store) in any other process, and while
 * the file cannot be read, as node itself goes on without it then.
 */
export function webhookTls(env: NodeJS.ProcessEnv = process.env): Promise<{ secureContext: tls.SecureContext } | undefined> {
  const held = heldCaFile(env);
  if (held === undefined) return Promise.resolve(undefined);
  let context = heldCaContexts.get(held);
  if (context === undefined) {
    context = readTextFile(held).then((pem) => tls.createSecureContext({ ca: certificatesWith(pem) }), () => {
      heldCaContexts.delete(held);
      return undefined;
    });
    heldCaContexts.set(held, context);
  }
  return context.then((secureContext) => (secureContext === undefined ? undefined : { secureContext }));
}

/** The real POST: no keep-alive agent, so no pooled socket outlives the delivery. */
export const postJson: PostJson = async (url, body, signal) => {
  const https = url.startsWith('https:');
  const tlsOptions = https ? await webhookTls() : undefined;
  return new Promise((resolve, reject) => {
    const request = https ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'POST',
      agent: false,
      signal,
      ...tlsOptions,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'naija-sup' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
};

export class WebhookDelivery {
  private readonly targets: Target[];
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly post: PostJson;
  private readonly now: () => number;
  private readonly onGiveUp: (url: string, error: string) => void;
  /** Aborts in-flight posts and backoff waits at close. */
  private readonly abort = new AbortController();
  private readonly idle = new Set<() => void>();

  constructor(urls: readonly string[], options: DeliveryOptions = {}) {
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.backoffMs = options.backoffMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxQueue = options.maxQueue ?? 50;
    this.post = options.post ?? postJson;
    this.now = options.now ?? Date.now;
    this.onGiveUp = options.onGiveUp ?? (() => undefined);
    this.targets = urls.map((url) => ({
      url,
      queue: [],
      busy: false,
      status: { url: redactWebhook(url), delivered: 0, failed: 0, failedAttempts: 0, pending: 0, failing: false, lastError: null, lastErrorAt: null, lastDeliveredAt: null },
    }));
  }

  /** Queues one JSON message for every URL and returns at once. */
  send(message: unknown): void {
    if (this.abort.signal.aborted) return;
    const body = JSON.stringify(message);
    for (const target of this.targets) {
      target.queue.push(body);
      if (target.queue.length > this.maxQueue) {
        target.queue.shift();
        this.recordFailure(target, `queue full: dropped the oldest of ${this.maxQueue + 1} waiting messages`, true);
      }
      target.status.pending = target.queue.length + (target.busy ? 1 : 0);
      if (!target.busy) void this.drain(target);
    }
  }

  status(): WebhookStatus[] {
    return this.targets.map((t) => ({ ...t.status }));
  }

  /**
   * Waits up to `graceMs` for what is queued (a fatal alert should leave before the supervisor
   * exits), then aborts the rest. Never rejects.
   */
  async close(graceMs = 3000): Promise<void> {
    if (this.targets.some((t) => t.busy)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.idle.delete(done);
          resolve();
        };
        const timer = setTimeout(done, graceMs);
        timer.unref();
        this.idle.add(done);
      });
    }
    this.abort.abort();
  }

  private async drain(target: Target): Promise<void> {
    target.busy = true;
    for (let body = target.queue.shift(); body !== undefined; body = target.queue.shift()) {
      target.status.pending = target.queue.length + 1;
      await this.deliver(target, body);
      if (this.abort.signal.aborted) break;
    }
    target.busy = false;
    target.status.pending = target.queue.length;
    if (this.targets.every((t) => !t.busy)) for (const done of [...this.idle]) done();
  }

  private async deliver(target: Target, body: string): Promise<void> {
    let error = '';
    for (let attempt = 1; attempt <= this.attempts; attempt += 1) {
      if (attempt > 1 && !(await this.wait(this.backoffMs * 2 ** (attempt - 2)))) return;
      // A timer of our own rather than AbortSignal.timeout: it is unref'd, and fake timers drive it in tests.
      const attemptAbort = new AbortController();
      const timer = setTimeout(() => attemptAbort.abort(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), this.timeoutMs);
      timer.unref();
      try {
        const status = await this.post(target.url, body, AbortSignal.any([this.abort.signal, attemptAbort.signal]));
        if (status >= 200 && status < 300) {
          target.status.delivered += 1;
          target.status.failing = false;
          target.status.lastDeliveredAt = isoTime(this.now());
          return;
        }
        error = `answered HTTP ${status}`;
      } catch (e) {
        const err = e as Error & { code?: string };
        error = attemptAbort.signal.aborted ? `no answer within ${this.timeoutMs} ms` : (err.code ?? err.message);
      } finally {
        clearTimeout(timer);
      }
      target.status.failedAttempts += 1;
      if (this.abort.signal.aborted) return;
    }
    this.recordFailure(target, `${error} (after ${this.attempts} attempt${this.attempts === 1 ? '' : 's'})`, false);
  }

  private recordFailure(target: Target, error: string, dropped: boolean): void {
    target.status.failed += 1;
    target.status.failing = !dropped || target.status.failing;
    target.status.lastError = error;
    target.status.lastErrorAt = isoTime(this.now());
    this.onGiveUp(target.status.url, error);
  }

  /** Resolves true after `ms`, false at once when closed. The timer never holds the process. */
  private wait(ms: number): Promise<boolean> {
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true); }, ms);
      timer.unref();
      const onAbort = (): void => { clearTimeout(timer); resolve(false); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
