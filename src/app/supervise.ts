/**
 * `supervise()`: a running app, assembled — the one core entry point behind `naija-sup start`, and
 * usable without the CLI (`import { supervise } from 'naija-sup'`). It wires, it does not decide:
 *
 *   config → control socket (one supervisor per name) → preflight → status server → App (mode,
 *   instances) → done
 *
 * Every part consumes the one event stream (the hub): the caller's renderer, the log files in the
 * run dir, the metrics, the status tracker, the last-run record and the control socket's `events`.
 * It never prints, colours or exits: the caller renders the events and exits with `done`.
 */
import { redactorFor, type Redactor } from '../config/redact.js';
import type { LoadedConfig, ResolvedConfig } from '../config/types.js';
import { createLogWriter } from '../control/log-files.js';
import { controlPaths } from '../control/paths.js';
import { lastRunRecorder } from '../control/record.js';
import { ensureRunDir } from '../control/run-dir.js';
import { DiskWatch } from './disk-watch.js';
import { createEventHub, startControlServer, StatusTracker, type EventHub, type ReloadOptions, type ReloadOutcome, type SupervisorView } from '../control/server.js';
import { formatDuration } from '../elapsed.js';
import { isNaijaSupError, NaijaSupError } from '../errors.js';
import { pidFileProblem } from '../config/schema/process.js';
import { dirname } from 'node:path';
import { openMode } from '../reload/open-mode.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import { initialMachine } from '../supervisor/machine.js';
import { App } from './app.js';
import { pid1Warning } from './pid1.js';
import { systemdNotifier, withoutNotifySocket } from './systemd-notify.js';
import { controlTarget, reloadOutcome } from './control-target.js';
import { instanceDeps } from './instance-deps.js';
import type { InstanceMetrics } from '../metrics/instances.js';
import type { Monitoring } from '../metrics/monitoring.js';
import type { SupervisorMetrics } from '../metrics/registry.js';
import type { HealthSnapshot } from '../metrics/status-server.js';
import { monotonicMs } from '../clock.js';

export interface SuperviseOptions {
  /** The configuration, loaded. */
  loaded: LoadedConfig;
  /** Loads it again: SIGHUP and `naija-sup reload` re-read it. */
  reloadConfig(): Promise<LoadedConfig>;
  /** The supervisor's environment: the run dir's location, and what every instance inherits. */
  env: NodeJS.ProcessEnv;
  /** Every event, from the first (the caller's renderer). */
  onEvent?(event: SupervisorEvent): void;
  /** How long loading the config took, for the `config-loaded` event. */
  configLoadMs?: number;
  /** preflight: stop a stale instance even when its record does not match (`--force`). */
  force?: boolean;
  version?: string;
}

export interface Supervision {
  /** The exit status, in the shell's convention. */
  readonly done: Promise<number>;
  /** A graceful stop; a second call kills at once. Safe before the app is up. */
  stop(): void;
  /** Re-reads the configuration and reloads with it (`parallel` instances at a time, default 1). */
  reload(options?: ReloadOptions): Promise<ReloadOutcome>;
  /** Forwards a signal to the current instance's process group. */
  forward(signal: NodeJS.Signals): void;
  /** Adds an event of the caller's to the stream (a signal it received): logs and the control socket see it too. */
  report(event: SupervisorEvent): void;
}

type Closer = () => Promise<void> | void;

interface SuperviseState {
  app: App | null;
  stopEarly: boolean;
  /** Hides the app's secrets in everything it publishes or serves. */
  redactor: Redactor;
}

/** Starts supervising; see {@link Supervision}. */
export function supervise(options: SuperviseOptions): Supervision {
  const hub = createEventHub();
  const state: SuperviseState = { app: null, stopEarly: false, redactor: redactorFor(options.loaded.config, options.env) };
  // Every event is redacted once, here, before any subscriber (renderer, log files, metrics,
  // /health, the control socket) sees it: one rule for every output (issue 15).
  const publish = (e: SupervisorEvent): void => hub.publish(state.redactor.deep(e));
  const seen: ResolvedConfig[] = [options.loaded.config];
  const reload = async (reloadOptions: ReloadOptions = {}): Promise<ReloadOutcome> => {
    let next: LoadedConfig;
    try {
      next = await options.reloadConfig();
      seen.push(next.config);
      state.redactor = redactorFor(seen, options.env);
    } catch (error) {
      const errors = isNaijaSupError(error) ? [error.message, ...error.details] : [String(error)];
      publish({ type: 'reload-rejected', errors });
      return { ok: false, errors };
    }
    if (!state.app) return { ok: false, errors: ['the supervisor is still starting'] };
    // Preflight chose the port; a reload keeps it unless the new config names another one.
    return reloadOutcome('reload', await state.app.reload(next.config, true, reloadOptions.parallel ?? 1));
  };
  const done = run(options, hub, state, reload, publish);
  return {
    done,
    stop: () => {
      if (state.app) state.app.stop();
      else state.stopEarly = true;
    },
    reload,
    forward: (signal) => { state.app?.forward(signal); },
    report: publish,
  };
}

async function run(
  options: SuperviseOptions, hub: EventHub, state: SuperviseState, reload: (options?: ReloadOptions) => Promise<ReloadOutcome>, publish: (e: SupervisorEvent) => void,
): Promise<number> {
  let config: ResolvedConfig = options.loaded.config;
  const version = options.version ?? '0.0.0';
  const pidFileError = pidFileProblem(config.pidFile);
  if (pidFileError !== null) {
    throw new NaijaSupError('E_CONFIG_INVALID', `invalid configuration: ${pidFileError}`, { fix: `create ${dirname(config.pidFile as string)}, or set "pidFile" (--pid-file, PID_FILE) to a file in an existing directory` });
  }
  // Preflight's code loads while the log, metrics and control socket are set up (it needs none of them).
  const preflightModule = import('../ports/preflight.js');
  preflightModule.catch(() => undefined); // awaited (and its error seen) in preflight(), if it gets there
  const runDir = ensureRunDir(options.env);
  const disk = new DiskWatch({ publish, stop: () => state.app?.stop() });
  const logs = createLogWriter({
    dir: runDir, name: config.name, maxSize: config.logs.maxSize, maxFiles: config.logs.maxFiles,
    onError: (error) => disk.logFailed(logs.path, error), onRecover: (lost) => disk.logRecovered(logs.path, lost),
  });
  hub.subscribe((e) => logs.event(e));
  hub.subscribe((e) => disk.observe(e));
  const metrics = await startMetrics(config);
  if (metrics) hub.subscribe((e) => { const warning = metrics.handle(e); if (warning) queueMicrotask(() => publish(warning)); });
  if (metrics && config.mode === 'proxy') {
    const { registerProxyMetrics } = await import('../metrics/proxy-metrics.js');
    registerProxyMetrics(metrics.registry, () => state.app?.proxyStats() ?? null);
  }
  // Issue 20: a row per instance in /health and the dashboard, per-instance series on /metrics.
  const perInstance = metrics && config.status.port !== null ? await startInstanceMetrics(metrics, state) : null;
  const tracker = new StatusTracker({
    view: () => redactedView(statusView(state.app, config), state.redactor),
    version,
    webhooks: config.alerts.webhook.length === 0 ? undefined : () => monitor?.webhooks?.() ?? [],
    diskProblems: () => disk.problems(),
  });
  hub.subscribe((e) => tracker.observe(e));
  // A supervisor that gives up exits: `status` reads why from <name>.last-run (issue 12).
  hub.subscribe(lastRunRecorder(runDir, () => tracker.snapshot()));
  // Issue 17: the dashboard's history and the webhook alerts (src/metrics/monitoring.ts).
  const monitor = config.status.port === null && config.alerts.webhook.length === 0 ? null : (await import('../metrics/monitoring.js')).startMonitoring({
    config, metrics, currentConfig: () => state.app?.currentConfig ?? config, isReady: () => state.app?.supervisor?.readyForTraffic ?? false, publish,
  });
  if (monitor) hub.subscribe((e) => monitor.handle(e));
  // The caller hears each event last: when its "ready" line shows, the log, the status and the
  // last-run record already say so (a test, or a script, may act on the line at once).
  if (options.onEvent) hub.subscribe(options.onEvent);
  publish({ type: 'config-loaded', file: options.loaded.filepath, durationMs: options.configLoadMs ?? 0 });
  const closers: Closer[] = [() => logs.close(), () => metrics?.close(), () => perInstance?.close(), () => monitor?.close()];
  const pid1 = pid1Warning(); if (pid1) publish(pid1);
  const notifier = systemdNotifier(options.env, (message, fix) => publish({ type: 'warning', message, ...(fix ? { fix } : {}) }));
  if (notifier) { hub.subscribe((e) => notifier.event(e)); closers.push(() => notifier.close()); }
  try {
    // One supervisor per name: the control socket (and its lock) is taken before anything is
    // cleaned up, so a second `start` fails with E_ALREADY_RUNNING instead of killing the first.
    const paths = controlPaths(runDir, config.name);
    const target = controlTarget({ app: () => state.app, tracker, hub, reload, shutdownTimeoutMs: () => config.shutdown.timeout });
    const control = await startControlServer({ socketPath: paths.socket, target, name: config.name });
    closers.unshift(() => control.close());
    if (control.staleSocketRemoved) publish({ type: 'warning', message: `removed a stale control socket left by a supervisor that died (${paths.socket})` });
    config = await preflight(config, runDir, Boolean(options.force), publish, preflightModule);
    if (state.stopEarly) return 0;
    if (metrics && config.status.port !== null) closers.unshift(await startStatus(config, options.loaded, metrics, version, () => state.app, publish, () => state.redactor, monitor, perInstance));
    const app = new App({ config, onEvent: publish, makeDeps: instanceDeps({ runDir, baseEnv: withoutNotifySocket(options.env) }), openMode });
    state.app = app;
    const status = await app.start();
    if (disk.runDirError) throw disk.runDirError;
    await namePortHolders(app, status, config, publish);
    return status;
  } finally {
    for (const close of closers) {
      try {
        await close();
      } catch {
        // Closing our own servers and files must not hide the exit status.
      }
    }
  }
}

/** What `status` reads: the instance that serves now, with the public address (not a private port). */
function statusView(app: App | null, config: ResolvedConfig): SupervisorView {
  const sup = app?.supervisor;
  const public_ = app?.currentConfig ?? config;
  if (!sup) return { state: { tag: 'preflight' }, context: { restarts: 0, lastExit: null }, currentConfig: public_ };
  return {
    state: sup.state,
    context: sup.context,
    currentConfig: { ...sup.currentConfig, port: public_.port, host: public_.host },
    lastProbeResult: sup.lastProbeResult,
    instanceProcesses: () => sup.instanceProcesses(),
    instances: () => (app?.members ?? []).flatMap((i) => {
      const s = i.supervisor;
      return s ? [{ index: i.index, state: s.state, restarts: s.context.restarts, lastExit: s.context.lastExit }] : [];
    }),
  };
}

/** The view `status` reads, with the server's words (exit summary, probe detail) redacted. */
function redactedView(view: SupervisorView, redactor: Redactor): SupervisorView {
  const { currentConfig, ...rest } = view;
  return { ...redactor.deep(rest), currentConfig };
}

/**
 * prom-client costs tens of ms to load: only when something reads the metrics (the status server)
 * or the crash-rate alert needs them.
 */
async function startMetrics(config: ResolvedConfig): Promise<SupervisorMetrics | null> {
  if (config.status.port === null && config.alerts.crashRate === null) return null;
  const { SupervisorMetrics } = await import('../metrics/registry.js');
  return new SupervisorMetrics({
    crashRate: config.alerts.crashRate,
    sampleIntervalMs: config.status.port === null ? 0 : 5000,
    defaultMetrics: config.status.port !== null,
  });
}

/** Cleans up before the first spawn; returns the config with the port preflight settled on. */
async function preflight(config: ResolvedConfig, runDir: string, force: boolean, publish: (e: SupervisorEvent) => void, module: Promise<typeof import('../ports/preflight.js')>): Promise<ResolvedConfig> {
  const t0 = monotonicMs();
  const { runPreflight } = await module;
  const pre = await runPreflight({
    config,
    runDir,
    force,
    onStep: (finding) => { if (finding.level === 'warn') publish({ type: 'warning', message: finding.message }); },
  });
  const timings = Object.entries(pre.timings).map(([step, ms]) => `${step} ${formatDuration(ms ?? 0)}`);
  publish({ type: 'preflight', durationMs: monotonicMs() - t0, findings: [...pre.findings, ...(timings.length ? [`timings: ${timings.join(', ')}`] : [])] });
  if (!pre.portChanged) return config;
  publish({ type: 'warning', message: `port ${pre.requestedPort} is taken: using port ${pre.port} instead (portFallback)`, fix: `the server gets PORT=${pre.port}; point clients at it, or free port ${pre.requestedPort} and restart` });
  return { ...config, port: pre.port };
}

async function startStatus(
  config: ResolvedConfig, loaded: LoadedConfig, metrics: SupervisorMetrics, version: string, app: () => App | null, publish: (e: SupervisorEvent) => void,
  redactor: () => Redactor,
  monitor: Monitoring | null,
  perInstance: InstanceMetrics | null,
): Promise<Closer> {
  const { startStatusServer, buildHealthSnapshot } = await import('../metrics/status-server.js');
  // The /health snapshot and the dashboard's data: the one redaction rule applies (issue 15).
  const snapshot = (): HealthSnapshot => redactor().deep({
    ...buildHealthSnapshot({ supervisor: app()?.supervisor ?? { state: { tag: 'idle' }, context: initialMachine().ctx }, metrics, version }),
    ...perInstance?.health(),
  });
  const status = await startStatusServer({
    routes: monitor?.routes(snapshot) ?? undefined,
    token: config.status.token,
    port: config.status.port as number,
    host: config.status.host,
    maxConnections: config.status.maxConnections,
    explicitHost: loaded.sources['status.host']?.kind !== 'default',
    snapshot,
    isReady: () => app()?.supervisor?.readyForTraffic ?? false,
    metrics,
  });
  publish({ type: 'status-server', url: status.url });
  return () => status.close();
}

/** Each instance's row and series (src/metrics/instances.ts), read from the app's instances. */
async function startInstanceMetrics(metrics: SupervisorMetrics, state: SuperviseState): Promise<InstanceMetrics> {
  const { InstanceMetrics } = await import('../metrics/instances.js');
  const perInstance = new InstanceMetrics({
    members: () => (state.app?.members ?? []).map((i) => ({ index: i.index, supervisor: i.supervisor })),
    proxyStats: () => state.app?.proxyStats() ?? null,
  });
  perInstance.register(metrics.registry);
  return perInstance;
}

/**
 * A start that failed on a port conflict: name who holds the port (the classification's fix is
 * generic). Not behind the proxy, whose public port is naija-sup's own: the summary already says
 * the server took it.
 */
async function namePortHolders(app: App, status: number, config: ResolvedConfig, publish: (e: SupervisorEvent) => void): Promise<void> {
  const last = app.supervisor?.context.lastExit;
  if (status === 0 || last?.cause !== 'port-in-use' || app.privatePorts) return;
  const { describePortHolders } = await import('../ports/free-port.js');
  publish({ type: 'port-holders', port: config.port, lines: await describePortHolders(config.port, config.host) });
}
