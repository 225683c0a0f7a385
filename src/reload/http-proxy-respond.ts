/**
 * Writing to the HTTP reload proxy's client (issue 13): an instance's response passed on, or the
 * proxy's own JSON answer (502, 503, 413). Hot path, so the body is relayed by listeners shared by
 * every response (they find the client's response through a symbol on the instance's one) rather
 * than by pipe(), which adds and removes seven listeners per response.
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { responseHeaders } from './http-proxy-headers.js';

const CLIENT = Symbol('client');
const BODY = Symbol('body');
type Body = IncomingMessage & { [CLIENT]: ServerResponse };
type Client = ServerResponse & { [BODY]?: IncomingMessage };

/**
 * Passes `ures` (an instance's response) on to `res`: status, headers minus hop-by-hop ones
 * (`Connection: close` added when `closing`), then the body chunk by chunk with backpressure as
 * pipe() has it (the instance's response pauses while the client's socket is full).
 */
export function relayResponse(res: ServerResponse, ures: IncomingMessage, closing: boolean): void {
  res.sendDate = false; // the instance's own Date header is passed on
  res.writeHead(ures.statusCode ?? 502, ures.statusMessage, responseHeaders(ures.rawHeaders, closing));
  // A streamed response (SSE, chunked) may send its first chunk much later: headers now.
  if (ures.headers['content-length'] === undefined) res.flushHeaders();
  (ures as Body)[CLIENT] = res;
  (res as Client)[BODY] = ures;
  ures.on('data', onBodyData);
  ures.on('end', onBodyEnd);
}

function onBodyData(this: Body, chunk: Buffer): void {
  const res = this[CLIENT];
  if (!res.write(chunk)) {
    this.pause();
    res.once('drain', onClientDrain);
  }
}

function onBodyEnd(this: Body): void {
  this[CLIENT].end();
}

function onClientDrain(this: Client): void {
  this[BODY]?.resume();
}

/**
 * The proxy's own answer, JSON. `close`: the connection cannot carry another request (the request
 * body was not read, or the proxy is shutting down). A response already begun is cut instead.
 */
export function replyJson(res: ServerResponse, status: number, body: Record<string, unknown>, close: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}
