/**
 * Raw-socket work of the HTTP reload proxy (issue 13): answering requests Node's parser rejected,
 * and upgrades. A WebSocket (or any `Connection: Upgrade`) handshake is forwarded to the instance current at that moment; once it answers 101 the two
 * sockets are piped both ways and the proxy steps out of the protocol. The tunnel counts as in
 * flight on that instance until both sides close, so a reload's drain waits for it (bounded).
 */

import * as http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { formatDuration } from '../elapsed.js';

export interface UpgradeOptions {
  req: IncomingMessage;
  socket: Socket;
  /** Bytes the client sent after its request head (the first frames). */
  head: Buffer;
  targetHost: string;
  port: number;
  /** Request headers to send, Connection/Upgrade kept. */
  headers: string[];
  /** Open tunnels of this instance (closed by the proxy's close()). */
  tunnels: Set<Socket>;
  onError(code: string): void;
  /** The instance's answer to the handshake (101, or a refusal such as 400/426). */
  onStatus(status: number): void;
  /** Called once, when the exchange is over (tunnel closed, refusal sent, or failure). */
  onDone(): void;
  /**
   * The instance must answer the handshake within this long of it being sent (limits.responseTimeout),
   * ms; else the client gets 504. A tunnel, once open, has no such limit.
   */
  responseTimeoutMs: number;
}

/** After one side of a tunnel has ended, the other gets this long to end too, ms. */
const LINGER_MS = 5000;

export function forwardUpgrade(options: UpgradeOptions): void {
  const { req, socket } = options;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    options.onDone();
  };
  // Upgrade connections are long-lived and one-off: never from (or back to) the keep-alive pool.
  const upstream = http.request({ host: options.targetHost, port: options.port, method: req.method, path: req.url, headers: options.headers, agent: false });
  // Until the instance answers, the client's bytes are kept for it, and its hang-up (a FIN: the
  // socket allows half-open; or a reset) ends the handshake. Unread, a FIN would go unseen and the
  // request to the instance would wait for an answer nobody wants.
  const early: Buffer[] = [];
  const keep = (chunk: Buffer): void => void early.push(chunk);
  let clientGone = false;
  const hungUp = (): void => {
    clientGone = true;
    upstream.destroy();
    socket.destroy();
    finish();
  };
  const stopWatching = (): void => {
    socket.off('data', keep);
    socket.off('end', hungUp);
    socket.off('error', hungUp);
  };
  socket.on('data', keep);
  socket.once('end', hungUp);
  socket.once('error', hungUp);
  const timedOut = answerDueWithin(upstream, options.responseTimeoutMs);
  upstream.on('upgrade', (ures: IncomingMessage, usocket: Socket, uhead: Buffer) => {
    stopWatching();
    upstream.setTimeout(0);
    usocket.setTimeout(0);
    openTunnel(options, ures, usocket, uhead, early, finish);
  });
  // The instance declined the upgrade: pass its answer on, then close (the head was consumed).
  upstream.on('response', (ures: IncomingMessage) => {
    stopWatching();
    upstream.setTimeout(0);
    options.onStatus(ures.statusCode ?? 502);
    socket.write(responseHead(ures.statusCode ?? 502, ures.statusMessage, [...stripConnection(ures.rawHeaders), 'Connection', 'close']));
    ures.pipe(socket);
    ures.once('end', finish);
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    stopWatching();
    // The client left first (hungUp destroyed the request): nobody to answer, nothing to count.
    if (clientGone) return;
    const code = timedOut() ? 'ETIMEDOUT' : (error.code ?? 'ERROR');
    options.onError(code);
    const status = code === 'ETIMEDOUT' ? 504 : 502;
    options.onStatus(status);
    rawResponse(socket, status, status === 504
      ? { error: 'gateway_timeout', cause: code, message: `The instance did not answer the upgrade within ${formatDuration(options.responseTimeoutMs)} (proxy.responseTimeout).` }
      : { error: 'bad_gateway', cause: code, message: `The instance failed the upgrade (${code}).` });
    finish();
  });
  socket.once('close', () => {
    if (!options.tunnels.has(socket)) upstream.destroy();
  });
  upstream.end();
}

/**
 * The handshake's answer is due within `ms` of the connection to the instance going quiet: after
 * that the request is destroyed (its 'error' follows). Returns whether that happened. Infinity: never.
 */
function answerDueWithin(upstream: http.ClientRequest, ms: number): () => boolean {
  let timedOut = false;
  if (Number.isFinite(ms)) {
    upstream.setTimeout(ms, () => {
      timedOut = true;
      upstream.destroy();
    });
  }
  return () => timedOut;
}

/** The instance said 101: pipe the two sockets both ways until both sides have closed. */
function openTunnel(options: UpgradeOptions, ures: IncomingMessage, usocket: Socket, uhead: Buffer, early: readonly Buffer[], finish: () => void): void {
  const { socket, head } = options;
  options.onStatus(ures.statusCode ?? 101);
  usocket.on('error', () => socket.destroy());
  socket.on('error', () => usocket.destroy());
  socket.write(responseHead(ures.statusCode ?? 101, ures.statusMessage, ures.rawHeaders));
  if (uhead.length > 0) socket.write(uhead);
  if (head.length > 0) usocket.write(head);
  for (const chunk of early) usocket.write(chunk);
  options.tunnels.add(socket);
  let open = 2;
  const onClose = (): void => {
    open -= 1;
    if (open > 0) return;
    options.tunnels.delete(socket);
    finish();
  };
  socket.once('close', () => {
    usocket.destroy();
    onClose();
  });
  usocket.once('close', () => {
    socket.destroy();
    onClose();
  });
  // Half-close passes through (pipe ends the other side); a peer that then never closes its own
  // side must not hold the tunnel, and the reload's drain, forever.
  const linger = (): void => {
    setTimeout(() => {
      socket.destroy();
      usocket.destroy();
    }, LINGER_MS).unref();
  };
  socket.once('end', linger);
  usocket.once('end', linger);
  usocket.pipe(socket);
  socket.pipe(usocket);
}

/**
 * Answers a request Node's parser rejected (the 'clientError' event), as Node's default handler
 * would: 431 for an oversize head, 408 for a timed-out one (slowloris), 400 otherwise, then closes.
 * A connection the client reset, or one with a response under way, is only closed. Returns whether
 * the error was the client's doing worth counting (not a plain reset).
 */
export function answerClientError(code: string, socket: Socket): boolean {
  if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return false;
  }
  const busy = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (busy) {
    socket.destroy();
    return true;
  }
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.setTimeout(1000, () => socket.destroy());
  return true;
}

/** A complete response written straight on a socket that left HTTP (no ServerResponse exists). */
export function rawResponse(socket: Socket, status: number, body: Record<string, unknown>): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(body);
  socket.end(`${responseHead(status, undefined, ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(text)), 'Connection', 'close'])}${text}`);
}

function responseHead(status: number, message: string | undefined, raw: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message ?? http.STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

function stripConnection(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}
