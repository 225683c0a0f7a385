/**
 * The HTTP reload proxy's upstream client (issue 13): one keep-alive pool of plain TCP connections
 * per instance, a request head written as one string, the response read by http-response-parser.ts
 * and handed to the proxy through one handler object (no closure, stream or event emitter per
 * request).
 *
 * Why not node:http's client with an Agent, which this replaced: measured with
 * `node bench/http-proxy.mjs --only express --modes direct,http` at half load on the 2-core
 * machine, node:http's ClientRequest/IncomingMessage/Agent path took 57 µs of the proxy's CPU per
 * request and moved the median from 0.16 to 1.06 ms (p99 +6.2 ms); a raw-socket client took 38 µs,
 * median 0.26 ms, p99 +0.63 ms. undici was slower still than node:http here (docs/http-proxy.md).
 *
 * What the proxy relies on, kept from node:http:
 * - exactly one `release` per request, after its `end` or `error` (never before the `error`
 *   handler has routed a retry, so the instance's in-flight count does not touch 0 in between);
 * - `error(code, responseStarted)` with node's codes: ECONNREFUSED from connect, ECONNRESET when the
 *   connection broke or ended before the response did (node's "socket hang up"), EPIPE, or the
 *   parser's HPE_* for a malformed response;
 * - a connection is reused only after a complete response to a completely sent request with
 *   keep-alive; `fresh` asks for a new one (a retry to the same instance);
 * - backpressure both ways: the response pauses while the client's socket is full, the request
 *   body is written with the socket's callback.
 *
 * Added:
 * - an idle connection is not reused past the server's `Keep-Alive: timeout=N` less one second, or
 *   past 4 s when the server does not say (undici's rule), so a request rarely lands on a
 *   connection the server is closing (a POST there would get a 502, as it may not be sent again);
 * - a response timeout: a request sent in full whose connection then carries nothing for
 *   `responseTimeoutMs` before its response head fails with ETIMEDOUT (the proxy answers 504; nginx's
 *   proxy_read_timeout, 60 s by default too). It is the socket's own idle timer, so it costs no
 *   timer per request; once the head is there a response may go quiet for as long as it likes (an
 *   SSE stream), and while the client is still uploading its client-side limits apply instead. An
 *   idle pooled connection that reaches it is closed: it could not be reused by then anyway.
 */

import * as net from 'node:net';
import type { Socket } from 'node:net';
import { ResponseParseError, ResponseParser, type ResponseHead } from './http-response-parser.js';

export interface UpstreamHandler<T, O> {
  /** The final response head arrived. */
  head(ex: T, head: ResponseHead): void;
  /** A body chunk; false: the client is full, call `resume()` on its 'drain'. */
  data(ex: T, chunk: Buffer): boolean;
  /** The response is complete. */
  end(ex: T): void;
  /** The request failed; `responseStarted`: its head had arrived. */
  error(ex: T, code: string, responseStarted: boolean): void;
  /** After `end` or `error`, once per request: nothing of it is in flight at `owner` any more. */
  release(ex: T, owner: O): void;
}

/** How a request's body is framed: none, Content-Length (passed as is) or chunked (encoded here). */
export type BodyFraming = 'none' | 'length' | 'chunked';

/** Idle reuse when the server does not announce its keep-alive timeout (undici's default). */
const DEFAULT_KEEP_ALIVE_MS = 4000;
/** Margin before the server's announced keep-alive timeout. */
const KEEP_ALIVE_MARGIN_MS = 1000;

export class UpstreamPool<T, O> {
  /** Idle connections, most recently used last (LIFO keeps few connections warm). */
  private readonly idle: Upstream<T, O>[] = [];
  private readonly all = new Set<Upstream<T, O>>();
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly owner: O,
    readonly handler: UpstreamHandler<T, O>,
    readonly maxHeadSize: number,
    readonly responseTimeoutMs: number,
  ) {}

  /** Sends a request head (`head`, ending in CRLF CRLF) for `ex`; the body, if any, follows with `writeBody`. */
  request(ex: T, head: string, framing: BodyFraming, headRequest: boolean, fresh: boolean): Upstream<T, O> {
    const connection = (fresh ? undefined : this.reusable()) ?? this.connect();
    connection.send(ex, head, framing, headRequest);
    return connection;
  }

  /** Closes every connection, idle or busy (the instance retired with nothing in flight, or the proxy closing). */
  destroy(): void {
    this.closed = true;
    for (const connection of [...this.all]) connection.socket.destroy();
    this.idle.length = 0;
  }

  get size(): number {
    return this.all.size;
  }

  /** Called by a connection whose exchange ended cleanly. */
  keep(connection: Upstream<T, O>): void {
    if (this.closed) connection.socket.destroy();
    else this.idle.push(connection);
  }

  forget(connection: Upstream<T, O>): void {
    this.all.delete(connection);
    const at = this.idle.lastIndexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
  }

  private reusable(): Upstream<T, O> | undefined {
    const now = performance.now();
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      if (connection.reuseUntil > now && !connection.socket.destroyed) return connection;
      this.all.delete(connection);
      connection.socket.destroy();
    }
    return undefined;
  }

  private connect(): Upstream<T, O> {
    const connection = new Upstream(this, net.connect({ host: this.host, port: this.port, noDelay: true }));
    this.all.add(connection);
    return connection;
  }
}

/** One upstream connection; it carries one request at a time. */
export class Upstream<T, O> {
  private readonly parser: ResponseParser;
  /** The request it carries; null when idle (or after its end, error or abort). */
  private ex: T | null = null;
  private responded = false;
  private bodyDone = true;
  private framing: BodyFraming = 'none';
  private keepAlive = false;
  /** How long it may sit idle and still be reused (from the response's Keep-Alive header). */
  private idleReuseMs = DEFAULT_KEEP_ALIVE_MS;
  private errorCode: string | null = null;
  /** performance.now() after which it is not reused (set when it goes idle). */
  reuseUntil = 0;

  constructor(
    private readonly pool: UpstreamPool<T, O>,
    readonly socket: Socket,
  ) {
    // The parser's events stay private: `end` here would read as "end the connection".
    this.parser = new ResponseParser({ head: (head) => this.onHead(head), body: (chunk) => this.onBody(chunk), end: () => this.complete() }, pool.maxHeadSize);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.errorCode ??= error.code ?? 'ERROR';
    });
    socket.on('close', () => this.onClose());
    // A listener of its own: setTimeout's callback would be a one-time listener, gone after a
    // quiet spell during an upload. Infinity: no response timeout (a timer would overflow).
    if (Number.isFinite(pool.responseTimeoutMs)) {
      socket.setTimeout(pool.responseTimeoutMs);
      socket.on('timeout', () => this.onQuiet());
    }
  }

  /** Still connecting: a body must wait for 'connect' (a refused connection then leaves it unread). */
  get connecting(): boolean {
    return this.socket.connecting;
  }

  send(ex: T, head: string, framing: BodyFraming, headRequest: boolean): void {
    this.ex = ex;
    this.errorCode = null;
    this.responded = false;
    this.framing = framing;
    this.bodyDone = framing === 'none';
    this.parser.expect(headRequest);
    this.socket.write(head, 'latin1');
  }

  /**
   * A chunk of `ex`'s request body; `done` runs once the socket took it (never with an error: a
   * connection that breaks fails the request through `error`). Ignored once `ex` is over.
   */
  writeBody(ex: T, chunk: Buffer, done: () => void): void {
    if (this.ex !== ex || this.socket.destroyed) {
      done();
      return;
    }
    const written = (): void => done();
    if (this.framing !== 'chunked') {
      this.socket.write(chunk, written);
      return;
    }
    this.socket.cork();
    this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    this.socket.write(chunk);
    this.socket.write('\r\n', 'latin1', written);
    this.socket.uncork();
  }

  /** `ex`'s request body is complete (a response that came first completed the exchange already). */
  endBody(ex: T): void {
    if (this.ex !== ex) return;
    if (this.framing === 'chunked' && !this.socket.destroyed) this.socket.write('0\r\n\r\n', 'latin1');
    this.bodyDone = true;
  }

  /** The client is ready for more of the response. */
  resume(): void {
    this.socket.resume();
  }

  /** The client went away: drop the connection (the response cannot be finished), release `ex`. */
  abort(ex: T): void {
    if (this.ex !== ex) return;
    this.ex = null;
    this.socket.destroy();
    this.pool.handler.release(ex, this.pool.owner);
  }

  // --- the parser's events ----------------------------------------------------------------------

  private onHead(head: ResponseHead): void {
    this.responded = true;
    this.keepAlive = head.keepAlive;
    this.idleReuseMs = head.keepAliveTimeoutMs === -1 ? DEFAULT_KEEP_ALIVE_MS : head.keepAliveTimeoutMs - KEEP_ALIVE_MARGIN_MS;
    if (this.ex !== null) this.pool.handler.head(this.ex, head);
  }

  private onBody(chunk: Buffer): void {
    if (this.ex !== null && !this.pool.handler.data(this.ex, chunk)) this.socket.pause();
  }

  /**
   * The response is complete. An early answer (before the request body was all sent) completes the
   * exchange too; that connection is not reused.
   */
  private complete(): void {
    const ex = this.ex;
    if (ex === null) return;
    this.ex = null;
    if (this.keepAlive && this.bodyDone && !this.socket.destroyed) {
      // Paused for a slow client during the last read: the next request must be able to read.
      this.socket.resume();
      this.reuseUntil = performance.now() + this.idleReuseMs;
      this.pool.keep(this);
    } else {
      this.socket.destroy();
    }
    this.pool.handler.end(ex);
    this.pool.handler.release(ex, this.pool.owner);
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.execute(chunk);
    } catch (error) {
      this.errorCode = error instanceof ResponseParseError ? error.code : 'HPE_INTERNAL';
      this.fail();
    }
  }

  private onEnd(): void {
    // A body that runs to the connection's end is complete now; anything else was cut short.
    if (this.ex !== null && this.parser.untilClose) this.parser.finish();
    this.fail();
  }

  private onClose(): void {
    this.fail();
  }

  /**
   * Nothing came or went for responseTimeoutMs. Awaiting a head with the request all sent: the
   * instance did not answer in time. Idle: too old to reuse. Streaming either way: not our timer's
   * business (the client's limits bound an upload; a response may go quiet).
   */
  private onQuiet(): void {
    if (this.ex === null) this.fail();
    else if (this.bodyDone && !this.responded) {
      this.errorCode = 'ETIMEDOUT';
      this.fail();
    }
  }

  // --- the socket -------------------------------------------------------------------------------

  private fail(): void {
    if (!this.socket.destroyed) this.socket.destroy();
    // Out of the pool at once, not at 'close': a request in between must not be handed a dead connection.
    this.pool.forget(this);
    const ex = this.ex;
    if (ex === null) return;
    this.ex = null;
    this.pool.handler.error(ex, this.errorCode ?? 'ECONNRESET', this.responded);
    this.pool.handler.release(ex, this.pool.owner);
  }
}
