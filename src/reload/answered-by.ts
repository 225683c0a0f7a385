/**
 * "Which instance answered?" for handoff mode (issue 8). Blue and green accept on ONE shared socket,
 * so a readiness probe on the public port may be answered by blue; before switching, the swap needs
 * to know that green itself accepts and answers. The kernel knows who accepted a connection: the
 * server-side socket of that connection gets an inode when accept() returns, and the accepting
 * process holds it as `socket:[inode]` in /proc/PID/fd.
 *
 * When the lookup happens matters: a server that closes after its response (HTTP/1.0, or
 * `Connection: close`) releases the socket at once, and a socket nobody holds has no owner left to
 * find. So the probe sends the request line and headers but holds back the blank line that ends
 * them: the server has accepted the connection and waits for the rest, the socket is surely held,
 * and we look it up; then the blank line goes out and the status line is read. Until accept() the
 * row in /proc/net/tcp has inode 0 (the connection waits in the backlog), which is how the probe
 * tells "not accepted yet" from "accepted".
 *
 * Linux only (/proc). Off Linux, or when /proc cannot be read, `answeredBy` is null and `detail`
 * says why; the HTTP status is still reported.
 */

import { isIP, Socket } from 'node:net';
import { monotonicMs } from '../clock.js';
import { listGroupMembers } from '../process/group.js';
import { parseProcNetTcpForPort, type ProcNetTcpRow } from '../ports/proc-net.js';
import { PROC, type Proc } from '../process/proc-read.js';

export interface AnsweredByOptions {
  /** The public address (an IP literal; brackets allowed for IPv6). */
  host: string;
  port: number;
  /** e.g. `/health`; a missing leading slash is added. */
  path: string;
  /** Deadline in ms for connect + accept + response headers. */
  timeout: number;
  /**
   * The instances that may answer (their leader pids). A process in an instance's process group
   * (a pre-fork server's worker) counts as that instance.
   */
  pids: readonly number[];
  /** For tests: the /proc tree. */
  proc?: Proc;
  /**
   * The default readiness rule (health.type "auto", src/health/http.ts judgeAnyAnswer): any status
   * below 500 from this instance counts, and so does its accept() of the connection when no HTTP
   * answer follows (a server that does not speak HTTP).
   */
  anyAnswer?: boolean;
  /** Aborting resolves the probe with `error: 'ABORTED'`. */
  signal?: AbortSignal | undefined;
}

export interface AnsweredByResult {
  /** An HTTP status 200–399 arrived. */
  ok: boolean;
  /** The HTTP status, when one arrived. */
  status?: number;
  /** The member of `pids` whose instance accepted the connection; null when unknown. */
  answeredBy: number | null;
  /** The process that held the accepted socket (`answeredBy` itself, or a worker in its group). */
  acceptedBy: number | null;
  /**
   * The connection was accept()ed by a process outside `pids` (another instance on the same
   * socket): whatever happened next says nothing about the instances asked about.
   */
  acceptedElsewhere?: boolean;
  /**
   * The owner lookup could not run (no readable /proc/net/tcp, or the probe's own port unknown):
   * `answeredBy` is null for lack of means, not because another instance answered.
   */
  lookupUnavailable?: boolean;
  /** Why no status arrived: 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'ABORTED', 'EINVAL', … */
  error?: string;
  /** ms from the start to the response headers (or to the failure). */
  latencyMs: number;
  /** One sentence for humans: "200 from pid 4242 in 3 ms". */
  detail: string;
}

/** The most response-head bytes read before giving up on finding its end. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Sends `GET path` to `host:port` on a fresh connection and finds which of `pids` accepted it
 * (see the module comment for how). Resolves, never rejects.
 */
export function probeHttpAnsweredBy(options: AnsweredByOptions): Promise<AnsweredByResult> {
  const probe = new AnsweredByProbe(options);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    return Promise.resolve(probe.fail('EINVAL', `invalid port ${String(options.port)}`));
  }
  if (!Number.isFinite(options.timeout) || options.timeout <= 0) {
    return Promise.resolve(probe.fail('EINVAL', `invalid timeout ${String(options.timeout)}`));
  }
  if (options.signal?.aborted === true) return Promise.resolve(probe.fail('ABORTED', 'aborted'));
  return probe.run();
}

/** One probe: a connection, held before its blank line until its acceptor is known, then its answer. */
class AnsweredByProbe {
  private readonly proc: Proc;
  private readonly host: string;
  private readonly path: string;
  private readonly where: string;
  private readonly socket = new Socket();
  private elsewhere = false;
  private unavailable = false;
  private done = false;
  private started = 0;
  private deadline: NodeJS.Timeout | undefined;
  private lookupTimer: NodeJS.Timeout | undefined;
  private holder: { instance: number; pid: number } | null = null;
  private lookupNote = '';
  private head = Buffer.alloc(0);
  private resolve: (result: AnsweredByResult) => void = () => {};
  private readonly onAbort = (): void => this.settle(this.fail('ABORTED', 'aborted', this.elapsed()));

  constructor(private readonly options: AnsweredByOptions) {
    this.proc = options.proc ?? PROC;
    this.host = options.host.startsWith('[') && options.host.endsWith(']') ? options.host.slice(1, -1) : options.host;
    this.path = options.path.startsWith('/') ? options.path : `/${options.path}`;
    this.where = isIP(this.host) === 6 ? `[${this.host}]:${options.port}` : `${this.host}:${options.port}`;
  }

  fail(error: string, detail: string, latencyMs = 0): AnsweredByResult {
    return {
      ok: false,
      answeredBy: null,
      acceptedBy: null,
      ...(this.elsewhere ? { acceptedElsewhere: true } : {}),
      ...(this.unavailable ? { lookupUnavailable: true } : {}),
      error,
      latencyMs,
      detail,
    };
  }

  run(): Promise<AnsweredByResult> {
    return new Promise<AnsweredByResult>((resolve) => {
      this.resolve = resolve;
      this.started = monotonicMs();
      const { socket, options, where } = this;
      options.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.deadline = setTimeout(() => {
        const phase = socket.connecting ? 'connecting' : this.holder === null ? 'waiting for an instance to accept the connection' : 'waiting for the response';
        this.settle(this.fail('ETIMEDOUT', `no answer from ${where} within ${options.timeout} ms (${phase})${this.note()}`, this.elapsed()));
      }, options.timeout);
      socket.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? 'ERROR';
        const why = code === 'ECONNREFUSED' ? `connection refused (nothing is listening on ${where})` : `${code} from ${where}`;
        this.settle(this.fail(code, why, this.elapsed()));
      });
      socket.on('close', () => this.settle(this.fail('ECONNRESET', `${where} closed the connection before answering${this.note()}`, this.elapsed())));
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.once('connect', () => this.onConnect());
      socket.connect({ host: this.host, port: options.port });
    });
  }

  private elapsed(): number {
    return Math.round((monotonicMs() - this.started) * 10) / 10;
  }

  private note(): string {
    return this.lookupNote === '' ? '' : `; ${this.lookupNote}`;
  }

  private settle(result: AnsweredByResult): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadline);
    clearTimeout(this.lookupTimer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
    this.resolve(result);
  }

  private onData(chunk: Buffer): void {
    this.head = Buffer.concat([this.head, chunk]);
    const { head } = this;
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_HEAD_BYTES) this.settle(this.fail('EPROTO', `no end of the response headers within ${MAX_HEAD_BYTES} bytes`, this.elapsed()));
      return;
    }
    const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
    const match = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine);
    if (match?.[1] === undefined) {
      this.settle(this.fail('EPROTO', `not an HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}`, this.elapsed()));
      return;
    }
    const status = Number(match[1]);
    const latencyMs = this.elapsed();
    const { holder } = this;
    const by = holder === null ? `an unknown process (${this.lookupNote || 'not looked up'})` : describeHolder(holder);
    this.settle({
      ok: status >= 200 && status < 400,
      status,
      answeredBy: holder?.instance ?? null,
      acceptedBy: holder?.pid ?? null,
      ...(this.unavailable ? { lookupUnavailable: true } : {}),
      latencyMs,
      detail: `${status} for ${this.path} from ${by} in ${latencyMs} ms`,
    });
  }

  private onConnect(): void {
    const { socket, options } = this;
    const clientPort = socket.localPort;
    // Everything but the blank line that ends the headers: the server accepts and waits.
    socket.write(`GET ${this.path} HTTP/1.1\r\nHost: ${this.where}\r\nUser-Agent: naija-sup-answered-by\r\nConnection: close\r\n`);
    if (clientPort === undefined) {
      this.unavailable = true;
      this.lookupNote = 'the local port of the probe is unknown';
      socket.write('\r\n');
      return;
    }
    // Poll: 1 ms, then doubling up to 20 ms. Bounded by the deadline (which settles).
    let delay = 1;
    const attempt = (): void => {
      if (this.done) return;
      const found = lookupAccepted(options.port, { port: clientPort, address: socket.localAddress }, options.pids, this.proc);
      if (found.kind === 'accepted') {
        this.holder = found.holder;
        socket.write('\r\n');
        return;
      }
      if (found.kind === 'unknown-holder') this.elsewhere = true;
      if (found.kind === 'no-proc') this.unavailable = true;
      this.lookupNote = found.note;
      if (found.kind === 'unknown-holder' || found.kind === 'no-proc') {
        socket.write('\r\n');
        return;
      }
      this.lookupTimer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, 20);
    };
    attempt();
  }
}

/** Which probe of the supervisor a handoff-mode instance check stands for. */
export type InstanceProbeKind = 'startup' | 'liveness' | 'readiness';

/** What one probe says about the instances in `pids`. */
export type AnsweredByVerdict =
  /** One of `pids` (or a worker in its group) accepted the connection; `ok` is its answer. */
  | 'mine'
  /**
   * Another instance on the same socket accepted the connection (and answered, or held it without
   * answering): the result says nothing about `pids`.
   */
  | 'inconclusive'
  /** Nobody answered: refused, timed out, reset before any instance was found. */
  | 'none'
  /** Who accepted cannot be told here (no /proc): the answer is all there is. */
  | 'unknown';

/** What `result` says about the instances `pids` (see {@link AnsweredByVerdict}). */
export function answeredByVerdict(result: AnsweredByResult, pids: readonly number[]): AnsweredByVerdict {
  if (result.answeredBy !== null && pids.includes(result.answeredBy)) return 'mine';
  if (result.lookupUnavailable === true) return 'unknown';
  if (result.answeredBy === null && (result.status !== undefined || result.acceptedElsewhere === true)) return 'inconclusive';
  return 'none';
}

/** How many probes in all, at most, while they stay inconclusive. */
export const INCONCLUSIVE_ATTEMPTS = 10;

/**
 * One health probe of the instance(s) `options.pids` when every instance accepts on one shared
 * socket (handoff mode). Another instance may take the connection — blue while green starts, a
 * green that is not ready yet while blue's liveness is probed — so a probe whose connection went to
 * another instance is asked again, at most {@link INCONCLUSIVE_ATTEMPTS} times in all.
 *
 * Still inconclusive after that: a liveness or readiness probe passes, marked in its detail — this
 * instance must not be restarted or taken out of traffic for another one's answer, or for nothing
 * learned. A startup probe stays strict and fails: green is ready only when green itself answers.
 * Where the owner cannot be looked up at all (no /proc), the HTTP answer counts as it is.
 * Resolves, never rejects.
 */
export async function probeInstanceOnSharedSocket(
  kind: InstanceProbeKind,
  options: AnsweredByOptions,
  probe: (options: AnsweredByOptions) => Promise<AnsweredByResult> = probeHttpAnsweredBy,
): Promise<{ ok: boolean; latencyMs: number; detail: string; verdict: AnsweredByVerdict }> {
  let result = await probe(options);
  let verdict = answeredByVerdict(result, options.pids);
  // Bounded: at most INCONCLUSIVE_ATTEMPTS probes, each bounded by options.timeout.
  for (let attempt = 1; attempt < INCONCLUSIVE_ATTEMPTS && verdict === 'inconclusive' && options.signal?.aborted !== true; attempt += 1) {
    result = await probe(options);
    verdict = answeredByVerdict(result, options.pids);
  }
  const { latencyMs } = result;
  if (verdict === 'mine' && options.anyAnswer === true) {
    // The instance itself accepted the connection: whatever followed short of a 5xx means it is up.
    if (result.status === undefined) return { ok: true, latencyMs, detail: 'accepts TCP connections but does not answer HTTP', verdict };
    if (result.status < 500) return { ok: true, latencyMs, detail: `answers HTTP ${result.status} on ${options.path}`, verdict };
  }
  if (verdict === 'mine') return { ok: result.ok, latencyMs, detail: result.detail, verdict };
  // Without /proc the probe is what any plain probe is: the answer counts, whoever gave it.
  if (verdict === 'unknown') return { ok: result.ok, latencyMs, detail: `${result.detail} (which instance answered cannot be told here)`, verdict };
  if (verdict === 'inconclusive' && kind !== 'startup') {
    return { ok: true, latencyMs, detail: `${result.detail} (another instance answered; not counted against this one)`, verdict };
  }
  return {
    ok: false,
    latencyMs,
    detail: result.status === undefined ? result.detail : `${result.detail} (another instance answered)`,
    verdict,
  };
}

type Lookup =
  | { kind: 'accepted'; holder: { instance: number; pid: number } }
  | { kind: 'waiting'; note: string }
  | { kind: 'unknown-holder'; note: string }
  | { kind: 'no-proc'; note: string };

function lookupAccepted(
  serverPort: number,
  client: { port: number; address: string | undefined },
  pids: readonly number[],
  proc: Proc,
): Lookup {
  const rows = readTcpRows(proc, serverPort);
  if (rows === null) return { kind: 'no-proc', note: `${proc.root}/net/tcp cannot be read` };
  const inode = findAcceptedInode(rows, serverPort, client.port, client.address);
  if (inode === undefined) return { kind: 'waiting', note: 'the connection was not found in /proc/net/tcp' };
  if (inode === 0) return { kind: 'waiting', note: 'the connection waits in the backlog (no instance accepted it)' };
  const holder = findSocketHolder(inode, pids, { proc });
  if (holder === null) {
    return { kind: 'unknown-holder', note: `socket:[${inode}] is held by none of pids ${pids.join(', ') || '(none)'} or their process groups` };
  }
  return { kind: 'accepted', holder };
}

/** The rows of local `port` (the server side of its connections), from tcp and tcp6. */
function readTcpRows(proc: Proc, port: number): ProcNetTcpRow[] | null {
  const rows: ProcNetTcpRow[] = [];
  let readAny = false;
  for (const [file, family] of [['tcp', 4], ['tcp6', 6]] as const) {
    // tcp6 is missing when IPv6 is disabled; only both missing means no /proc.
    const text = proc.netTable(file);
    if (text === null) continue;
    readAny = true;
    rows.push(...parseProcNetTcpForPort(text, family, port));
  }
  return readAny ? rows : null;
}

/**
 * The inode of the server side of the connection from local port `clientPort` (and, when given,
 * address `clientAddress`) to `serverPort`: 0 while it waits in the backlog (not accepted yet),
 * undefined when there is no such row. Only ESTABLISHED and CLOSE_WAIT rows count (the server side
 * of a live connection). `::ffff:127.0.0.1` (a dual-stack socket's view) equals `127.0.0.1`.
 */
export function findAcceptedInode(
  rows: readonly ProcNetTcpRow[],
  serverPort: number,
  clientPort: number,
  clientAddress?: string,
): number | undefined {
  const wanted = clientAddress === undefined ? undefined : unmapped(clientAddress);
  let waiting = false;
  for (const row of rows) {
    if (row.localPort !== serverPort || row.remotePort !== clientPort) continue;
    if (wanted !== undefined && unmapped(row.remoteAddress) !== wanted) continue;
    if (row.state !== 'ESTABLISHED' && row.state !== 'CLOSE_WAIT') continue;
    if (row.inode !== 0) return row.inode;
    waiting = true;
  }
  return waiting ? 0 : undefined;
}

/**
 * Which of `pids` (or a member of its process group) holds `socket:[inode]`. Returns the instance
 * (the member of `pids`) and the process that holds it; null when none does.
 */
export function findSocketHolder(
  inode: number,
  pids: readonly number[],
  deps: { proc?: Proc } = {},
): { instance: number; pid: number } | null {
  const proc = deps.proc ?? PROC;
  const link = `socket:[${inode}]`;
  for (const instance of pids) {
    if (holdsLink(instance, link, proc)) return { instance, pid: instance };
  }
  // Workers of a pre-fork server: same process group as the instance (it leads its own group).
  for (const instance of pids) {
    const stat = proc.stat(instance);
    if (stat === null) continue;
    for (const member of listGroupMembers(stat.pgid, { proc })) {
      if (member !== instance && holdsLink(member, link, proc)) return { instance, pid: member };
    }
  }
  return null;
}

function holdsLink(pid: number, link: string, proc: Proc): boolean {
  const table = proc.fdTable(pid);
  return typeof table === 'object' && table.links.includes(link); // not: exited, or another user's
}

function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address.toLowerCase();
}

function describeHolder(holder: { instance: number; pid: number }): string {
  return holder.pid === holder.instance ? `pid ${holder.instance}` : `pid ${holder.pid} (in the group of pid ${holder.instance})`;
}
