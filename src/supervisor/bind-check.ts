/**
 * Is the server listening where naija-sup told it to? Real servers often are not (issue 12): a
 * NestJS or Fastify starter with a hard-coded port ignores PORT, gunicorn binds 0.0.0.0 unless
 * told otherwise. Pure: it judges the LISTEN sockets the instance's processes hold
 * (src/ports/listening.ts) against the configured port and host.
 */
import { coversHost, isWildcard } from '../ports/listening.js';

export interface Listening {
  address: string;
  port: number;
  endpoint: string;
}

export interface BindFinding {
  kind: 'other-port' | 'other-host';
  message: string;
  fix: string;
}

export interface Expected {
  port: number;
  host: string;
  /** Behind the proxy the port is a private one naija-sup chose: "set port to N" is no fix there. */
  privatePort: boolean;
}

const READ_PORT = 'make the server listen on the port in the PORT environment variable (app.listen(process.env.PORT), uvicorn --port $PORT, gunicorn -b 127.0.0.1:$PORT)';

/** What is wrong with where the server listens, or null when nothing is (or nothing listens yet). */
export function judgeListening(sockets: readonly Listening[], expected: Expected): BindFinding | null {
  if (sockets.length === 0) return null;
  const onPort = sockets.filter((s) => s.port === expected.port);
  if (onPort.length === 0) {
    const where = [...new Set(sockets.map((s) => s.endpoint))].join(', ');
    const first = sockets[0] as Listening;
    return {
      kind: 'other-port',
      message: `the server listens on ${where}, not on port ${expected.port} (PORT=${expected.port}): it ignores PORT`,
      fix: expected.privatePort ? `${READ_PORT}; in proxy mode it must use the private port naija-sup passes` : `${READ_PORT}, or set port to ${first.port}`,
    };
  }
  if (onPort.some((s) => coversHost(s.address, expected.host))) return null;
  const where = [...new Set(onPort.map((s) => s.endpoint))].join(', ');
  const wildcard = onPort.some((s) => isWildcard(s.address));
  return {
    kind: 'other-host',
    message: `the server listens on ${where}, not on ${expected.host} as configured (host)${wildcard ? ': it is reachable from other machines too' : ''}`,
    fix: `pass the host to the server (gunicorn -b ${expected.host}:$PORT, uvicorn --host ${expected.host}, app.listen(PORT, process.env.HOST)), or set host to ${onPort[0]?.address ?? expected.host} if that is what you want`,
  };
}

/** The port named in a bind failure's line: Node's `… :::3000`, Python's `('127.0.0.1', 8000)`. */
export function portInBindError(line: string): number | null {
  const found = [...line.matchAll(/(?::|,\s*)(\d{1,5})\b/g)].map((m) => Number(m[1])).filter((n) => n >= 1 && n <= 65535);
  return found.length === 0 ? null : (found[found.length - 1] as number);
}

/**
 * A port-in-use crash on a port that is not the instance's own means the server ignores PORT:
 * say that (and, behind the proxy, that it took the public port) instead of "port N is already in
 * use" with a fix about freeing a port naija-sup itself holds.
 */
export function explainPortInUse<C extends { cause: string; summary: string; fix: string; line?: string | undefined }>(
  c: C,
  instancePort: number,
  publicPort: number | undefined,
): C {
  if (c.cause !== 'port-in-use' || c.line === undefined) return c;
  const bound = portInBindError(c.line);
  if (bound === null || bound === instancePort) return c;
  if (bound === publicPort) {
    return {
      ...c,
      summary: `the server tried to bind port ${bound} itself — the public port the proxy holds — instead of the private port in PORT (${instancePort}): it ignores PORT`,
      fix: `${READ_PORT}; or use mode "direct", where the server binds port ${bound} itself`,
    };
  }
  return { ...c, summary: `port ${bound} is already in use, and it is not the port naija-sup gave the server (PORT=${instancePort}): the server ignores PORT`, fix: READ_PORT };
}
