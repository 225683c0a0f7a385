/**
 * Which listening addresses a bind on `host` would collide with. A port is only "in use" for a
 * server if a LISTEN socket on it conflicts with the address the server will bind: a stale server
 * on ::1 does not stop one on 127.0.0.1, while a dual-stack `::` listener stops everyone. The rules
 * are Linux's (measured, research: failures-and-ports.md §2); owners.ts uses them to keep only the
 * sockets that matter, and `host` names are resolved here first because a name cannot be judged.
 */

import { isIP, isIPv4, SocketAddress } from 'node:net';
import { NaijaSupError } from '../errors.js';

export interface BindConflictOptions {
  /**
   * /proc/sys/net/ipv6/bindv6only. When 1, sockets bound to `::` are IPv6-only by default, so a
   * `::` listener is assumed not to cover IPv4 and a `::` target does not conflict with IPv4
   * listeners. (A program can still override it per socket with IPV6_V6ONLY, which /proc does
   * not show; the default is the best guess.)
   */
  bindv6only?: boolean | undefined;
}

/**
 * Whether an existing listener on `listenerAddr` makes binding `targetHost` on the same port fail
 * (Linux, SO_REUSEADDR on both sides, as Node and uvicorn set it). Measured matrix
 * (failures-and-ports.md §2, bindv6only=0):
 *
 * | listener \ target    | 0.0.0.0 | 127.0.0.1 | `::` | ::1 |
 * |----------------------|---------|-----------|------|-----|
 * | `::` (dual stack)    | yes     | yes       | yes  | yes |
 * | 0.0.0.0              | yes     | yes       | yes  | no  |
 * | 127.0.0.1            | yes     | yes       | yes  | no  |
 * | ::1                  | no      | no        | yes  | yes |
 *
 * `::ffff:a.b.c.d` behaves as a.b.c.d. `targetHost` undefined or "" means `::` (Node's default
 * `listen(port)`); "localhost" means both 127.0.0.1 and ::1 (Node may pick either). Any other
 * name cannot be judged without DNS and counts as conflicting: findPortOwners resolves names first.
 */
export function bindConflicts(
  listenerAddr: string,
  targetHost: string | undefined,
  options: BindConflictOptions = {},
): boolean {
  const dualStackAny = options.bindv6only !== true;
  const listener = classify(listenerAddr);
  if (listener === undefined) return true; // unknown text from /proc: never call it harmless
  if (targetHost === undefined || targetHost === '') targetHost = '::';
  if (targetHost.toLowerCase() === 'localhost') {
    return ['127.0.0.1', '::1'].some((target) => bindConflicts(listenerAddr, target, options));
  }
  const target = classify(targetHost);
  if (target === undefined) return true;
  if (listener.family === target.family) {
    return listener.wildcard || target.wildcard || listener.address === target.address;
  }
  // Different families overlap only through a dual-stack `::` on either side.
  const v6 = listener.family === 6 ? listener : target;
  return v6.wildcard && dualStackAny;
}

interface Classified {
  family: 4 | 6;
  address: string;
  wildcard: boolean;
}

/** Normalises an address literal; IPv4-mapped IPv6 becomes IPv4. Undefined for non-literals. */
function classify(raw: string): Classified | undefined {
  const text = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIPv4(text)) return { family: 4, address: text, wildcard: text === '0.0.0.0' };
  if (isIP(text) !== 6) return undefined;
  // SocketAddress prints the canonical RFC 5952 form (and drops a %zone), so equal addresses compare equal.
  const canonical = new SocketAddress({ address: text, family: 'ipv6' }).address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canonical);
  if (mapped?.[1] !== undefined) return classify(mapped[1]);
  return { family: 6, address: canonical, wildcard: canonical === '::' };
}



/**
 * The addresses a server binding `host` would take: `::` when none is given (Node's default
 * `listen(port)`), both loopbacks for "localhost", a literal as is, any other name resolved (all
 * addresses). Throws E_CONFIG_INVALID when a name does not resolve.
 */
export async function resolveTargets(host: string | undefined): Promise<string[]> {
  if (host === undefined || host === '') return ['::'];
  if (host.toLowerCase() === 'localhost') return ['127.0.0.1', '::1'];
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return [bare];
  try {
    // Loaded only for a host name: most configs give an address, and the resident keeps what it loads.
    const { lookup } = process.getBuiltinModule('node:dns/promises');
    const addresses = await lookup(bare, { all: true });
    return addresses.map((entry) => entry.address);
  } catch (cause) {
    throw new NaijaSupError('E_CONFIG_INVALID', `host "${host}" does not resolve, so its port cannot be checked`, {
      fix: 'Set host to an IP address (127.0.0.1, ::1, 0.0.0.0) or a name this machine can resolve.',
      cause,
    });
  }
}
