/**
 * The HTTP probe: one `GET` of the health path, judged like Kubernetes judges an httpGet probe
 * (200–399 is up; redirects are not followed).
 *
 * Built on node:http rather than fetch: fetch (undici) pools keep-alive connections and has no
 * per-request connect+response deadline we fully control, while a probe wants one fresh
 * connection, closed right after, and an exact timeout that destroys the socket.
 */

import { STATUS_CODES, request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  abortedResult,
  formatHostPort,
  formatMs,
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
 * Sends one `GET path` to `host:port` on a fresh connection (`agent: false`, `Connection: close`)
 * and resolves (never rejects) with what happened:
 * - status 200–399 → ok (`"200 OK in 3 ms"`); a 3xx is not followed;
 * - 404 → not ok, `"HTTP 404 for /health (the server is up but the health path is wrong)"`;
 * - other statuses → not ok, with the status;
 * - no status → `error` is `'ECONNREFUSED'`, `'ETIMEDOUT'` (our deadline), `'ECONNRESET'`, `'ABORTED'`
 *   or another socket code.
 *
 * The body is read and discarded up to {@link HTTP_PROBE_BODY_CAP} bytes, then the socket is
 * destroyed; it is also destroyed on timeout and abort. `latencyMs` is the time to the response
 * headers. If the deadline or an abort comes after the status arrived, the status result stands.
 */
export function probeHttp(options: HttpProbeOptions): Promise<ProbeResult> {
  const invalid = validateProbeTarget(options.port, options.timeout);
  if (invalid !== undefined) return Promise.resolve(invalid);
  if (options.signal?.aborted === true) return Promise.resolve(abortedResult(0));

  const host = unbracketHost(options.host);
  const where = formatHostPort(host, options.port);
  const path = options.path.startsWith('/') ? options.path : `/${options.path}`;
  const { signal, timeout } = options;

  return new Promise<ProbeResult>((resolve) => {
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    let done = false;
    let connected = false;
    // Set as soon as the status line arrives: from then on every ending reports the status.
    let answered: ProbeResult | undefined;
    let req: ClientRequest | undefined;

    const settle = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Destroy, don't end: the connection is never reused, and destroying is what stops a body
      // we chose not to read (and a server that never answers).
      req?.destroy();
      resolve(result);
    };
    const onAbort = (): void => settle(answered ?? abortedResult(elapsed()));
    const timer = setTimeout(() => {
      const phase = connected
        ? `waiting for a response from ${where} (it accepted the connection but did not answer GET ${path})`
        : `connecting to ${where}`;
      settle(answered ?? timedOutResult(timeout, elapsed(), phase));
    }, timeout);
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      req = request({
        host,
        port: options.port,
        path,
        method: 'GET',
        // A one-off agent without keep-alive: each probe tests a fresh connect, as a client would.
        agent: false,
        headers: {
          Host: where,
          Connection: 'close',
          Accept: '*/*',
          'User-Agent': 'naija-sup-health-probe',
        },
      });
    } catch (error) {
      // Synchronous throws: an unescaped character in the path, an invalid header value.
      settle(socketErrorResult(error, elapsed(), host, where, 'request'));
      return;
    }

    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => (connected = true));
      else connected = true;
    });
    // Also fires (harmlessly, after settle) when settle() destroys the request.
    req.on('error', (error) => settle(answered ?? socketErrorResult(error, elapsed(), host, where, connected ? 'request' : 'connect')));
    req.on('response', (res: IncomingMessage) => {
      const result = statusResult(res, path, elapsed());
      answered = result;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= HTTP_PROBE_BODY_CAP) settle(result);
      });
      const finish = (): void => settle(result);
      res.on('end', finish);
      // A reset mid-body does not change the status the server already gave.
      res.on('error', finish);
      res.on('close', finish);
    });
    req.end();
  });
}

function statusResult(res: IncomingMessage, path: string, latencyMs: number): ProbeResult {
  const status = res.statusCode ?? 0;
  const reason = res.statusMessage !== undefined && res.statusMessage !== '' ? res.statusMessage : (STATUS_CODES[status] ?? '');
  const statusText = reason === '' ? String(status) : `${status} ${reason}`;
  const base = { latencyMs: roundMs(latencyMs), status };

  if (status >= 200 && status < 400) {
    let detail = `${statusText} in ${formatMs(latencyMs)}`;
    if (status >= 300) {
      const location = res.headers.location;
      detail += location === undefined ? ' (redirect, not followed)' : ` (redirect to ${location}, not followed)`;
    }
    return { ...base, ok: true, detail };
  }
  if (status === 404) {
    return { ...base, ok: false, detail: `HTTP 404 for ${path} (the server is up but the health path is wrong)` };
  }
  if (status >= 500) {
    return { ...base, ok: false, detail: `HTTP ${statusText} for ${path} (the server is up but reports an error)` };
  }
  if (status >= 400) {
    return { ...base, ok: false, detail: `HTTP ${statusText} for ${path} (the server is up but refused the health request)` };
  }
  return { ...base, ok: false, detail: `HTTP ${statusText} for ${path} (not a final status)` };
}
