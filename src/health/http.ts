/**
 * The HTTP probe: one `GET` of the health path, judged like Kubernetes judges an httpGet probe
 * (200–399 is up; redirects are not followed).
 *
 * Built on node:http rather than fetch: fetch (undici) pools keep-alive connections and has no
 * per-request connect+response deadline we fully control, while a probe wants one fresh
 * connection, closed right after, and an exact timeout that destroys the socket.
 */

import type { ClientRequest, IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
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
 * The first bytes of a failing answer's body kept for its message (`→ HTTP 503 {"db":"down"}`):
 * enough for a JSON error or a one-line reason, short enough for one terminal line.
 */
export const HTTP_PROBE_BODY_HEAD = 200;

/** node:http, once the first probe has loaded it. */
let http: typeof import('node:http') | undefined;

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
export async function probeHttp(options: HttpProbeOptions): Promise<ProbeResult> {
  const invalid = validateProbeTarget(options.port, options.timeout);
  if (invalid !== undefined) return invalid;
  return probeWith(options);
}

/**
 * node:http (six modules of Node's own) loads once something accepted the probe's connection, not
 * before: a start's first probes, at once after the spawn and 10, 20, 40 ms later, find nothing
 * listening yet, and loading it then (~3 ms of CPU, 6 in a profile) competed with the server's own
 * start-up for the 2 cores (issue 19). So the probe connects with node:net (loaded already) and
 * hands that socket to the request. Through process.getBuiltinModule, not import(): from the
 * CommonJS start bundle (scripts/bundle.mjs) an import() of a builtin starts Node's ESM loader
 * first, 1.7 ms more at each start (measured).
 */
function httpModule(): typeof import('node:http') {
  http ??= process.getBuiltinModule('node:http');
  return http;
}

function probeWith(options: HttpProbeOptions): Promise<ProbeResult> {
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
    const socket = new Socket();

    const settle = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Destroy, don't end: the connection is never reused, and destroying is what stops a body
      // we chose not to read (and a server that never answers).
      req?.destroy();
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => settle(answered ?? abortedResult(elapsed()));
    const timer = setTimeout(() => {
      const phase = connected
        ? `waiting for a response from ${where} (it accepted the connection but did not answer GET ${path})`
        : `connecting to ${where}`;
      settle(answered ?? { ...timedOutResult(timeout, elapsed(), phase), connected });
    }, timeout);
    signal?.addEventListener('abort', onAbort, { once: true });

    // node:http's own check of the path, made before the connection: a path it would refuse is
    // the config's mistake, reported whatever the server's state (ERR_UNESCAPED_CHARACTERS).
    if (/[^\u0021-\u00ff]/.test(path)) {
      settle(socketErrorResult(Object.assign(new TypeError('Request path contains unescaped characters'), { code: 'ERR_UNESCAPED_CHARACTERS' }), elapsed(), host, where, 'request'));
      return;
    }
    // Before the request exists, a socket error is a failed connect; after, the request reports it.
    const onConnectError = (error: unknown): void => settle({ ...socketErrorResult(error, elapsed(), host, where, 'connect'), connected });
    socket.on('error', onConnectError);
    socket.once('connect', () => {
      connected = true;
      socket.off('error', onConnectError);
      if (!done) request(httpModule());
    });
    try {
      socket.connect({ host, port: options.port });
    } catch (error) {
      settle(socketErrorResult(error, elapsed(), host, where, 'connect'));
    }

    const request = ({ request: send, STATUS_CODES }: typeof import('node:http')): void => {
      try {
        req = send({
          host,
          port: options.port,
          path,
          method: 'GET',
          // No agent: the one fresh connection made above, closed after the answer, as a client's.
          createConnection: () => socket,
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
      // Also fires (harmlessly, after settle) when settle() destroys the request.
      req.on('error', (error) => settle(answered ?? { ...socketErrorResult(error, elapsed(), host, where, 'request'), connected }));
      req.on('response', (res: IncomingMessage) => {
        const result = statusResult(res, path, elapsed(), STATUS_CODES);
        answered = result;
        let received = 0;
        const head: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          // A failing answer's body usually says why (`{"db":"down"}`): keep its head for the message.
          if (!result.ok && received < HTTP_PROBE_BODY_HEAD) head.push(chunk.subarray(0, HTTP_PROBE_BODY_HEAD - received));
          received += chunk.length;
          if (received >= HTTP_PROBE_BODY_CAP) settle(withBodyHead(result, head));
        });
        const finish = (): void => settle(withBodyHead(result, head));
        res.on('end', finish);
        // A reset mid-body does not change the status the server already gave.
        res.on('error', finish);
        res.on('close', finish);
      });
      req.end();
    };
  });
}

function statusResult(res: IncomingMessage, path: string, latencyMs: number, STATUS_CODES: Record<number, string | undefined>): ProbeResult {
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
  // The answer alone; withBodyHead() adds the body's head and what it means.
  return { ...base, ok: false, detail: `GET ${path} → HTTP ${status}` };
}

/** What a failing status means for the user, and what to do about it. */
export function httpStatusMeaning(status: number): { meaning: string; fix: string } {
  if (status === 404) return { meaning: 'the server is up but has no such route', fix: 'set health.path to one that answers 200 (naija-sup doctor lists the common ones that do)' };
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
