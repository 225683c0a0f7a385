/**
 * The opt-in status HTTP server of issue 7 (`status.port` / `--status-port`):
 *
 * | route          | answer |
 * |----------------|--------|
 * | `GET /alive`   | 200 while the supervisor's event loop turns (a Kubernetes livenessProbe) |
 * | `GET /ready`   | 200 only while the instance is ready, else 503 (a load balancer, a readinessProbe) |
 * | `GET /health`  | JSON: {@link HealthSnapshot} |
 * | `GET /metrics` | Prometheus text from the {@link SupervisorMetrics} registry |
 *
 * Anything else is 404 (405 for another method on a known route). It binds 127.0.0.1 by default:
 * /health names pids, commands' exit causes and dependency targets, which are nobody else's
 * business; a non-loopback host must be asked for explicitly.
 *
 * Any local user can connect to it, so it must not be able to starve the supervisor (issue 15):
 * another user once held 21,000 idle connections to it, the supervisor ran out of file descriptors
 * and its next restart of the API failed with EMFILE. So it holds at most `maxConnections` (fewer
 * when the fd limit is low: {@link statusConnectionCap} keeps {@link FD_RESERVE} descriptors for the
 * supervisor's own work), a new connection beyond that pushes out the oldest one that is not in
 * the middle of a request, and idle, slow-header and slow-request connections are cut within
 * seconds rather than the ~40 s of Node's defaults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { monotonicMs } from '../clock.js';
import type { Socket } from 'node:net';
import { NaijaSupError } from '../errors.js';
import { PROC } from '../process/proc-read.js';
import type { CrashCause } from '../supervisor/events.js';
import type { Context, State } from '../supervisor/machine.js';
import type { InstanceHealth, InstancesTotal } from './instances.js';
import type { DependencyStatus, LastProbe, SupervisorMetrics } from './registry.js';
import { authorized } from './access.js';
import { isoTime } from '../iso-time.js';

/** The body of `GET /health`. Times are ISO-8601 strings; durations are seconds unless named `…Ms`. */
export interface HealthSnapshot {
  /**
   * "ok" when ready; "not-ready" when it runs but its readiness probe fails; "starting" while an
   * instance starts or backs off; "stopping"; "down" when none runs (idle, stopped, fatal).
   */
  status: 'ok' | 'not-ready' | 'starting' | 'stopping' | 'down';
  supervisor: {
    pid: number;
    uptimeSeconds: number;
    version: string;
  };
  instance: {
    /** The supervisor state's tag: idle, spawning, starting, ready, backoff, stopping, stopped, fatal. */
    state: State['tag'];
    ready: boolean;
    pid: number | null;
    /** Since the current instance was spawned; null when none runs. */
    uptimeSeconds: number | null;
    restarts: number;
    lastExit: {
      code: number | null;
      signal: string | null;
      cause: CrashCause;
      summary: string;
      at: string;
      uptimeSeconds: number;
    } | null;
    /** Sum of VmRSS over the instance's process group at the last sample; null before any. */
    rssBytes: number | null;
    /** CPU seconds used by the instance's processes while supervised; null before any sample. */
    cpuSeconds: number | null;
    /** Live processes in the instance's group at the last sample. */
    processes: number | null;
  };
  probe: {
    probe: LastProbe['probe'];
    ok: boolean;
    detail: string;
    latencyMs: number;
    at: string;
  } | null;
  dependencies: Array<Omit<DependencyStatus, 'at'> & { at: string }>;
  crashRate: {
    perMinute: number;
    windowSeconds: number;
    /** alerts.crashRate; null when off. */
    threshold: number | null;
  };
  /**
   * Each instance of an app that runs more than one (`instances`, issue 20; src/metrics/instances.ts),
   * in index order; `instance` above is instance 0. Absent with one instance.
   */
  instances?: InstanceHealth[];
  /** The whole app when it runs more than one instance. */
  total?: InstancesTotal;
}

/** What {@link buildHealthSnapshot} reads from the runner: `Supervisor.state` and `Supervisor.context`. */
export interface SupervisorView {
  readonly state: State;
  readonly context: Context;
}

export interface HealthSnapshotInput {
  supervisor: SupervisorView;
  metrics: SupervisorMetrics;
  /** naija-sup's version (package.json). */
  version: string;
  /** The runner's clock, the one the machine's `since`/`spawnedAt` come from (monotonicMs in real-deps). */
  now?: (() => number) | undefined;
  /** The supervisor's own uptime, seconds; default `process.uptime()`. */
  uptimeSeconds?: (() => number) | undefined;
  /** Default `process.pid`. */
  pid?: number | undefined;
}

/**
 * Assembles the /health body: state, pid, uptime, restarts and last exit from the runner; the
 * probe, dependencies, usage and crash rate from the event-fed metrics. Cheap and synchronous, so
 * `snapshot: () => buildHealthSnapshot({...})` can be called per request.
 */
export function buildHealthSnapshot(input: HealthSnapshotInput): HealthSnapshot {
  const { state, context } = input.supervisor;
  const metrics = input.metrics;
  const now = (input.now ?? monotonicMs)();
  const spawnedAt = state.tag === 'starting' ? state.spawnedAt
    : state.tag === 'ready' ? state.since
      : state.tag === 'stopping' ? state.spawnedAt
        : null;
  const pid = state.tag === 'starting' || state.tag === 'ready' ? state.pid : state.tag === 'stopping' ? state.pid : null;
  const usage = metrics.usage;
  const exit = context.lastExit;
  const probe = metrics.lastProbe;
  const ready = state.tag === 'ready' && metrics.ready;
  const status: HealthSnapshot['status'] = ready ? 'ok'
    : state.tag === 'ready' ? 'not-ready'
    : state.tag === 'spawning' || state.tag === 'starting' || state.tag === 'backoff' ? 'starting'
      : state.tag === 'stopping' ? 'stopping'
        : 'down';
  return {
    status,
    supervisor: {
      pid: input.pid ?? process.pid,
      uptimeSeconds: round3((input.uptimeSeconds ?? process.uptime)()),
      version: input.version,
    },
    instance: {
      state: state.tag,
      ready,
      pid,
      uptimeSeconds: spawnedAt === null ? null : round3(Math.max(0, now - spawnedAt) / 1000),
      restarts: context.restarts,
      lastExit: exit === null ? null : {
        code: exit.code,
        signal: exit.signal,
        cause: exit.cause,
        summary: exit.summary,
        at: isoTime(exit.at),
        uptimeSeconds: round3(exit.uptimeMs / 1000),
      },
      rssBytes: usage?.rssBytes ?? null,
      cpuSeconds: usage === null ? null : round3(usage.cpuSeconds),
      processes: usage?.processes ?? null,
    },
    probe: probe === null ? null : { ...probe, at: isoTime(probe.at) },
    dependencies: metrics.dependencies.map((d) => ({ ...d, at: isoTime(d.at) })),
    crashRate: {
      perMinute: round3(metrics.crashes.perMinute()),
      windowSeconds: metrics.crashes.windowMs / 1000,
      threshold: metrics.crashes.threshold,
    },
  };
}

export interface StatusServerOptions {
  /** 0 = any free port (tests). */
  port: number;
  /** Default 127.0.0.1. A non-loopback host is refused unless `explicitHost` is true. */
  host?: string | undefined;
  /** The user asked for this host (flag, env or file, not the default): allows a non-loopback bind. */
  explicitHost?: boolean | undefined;
  /** The /health body; called per request. */
  snapshot: () => HealthSnapshot;
  /** What /ready answers; called per request. */
  isReady: () => boolean;
  /** Source of /metrics. */
  metrics: Pick<SupervisorMetrics, 'metrics' | 'contentType'>;
  /** Simultaneous connections (status.maxConnections); default {@link DEFAULT_MAX_CONNECTIONS}, lowered by the fd limit. */
  maxConnections?: number | undefined;
  /** This process's open-files soft limit; default from /proc/self/limits. Tests inject it. */
  fdLimit?: number | null | undefined;
  /** More routes (the dashboard, src/metrics/dashboard.ts): resolves true when it answered. */
  routes?: ((req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>) | undefined;
  /** status.token: asked for on everything but /alive, /ready and static files (access.ts). */
  token?: string | null | undefined;
}

export const DEFAULT_MAX_CONNECTIONS = 64;

/**
 * Descriptors kept free for the supervisor's own work whatever the status server holds: the control
 * socket and its 64 clients, the instance's pipes, the probes, the log files and Node's own
 * (~25 at start).
 */
export const FD_RESERVE = 128;

/** An idle keep-alive or never-used connection is closed after this long. */
const IDLE_TIMEOUT_MS = 5_000;

/**
 * The connection cap in force: the configured one, but never more than the fd limit minus
 * {@link FD_RESERVE}, nor a quarter of the limit (`ulimit -n 256` → 64), nor less than 1.
 */
export function statusConnectionCap(configured: number, fdLimit: number | null): number {
  if (fdLimit === null || !Number.isFinite(fdLimit)) return Math.max(1, configured);
  return Math.max(1, Math.min(configured, fdLimit - FD_RESERVE, Math.floor(fdLimit / 4)));
}

export interface StatusServer {
  /** `http://127.0.0.1:PORT` (IPv6 hosts in brackets). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The connection cap in force ({@link statusConnectionCap}). */
  readonly maxConnections: number;
  /** Stops listening and drops open connections (a scraper's keep-alive must not hold the exit). */
  close(): Promise<void>;
}

/** Whether `host` is a loopback name or address (127.0.0.0/8, ::1, localhost, ::ffff:127.x). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice('::ffff:'.length));
    try {
      return new URL(`http://[${h}]/`).hostname === '[::1]';
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Starts the status server and resolves once it listens.
 *
 * @throws NaijaSupError `E_CONFIG_INVALID` for a non-loopback host that was not given explicitly,
 *   `E_PORT_IN_USE` when the port is taken, `E_USAGE` for another bind failure.
 */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const host = (options.host ?? '127.0.0.1').trim().replace(/^\[(.*)\]$/, '$1');
  if (!isLoopbackHost(host) && options.explicitHost !== true) {
    throw new NaijaSupError('E_CONFIG_INVALID', `the status server would listen on ${host}, which is not a loopback address`, {
      fix: `/health and /metrics describe your processes: keep status.host at 127.0.0.1, or set status.host (or --status-host) to "${host}" explicitly to expose them`,
    });
  }
  // Node checks the headers and request timeouts only every connectionsCheckingInterval (30 s by
  // default): that, not the timeouts, is why idle connections used to live ~40 s.
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    void route(req, res, options).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      else res.destroy();
    });
  });
  // A scraper or a stuck client must not hold a socket for long: these are tiny answers.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = IDLE_TIMEOUT_MS;
  // Inactivity on the socket, whatever the parser's state: a connection that never sends a byte.
  server.timeout = IDLE_TIMEOUT_MS;
  const maxConnections = statusConnectionCap(
    options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    options.fdLimit === undefined ? PROC.openFileLimit()?.soft ?? null : options.fdLimit,
  );
  capConnections(server, maxConnections);

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(bindError(error, host, options.port));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port: options.port, host });
  });
  // After listening, a socket error must not become an uncaught exception of the supervisor.
  server.on('error', () => undefined);
  server.on('clientError', (_error, socket) => socket.destroy());

  const address = server.address() as AddressInfo;
  const urlHost = isIP(address.address) === 6 ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    maxConnections,
    close: () => closeServer(server),
  };
}

/**
 * At most `max` connections: a new one beyond that pushes out the oldest connection that is not in
 * the middle of a request (an idle flood cannot lock a scraper out, nor hold our descriptors); only
 * when every one is busy is the newcomer refused.
 */
function capConnections(server: Server, max: number): void {
  const open = new Set<Socket>();
  const busy = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      let victim: Socket | undefined;
      for (const s of open) {
        if (!busy.has(s)) {
          victim = s;
          break;
        }
      }
      if (victim === undefined) {
        socket.destroy();
        return;
      }
      open.delete(victim);
      victim.destroy();
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    busy.add(req.socket);
    res.once('close', () => busy.delete(req.socket));
  });
}

const ROUTES = new Set(['/alive', '/ready', '/health', '/metrics']);

async function route(req: IncomingMessage, res: ServerResponse, options: StatusServerOptions): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://status.invalid').pathname;
  if (!authorized(req, path, options.token)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: send status.token as "Authorization: Bearer <token>" or ?token=<token>\n');
    return;
  }
  if (options.routes !== undefined && (await options.routes(req, res, path))) return;
  if (!ROUTES.has(path)) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found: try /alive, /ready, /health or /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/alive':
      // Answering at all is the proof: this handler only runs when the event loop turns.
      send(res, 200, 'text/plain; charset=utf-8', 'alive\n');
      return;
    case '/ready': {
      const ready = options.isReady();
      send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n');
      return;
    }
    case '/health':
      send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(options.snapshot())}\n`);
      return;
    case '/metrics':
      send(res, 200, options.metrics.contentType, await options.metrics.metrics());
      return;
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function bindError(error: NodeJS.ErrnoException, host: string, port: number): NaijaSupError {
  if (error.code === 'EADDRINUSE') {
    return new NaijaSupError('E_PORT_IN_USE', `the status port ${port} on ${host} is already in use`, {
      fix: 'choose another status.port (or --status-port), or stop what holds it (naija-sup doctor names the owner)',
      cause: error,
    });
  }
  return new NaijaSupError('E_USAGE', `the status server cannot listen on ${host}:${port}: ${error.code ?? error.message}`, {
    fix: error.code === 'EACCES'
      ? 'ports below 1024 need privileges: choose a status.port above 1024'
      : error.code === 'EADDRNOTAVAIL'
        ? `${host} is not an address of this machine: check status.host`
        : 'check status.host and status.port',
    cause: error,
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
