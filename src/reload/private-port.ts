/**
 * Private ports for the instances behind the reload proxy (`mode: proxy`): free on 127.0.0.1 and
 * outside the kernel's ephemeral range.
 */
import { PROC, type Proc } from '../process/proc-read.js';
import { importModule } from '../import-module.js';

/**
 * A private port for an instance behind the proxy: free on 127.0.0.1 now (get-port), and outside
 * the kernel's ephemeral range. get-port alone asks the kernel for port 0, which answers from that
 * range — the same ports every outgoing connection takes as its local port. In the hundreds of
 * milliseconds before the instance binds, a client connection of the machine (a load test, the
 * app's own calls to a database) could take it and the reload failed with "port N is already in
 * use" (seen under the zero-downtime matrix's load). get-port also remembers ports it handed out
 * for 15–30 s, so two instances started close together do not get the same one. Still only a
 * hint: the instance's own bind is the real test.
 */
export async function pickPrivatePort(deps: { proc?: Proc; random?: () => number } = {}): Promise<number> {
  const candidates = privatePortCandidates((deps.proc ?? PROC).ephemeralPortRange(), deps.random ?? Math.random);
  // Imported, not required: get-port is an ES module only, and the CLI's CommonJS bundle would get
  // its namespace from require(), not its default export (scripts/bundle.mjs refuses that build).
  const { default: getPort } = await importModule<typeof import('get-port')>('get-port');
  // None free (or no range to read): get-port falls back to a port the kernel picks.
  return getPort({ host: '127.0.0.1', ...(candidates.length > 0 ? { port: candidates } : {}) });
}

/** The lowest private port: below it sit many well-known services' ports. */
const PRIVATE_PORT_MIN = 10_000;
/** How many ports get-port tries before it lets the kernel choose. */
const PRIVATE_PORT_TRIES = 64;

/**
 * Ports to try for a private port, from a random point of the stretch below the ephemeral range
 * (or above it, when there is no room below), wrapping around; [] when neither has 1,000 ports.
 */
export function privatePortCandidates(ephemeral: { low: number; high: number } | null, random: () => number): number[] {
  if (ephemeral === null) return [];
  const [from, to] = ephemeral.low - PRIVATE_PORT_MIN >= 1000 ? [PRIVATE_PORT_MIN, ephemeral.low - 1] : [ephemeral.high + 1, 65_535];
  const size = to - from + 1;
  if (size < 1000) return [];
  const start = Math.floor(random() * size);
  return Array.from({ length: PRIVATE_PORT_TRIES }, (_, i) => from + ((start + i) % size));
}
