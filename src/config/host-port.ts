/**
 * The one "host:port" parser: the config validates `dependsOn[].tcp` with it and the dependency
 * wait connects with what it returns, so a target the config accepted always parses the same way.
 * Its own small module so that callers need not load the whole config schema.
 */
import { isIP } from 'node:net';

/**
 * Splits "host:port" (IPv6 in brackets: "[::1]:5432") into its host (brackets removed, as
 * `net.connect` wants it) and port; undefined when `text` is not that form or the port is not
 * 1–65535.
 */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]\s]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const bracketed = match[1];
  if (bracketed !== undefined && isIP(bracketed) !== 6) return undefined;
  const port = Number(match[3]);
  return port >= 1 && port <= 65535 ? { host: bracketed ?? (match[2] as string), port } : undefined;
}
