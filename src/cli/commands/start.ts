/**
 * `naija-sup start`: load the config, take the app's name (control socket + lock: one supervisor
 * per name), clean up before spawning (preflight), supervise the instance in the foreground, and
 * translate signals: SIGINT/SIGTERM stop (a second one kills), SIGHUP re-reads the config and
 * reloads, SIGUSR1/SIGUSR2 are forwarded to the instance's group.
 *
 * Every module it wires consumes the one event stream (the hub): the renderer (human or JSON
 * lines), the log files in the run dir, the metrics, and the control socket's `events`.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, type ConfigFlags } from '../../config/index.js';
import type { LoadedConfig, ResolvedConfig } from '../../config/types.js';
import { ensureRunDir } from '../../control/run-dir.js';
import { controlPaths } from '../../control/paths.js';
import { createLogWriter } from '../../control/log-files.js';
import { createEventHub, startControlServer, StatusTracker, type ControlServer, type ControlTarget, type ReloadOutcome } from '../../control/server.js';
import { isNaijaSupError } from '../../errors.js';
import { App, type InstanceWiring, type Listener } from '../../supervisor/app.js';
import type { SupervisorEvent } from '../../supervisor/events.js';
import { initialMachine } from '../../supervisor/machine.js';
import { realDeps } from '../../supervisor/real-deps.js';
import { hasControllingTerminal } from '../../process/terminal.js';
import { guardOutput, type CliIO } from '../context.js';
import { EventRenderer, paletteFor } from '../event-renderer.js';
import { JsonRenderer } from '../json-renderer.js';
import type { StartOptions } from '../main.js';

function flagsFrom(opts: StartOptions, command: string[]): ConfigFlags {
  return {
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.killExisting !== undefined ? { killExisting: opts.killExisting } : {}),
    ...(opts.pidFile !== undefined ? { pidFile: opts.pidFile } : {}),
    ...(opts.portFallback !== undefined ? { portFallback: opts.portFallback } : {}),
    ...(opts.statusPort !== undefined ? { statusPort: opts.statusPort } : {}),
    ...(opts.logFormat !== undefined ? { logFormat: opts.logFormat } : {}),
    ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
    ...(command.length > 0 ? { command } : {}),
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

type Renderer = Pick<EventRenderer, 'handle' | 'close'> & { say(text: string, kind?: 'info' | 'ok' | 'warn' | 'error'): void };

/** Opens the listener that outlives instances in handoff and proxy mode (issue 8). */
async function openListener(config: ResolvedConfig): Promise<Listener> {
  const reload = await import('../../reload/index.js');
  if (config.mode === 'handoff') {
    const handoff = reload.createHandoffListener({ host: config.host, port: config.port });
    return {
      mode: 'handoff',
      address: `${config.host.includes(':') ? `[${config.host}]` : config.host}:${handoff.port}`,
      instanceConfig: async (c) => c,
      wiring: (): InstanceWiring => ({ extraFds: [handoff.fd], extraEnv: reload.handoffEnv(), verifyAnsweredBy: true }),
      switchTo: () => undefined,
      close: async () => handoff.close(),
    };
  }
  const proxy = await reload.createProxy({ host: config.host, port: config.port });
  return {
    mode: 'proxy',
    address: `${config.host.includes(':') ? `[${config.host}]` : config.host}:${proxy.port}`,
    // Each instance gets its own private port on loopback; the public port is the proxy's.
    instanceConfig: async (c) => ({ ...c, host: '127.0.0.1', port: await reload.pickPrivatePort() }),
    wiring: (): InstanceWiring => ({ extraFds: [], extraEnv: {}, verifyAnsweredBy: false }),
    switchTo: (c) => proxy.setTarget(c ? c.port : null),
    // Blue closes its listening socket when told to stop: connections the proxy opened to it just
    // before the switch must be accepted first, or the kernel resets them (failed requests). Safe
    // once every connection piped to blue has ended (short-lived connections: HTTP/1.0, Python's
    // http.server) or the kernel shows none waiting in blue's accept queue (keep-alive ones),
    // whichever comes first; bounded.
    beforeRetire: async (c) => {
      const { waitForAcceptQueueEmpty } = await import('../../supervisor/real-deps.js');
      // One turn of the event loop: a connect() begun before the switch is counted once it completes.
      await new Promise((resolve) => setTimeout(resolve, 1));
      const cap = Math.min(2000, c.shutdown.timeout);
      const done = new AbortController();
      await Promise.race([proxy.waitForDrain(c.port, cap), waitForAcceptQueueEmpty(c.port, { timeoutMs: cap, signal: done.signal })]);
      done.abort();
    },
    close: () => proxy.close(),
  };
}

export async function startCommand(io: CliIO, opts: StartOptions, command: string[], rawArgv: string[] = []): Promise<number> {
  guardOutput();
  if (opts.detach) {
    const { startDetached } = await import('../detach.js');
    return startDetached(io, rawArgv);
  }
  const t0 = performance.now();
  const load = (): Promise<LoadedConfig> => loadConfig({
    cwd: io.cwd,
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    env: io.env,
    flags: flagsFrom(opts, command),
    requireCommand: true,
  });
  const loaded = await load();
  let config: ResolvedConfig = loaded.config;

  const format = config.logFormat ?? (io.isTTY ? 'human' : 'json');
  const renderer: Renderer = format === 'json'
    ? new JsonRenderer(io, { name: config.name, verbose: Boolean(opts.verbose) })
    : new EventRenderer(io, { name: config.name, raw: Boolean(opts.raw), verbose: Boolean(opts.verbose) }, await paletteFor(io));
  const hub = createEventHub();
  // Detached (src/cli/detach.ts), our stdout is a file that never rotates: the server's output
  // goes only to the rotating log in the run dir.
  const detached = io.env['NAIJA_SUP_DETACHED'] === '1';
  const instanceBaseEnv: NodeJS.ProcessEnv = { ...io.env };
  delete instanceBaseEnv['NAIJA_SUP_DETACHED'];
  hub.subscribe((e) => { if (!(detached && e.type === 'output')) renderer.handle(e); });
  const publish = (e: SupervisorEvent): void => hub.publish(e);
  publish({ type: 'config-loaded', file: loaded.filepath, durationMs: performance.now() - t0 });

  const runDir = ensureRunDir(io.env);
  const paths = controlPaths(runDir, config.name);
  const logs = createLogWriter({ dir: runDir, name: config.name, maxSize: config.logs.maxSize, maxFiles: config.logs.maxFiles });
  hub.subscribe((e) => logs.event(e));

  const version = packageVersion();
  // prom-client costs tens of ms to load: only when something reads the metrics (the status
  // server) or the crash-rate alert needs them.
  const needMetrics = config.status.port !== null || config.alerts.crashRate !== null;
  const metrics = needMetrics
    ? new (await import('../../metrics/registry.js')).SupervisorMetrics({
        crashRate: config.alerts.crashRate,
        sampleIntervalMs: config.status.port === null ? 0 : 5000,
        defaultMetrics: config.status.port !== null,
      })
    : null;
  if (metrics) {
    hub.subscribe((e) => {
      const warning = metrics.handle(e);
      if (warning) queueMicrotask(() => publish(warning));
    });
  }

  let app: App | null = null;
  const tracker = new StatusTracker({
    view: () => {
      const sup = app?.supervisor;
      const public_ = app?.currentConfig ?? config;
      if (!sup) return { state: { tag: 'preflight' }, context: { restarts: 0, lastExit: null }, currentConfig: public_ };
      // Behind the proxy the instance listens on a private port; status shows the public one.
      return { state: sup.state, context: sup.context, currentConfig: { ...sup.currentConfig, port: public_.port, host: public_.host }, lastProbeResult: sup.lastProbeResult };
    },
    version,
  });
  hub.subscribe((e) => tracker.observe(e));

  const reloadFromFile = async (): Promise<ReloadOutcome> => {
    let next: LoadedConfig;
    try {
      next = await load();
    } catch (error) {
      const errors = isNaijaSupError(error) ? [error.message, ...error.details] : [String(error)];
      publish({ type: 'reload-rejected', errors });
      return { ok: false, errors };
    }
    if (!app) return { ok: false, errors: ['the supervisor is still starting'] };
    // Preflight chose the port; a reload keeps it unless the new config names another one.
    const result = await app.reload(next.config);
    return result.ok ? { ok: true } : { ok: false, kind: 'failed', errors: [`reload ${result.outcome}${result.cause ? `: ${result.cause}` : ''}`] };
  };
  const target: ControlTarget = {
    status: () => {
      const snapshot = tracker.snapshot();
      const green = app?.greenSupervisor;
      return green && app?.reloading ? { ...snapshot, reloading: { pid: green.instancePid, state: green.state.tag } } as typeof snapshot : snapshot;
    },
    stop: ({ force, timeoutMs }) => {
      app?.stop();
      if (force) app?.stop();
      // A shorter grace period than shutdown.timeout: the second stop (SIGKILL) comes earlier.
      else if (timeoutMs !== undefined && timeoutMs < config.shutdown.timeout) setTimeout(() => app?.stop(), timeoutMs).unref();
    },
    restart: () => { void app?.restart(); },
    reload: reloadFromFile,
    rollback: async () => {
      if (!app) return { ok: false, errors: ['the supervisor is still starting'] };
      const result = await app.rollback();
      return result.ok ? { ok: true } : { ok: false, kind: 'failed', errors: [`rollback ${result.outcome}${result.cause ? `: ${result.cause}` : ''}`] };
    },
    subscribe: (listener) => hub.subscribe(listener),
  };

  const closers: Array<() => Promise<void> | void> = [() => logs.close(), () => metrics?.close()];
  const signals = io.signals;
  let stopEarly = false;
  const onStop = (): void => {
    if (app) app.stop();
    else stopEarly = true;
  };
  // Closing the terminal sends SIGHUP: in the foreground on a terminal it stops (gracefully, once:
  // a hangup may deliver it twice), as every foreground CLI does. Detached (setsid), under
  // systemd or nohup there is no terminal to close and SIGHUP keeps meaning "reload". Asked now:
  // by the time a hangup's SIGHUP is handled, the kernel has detached the terminal already.
  const hupStops = io.signals === process && io.isTTY && hasControllingTerminal();
  let hungUp = false;
  const onHup = (): void => {
    if (hupStops) {
      if (hungUp) return;
      hungUp = true;
      publish({ type: 'warning', message: 'SIGHUP in the foreground with a controlling terminal (the terminal closed): stopping', fix: 'to reload instead, use "naija-sup reload"' });
      onStop();
      return;
    }
    publish({ type: 'reload-requested', source: 'SIGHUP' });
    void reloadFromFile();
  };
  const onUsr1 = (): void => { app?.forward('SIGUSR1'); };
  const onUsr2 = (): void => { app?.forward('SIGUSR2'); };
  signals?.on('SIGINT', onStop);
  signals?.on('SIGTERM', onStop);
  signals?.on('SIGHUP', onHup);
  signals?.on('SIGUSR1', onUsr1);
  signals?.on('SIGUSR2', onUsr2);

  try {
    // One supervisor per name: the control socket (and its lock) is taken before anything is
    // cleaned up, so a second `start` fails with E_ALREADY_RUNNING instead of killing the first.
    const control: ControlServer = await startControlServer({ socketPath: paths.socket, target, name: config.name });
    closers.unshift(() => control.close());
    if (control.staleSocketRemoved) publish({ type: 'warning', message: `removed a stale control socket left by a supervisor that died (${paths.socket})` });

    const tPre = performance.now();
    const { runPreflight } = await import('../../ports/preflight.js');
    const pre = await runPreflight({
      config,
      runDir,
      force: Boolean(opts.force),
      onStep: (finding) => { if (finding.level === 'warn') publish({ type: 'warning', message: finding.message }); },
    });
    const timings = Object.entries(pre.timings).map(([step, ms]) => `${step} ${Math.round(ms ?? 0)} ms`);
    publish({ type: 'preflight', durationMs: performance.now() - tPre, findings: [...pre.findings, ...(timings.length ? [`timings: ${timings.join(', ')}`] : [])] });
    if (pre.portChanged) {
      publish({ type: 'warning', message: `port ${pre.requestedPort} is taken: using port ${pre.port} instead (portFallback)`, fix: `the server gets PORT=${pre.port}; point clients at it, or free port ${pre.requestedPort} and restart` });
      config = { ...config, port: pre.port };
    }
    if (stopEarly) return 0;

    if (config.status.port !== null && metrics) {
      const { startStatusServer, buildHealthSnapshot } = await import('../../metrics/status-server.js');
      const status = await startStatusServer({
        port: config.status.port,
        host: config.status.host,
        explicitHost: loaded.sources['status.host']?.kind !== 'default',
        snapshot: () => buildHealthSnapshot({ supervisor: app?.supervisor ?? { state: { tag: 'idle' }, context: initialMachine().ctx }, metrics, version }),
        isReady: () => app?.supervisor?.readyForTraffic ?? false,
        metrics,
      });
      closers.unshift(() => status.close());
      renderer.say(`status server on ${status.url} (/alive /ready /health /metrics)`);
    }

    const { waitForDependencies } = await import('../../dependencies/wait.js');
    const { probeInstanceOnSharedSocket } = config.mode === 'handoff' ? await import('../../reload/answered-by.js') : { probeInstanceOnSharedSocket: null };
    const runner = new App({
      config,
      onEvent: publish,
      makeDeps: (wiring, onEvent) => realDeps({
        runDir,
        baseEnv: instanceBaseEnv,
        onEvent,
        extraFds: wiring.extraFds,
        extraEnv: wiring.extraEnv,
        ...(wiring.verifyAnsweredBy && probeInstanceOnSharedSocket
          ? { probeAnsweredBy: ({ kind, ...input }) => probeInstanceOnSharedSocket(kind, input) }
          : {}),
        waitDependencies: async (c, signal) => {
          const results = await waitForDependencies(c.dependsOn, { timeout: c.dependencies.timeout, retries: c.dependencies.retries, signal });
          return results.map((r) => ({ name: r.name, target: r.target, ok: r.ok, attempts: r.attempts, latencyMs: r.latencyMs, detail: r.detail }));
        },
      }),
      openListener,
    });
    app = runner;
    const status = await runner.start();
    const last = runner.supervisor?.context.lastExit;
    if (status !== 0 && last?.cause === 'port-in-use') {
      // Name who holds the port: the fix the classification gave is generic.
      const { describePortHolders } = await import('../../ports/free-port.js');
      for (const line of await describePortHolders(config.port, config.host)) renderer.say(line, 'error');
    }
    return status;
  } finally {
    signals?.off('SIGINT', onStop);
    signals?.off('SIGTERM', onStop);
    signals?.off('SIGHUP', onHup);
    signals?.off('SIGUSR1', onUsr1);
    signals?.off('SIGUSR2', onUsr2);
    for (const close of closers) {
      try {
        await close();
      } catch {
        // Closing our own servers and files must not hide the exit status.
      }
    }
    renderer.close();
  }
}
