/**
 * Pure parsers for Linux `/proc/net/tcp` and `/proc/net/tcp6` (no I/O here: owners.ts reads the
 * files). Format, one socket per line after a header line:
 *
 * ```
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    1: 0100007F:8D9D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7304 …
 * ```
 *
 * - Addresses are the raw `struct in_addr` / `struct in6_addr` bytes printed as 32-bit words with
 *   `%08X` in *host* byte order, so on little-endian machines each word reads byte-reversed:
 *   `0100007F` is 127.0.0.1; `::1` is `00000000000000000000000001000000`; the IPv4-mapped
 *   `::ffff:127.0.0.1` is `0000000000000000FFFF00000100007F`.
 * - Ports are printed with `%04X` after `ntohs`, so they read as plain hex numbers.
 * - `st` is the kernel's TCP state number (include/net/tcp_states.h) in hex: 0A is LISTEN.
 * - TIME_WAIT rows have uid 0 and inode 0: the socket belongs to no process any more.
 *
 * The format is the kernel's (net/ipv4/tcp_ipv4.c and net/ipv6/tcp_ipv6.c, `get_tcp4_sock` and
 * `get_tcp6_sock`); proc(5) documents it as /proc/net/tcp.
 */

import { endianness } from 'node:os';

/** TCP states, indexed by the kernel's numbering (include/net/tcp_states.h). */
const TCP_STATES = [
  'UNKNOWN', // 0 is not a state; kept so that the index equals the kernel's number
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE', // Linux ≥ 6.10; never shown in /proc/net/tcp today, listed for completeness
] as const;

export type TcpState = (typeof TCP_STATES)[number];

/** One socket row of /proc/net/tcp or /proc/net/tcp6. */
export interface ProcNetTcpRow {
  /** Which file the row came from: 4 = /proc/net/tcp, 6 = /proc/net/tcp6. */
  family: 4 | 6;
  /** Printable local address: "127.0.0.1", "::", "::1", "::ffff:127.0.0.1", "fd00::2". */
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: TcpState;
  /** The raw state number (e.g. 10 for LISTEN), for states this table does not know. */
  stateCode: number;
  /** Effective uid of the socket's creator (0 for TIME_WAIT rows, which have no owner). */
  uid: number;
  /** Socket inode, matched against `socket:[INODE]` links in /proc/PID/fd; 0 = no owner. */
  inode: number;
}

export interface ParseProcNetOptions {
  /**
   * Byte order the kernel printed the address words in: that of the machine that produced the
   * text. Defaults to this machine's (`os.endianness()`), which is right for the live /proc.
   */
  endianness?: 'LE' | 'BE';
}

/**
 * Parses the text of /proc/net/tcp (`family` 4) or /proc/net/tcp6 (`family` 6).
 * The header line and blank or malformed lines are skipped, never thrown on: the file is read
 * while the kernel changes it, and a lookup must not fail on one odd line.
 */
export function parseProcNetTcp(
  text: string,
  family: 4 | 6,
  options: ParseProcNetOptions = {},
): ProcNetTcpRow[] {
  const order = options.endianness ?? endianness();
  const rows: ProcNetTcpRow[] = [];
  for (const line of text.split('\n')) {
    const row = parseLine(line, family, order);
    if (row !== undefined) rows.push(row);
  }
  return rows;
}

/**
 * The rows of local `port` only. Lines that do not contain the port's text (`:1F90 `) are skipped
 * before they are parsed: a machine after a load test has tens of thousands of TIME_WAIT rows, and
 * parsing every one of them cost about 170 ms per lookup here, against 30 ms to read the file.
 */
export function parseProcNetTcpForPort(
  text: string,
  family: 4 | 6,
  port: number,
  options: ParseProcNetOptions = {},
): ProcNetTcpRow[] {
  const order = options.endianness ?? endianness();
  const needle = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const rows: ProcNetTcpRow[] = [];
  // Bounded by the text: each step moves past one occurrence of the needle.
  for (let at = text.indexOf(needle); at !== -1; ) {
    const start = text.lastIndexOf('\n', at) + 1;
    const endOfLine = text.indexOf('\n', at);
    const end = endOfLine === -1 ? text.length : endOfLine;
    const row = parseLine(text.slice(start, end), family, order);
    if (row !== undefined && row.localPort === port) rows.push(row);
    at = endOfLine === -1 ? -1 : text.indexOf(needle, end);
  }
  return rows;
}

function parseLine(line: string, family: 4 | 6, order: 'LE' | 'BE'): ProcNetTcpRow | undefined {
  // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
  const cols = line.trim().split(/\s+/);
  if (cols.length < 10 || !/^\d+:$/.test(cols[0] as string)) return undefined; // header or junk
  // Ten columns or more from here: the indexed ones exist.
  const local = splitEndpoint(cols[1] as string, family, order);
  const remote = splitEndpoint(cols[2] as string, family, order);
  const stateCode = Number.parseInt(cols[3] as string, 16);
  const uid = Number(cols[7]);
  const inode = Number(cols[9]);
  if (local === undefined || remote === undefined) return undefined;
  if (!Number.isInteger(stateCode) || !Number.isInteger(uid) || !Number.isInteger(inode)) return undefined;
  return {
    family,
    localAddress: local.address,
    localPort: local.port,
    remoteAddress: remote.address,
    remotePort: remote.port,
    state: TCP_STATES[stateCode] ?? 'UNKNOWN',
    stateCode,
    uid,
    inode,
  };
}

function splitEndpoint(
  field: string,
  family: 4 | 6,
  order: 'LE' | 'BE',
): { address: string; port: number } | undefined {
  const [hexAddress, hexPort] = field.split(':');
  if (hexAddress === undefined || hexPort === undefined || !/^[0-9A-Fa-f]{4}$/.test(hexPort)) return undefined;
  const address = decodeHexAddress(hexAddress, family, order);
  if (address === undefined) return undefined;
  return { address, port: Number.parseInt(hexPort, 16) };
}

/**
 * Decodes a /proc/net address column ("0100007F", or 32 hex digits for tcp6) into printable form.
 * Returns undefined when the text is not 8 (IPv4) or 32 (IPv6) hex digits.
 */
export function decodeHexAddress(
  hex: string,
  family: 4 | 6,
  order: 'LE' | 'BE' = endianness(),
): string | undefined {
  const digits = family === 4 ? 8 : 32;
  if (hex.length !== digits || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let word = 0; word < digits; word += 8) {
    const wordBytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(word + i, word + i + 2), 16));
    // The kernel printed the word as a host-order u32: on LE the first printed byte is the last one.
    if (order === 'LE') wordBytes.reverse();
    bytes.push(...wordBytes);
  }
  return family === 4 ? bytes.join('.') : formatIPv6(bytes);
}

/**
 * Formats 16 bytes as RFC 5952 text, the way Node prints addresses: lowercase, the longest run of
 * two or more zero groups (the first on a tie) as "::", and IPv4-mapped addresses as
 * "::ffff:a.b.c.d".
 */
export function formatIPv6(bytes: readonly number[]): string {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, got ${bytes.length}`);
  const isMapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isMapped) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: number[] = [];
  // 16 bytes, checked above.
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}
