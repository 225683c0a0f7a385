/**
 * Header rewriting for the HTTP reload proxy (issue 13), on Node's flat raw-header arrays
 * ([name, value, name, value…]): they are what the parser produced and what writeHead/request
 * accept, so no header object is built per request. Names are lowercased only when their length
 * matches a header we act on, which keeps the common case allocation-free apart from the copy.
 */

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are not forwarded: the client's
 * connection ends at the proxy and the upstream one is the pool's. `transfer-encoding` is kept on
 * requests (node's client then re-chunks the streamed body; without it a body would lose its
 * framing) and dropped on responses (node's server chooses chunked or close-delimited for the
 * client's HTTP version).
 */
const REQUEST_DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);
const RESPONSE_DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
const LENGTHS = new Set([...REQUEST_DROP, ...RESPONSE_DROP, ...FORWARDED, 'content-length', 'host'].map((name) => name.length));

export interface RequestHeadInfo {
  /** The headers to send upstream. */
  headers: string[];
  /** The request has a body (content-length > 0 or transfer-encoding). */
  hasBody: boolean;
  /**
   * How the body goes upstream: as is after a Content-Length, re-chunked after a Transfer-Encoding
   * (node's server has decoded the client's chunks; the header is kept), or none.
   */
  framing: 'none' | 'length' | 'chunked';
  /** Content-Length when given, else -1. */
  contentLength: number;
  /** The client sent a Host header (an HTTP/1.0 client may not; the upstream request gets one). */
  hasHost: boolean;
}

/**
 * The upstream request headers: hop-by-hop ones and those named in `Connection` dropped,
 * X-Forwarded-For appended to, X-Forwarded-Proto/-Host set (when `forwardedFor`, the client's
 * address, is not null).
 * `keepUpgrade` keeps Connection/Upgrade for a WebSocket handshake.
 */
export function requestHeaders(raw: readonly string[], forwardedFor: string | null, keepUpgrade = false): RequestHeadInfo {
  const headers: string[] = [];
  let named: string[] | undefined;
  let xff: string | undefined;
  let host: string | undefined;
  let hasBody = false;
  let chunked = false;
  let contentLength = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        named = connectionTokens(value, named);
        if (keepUpgrade) headers.push(name, value);
        continue;
      }
      if (lower === 'upgrade' && keepUpgrade) {
        headers.push(name, value);
        continue;
      }
      if (REQUEST_DROP.has(lower)) continue;
      if (lower === 'content-length') {
        contentLength = Number(value);
        if (contentLength > 0) hasBody = true;
      } else if (lower === 'transfer-encoding') {
        hasBody = true;
        chunked = true;
      } else if (lower === 'host') {
        host = value;
      }
      if (forwardedFor !== null && FORWARDED.has(lower)) {
        // Ours replace the client's, except X-Forwarded-For, which lists every hop (nginx's
        // $proxy_add_x_forwarded_for): ", client" is appended below.
        if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      }
    }
    headers.push(name, value);
  }
  if (named !== undefined) dropNamed(headers, named);
  if (forwardedFor !== null) {
    headers.push('X-Forwarded-For', xff === undefined ? forwardedFor : `${xff}, ${forwardedFor}`, 'X-Forwarded-Proto', 'http');
    if (host !== undefined) headers.push('X-Forwarded-Host', host);
  }
  const framing = chunked ? 'chunked' : hasBody ? 'length' : 'none';
  return { headers, hasBody, framing, contentLength, hasHost: host !== undefined };
}

/**
 * The upstream request head as one string, ending in CRLF CRLF. The method, target and headers
 * come from node's parser, which rejected CR, LF and NUL in them: nothing can be injected.
 * `host` is the Host header to add when the client sent none (as node's client did).
 */
export function requestHead(method: string, url: string, info: RequestHeadInfo, host: string): string {
  let head = `${method} ${url} HTTP/1.1\r\n`;
  const { headers } = info;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`;
  if (!info.hasHost) head += `Host: ${host}\r\n`;
  return `${head}\r\n`;
}

/** The response headers for the client: hop-by-hop ones and those named in `Connection` dropped. */
export function responseHeaders(raw: readonly string[], closing: boolean): string[] {
  const headers: string[] = [];
  let named: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') named = connectionTokens(value, named);
      if (RESPONSE_DROP.has(lower)) continue;
    }
    headers.push(name, value);
  }
  if (named !== undefined) dropNamed(headers, named);
  // Shutting down: tell keep-alive clients to open their next connection elsewhere (or later).
  if (closing) headers.push('Connection', 'close');
  return headers;
}

/**
 * Headers a Connection value may not remove: the message's framing and its Host. Dropping
 * Content-Length or Transfer-Encoding would send the body upstream unframed, where the instance
 * would read it as a request of its own (request smuggling).
 */
const NEVER_NAMED = new Set(['keep-alive', 'close', 'upgrade', 'content-length', 'transfer-encoding', 'host']);

/** Header names listed in a Connection value other than the usual keep-alive/close/upgrade and the framing ones. */
function connectionTokens(value: string, into: string[] | undefined): string[] | undefined {
  let out = into;
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t === '' || NEVER_NAMED.has(t)) continue;
    (out ??= []).push(t);
  }
  return out;
}

function dropNamed(headers: string[], named: readonly string[]): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (named.includes((headers[i] as string).toLowerCase())) headers.splice(i, 2);
  }
}
