/**
 * The control socket, owned by the running supervisor (issue 5; overmind's command center):
 * `stop`, `status`, `restart`, `reload` and `logs` are small clients of it (src/control/client.ts).
 *
 * ## One supervisor per name, race-free
 *
 * Binding the socket path alone cannot arbitrate: after a supervisor is SIGKILLed its socket file
 * stays behind, and two starts that both find it stale would both unlink and re-bind, the second
 * one deleting the first one's live socket. So `startControlServer`:
 *
 * 1. takes the start lock `<name>.lock` in the same 0700 directory (src/control/start-lock.ts:
 *    atomic, stale-safe, and out of other users' reach); held → `E_ALREADY_RUNNING`, naming the
 *    holder only once /proc confirmed who it is;
 * 2. holding it, checks the socket file: a listener answers → `E_ALREADY_RUNNING` (a supervisor in
 *    another network namespace sharing the run dir); ECONNREFUSED → stale: unlink it (reported);
 * 3. binds the socket under umask 0177 and chmods it 0600 (the run dir is 0700 as well).
 *
 * ## Never crash the supervisor, never be locked out (issue 15)
 *
 * Each connection reads newline-delimited JSON through a bounded buffer: malformed JSON, a wrong
 * version or an unknown type get an error reply on the same connection; a line over 64 KiB gets
 * `E_TOO_LARGE` and the connection is closed. A slow `events` subscriber that lets 1 MiB pile up is
 * dropped. A throwing target becomes `E_INTERNAL`.
 *
 * Only our uid can connect (0600 socket, 0700 directory), but a runaway script of ours must not
 * lock the operator out either. Requests are queued per connection and served round-robin, a few
 * per connection per event-loop turn, so one client pipelining 20,000 requests delays another's
 * `status` by a turn, not by all of them; a connection stops being read while
 * {@link MAX_QUEUED_REQUESTS} wait or its replies are not being read. A connection that sends
 * nothing for {@link IDLE_TIMEOUT_MS} and waits for nothing is closed, and when all
 * `maxConnections` are taken a new one pushes out the oldest idle one, so idle connections cannot
 * keep `status`, `restart` or `stop` out. (`stop --force` also works without the socket: it falls
 * back to the instance record and signals.)
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { NaijaSupError } from '../errors.js';
import { PROC, USER_HZ, type Proc } from '../process/proc-read.js';
import type { ExitInfo, SupervisorEvent } from '../supervisor/events.js';
import { ConnectionPool, IDLE_TIMEOUT_MS, type Connection } from './connections.js';
import { ensurePrivateDir } from './run-dir.js';
import { GroupSampler } from './proc-stats.js';
import { acquireStartLock, lockPathFor, peerIsOurs, probeListener } from './start-lock.js';
import {
  MAX_REQUEST_BYTES,
  MAX_STREAMED_LINE_CHARS,
  displayUrl,
  encodeMessage,
  errorReply,
  parseRequest,
  type ControlMessage,
  type DiskProblem,
  type SupervisorMemory,
  type ControlRequest,
  type HealthSnapshot,
  type InstanceStatus,
  type StatusSnapshot,
  type StreamedEvent,
} from './protocol.js';

/** What a reload answers: the new config was taken (and the restart begun), or its errors. */
/** `failed`: the config was fine but the new instance did not take over (a rollback). */
export type ReloadOutcome = { ok: true } | { ok: false; errors: string[]; kind?: 'invalid-config' | 'failed' };

/** What a `reload` request may ask for besides the reload itself. */
export interface ReloadOptions {
  parallel?: number;
}

/** The supervisor as the control server sees it. src/cli/commands/start.ts adapts the real one. */
export interface ControlTarget {
  status(): StatusSnapshot;
  /** Graceful stop; `force` kills the group at once; `timeoutMs` shortens the grace period. */
  stop(options: { timeoutMs?: number; force?: boolean }): void;
  restart(): void;
  /** `parallel`: how many instances a rolling reload replaces at a time (default 1). */
  reload(options?: ReloadOptions): Promise<ReloadOutcome>;
  /** Goes back to the configuration before the last reload (issue 8). */
  rollback(): Promise<ReloadOutcome>;
  /** Registers a listener for every supervisor event; returns the unsubscribe function. */
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
  /** Runs `instances` instances from now on (issue 20); absent: this supervisor cannot. */
  scale?(instances: number): Promise<ReloadOutcome>;
}

export interface ControlServerOptions {
  socketPath: string;
  target: ControlTarget;
  /** The app's name, for messages. */
  name: string;
  /** The start lock's path. Default: `<name>.lock` beside the socket (lockPathFor); null: no lock (tests only). */
  lockPath?: string | null;
  /**
   * Simultaneous connections. Default 64. When all are taken, a new one pushes out the oldest idle
   * one; only when none is idle is it refused.
   */
  maxConnections?: number;
  /** A connection that sends nothing and waits for nothing this long is closed. Default 10 s. */
  idleTimeoutMs?: number;
}

export interface ControlServer {
  readonly socketPath: string;
  /** A socket file left by a supervisor that died without cleaning up was found and removed. */
  readonly staleSocketRemoved: boolean;
  /** Stops listening, ends every connection (pending replies are flushed), removes the socket, releases the lock. */
  close(): Promise<void>;
}

/** A slow events subscriber is dropped when this much output is waiting for it. */
const MAX_PENDING_WRITE_BYTES = 1024 * 1024;
/** How long close() lets connections flush before destroying them. */
const CLOSE_GRACE_MS = 500;

// ── The server ──────────────────────────────────────────────────────────────────────────────────

async function alreadyRunning(socketPath: string, name: string, holderPid: number | null): Promise<NaijaSupError> {
  // The winner binds its socket right after taking the lock; give it a moment to answer.
  const { fetchStatus } = await import('./client.js');
  let status: StatusSnapshot | null = null;
  const deadline = Date.now() + 1500;
  for (let attempt = 0; attempt < 30 && status === null && Date.now() < deadline; attempt += 1) {
    status = await fetchStatus(socketPath, 500).catch(() => null);
    if (status === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // What the socket's peer says about itself is shown only once /proc confirms it (our uid, the
  // same start time): nobody is ever advised to kill a pid a peer merely named.
  if (status !== null && !peerIsOurs(status.supervisorPid, status.supervisorStartTime)) status = null;
  const pid = status?.supervisorPid ?? holderPid;
  const who = pid === null
    ? 'another naija-sup is starting it'
    : `supervisor pid ${pid}${status?.instancePid ? `, instance pid ${status.instancePid}` : ''}${status ? `, ${status.state}` : ''}`;
  return new NaijaSupError('E_ALREADY_RUNNING', `"${name}" is already running (${who})`, {
    fix: `stop it first ("naija-sup stop --name ${name}"), or give this app another name (the "name" setting)`,
    details: [`control socket: ${socketPath}`],
  });
}

/** Removes a stale socket at `path`; false when there was none. Throws when a supervisor answers there. */
async function removeStaleSocket(path: string, name: string): Promise<boolean> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return false;
  }
  if (!isSocket) {
    throw new NaijaSupError('E_RUN_DIR', `${path} exists and is not a socket`, {
      fix: `remove ${path} (naija-sup only ever puts its control socket there)`,
    });
  }
  const probe = await probeListener(path);
  if (probe === 'live') throw await alreadyRunning(path, name, null);
  if (probe === 'absent') return false;
  unlinkSync(path);
  return true;
}

function listenPrivate(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(error);
    server.once('error', onError);
    // The bind happens inside listen(), synchronously: a umask of 0177 makes the socket 0600 from
    // the first instant (the chmod below is for platforms that ignore the umask for sockets).
    let previous: number | null = null;
    try {
      previous = process.umask(0o177);
    } catch {
      // Worker threads cannot change the umask; the 0700 run dir still protects the socket.
    }
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
}

/**
 * Starts the control server for one app: takes the start lock, clears a stale socket, listens on
 * `socketPath` (0600). Throws `E_ALREADY_RUNNING` when a supervisor for this socket runs.
 */
export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const { socketPath, target, name } = options;
  // The run dir, or the short fallback directory for long paths (src/control/paths.ts): 0700, ours.
  ensurePrivateDir(dirname(socketPath), 'socket directory');
  const lockPath = options.lockPath === undefined ? lockPathFor(socketPath) : options.lockPath;
  const attempt = await acquireStartLock(lockPath);
  if (!attempt.acquired) throw await alreadyRunning(socketPath, name, attempt.holderPid);
  const lock = attempt.lock;

  const server = createServer({ allowHalfOpen: false });
  let staleSocketRemoved: boolean;
  let ino: number | null = null;
  try {
    staleSocketRemoved = await removeStaleSocket(socketPath, name);
    await listenPrivate(server, socketPath);
    chmodSync(socketPath, 0o600);
    ino = lstatSync(socketPath).ino;
  } catch (error) {
    server.close();
    await lock.release();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw await alreadyRunning(socketPath, name, null);
    if (error instanceof NaijaSupError) throw error;
    throw new NaijaSupError('E_RUN_DIR', `cannot listen on the control socket ${socketPath}: ${(error as Error).message}`, {
      fix: 'check the run directory (NAIJA_SUP_RUN_DIR): it must be a directory you own with mode 700',
      cause: error,
    });
  }
  // The supervisor's lifetime is its instance's; the control socket must never keep it alive.
  server.unref();
  server.on('error', () => undefined);

  const send = (conn: Connection, message: ControlMessage): void => {
    if (conn.done || conn.socket.destroyed) return;
    conn.socket.write(encodeMessage(message));
    if (conn.socket.writableLength > MAX_PENDING_WRITE_BYTES) finish(conn, true);
  };

  const finish = (conn: Connection, destroy: boolean): void => {
    conn.unsubscribe?.();
    conn.unsubscribe = null;
    if (destroy) conn.socket.destroy();
    else if (!conn.done) conn.socket.end();
    conn.done = true;
  };

  const handle = (conn: Connection, request: ControlRequest): void => {
    const { id } = request;
    switch (request.type) {
      case 'status':
        send(conn, { v: 1, id, ok: true, status: target.status() });
        return;
      case 'stop': {
        const status = target.status();
        target.stop({
          ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
          ...(request.force === undefined ? {} : { force: request.force }),
        });
        send(conn, { v: 1, id, ok: true, status });
        return;
      }
      case 'restart': {
        const status = target.status();
        target.restart();
        send(conn, { v: 1, id, ok: true, status });
        return;
      }
      case 'reload':
      case 'rollback':
        conn.pending += 1;
        (request.type === 'reload' ? target.reload(request.parallel === undefined ? {} : { parallel: request.parallel }) : target.rollback()).finally(() => { conn.pending -= 1; }).then(
          (outcome) => send(conn, outcome.ok
            ? { v: 1, id, ok: true }
            : outcome.kind === 'failed'
              ? errorReply(id, 'E_RELOAD_FAILED', `the ${request.type} did not take effect; the running instance keeps serving`, outcome.errors)
              : errorReply(id, 'E_RELOAD_REJECTED', 'the new config is invalid; the instance keeps running with the old one', outcome.errors)),
          (error: unknown) => send(conn, errorReply(id, 'E_INTERNAL', `${request.type} failed: ${String((error as Error)?.message ?? error)}`)),
        );
        return;
      case 'scale': {
        if (!target.scale) {
          send(conn, errorReply(id, 'E_BAD_REQUEST', 'this supervisor cannot change its number of instances'));
          return;
        }
        conn.pending += 1;
        target.scale(request.instances).finally(() => { conn.pending -= 1; }).then(
          (outcome) => send(conn, outcome.ok ? { v: 1, id, ok: true, status: target.status() } : errorReply(id, 'E_BAD_REQUEST', `scale to ${request.instances} did not take effect`, outcome.errors)),
          (error: unknown) => send(conn, errorReply(id, 'E_INTERNAL', `scale failed: ${String((error as Error)?.message ?? error)}`)),
        );
        return;
      }
      case 'events': {
        if (conn.unsubscribe !== null) {
          send(conn, errorReply(id, 'E_BAD_REQUEST', 'this connection already streams events'));
          return;
        }
        // Ack (with the current status) first, then every event from now on: nothing can happen
        // in between, both are synchronous.
        send(conn, { v: 1, id, ok: true, stream: true, status: target.status() });
        conn.unsubscribe = target.subscribe((event) => send(conn, { v: 1, id, event: streamable(event) }));
        return;
      }
      default: {
        const never: never = request;
        send(conn, errorReply(null, 'E_UNKNOWN_TYPE', `unknown request ${JSON.stringify(never)}`));
      }
    }
  };

  const onLine = (conn: Connection, line: string): void => {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      send(conn, parsed.reply);
      return;
    }
    try {
      handle(conn, parsed.request);
    } catch (error) {
      send(conn, errorReply(parsed.request.id, 'E_INTERNAL', `the supervisor could not answer: ${(error as Error)?.message ?? String(error)}`));
    }
  };

  const pool = new ConnectionPool({
    maxConnections: options.maxConnections ?? 64,
    idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    onLine,
    onOverflow(conn) {
      send(conn, errorReply(null, 'E_TOO_LARGE', `request line longer than ${MAX_REQUEST_BYTES} bytes; closing the connection`));
      conn.socket.pause();
      finish(conn, false);
      // A client that keeps the connection open after our FIN is cut off.
      setTimeout(() => conn.socket.destroy(), CLOSE_GRACE_MS).unref();
    },
  });
  const connections = pool.connections;
  server.on('connection', (socket: Socket) => {
    socket.unref();
    pool.add(socket);
  });

  let closing: Promise<void> | null = null;
  return {
    socketPath,
    staleSocketRemoved,
    close() {
      closing ??= (async () => {
        // Unlink first, so new clients see "not running" rather than a closing server.
        try {
          if (lstatSync(socketPath).ino === ino) unlinkSync(socketPath);
        } catch {
          // Already gone.
        }
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const conn of connections) finish(conn, false);
        // Not unref'd: while close() is awaited (the supervisor's last step) this bounded timer is
        // what keeps the process alive until the last client is cut off. Unref'd, a client that
        // keeps its connection open (the `stop` command waiting for us to go) left the event loop
        // empty with close() unsettled, and Node exited 13 ("unsettled top-level await").
        const grace = setTimeout(() => {
          for (const conn of connections) conn.socket.destroy();
        }, CLOSE_GRACE_MS);
        await closed;
        clearTimeout(grace);
        await lock.release();
      })();
      return closing;
    },
  };
}

/** An event as streamed: long output lines cut, and never an `env` field (should one ever appear). */
function streamable(event: SupervisorEvent): StreamedEvent {
  const copy: Record<string, unknown> = { ...event };
  delete copy['env'];
  if (event.type === 'output' && event.line.length > MAX_STREAMED_LINE_CHARS) {
    copy['line'] = `${event.line.slice(0, MAX_STREAMED_LINE_CHARS)} …[truncated]`;
  }
  return copy as StreamedEvent;
}

// ── Events and status for a Supervisor ──────────────────────────────────────────────────────────

/** Fans the supervisor's events out to the log writer, the renderer and control subscribers. */
export interface EventHub {
  publish(event: SupervisorEvent): void;
  subscribe(listener: (event: SupervisorEvent) => void): () => void;
}

export function createEventHub(): EventHub {
  const listeners = new Set<(event: SupervisorEvent) => void>();
  return {
    publish(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // A failing subscriber (a broken socket) must never break the supervisor.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}

/** What the status snapshot reads from a supervisor (src/supervisor/runner.ts `Supervisor` fits). */
export interface SupervisorView {
  readonly state: { readonly tag: string };
  readonly context: { readonly restarts: number; readonly lastExit: ExitInfo | null };
  readonly currentConfig: ResolvedConfig;
  /** The last probe of any kind (`at`: ms epoch; `kind` absent: startup); when absent, 'probe' events are used. */
  readonly lastProbeResult?: { ok: boolean; detail: string; latencyMs: number; at: number; kind?: string } | null;
  /** The instance's processes, escaped descendants included (src/process/descendants.ts). */
  instanceProcesses?(): Array<{ pid: number; startTime: string }>;
  /** Every instance of the app, when it runs several (issue 20); the fields above are instance 0's. */
  instances?(): Array<{ index: number; state: { readonly tag: string; readonly pid?: number | null }; restarts: number; lastExit: ExitInfo | null }>;
}

export interface StatusTrackerOptions {
  /** The supervisor whose instance serves traffic now (it may change after a blue/green reload). */
  view(): SupervisorView;
  version: string;
  /** Files that cannot be written now (src/app/supervise.ts: the log). */
  diskProblems?(): DiskProblem[];
  /** When the supervisor started, ms epoch. Default: now. */
  startedAt?: number;
  /** The /proc tree; the real one by default. */
  proc?: Proc;
  /** Wall clock, ms epoch. */
  now?: () => number;
  /** The webhooks' delivery status (src/metrics/webhooks.ts), when alerts.webhook is set. */
  webhooks?: (() => NonNullable<StatusSnapshot['webhooks']>) | undefined;
}

/**
 * Builds {@link StatusSnapshot}s: state, counters and last exit from the supervisor; identities,
 * uptimes, RSS and CPU% from /proc; health from the last probe. Feed it every event (`observe`).
 */
/** The fields of process.memoryUsage() by name: the reply stays the same shape if Node adds one. */
function supervisorMemory(): SupervisorMemory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

function diskProblemsOf(options: StatusTrackerOptions): { diskProblems?: DiskProblem[] } {
  const problems = options.diskProblems?.() ?? [];
  return problems.length === 0 ? {} : { diskProblems: problems };
}

export class StatusTracker {
  private readonly options: StatusTrackerOptions;
  private readonly proc: Proc;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly sampler: GroupSampler;
  /** One per instance index: a sampler's CPU% is the change since its previous sample of one group. */
  private readonly instanceSamplers = new Map<number, GroupSampler>();
  private readonly self = { startTime: '', bootId: null as string | null };
  /** The last probe of any kind, from events (used when the view has no lastProbeResult). */
  private lastProbe: HealthSnapshot | null = null;
  /** The last liveness/readiness result and the instance it was about: the current health. */
  private health: { snapshot: HealthSnapshot; instance: number } | null = null;
  private spawned: { pid: number; at: number } | null = null;
  private standbyPid: number | null = null;

  constructor(options: StatusTrackerOptions) {
    this.options = options;
    this.proc = options.proc ?? PROC;
    this.now = options.now ?? Date.now;
    this.startedAt = options.startedAt ?? this.now();
    this.sampler = new GroupSampler({ proc: this.proc });
    this.self.startTime = this.proc.stat(process.pid)?.startTime ?? '';
    this.self.bootId = this.proc.available() ? this.proc.bootId() : null;
  }

  observe(event: SupervisorEvent): void {
    const at = new Date(this.now()).toISOString();
    switch (event.type) {
      case 'spawned':
        this.spawned = { pid: event.pid, at: this.now() };
        return;
      case 'probe': {
        const probe = event.probe ?? 'startup';
        this.lastProbe = { ok: event.ok, detail: event.detail, latencyMs: event.latencyMs, at, probe };
        if (probe !== 'startup') this.health = { snapshot: this.lastProbe, instance: event.instance };
        return;
      }
      case 'liveness-failed':
        this.health = { snapshot: { ok: false, detail: event.detail, latencyMs: 0, at, probe: 'liveness' }, instance: event.instance };
        return;
      case 'exited':
        // The health of an instance that is gone says nothing about the next one.
        if (this.health?.instance === event.instance) this.health = null;
        return;
      case 'standby':
        this.standbyPid = event.state === 'armed' ? event.pid : null;
        return;
      case 'stopped':
      case 'fatal':
        this.standbyPid = null;
        return;
      default:
        return;
    }
  }

  snapshot(): StatusSnapshot {
    const view = this.options.view();
    const config = view.currentConfig;
    const state = view.state as { tag: string; pid?: number | null };
    const instancePid = typeof state.pid === 'number' ? state.pid : null;
    const now = this.now();
    const stat = instancePid === null ? null : this.proc.stat(instancePid);
    const stats = instancePid === null || stat === null ? null : this.sampler.sample(instancePid);
    const lastExit = view.context.lastExit;
    const probe = view.lastProbeResult;
    const lastProbe: HealthSnapshot | null = probe === undefined
      ? this.lastProbe
      : probe === null ? null : { ok: probe.ok, detail: probe.detail, latencyMs: probe.latencyMs, at: new Date(probe.at).toISOString(), probe: probeKind(probe.kind) };
    const healthWatchedBy = [
      ...(config.health.liveness ? ['liveness' as const] : []),
      ...(config.health.readiness ? ['readiness' as const] : []),
    ];
    return {
      name: config.name,
      state: state.tag,
      supervisorPid: process.pid,
      supervisorStartTime: this.self.startTime,
      instancePid,
      instanceStartTime: stat?.startTime ?? null,
      bootId: this.self.bootId,
      port: config.port,
      host: config.host,
      mode: config.mode,
      url: displayUrl(config.host, config.port),
      uptimeMs: Math.max(0, now - this.startedAt),
      instanceUptimeMs: instancePid === null ? null : this.instanceUptime(instancePid, stat?.startTime ?? null, now),
      restarts: view.context.restarts,
      lastExit: lastExit === null ? null : {
        code: lastExit.code,
        signal: lastExit.signal,
        cause: lastExit.cause,
        summary: lastExit.summary,
        at: new Date(lastExit.at).toISOString(),
      },
      health: this.health?.snapshot ?? null,
      lastProbe,
      healthWatchedBy,
      cwd: config.cwd,
      rss: stats?.rss ?? null,
      cpuPercent: stats?.cpuPercent ?? null,
      startupTimeoutMs: config.health.startupTimeout,
      shutdownTimeoutMs: config.shutdown.timeout,
      version: this.options.version,
      ...(this.standbyPid === null ? {} : { standbyPid: this.standbyPid }),
      ...(view.instanceProcesses ? { processes: view.instanceProcesses() } : {}),
      ...this.instancesOf(view),
      ...(this.options.webhooks === undefined ? {} : { webhooks: this.options.webhooks() }),
      ...diskProblemsOf(this.options),
      supervisorMemory: supervisorMemory(),
    };
  }

  /** `instances` and `total` for an app that runs more than one instance; nothing otherwise. */
  private instancesOf(view: SupervisorView): Pick<StatusSnapshot, 'instances' | 'total'> {
    const members = view.instances?.() ?? [];
    if (members.length <= 1) return {};
    const instances: InstanceStatus[] = members.map((m) => {
      const pid = typeof m.state.pid === 'number' ? m.state.pid : null;
      let sampler = this.instanceSamplers.get(m.index);
      if (!sampler) this.instanceSamplers.set(m.index, sampler = new GroupSampler({ proc: this.proc }));
      const stats = pid === null ? null : sampler.sample(pid);
      return { index: m.index, state: m.state.tag, pid, restarts: m.restarts, rss: stats?.rss ?? null, cpuPercent: stats?.cpuPercent ?? null, lastExit: m.lastExit?.summary ?? null };
    });
    const sum = (values: (number | null)[]): number | null => (values.every((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0));
    return {
      instances,
      total: {
        instances: instances.length,
        ready: instances.filter((i) => i.state === 'ready').length,
        restarts: instances.reduce((a, i) => a + i.restarts, 0),
        rss: sum(instances.map((i) => i.rss)),
        cpuPercent: sum(instances.map((i) => i.cpuPercent)),
      },
    };
  }

  /**
   * From the 'spawned' event of this pid when we saw it — a promoted warm standby (restart.standby)
   * was started long before it became the instance, so its /proc start time would overstate it —
   * else from /proc (start time vs uptime).
   */
  private instanceUptime(pid: number, startTime: string | null, now: number): number | null {
    if (this.spawned?.pid === pid) return Math.max(0, now - this.spawned.at);
    if (startTime !== null) {
      const uptime = this.proc.uptimeSeconds();
      if (uptime !== null) return Math.max(0, Math.round((uptime - Number(startTime) / USER_HZ) * 1000));
    }
    return null;
  }
}

function probeKind(kind: string | undefined): HealthSnapshot['probe'] {
  return kind === 'liveness' || kind === 'readiness' ? kind : 'startup';
}

export interface SupervisorTargetOptions {
  /** The supervisor (src/supervisor/runner.ts) to control. */
  supervisor: SupervisorView & { stop(): void; restart(config?: ResolvedConfig): void };
  /** Where the supervisor's events are published (its `onEvent`). */
  hub: EventHub;
  /** Re-reads the config; on success restarts the supervisor with it (the caller's code). */
  reload(): Promise<ReloadOutcome>;
  version: string;
  startedAt?: number;
  proc?: Proc;
}

/**
 * A {@link ControlTarget} for one foreground `Supervisor`: status from a {@link StatusTracker}
 * fed by the hub, stop/restart on the supervisor. `stop({force})` is the supervisor's "second
 * stop" (SIGKILL now); `stop({timeoutMs})` sends that second stop after `timeoutMs` when it is
 * shorter than shutdown.timeout (a longer one cannot extend the supervisor's own deadline).
 * Call `dispose()` when the supervisor is done.
 */
export function createSupervisorTarget(options: SupervisorTargetOptions): ControlTarget & { tracker: StatusTracker; dispose(): void } {
  const { supervisor, hub } = options;
  const tracker = new StatusTracker({
    view: () => supervisor,
    version: options.version,
    ...(options.startedAt === undefined ? {} : { startedAt: options.startedAt }),
    ...(options.proc === undefined ? {} : { proc: options.proc }),
  });
  const unsubscribe = hub.subscribe((event) => tracker.observe(event));
  let escalation: NodeJS.Timeout | null = null;
  return {
    tracker,
    status: () => tracker.snapshot(),
    stop({ timeoutMs, force }) {
      supervisor.stop();
      if (force === true) {
        supervisor.stop();
        return;
      }
      if (timeoutMs !== undefined && timeoutMs < supervisor.currentConfig.shutdown.timeout && escalation === null) {
        escalation = setTimeout(() => supervisor.stop(), timeoutMs);
        escalation.unref();
      }
    },
    restart: () => supervisor.restart(),
    reload: () => options.reload(),
    rollback: () => Promise.resolve({ ok: false, errors: ['rollback needs the zero-downtime App (naija-sup start)'] }),
    subscribe: (listener) => hub.subscribe(listener),
    dispose() {
      unsubscribe();
      if (escalation !== null) clearTimeout(escalation);
    },
  };
}
