/**
 * The HTTP probe: one `GET` of the health path, judged like Kubernetes judges an httpGet probe
 * (200–399 is up; redirects are not followed).
 *
 * One fresh connection, closed right after the answer, and an exact deadline that destroys the
 * socket: not fetch (undici pools keep-alive connections and has no connect+response deadline we
 * fully control). Not node:http either: the request is one string on a node:net socket and the
 * answer is read by the HTTP reload proxy's response parser (src/reload/http-response-parser.ts,
 * tested byte by byte). node:http is six modules of Node's own and its llhttp parser: loading it
 * cost the background supervisor ~0.8 MiB of its idle RSS for the one probe a start makes
 * (issue 19; scripts/bundle.mjs has the figures), and ~3 ms of CPU beside the server's start-up.
 */

import { ResponseParser, type ResponseHead } from '../reload/http-response-parser.js';
import { STATUS_REASONS } from './status-reasons.js';
import {
  abortedResult,
  formatHostPort,
  formatMs,
  probeSocket,
  roundMs,
  socketErrorResult,
  timedOutResult,
  unbracketHost,
  validateProbeTarget,
} from './tcp.js';
import type { ProbeResult } from './tcp.js';

/**
 * The most body the probe reads before it closes the connection. A health body is small; a
 * misconfigured path can point at a large download, which the probe must not pull in full.
 */
export const HTTP_PROBE_BODY_CAP = 64 * 1024;

/** Options of {@link probeHttp}. */
export interface HttpProbeOptions {
  /** An IP literal (`127.0.0.1`, `::1`, `[::1]`) or a host name. Prefer literals: see {@link probeHostFor}. */
  host: string;
  port: number;
  /** The health path, e.g. `/health`; a missing leading slash is added. May carry a query string. */
  path: string;
  /** Deadline in ms for connect + response headers. Reading the (capped) body shares the same deadline. */
  timeout: number;
  /** Aborting resolves the probe with error `'ABORTED'` and destroys the socket. */
  signal?: AbortSignal | undefined;
}

/**
 * The first bytes of a failing answer's body kept for its message (`→ HTTP 503 {"db":"down"}`):
 * enough for a JSON error or a one-line reason, short enough for one terminal line.
 */
export const HTTP_PROBE_BODY_HEAD = 200;

/**
 * Sends one `GET path` to `host:port` on a fresh connection (`Connection: close`) and resolves
 * (never rejects) with what happened:
 * - status 200–399 → ok (`"200 OK in 3 ms"`); a 3xx is not followed;
 * - 404 → not ok, `"HTTP 404 for /health (the server is up but the path is wrong)"`;
 * - other statuses → not ok, with the status;
 * - no status → `error` is `'ECONNREFUSED'`, `'ETIMEDOUT'` (our deadline), `'ECONNRESET'` (closed
 *   without an answer), `'ABORTED'`, an `HPE_*` code (an answer that is not HTTP/1.x) or another
 *   socket code.
 *
 * The body is read and discarded up to {@link HTTP_PROBE_BODY_CAP} bytes, then the socket is
 * destroyed; it is also destroyed on timeout and abort. `latencyMs` is the time to the response
 * headers. If the deadline or an abort comes after the status arrived, the status result stands.
 */
export async function probeHttp(options: HttpProbeOptions): Promise<ProbeResult> {
  const invalid = validateProbeTarget(options.port, options.timeout);
  if (invalid !== undefined) return invalid;
  return probeWith(options);
}

/** The request, as node:http's client would have sent it; latin1, as it writes a path's bytes. */
function requestHead(path: string, where: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${where}\r\nConnection: close\r\nAccept: */*\r\nUser-Agent: naija-sup-health-probe\r\n\r\n`;
}

/** What HTTP/1.1 cannot carry in a request path (node:http's own rule, ERR_UNESCAPED_CHARACTERS). */
const UNSENDABLE_PATH = /[^\u0021-\u00ff]/;

function probeWith(options: HttpProbeOptions): Promise<ProbeResult> {
  if (options.signal?.aborted === true) return Promise.resolve(abortedResult(0));

  const host = unbracketHost(options.host);
  const where = formatHostPort(host, options.port);
  const path = options.path.startsWith('/') ? options.path : `/${options.path}`;
  // The config's mistake, reported whatever the server's state, and before any connection.
  if (UNSENDABLE_PATH.test(path)) {
    return Promise.resolve(socketErrorResult(Object.assign(new TypeError('Request path contains unescaped characters'), { code: 'ERR_UNESCAPED_CHARACTERS' }), 0, host, where, 'request'));
  }
  return new Promise<ProbeResult>((resolve) => exchange({ host, where, path, port: options.port, timeout: options.timeout, signal: options.signal }, resolve));
}

/** Where and how {@link exchange} asks: `where` is `host:port` as the Host header and messages show it. */
interface Exchange {
  host: string;
  where: string;
  path: string;
  port: number;
  timeout: number;
  signal: AbortSignal | undefined;
}

/** The GET on a fresh socket; `resolve` is called exactly once, with what happened. */
function exchange({ host, where, path, port, timeout, signal }: Exchange, resolve: (result: ProbeResult) => void): void {
  let connected = false;
  // Set as soon as the status line arrives: from then on every ending reports the status.
  let answered: ProbeResult | undefined;
  let received = 0;
  const head: Buffer[] = [];
  const { socket, settle, elapsed } = probeSocket(resolve, {
    signal,
    timeout,
    timedOut: (ms) => {
      const phase = connected
        ? `waiting for a response from ${where} (it accepted the connection but did not answer GET ${path})`
        : `connecting to ${where}`;
      return answered ?? { ...timedOutResult(timeout, ms, phase), connected };
    },
    aborted: (ms) => answered ?? abortedResult(ms),
  });
  const finish = (): void => settle(answered === undefined ? hungUp() : withBodyHead(answered, head));
  // Closed before a status line: what node:http's client calls "socket hang up".
  const hungUp = (): ProbeResult => ({ ...socketErrorResult(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), elapsed(), host, where, 'request'), connected });

  const parser = new ResponseParser({
    head: (response) => {
      answered = statusResult(response, path, elapsed());
    },
    body: (chunk) => {
      // A failing answer's body usually says why (`{"db":"down"}`): keep its head for the message.
      if (answered?.ok === false && received < HTTP_PROBE_BODY_HEAD) head.push(chunk.subarray(0, HTTP_PROBE_BODY_HEAD - received));
      received += chunk.length;
      if (received >= HTTP_PROBE_BODY_CAP) finish();
    },
    end: finish,
  }, undefined, true);
  parser.expect(false);
  // A socket error before the connection is a failed connect; after it, a failed request, unless
  // the status came already (a reset mid-body does not change the status the server gave).
  socket.on('error', (error) => settle(answered !== undefined ? withBodyHead(answered, head) : { ...socketErrorResult(error, elapsed(), host, where, connected ? 'request' : 'connect'), connected }));
  socket.once('connect', () => {
    connected = true;
    socket.setNoDelay(true);
    socket.write(requestHead(path, where), 'latin1');
  });
  socket.on('data', (chunk: Buffer) => {
    try {
      parser.execute(chunk);
    } catch (error) {
      // Not HTTP/1.x (a TLS server, a database…), or a broken answer: llhttp's HPE_* codes.
      settle(answered !== undefined ? withBodyHead(answered, head) : { ...socketErrorResult(error, elapsed(), host, where, 'request'), connected });
    }
  });
  socket.on('end', () => {
    parser.finish();
    finish();
  });
  socket.on('close', finish);
  try {
    socket.connect({ host, port });
  } catch (error) {
    settle(socketErrorResult(error, elapsed(), host, where, 'connect'));
  }
}

function statusResult(response: ResponseHead, path: string, latencyMs: number): ProbeResult {
  const { status } = response;
  const reason = response.statusText !== '' ? response.statusText : (STATUS_REASONS[status] ?? '');
  const statusText = reason === '' ? String(status) : `${status} ${reason}`;
  const base = { latencyMs: roundMs(latencyMs), status };

  if (status >= 200 && status < 400) {
    let detail = `${statusText} in ${formatMs(latencyMs)}`;
    if (status >= 300) {
      const location = headerValue(response.rawHeaders, 'location');
      detail += location === undefined ? ' (redirect, not followed)' : ` (redirect to ${location}, not followed)`;
    }
    return { ...base, ok: true, detail };
  }
  // The answer alone; withBodyHead() adds the body's head and what it means.
  return { ...base, ok: false, detail: `GET ${path} → HTTP ${status}` };
}

/** The first value of header `name` (lower case) in [name, value, …] pairs. */
function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if ((rawHeaders[i] as string).toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}

/** What a failing status means for the user, and what to do about it. */
export function httpStatusMeaning(status: number): { meaning: string; fix: string } {
  if (status === 404) return { meaning: 'the server is up but has no such route', fix: 'set health.path to a route that answers 200 (while the server runs, `naija-sup doctor` lists the common ones that do), or leave health.path out: then any answer below 500 on / means ready' };
  if (status >= 500) return { meaning: 'the server is up but reports an error', fix: 'read the server\'s log for the error; its health route answers 200 once it is well' };
  if (status >= 400) return { meaning: 'the server is up but refused the health request', fix: 'point health.path at a route that answers 200 without authentication' };
  return { meaning: 'not a final status', fix: 'point health.path at a route that answers 200' };
}

function withBodyHead(result: ProbeResult, head: Buffer[]): ProbeResult {
  if (result.ok || result.status === undefined) return result;
  const text = Buffer.concat(head).toString('utf8').replace(/\s+/g, ' ').trim();
  const bodyHead = text === '' ? undefined : text;
  // 404 needs no body to explain itself; other failures are often explained by theirs.
  const answer = `${result.detail}${bodyHead === undefined || result.status === 404 ? '' : ` ${bodyHead}`}`;
  const { meaning, fix } = httpStatusMeaning(result.status);
  return { ...result, ...(bodyHead === undefined ? {} : { bodyHead }), failure: { answer, meaning, fix }, detail: `${answer}: ${meaning}; ${fix}` };
}

/**
 * The default readiness rule, for a server whose user set no health check (issue 12): real apps
 * rarely have `/health`, so any HTTP answer below 500 means "up" (a 404 on `/` is "up, no such
 * route"), and a server that accepted the connection but does not speak HTTP (a non-HTTP reply,
 * a close without a reply, or silence until the deadline) is up as a TCP server. A 5xx is a server
 * that is up but says it is not well (a 503 while it warms up), so it is not ready yet.
 */
export function judgeAnyAnswer(result: ProbeResult, path: string): ProbeResult & { answered?: 'http' | 'tcp' } {
  if (result.status !== undefined) {
    if (result.status >= 500) return result;
    return { ...result, ok: true, answered: 'http', detail: `answers HTTP ${result.status} on ${path}` };
  }
  const acceptedOnly = result.connected === true && (result.error === 'ETIMEDOUT' || result.error === 'ECONNRESET' || (result.error ?? '').startsWith('HPE_'));
  if (!acceptedOnly) return result;
  return { ...result, ok: true, answered: 'tcp', detail: 'accepts TCP connections but does not answer HTTP' };
}
