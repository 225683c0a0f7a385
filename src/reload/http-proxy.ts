/**
 * The HTTP reload proxy (issue 13, `mode: proxy` with `proxy.protocol: http`): client connections
 * end at naija-sup and each *request* is forwarded to the current instance over a keep-alive pool.
 * A TCP pipe (src/reload/proxy.ts) cannot tell an idle keep-alive connection from a busy one and
 * cannot retry; this can, so a reload is invisible to keep-alive clients:
 *
 * - `setTarget(green)` switches new requests, not connections: a client's keep-alive connection
 *   stays open across the switch, its next request goes to green; blue's in-flight requests finish
 *   (`waitForDrain`), then the proxy closes its idle pooled connections to blue itself.
 * - A request that fails before any response byte (ECONNRESET, socket hang-up, EPIPE: blue closed
 *   an idle-looking pooled connection just as the request arrived) is sent once more, to the
 *   current instance, when its method is idempotent (GET HEAD OPTIONS PUT DELETE TRACE) and no body
 *   byte has been read yet. POST and PATCH never are: they may have taken effect; they get a 502
 *   with a JSON body naming the cause. ECONNREFUSED is the one exception: nothing reached the
 *   instance, so any method may be sent again (after the next setTarget when the refusing instance
 *   is still the current one: it crashed and its replacement is starting).
 * - No instance (setTarget(null)): requests wait, unread, up to `queueTimeoutMs` (default 10 s)
 *   from their arrival, then get 503 (JSON).
 * - Upgrades (WebSocket) become a byte tunnel to the instance current at the handshake; streaming
 *   responses (SSE, chunked) are piped chunk by chunk, headers flushed at once.
 *
 * Upstream client, measured on the project's 2-core machine (bench/http-proxy-upstream.mjs; wrk -t1
 * -c20, backend burning 300 µs/request, medians of 5 rounds with other work on the machine, so
 * ±15%): direct 2,483 req/s; node:http + keep-alive Agent 2,044 (−18%); undici 7 Pool.request
 * 1,953 (−21%); undici Pool.dispatch 1,984 (−20%). Trivial handler: Agent 3,721, Pool.request
 * 2,988, Pool.dispatch 5,362 (each proxy then uses as much CPU as the app). undici's raw
 * dispatch API can be faster but is not better where it matters (a handler doing real work) and
 * its versions that run on Node 20 are frozen; node:http needs no dependency and tells exactly when
 * a request failed (before/after 'response', `readableDidRead`), which retries rely on. So: one
 * node:http Agent per instance (its own pool: retiring one is `agent.destroy()`).
 * Proxy figures against direct and the TCP pipe: bench/http-proxy.mjs, docs/benchmarks.md.
 */

import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NaijaSupError } from '../errors.js';
import { requestHeaders, responseHeaders } from './http-proxy-headers.js';
import type { RequestHeadInfo } from './http-proxy-headers.js';
import { newCounters, observe, snapshot } from './http-proxy-stats.js';
import type { HttpProxyStats, TargetCounters } from './http-proxy-stats.js';
import { forwardUpgrade, rawResponse } from './http-proxy-upgrade.js';
import { listen } from './proxy.js';

export type { HttpProxyStats, HttpTargetStats, DurationHistogram } from './http-proxy-stats.js';
export { DURATION_BUCKETS } from './http-proxy-stats.js';

export interface HttpProxyTarget {
  /** The instance's private port on `targetHost`. */
  port: number;
  /** The instance's id (labels its counters). */
  id: string;
}

/** Client-side limits; defaults are Node's own where they are sound (docs/reload.md). */
export interface HttpProxyLimits {
  /** Largest request head, bytes; bigger gets 431. Default 16,384 (Node's). */
  maxHeaderSize?: number;
  /** Time for a client to send a complete request head, ms (slowloris); 408 then. Default 60,000 (Node's). */
  headersTimeout?: number;
  /** Time for a client to send a complete request, body included, ms; 408 then. Default 300,000 (Node's). */
  requestTimeout?: number;
  /** An idle client keep-alive connection is closed after this long, ms. Default 5,000 (Node's). */
  keepAliveTimeout?: number;
  /** Largest request body, bytes; bigger gets 413. Default: no limit (the app decides). */
  maxBodySize?: number;
  /** Requests waiting for an instance beyond this many get 503 at once. Default 1,024. */
  maxQueued?: number;
}

export interface HttpProxyOptions {
  /** Public address (IP literal or host name; brackets allowed for IPv6). */
  host: string;
  /** Public port; 0 = kernel's choice, read back from `proxy.port`. */
  port: number;
  /** Where instances listen; default 127.0.0.1. */
  targetHost?: string;
  /** The first target; default null (requests wait for setTarget). */
  target?: HttpProxyTarget | null;
  /** The longest a request waits for an instance, ms from its arrival; default 10,000. */
  queueTimeoutMs?: number;
  /** Add X-Forwarded-For/-Proto/-Host; default true. */
  forwardedHeaders?: boolean;
  limits?: HttpProxyLimits;
  onEvent?: ((event: HttpProxyEvent) => void) | undefined;
}

/** Notable events; routine traffic is only counted (stats()). */
export type HttpProxyEvent =
  | { type: 'queued'; reason: 'no-target' | 'target-refused'; target: string | null }
  | { type: 'queue-timeout'; waitedMs: number }
  | { type: 'retry'; target: string; code: string; method: string }
  | { type: 'upstream-error'; target: string; code: string; method: string; retried: boolean; responseStarted: boolean }
  | { type: 'client-error'; code: string }
  | { type: 'dropped'; reason: 'max-queued' | 'closing' }
  | { type: 'accept-error'; code: string };

export interface HttpReloadProxy {
  readonly host: string;
  readonly port: number;
  /** The current target, or null while requests wait. */
  target(): HttpProxyTarget | null;
  /**
   * New requests go to `target` from now on; waiting requests are sent at once. Requests in flight
   * stay where they are. null: no instance now, new requests wait (queueTimeoutMs).
   */
  setTarget(target: HttpProxyTarget | null): void;
  /** Requests in flight (and open WebSocket tunnels) to `targetPort`, or to all targets. */
  inFlight(targetPort?: number): number;
  /** Requests waiting for an instance right now. */
  queued(): number;
  /** Resolves true once nothing is in flight to `targetPort`, false after `timeoutMs`. */
  waitForDrain(targetPort: number, timeoutMs: number): Promise<boolean>;
  stats(): HttpProxyStats;
  /**
   * Stops listening, answers waiting requests 503, lets in-flight ones finish for up to `timeout` ms
   * (default 5,000; their responses carry `Connection: close`), then closes every connection. Safe
   * to call twice.
   */
  close(options?: { timeout?: number }): Promise<void>;
}

/** Per-instance state: its pool, what is in flight to it, its counters. */
interface TargetState {
  port: number;
  id: string;
  agent: http.Agent | null;
  inFlight: number;
  tunnels: Set<Socket>;
  counters: TargetCounters;
}

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
  upstream: http.ClientRequest | null;
  retried: boolean;
  waiting: Waiter | null;
}

interface Waiter {
  timer: NodeJS.Timeout;
  /** Only a setTarget() call resumes it, even to the same target (after a refusal). */
  resume(target: TargetState): void;
  timeout(): void;
}

/** Idempotent methods (RFC 9110 §9.2.2): sending one twice has the effect of sending it once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Errors that mean "the instance went away before answering", as opposed to a bad request. */
const RETRYABLE = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED']);
/** Retired instances whose counters are still reported (the current one always is). */
const KEEP_RETIRED = 16;

/**
 * Listens on `host:port` and returns the running proxy.
 *
 * @throws NaijaSupError `E_PORT_IN_USE` (EADDRINUSE) or `E_USAGE` (EACCES, EADDRNOTAVAIL, bad options).
 */
export async function createHttpProxy(options: HttpProxyOptions): Promise<HttpReloadProxy> {
  const host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
  const targetHost = options.targetHost ?? '127.0.0.1';
  const queueTimeout = positive('queueTimeoutMs', options.queueTimeoutMs ?? 10_000);
  const forwarded = options.forwardedHeaders ?? true;
  const limits = resolveLimits(options.limits ?? {});
  const emit = options.onEvent ?? ((): void => undefined);

  const states = new Map<number, TargetState>();
  const retired: TargetCounters[] = [];
  let current: TargetState | null = null;
  const waiting = new Set<Exchange>();
  const drained = new EventEmitter<{ drained: [port: number] }>();
  drained.setMaxListeners(0);
  const stats = { received: 0, queuedTotal: 0, queueTimeouts: 0, clientErrors: 0, bodyTooLarge: 0 };
  let closing = false;

  const stateFor = (target: HttpProxyTarget): TargetState => {
    checkPort('target', target.port);
    const known = states.get(target.port);
    if (known !== undefined && known.id === target.id) return known;
    if (known !== undefined) {
      // The port was reused by a new instance: the old one is gone, keep its counters only.
      known.agent?.destroy();
      retired.unshift(known.counters);
    }
    const state: TargetState = { port: target.port, id: target.id, agent: null, inFlight: 0, tunnels: new Set(), counters: newCounters(target.id, target.port) };
    states.set(target.port, state);
    return state;
  };

  /** A retired target with nothing in flight: close its pooled connections, forget all but its counters. */
  const release = (state: TargetState): void => {
    if (state === current || state.inFlight > 0) return;
    state.agent?.destroy();
    state.agent = null;
    if (states.get(state.port) === state) states.delete(state.port);
    retired.unshift(state.counters);
    retired.length = Math.min(retired.length, KEEP_RETIRED);
  };

  const done = (state: TargetState): void => {
    state.inFlight -= 1;
    if (state.inFlight > 0) return;
    drained.emit('drained', state.port);
    if (state !== current) release(state);
  };

  const agentOf = (state: TargetState): http.Agent =>
    (state.agent ??= new http.Agent({ keepAlive: true, scheduling: 'lifo', noDelay: true } as http.AgentOptions));

  // --- answering on the proxy's own behalf ---------------------------------------------------

  const reply = (ex: Exchange, status: number, body: Record<string, unknown>): void => {
    const { res } = ex;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
    // The body was not read (or not all of it): the connection cannot carry another request.
    if (closing || (ex.head.hasBody && !ex.req.complete)) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(text);
  };

  // --- waiting for an instance ------------------------------------------------------------------

  const wait = (ex: Exchange, reason: 'no-target' | 'target-refused', failed: TargetState | null): void => {
    if (closing) {
      emit({ type: 'dropped', reason: 'closing' });
      reply(ex, 503, { error: 'shutting_down', message: 'naija-sup is shutting down.' });
      return;
    }
    if (waiting.size >= limits.maxQueued) {
      emit({ type: 'dropped', reason: 'max-queued' });
      reply(ex, 503, { error: 'no_instance', message: `No instance is ready and ${limits.maxQueued} requests are already waiting.` });
      return;
    }
    const left = queueTimeout - (performance.now() - ex.start);
    stats.queuedTotal += 1;
    emit({ type: 'queued', reason, target: failed?.id ?? null });
    const leave = (): void => {
      clearTimeout(waiter.timer);
      waiting.delete(ex);
      ex.waiting = null;
    };
    const waiter: Waiter = {
      timer: setTimeout(() => waiter.timeout(), Math.max(0, left)),
      resume: (target) => {
        leave();
        forward(ex, target);
      },
      timeout: () => {
        leave();
        stats.queueTimeouts += 1;
        const waitedMs = Math.round(performance.now() - ex.start);
        emit({ type: 'queue-timeout', waitedMs });
        reply(ex, 503, {
          error: 'no_instance',
          message: `No instance became ready within ${queueTimeout} ms.`,
          ...(failed === null ? {} : { lastInstance: failed.id }),
        });
      },
    };
    ex.waiting = waiter;
    waiting.add(ex);
  };

  // --- forwarding -----------------------------------------------------------------------------------

  const route = (ex: Exchange): void => {
    if (current === null || closing) wait(ex, 'no-target', null);
    else forward(ex, current);
  };

  const forward = (ex: Exchange, state: TargetState): void => {
    const { req, res } = ex;
    ex.servedBy = state;
    state.inFlight += 1;
    const upstream = http.request({
      host: targetHost,
      port: state.port,
      method: req.method,
      path: req.url,
      headers: ex.head.headers,
      // A retry to the same instance takes a new connection: the pooled one may be as stale.
      agent: ex.failedOn === state ? false : agentOf(state),
    });
    ex.upstream = upstream;
    let responded = false;
    upstream.once('close', () => done(state));
    upstream.on('response', (ures: IncomingMessage) => {
      responded = true;
      res.sendDate = false; // the instance's own Date header is passed on
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, responseHeaders(ures.rawHeaders, closing));
      // A streamed response (SSE, chunked) may send its first chunk much later: headers now.
      if (ures.headers['content-length'] === undefined) res.flushHeaders();
      ures.pipe(res);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (ex.upstream !== upstream) return;
      failed(ex, state, error, responded);
    });
    if (!ex.head.hasBody) {
      upstream.end();
      return;
    }
    // The body is read only once the connection stands, so a refused connection leaves it unread
    // (and the request retryable whatever its method).
    upstream.once('socket', (socket: Socket) => {
      if (socket.connecting) socket.once('connect', () => streamBody(ex, upstream));
      else streamBody(ex, upstream);
    });
  };

  const streamBody = (ex: Exchange, upstream: http.ClientRequest): void => {
    if (ex.upstream !== upstream || upstream.destroyed) return;
    if (Number.isFinite(limits.maxBodySize)) {
      let bytes = 0;
      ex.req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= limits.maxBodySize || ex.upstream !== upstream) return;
        ex.upstream = null;
        upstream.destroy();
        tooLarge(ex);
      });
    }
    ex.req.pipe(upstream);
  };

  const tooLarge = (ex: Exchange): void => {
    stats.bodyTooLarge += 1;
    reply(ex, 413, { error: 'body_too_large', message: `The request body is larger than ${limits.maxBodySize} bytes.` });
  };

  const failed = (ex: Exchange, state: TargetState, error: NodeJS.ErrnoException, responseStarted: boolean): void => {
    ex.upstream = null;
    state.counters.upstreamErrors += 1;
    const code = error.code ?? 'ERROR';
    const method = ex.req.method ?? 'GET';
    const refused = code === 'ECONNREFUSED';
    const retry =
      !responseStarted && !ex.retried && !ex.res.destroyed && RETRYABLE.has(code) && !ex.req.readableDidRead && (refused || IDEMPOTENT.has(method));
    emit({ type: 'upstream-error', target: state.id, code, method, retried: retry, responseStarted });
    if (responseStarted) {
      // Part of the response is out: the client must see a failure, not a short "complete" answer.
      ex.res.destroy();
      return;
    }
    if (!retry) {
      const why = RETRYABLE.has(code) && !refused && !IDEMPOTENT.has(method) ? `; a ${method} is not sent again because it may have taken effect` : '';
      reply(ex, 502, { error: 'bad_gateway', cause: code, instance: state.id, message: `The instance ${state.id} failed before answering (${code})${why}.` });
      return;
    }
    ex.retried = true;
    ex.failedOn = state;
    state.counters.retries += 1;
    emit({ type: 'retry', target: state.id, code, method });
    // Refused by the instance that is still current: it crashed; wait for the next setTarget.
    if (refused && current === state) wait(ex, 'target-refused', state);
    else route(ex);
  };

  // --- the client side -----------------------------------------------------------------------------

  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    // How often Node checks the two timeouts above: often enough for them to mean what they say.
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeout / 4))),
    noDelay: true,
  } as http.ServerOptions);
  server.keepAliveTimeout = limits.keepAliveTimeout;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    stats.received += 1;
    const ex: Exchange = {
      req,
      res,
      head: requestHeaders(req.rawHeaders, forwarded ? { remoteAddress: req.socket.remoteAddress } : null),
      start: performance.now(),
      servedBy: null,
      failedOn: null,
      upstream: null,
      retried: false,
      waiting: null,
    };
    res.once('close', () => {
      if (ex.waiting !== null) {
        clearTimeout(ex.waiting.timer);
        waiting.delete(ex);
        ex.waiting = null;
      }
      // The client went away mid-exchange: stop the upstream request too.
      if (!res.writableFinished) ex.upstream?.destroy();
      if (ex.servedBy !== null) observe(ex.servedBy.counters, res.statusCode, (performance.now() - ex.start) / 1000);
    });
    if (ex.head.contentLength > limits.maxBodySize) {
      tooLarge(ex);
      return;
    }
    route(ex);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    stats.received += 1;
    const start = performance.now();
    socket.on('error', () => undefined);
    const target = current;
    if (target === null || closing) {
      rawResponse(socket, 503, { error: 'no_instance', message: 'No instance is ready for this upgrade; try again.' });
      return;
    }
    target.inFlight += 1;
    forwardUpgrade({
      req,
      socket,
      head,
      targetHost,
      port: target.port,
      headers: requestHeaders(req.rawHeaders, forwarded ? { remoteAddress: socket.remoteAddress } : null, true).headers,
      tunnels: target.tunnels,
      onError: (code) => {
        target.counters.upstreamErrors += 1;
        emit({ type: 'upstream-error', target: target.id, code, method: req.method ?? 'GET', retried: false, responseStarted: false });
      },
      onStatus: (status) => observe(target.counters, status, (performance.now() - start) / 1000),
      onDone: () => done(target),
    });
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const code = error.code ?? 'ERROR';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    stats.clientErrors += 1;
    emit({ type: 'client-error', code });
    // As Node's default handler, unless a response is already under way on this connection.
    const busy = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (busy) {
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.setTimeout(1000, () => socket.destroy());
  });
  server.on('error', (error: NodeJS.ErrnoException) => emit({ type: 'accept-error', code: error.code ?? 'ERROR' }));

  if (options.target) current = stateFor(options.target);
  await listen(server, host, options.port);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  const totalInFlight = (): number => {
    let n = 0;
    for (const state of states.values()) n += state.inFlight;
    return n;
  };

  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    target: () => (current === null ? null : { port: current.port, id: current.id }),
    setTarget(next) {
      const previous = current;
      current = next === null ? null : stateFor(next);
      if (previous !== null && previous !== current) release(previous);
      if (current === null || closing) return;
      for (const ex of [...waiting]) ex.waiting?.resume(current);
    },
    inFlight: (targetPort) => (targetPort === undefined ? totalInFlight() : (states.get(targetPort)?.inFlight ?? 0)),
    queued: () => waiting.size,
    waitForDrain(targetPort, timeoutMs) {
      if ((states.get(targetPort)?.inFlight ?? 0) === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const onDrained = (drainedPort: number): void => {
          if (drainedPort === targetPort && (states.get(targetPort)?.inFlight ?? 0) === 0) finish(true);
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (result: boolean): void => {
          clearTimeout(timer);
          drained.off('drained', onDrained);
          resolve(result);
        };
        drained.on('drained', onDrained);
      });
    },
    stats: () => ({
      ...stats,
      queued: waiting.size,
      targets: [
        ...(current === null ? [] : [snapshot(current.counters, true, current.inFlight)]),
        ...[...states.values()].filter((s) => s !== current).map((s) => snapshot(s.counters, false, s.inFlight)),
        ...retired.map((c) => snapshot(c, false, 0)),
      ],
    }),
    close({ timeout = 5000 } = {}) {
      closed ??= (async () => {
        closing = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        for (const ex of [...waiting]) ex.waiting?.timeout();
        if (totalInFlight() > 0) {
          await new Promise<void>((resolve) => {
            const check = (): void => {
              if (totalInFlight() === 0) finish();
            };
            const timer = setTimeout(() => finish(), timeout);
            const finish = (): void => {
              clearTimeout(timer);
              drained.off('drained', check);
              resolve();
            };
            drained.on('drained', check);
          });
        }
        server.closeAllConnections();
        for (const state of states.values()) {
          for (const tunnel of state.tunnels) tunnel.destroy();
          state.agent?.destroy();
        }
        await serverClosed;
      })();
      return closed;
    },
  };
}

interface ResolvedLimits {
  maxHeaderSize: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxBodySize: number;
  maxQueued: number;
}

function resolveLimits(limits: HttpProxyLimits): ResolvedLimits {
  const resolved: ResolvedLimits = {
    maxHeaderSize: positive('limits.maxHeaderSize', limits.maxHeaderSize ?? 16_384),
    headersTimeout: positive('limits.headersTimeout', limits.headersTimeout ?? 60_000),
    requestTimeout: positive('limits.requestTimeout', limits.requestTimeout ?? 300_000),
    keepAliveTimeout: positive('limits.keepAliveTimeout', limits.keepAliveTimeout ?? 5000),
    maxBodySize: positive('limits.maxBodySize', limits.maxBodySize ?? Infinity),
    maxQueued: positive('limits.maxQueued', limits.maxQueued ?? 1024),
  };
  if (resolved.headersTimeout > resolved.requestTimeout) {
    throw new NaijaSupError('E_USAGE', `createHttpProxy: limits.headersTimeout (${resolved.headersTimeout} ms) must not exceed limits.requestTimeout (${resolved.requestTimeout} ms).`, {
      fix: 'The head is part of the request: raise requestTimeout or lower headersTimeout.',
    });
  }
  return resolved;
}

function positive(name: string, value: number): number {
  if (Number.isNaN(value) || value <= 0) {
    throw new NaijaSupError('E_USAGE', `createHttpProxy: ${name} must be a positive number, got ${String(value)}.`);
  }
  return value;
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NaijaSupError('E_USAGE', `HTTP reload proxy: ${name} must be a port from 1 to 65535, got ${String(port)}.`);
  }
}
