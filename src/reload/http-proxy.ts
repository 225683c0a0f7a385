/**
 * The HTTP reload proxy (issue 13; behaviour, limits and counters in docs/http-proxy.md): client
 * connections end at naija-sup and each *request* goes to the current instance over a keep-alive
 * pool. `setTarget(green)` switches new requests, not connections; blue's in-flight requests finish
 * (`waitForAnswers`, then `waitForDrain` briefly), then its pool is closed. A request that fails before any response byte is sent
 * once more when that is safe (http-proxy-retry.ts): idempotent methods, or any method when the
 * connection was refused; POST/PATCH after a reset get a 502 (JSON). No instance: requests wait up
 * to `queueTimeoutMs`, then 503 (http-proxy-queue.ts). Upgrades become tunnels (http-proxy-upgrade.ts);
 * responses are relayed chunk by chunk (http-proxy-respond.ts).
 *
 * Upstream client: http-upstream.ts, one keep-alive pool of plain connections per instance (retiring
 * an instance is `pool.destroy()`; the instances' pools, in-flight counts and retirement are
 * http-proxy-targets.ts). It replaced node:http's client by measurement (its header says why) and
 * reports exactly when a request failed (before or after the response head), which the retry rule
 * relies on. This class is its handler: `head`, `data`, `end`, `error`, `release`.
 * A request without a body costs no timer, no closure and no header object of ours: raw header
 * arrays are filtered and written as one string, listeners are shared (they find the exchange
 * through a symbol), counters are plain numbers. Measurements and where the CPU goes:
 * docs/http-proxy.md, "Cost".
 */

import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { formatDuration } from '../elapsed.js';
import { positive, resolveLimits } from './http-proxy-options.js';
import type { HttpProxyEvent, HttpProxyOptions, HttpProxyTarget, HttpReloadProxy, ResolvedLimits } from './http-proxy-options.js';
import { requestHead, requestHeaders, type RequestHeadInfo } from './http-proxy-headers.js';
import { WaitQueue } from './http-proxy-queue.js';
import { replyJson, writeResponseHead } from './http-proxy-respond.js';
import { mayWaitForReplacement, onUpstreamFailure } from './http-proxy-retry.js';
import { observe, type HttpProxyStats } from './http-proxy-stats.js';
import { ProxyTargets, type TargetState } from './http-proxy-targets.js';
import { answerClientError, forwardUpgrade, rawResponse } from './http-proxy-upgrade.js';
import type { ResponseHead } from './http-response-parser.js';
import { UpstreamPool, type Upstream, type UpstreamHandler } from './http-upstream.js';
import { listen } from './proxy.js';

export type { HttpProxyEvent, HttpProxyLimits, HttpProxyOptions, HttpProxyTarget, HttpReloadProxy } from './http-proxy-options.js';
export type { DurationHistogram, HttpProxyStats, HttpTargetStats } from './http-proxy-stats.js';
export { DURATION_BUCKETS } from './http-proxy-stats.js';

/** One client request on its way through the proxy. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  head: RequestHeadInfo;
  start: number;
  /** The target that answered (or failed last); its counters get the request. */
  servedBy: TargetState | null;
  /** The target a retried request failed on. */
  failedOn: TargetState | null;
  /** The connection carrying the current attempt (null between attempts and after the answer). */
  upstream: Upstream<unknown, TargetState> | null;
  /** The current attempt no longer awaits its response head (it arrived, or the attempt ended). */
  answered: boolean;
  retried: boolean;
  proxy: HttpProxy;
  /** In the proxy's wait queue (spares a queue lookup when the exchange ends). */
  queued: boolean;
  /** The current attempt's request-body writer, piped from `req` (null: none, or not yet). */
  body: Writable | null;
  /** A 'drain' listener on `res` waits to resume the instance's response. */
  drainWait: boolean;
  /** The body size limit counts this request's body (from its first attempt that reads it). */
  limited: boolean;
}

const EXCHANGE = Symbol('exchange');
type Downstream = ServerResponse & { [EXCHANGE]: Exchange };

/**
 * Listens on `host:port` and returns the running proxy.
 *
 * @throws NaijaSupError `E_PORT_IN_USE` (EADDRINUSE) or `E_USAGE` (EACCES, EADDRNOTAVAIL, bad options).
 */
export async function createHttpProxy(options: HttpProxyOptions): Promise<HttpReloadProxy> {
  const host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
  const proxy = new HttpProxy(host, options);
  await listen(proxy.server, host, options.port);
  const address = proxy.server.address();
  proxy.port = typeof address === 'object' && address !== null ? address.port : options.port;
  return proxy;
}

class HttpProxy implements HttpReloadProxy, UpstreamHandler<Exchange, TargetState> {
  port = 0;
  readonly server: http.Server;
  private readonly targetHost: string;
  private readonly queueTimeout: number;
  private readonly forwarded: boolean;
  private readonly limits: ResolvedLimits;
  private readonly emit: (event: HttpProxyEvent) => void;
  /** The instances, their pools and counters, the slots taking new requests (http-proxy-targets.ts). */
  private readonly targets = new ProxyTargets((state) => new UpstreamPool(this.targetHost, state.port, state, this, this.limits.maxHeaderSize, this.limits.responseTimeout));
  /** Only a setTarget() call resumes a waiting request, even to the same target (after a refusal). */
  private readonly queue: WaitQueue<Exchange, TargetState>;
  private readonly counts = { received: 0, queuedTotal: 0, queueTimeouts: 0, clientErrors: 0, bodyTooLarge: 0 };
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(
    readonly host: string,
    options: HttpProxyOptions,
  ) {
    this.targetHost = options.targetHost ?? '127.0.0.1';
    this.queueTimeout = positive('queueTimeoutMs', options.queueTimeoutMs ?? 10_000);
    this.queue = new WaitQueue(this.queueTimeout);
    this.forwarded = options.forwardedHeaders ?? true;
    this.limits = resolveLimits(options.limits ?? {});
    this.emit = options.onEvent ?? ((): void => undefined);
    if (options.target) this.targets.set(0, options.target);
    this.server = http.createServer({
      maxHeaderSize: this.limits.maxHeaderSize,
      headersTimeout: this.limits.headersTimeout,
      requestTimeout: this.limits.requestTimeout,
      keepAliveTimeout: this.limits.keepAliveTimeout,
      // How often Node checks the two timeouts above: often enough for them to mean what they say.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(this.limits.headersTimeout / 4))),
      noDelay: true,
    } as http.ServerOptions);
    this.server.keepAliveTimeout = this.limits.keepAliveTimeout;
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
    this.server.on('error', (error: NodeJS.ErrnoException) => this.emit({ type: 'accept-error', code: error.code ?? 'ERROR' }));
  }

  // --- the public interface ---------------------------------------------------------------------

  target(): HttpProxyTarget | null {
    const first = this.targets.slots.first();
    return first === null ? null : { port: first.port, id: first.id };
  }

  setTarget(next: HttpProxyTarget | null): void {
    this.setTargetAt(0, next);
  }

  setTargetAt(slot: number, next: HttpProxyTarget | null): void {
    const state = this.targets.set(slot, next);
    if (state === null || this.closing) return;
    this.queue.offer((ex) => this.targets.slots.pick(ex.failedOn));
  }

  inFlight(targetPort?: number): number {
    return this.targets.inFlight(targetPort);
  }

  queued(): number {
    return this.queue.size;
  }

  waitForDrain(targetPort: number, timeoutMs: number): Promise<boolean> {
    return this.targets.until(() => this.targets.inFlight(targetPort) === 0, timeoutMs);
  }

  // A reload waits for this before it signals the old instance: its requests finish whatever its
  // SIGTERM does, and streams it already answers (SSE, downloads) or tunnels do not hold it.
  waitForAnswers(targetPort: number, timeoutMs: number): Promise<boolean> {
    return this.targets.until(() => this.targets.awaiting(targetPort) === 0, timeoutMs);
  }

  stats(): HttpProxyStats {
    return { ...this.counts, queued: this.queue.size, targets: this.targets.stats() };
  }

  close({ timeout = 5000 }: { timeout?: number } = {}): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      this.queue.timeoutAll();
      await this.targets.until(() => this.inFlight() === 0, timeout);
      this.server.closeAllConnections();
      this.targets.destroyAll();
      await serverClosed;
    })();
    return this.closed;
  }

  // --- requests ---------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.counts.received += 1;
    const ex: Exchange = {
      req,
      res,
      head: requestHeaders(req.rawHeaders, this.forwarded ? (req.socket.remoteAddress ?? 'unknown') : null),
      start: performance.now(),
      servedBy: null,
      failedOn: null,
      upstream: null,
      answered: true,
      retried: false,
      proxy: this,
      queued: false,
      body: null,
      drainWait: false,
      limited: false,
    };
    (res as Downstream)[EXCHANGE] = ex;
    // 'close' fires once: on() spares the wrapper once() allocates.
    res.on('close', this.onResponseClose);
    if (ex.head.contentLength > this.limits.maxBodySize) {
      this.tooLarge(ex);
      return;
    }
    this.route(ex);
  }

  private readonly onResponseClose = function (this: Downstream): void {
    const ex = this[EXCHANGE];
    if (ex.queued) {
      ex.queued = false;
      ex.proxy.queue.remove(ex);
    }
    // The client went away mid-exchange: stop the upstream request too.
    if (!this.writableFinished) ex.proxy.dropUpstream(ex);
    if (ex.servedBy !== null) observe(ex.servedBy.counters, this.statusCode, (performance.now() - ex.start) / 1000);
  };

  private route(ex: Exchange): void {
    const target = this.closing ? null : this.targets.slots.pick(ex.failedOn);
    if (target === null) this.wait(ex, 'no-target', null);
    else this.forward(ex, target);
  }

  private forward(ex: Exchange, state: TargetState): void {
    const { req } = ex;
    ex.servedBy = state;
    ex.answered = false;
    state.inFlight += 1;
    state.awaiting += 1;
    const method = req.method ?? 'GET';
    const head = requestHead(method, req.url ?? '/', ex.head, `${this.targetHost}:${state.port}`);
    // A retry to the same instance takes a new connection: another pooled one may be as stale.
    const upstream = this.targets.poolOf(state).request(ex, head, ex.head.framing, method === 'HEAD', ex.failedOn === state);
    ex.upstream = upstream;
    if (ex.head.framing === 'none') return;
    // The body is read only once the connection stands, so a refused connection leaves it unread
    // (and the request retryable whatever its method).
    if (upstream.connecting) upstream.socket.once('connect', () => this.streamBody(ex, upstream));
    else this.streamBody(ex, upstream);
  }

  // --- UpstreamHandler: the instance's answer ---------------------------------------------------

  head(ex: Exchange, head: ResponseHead): void {
    this.settle(ex);
    try {
      writeResponseHead(ex.res, head, this.closing);
    } catch {
      // A header or reason phrase node's server will not send (ERR_INVALID_CHAR): the answer cannot
      // be passed on as it is.
      this.dropUpstream(ex);
      const state = ex.servedBy as TargetState;
      state.counters.upstreamErrors += 1;
      this.emit({ type: 'upstream-error', target: state.id, code: 'HPE_INVALID_HEADER_TOKEN', method: ex.req.method ?? 'GET', retried: false, responseStarted: true });
      this.reply(ex, 502, { error: 'bad_gateway', cause: 'HPE_INVALID_HEADER_TOKEN', instance: state.id, message: `The instance ${state.id} sent a response header that cannot be passed on.` });
    }
  }

  data(ex: Exchange, chunk: Buffer): boolean {
    if (ex.res.write(chunk)) return true;
    // Chunks of the same read keep coming after the pause: one listener waits for them all.
    if (!ex.drainWait) {
      ex.drainWait = true;
      ex.res.once('drain', this.onClientDrain);
    }
    return false;
  }

  end(ex: Exchange): void {
    ex.upstream = null;
    ex.res.end();
  }

  error(ex: Exchange, code: string, responseStarted: boolean): void {
    this.settle(ex);
    this.failed(ex, ex.servedBy as TargetState, code, responseStarted);
  }

  release(_ex: Exchange, owner: TargetState): void {
    this.targets.done(owner);
  }

  private readonly onClientDrain = function (this: Downstream): void {
    const ex = this[EXCHANGE];
    ex.drainWait = false;
    ex.upstream?.resume();
  };

  /** Ends the current attempt on the proxy's side (the client left, the body grew too large, the head cannot be passed on). */
  private dropUpstream(ex: Exchange): void {
    const upstream = ex.upstream;
    if (upstream === null) return;
    ex.upstream = null;
    this.settle(ex);
    upstream.abort(ex);
  }

  // The current attempt got its response head, or ended without one: it no longer awaits.
  private settle(ex: Exchange): void {
    if (ex.answered) return;
    ex.answered = true;
    if (ex.servedBy !== null) this.targets.answered(ex.servedBy);
  }

  private streamBody(ex: Exchange, upstream: Upstream<unknown, TargetState>): void {
    if (ex.upstream !== upstream) return;
    // The size limit counts the body once per exchange, whichever attempt carries it.
    if (Number.isFinite(this.limits.maxBodySize) && !ex.limited) this.limitBody(ex);
    const body = new Writable({
      write: (chunk: Buffer, _encoding, done) => upstream.writeBody(ex, chunk, done),
      final: (done) => {
        upstream.endBody(ex);
        done();
      },
    });
    // writeBody never reports an error (a broken connection fails the attempt instead), but an
    // unhandled 'error' on a piped stream would take the whole supervisor down: never let it.
    body.on('error', () => undefined);
    ex.body = body;
    ex.req.pipe(body);
  }

  private limitBody(ex: Exchange): void {
    ex.limited = true;
    let bytes = 0;
    ex.req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= this.limits.maxBodySize || ex.upstream === null) return;
      this.dropUpstream(ex);
      this.tooLarge(ex);
    });
  }

  /** The attempt is over: its writer must not swallow the body a retry will need. */
  private unpipeBody(ex: Exchange): void {
    if (ex.body === null) return;
    ex.req.unpipe(ex.body);
    ex.req.pause();
    ex.body = null;
  }

  private failed(ex: Exchange, state: TargetState, code: string, responseStarted: boolean): void {
    ex.upstream = null;
    this.unpipeBody(ex);
    state.counters.upstreamErrors += 1;
    const method = ex.req.method ?? 'GET';
    const facts = { code, method, responseStarted, retried: ex.retried || ex.res.destroyed, bodyRead: ex.req.readableDidRead, retiredInstance: !this.targets.slots.has(state) && !ex.res.destroyed };
    const next = onUpstreamFailure(facts, state.id);
    this.emit({ type: 'upstream-error', target: state.id, code, method, retried: next.action === 'retry', responseStarted });
    if (next.action === 'abort') {
      ex.res.destroy();
    } else if (next.action === 'bad-gateway' && facts.retried && mayWaitForReplacement(facts) && this.targets.slots.has(state) && this.targets.slots.pick(state) === state) {
      // Failed twice on the one instance there is: it is dying; its replacement will serve it.
      this.wait(ex, 'target-refused', state);
    } else if (next.action === 'bad-gateway') {
      this.reply(ex, 502, { error: 'bad_gateway', cause: code, instance: state.id, message: next.message });
    } else if (next.action === 'gateway-timeout') {
      this.reply(ex, 504, { error: 'gateway_timeout', cause: code, instance: state.id, message: `The instance ${state.id} sent no response within ${formatDuration(this.limits.responseTimeout)} (proxy.responseTimeout).` });
    } else {
      ex.retried = true;
      ex.failedOn = state;
      state.counters.retries += 1;
      this.emit({ type: 'retry', target: state.id, code, method });
      // Refused by the only instance taking requests: it crashed; wait for the next setTarget.
      // With others there, the retry goes to one of them (route avoids the one that failed) — once:
      // refused again, it waits too, or two refusing instances would bounce it between them without end.
      if (next.refused && this.targets.slots.has(state) && (facts.retried || this.targets.slots.pick(state) === state)) this.wait(ex, 'target-refused', state);
      else this.route(ex);
    }
  }

  // --- waiting for an instance ------------------------------------------------------------------

  private wait(ex: Exchange, reason: 'no-target' | 'target-refused', failed: TargetState | null): void {
    if (this.closing) {
      this.emit({ type: 'dropped', reason: 'closing' });
      this.reply(ex, 503, { error: 'shutting_down', message: 'naija-sup is shutting down.' });
      return;
    }
    if (this.queue.size >= this.limits.maxQueued) {
      this.emit({ type: 'dropped', reason: 'max-queued' });
      this.reply(ex, 503, { error: 'no_instance', message: `No instance is ready and ${this.limits.maxQueued} requests are already waiting.` });
      return;
    }
    this.counts.queuedTotal += 1;
    this.emit({ type: 'queued', reason, target: failed?.id ?? null });
    ex.queued = true;
    this.queue.add(
      ex,
      (target) => {
        ex.queued = false;
        this.forward(ex, target);
      },
      () => {
        ex.queued = false;
        this.queueTimedOut(ex, failed);
      },
    );
  }

  private queueTimedOut(ex: Exchange, failed: TargetState | null): void {
    this.counts.queueTimeouts += 1;
    this.emit({ type: 'queue-timeout', waitedMs: Math.round(performance.now() - ex.start) });
    const last = failed === null ? {} : { lastInstance: failed.id };
    const message = this.closing ? 'naija-sup is shutting down.' : `No instance became ready within ${this.queueTimeout} ms.`;
    this.reply(ex, 503, { error: this.closing ? 'shutting_down' : 'no_instance', message, ...last });
  }

  // --- answering on the proxy's own behalf ------------------------------------------------------

  private reply(ex: Exchange, status: number, body: Record<string, unknown>): void {
    // The body was not read (or not all of it): the connection cannot carry another request.
    replyJson(ex.res, status, body, this.closing || (ex.head.hasBody && !ex.req.complete));
  }

  private tooLarge(ex: Exchange): void {
    this.counts.bodyTooLarge += 1;
    this.reply(ex, 413, { error: 'body_too_large', message: `The request body is larger than ${this.limits.maxBodySize} bytes.` });
  }

  // --- upgrades and client errors ---------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    this.counts.received += 1;
    const start = performance.now();
    socket.on('error', () => undefined);
    const target = this.targets.slots.pick();
    if (target === null || this.closing) {
      rawResponse(socket, 503, { error: 'no_instance', message: 'No instance is ready for this upgrade; try again.' });
      return;
    }
    target.inFlight += 1;
    forwardUpgrade({
      req,
      socket,
      head,
      targetHost: this.targetHost,
      port: target.port,
      headers: requestHeaders(req.rawHeaders, this.forwarded ? (socket.remoteAddress ?? 'unknown') : null, true).headers,
      tunnels: target.tunnels,
      onError: (code) => {
        target.counters.upstreamErrors += 1;
        this.emit({ type: 'upstream-error', target: target.id, code, method: req.method ?? 'GET', retried: false, responseStarted: false });
      },
      onStatus: (status) => observe(target.counters, status, (performance.now() - start) / 1000),
      onDone: () => this.targets.done(target),
      responseTimeoutMs: this.limits.responseTimeout,
    });
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const code = error.code ?? 'ERROR';
    if (!answerClientError(code, socket)) return;
    this.counts.clientErrors += 1;
    this.emit({ type: 'client-error', code });
  }
}
