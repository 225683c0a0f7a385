/**
 * Writing to the HTTP reload proxy's client (issue 13): an instance's response head passed on, or
 * the proxy's own JSON answer (502, 503, 413).
 */

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { responseHeaders } from './http-proxy-headers.js';
import type { ResponseHead } from './http-response-parser.js';

/**
 * Writes an instance's response head to the client: status, headers minus hop-by-hop ones
 * (`Connection: close` added when `closing`). The body follows chunk by chunk (http-proxy.ts).
 *
 * @throws TypeError (ERR_INVALID_CHAR, ERR_INVALID_HTTP_TOKEN) when a header or the reason phrase
 * holds what node's server refuses to send.
 */
export function writeResponseHead(res: ServerResponse, head: ResponseHead, closing: boolean): void {
  res.sendDate = false; // the instance's own Date header is passed on
  res.writeHead(head.status, head.statusText, responseHeaders(head.rawHeaders, closing));
  // A streamed response (SSE, chunked) may send its first chunk much later: headers now.
  if (head.contentLength === -1) res.flushHeaders();
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
  // Nothing of an instance's head it could not pass on (headers, reason phrase) goes with ours.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusMessage = '';
  res.sendDate = true;
  const text = JSON.stringify(body);
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}
