/**
 * Turns supervisor events into terminal lines. The child's lines are prefixed with `[name]` (or
 * streamed raw with --raw); the supervisor's own lines start with `naija-sup ›` so the two never
 * blur. Colour only on a TTY and never with NO_COLOR; a spinner only on a TTY while starting.
 */
import type { Ora } from 'ora';
import { docsRef } from '../docs-ref.js';
import { formatDuration as ms } from '../elapsed.js';
import { describeExitShort } from '../exit-text.js';
import type { SupervisorEvent } from '../supervisor/events.js';
import type { CliIO } from './context.js';
import { docsLink } from './docs-link.js';
import { useColor } from './render.js';
import { terminalSafe } from './terminal-text.js';
import { importModule } from '../import-module.js';

export interface RendererOptions {
  name: string;
  raw: boolean;
  verbose: boolean;
  /** Where the port came from when not the file or the default ("env PORT, over 8000 from file …"). */
  portOrigin?: string | null;
}

/** The colours the renderer uses; a chalk instance fits. */
export interface Palette {
  dim(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  cyan(text: string): string;
}

/** One kind of supervisor event, or a few: what each render method below takes. */
type EventOf<T extends SupervisorEvent['type']> = Extract<SupervisorEvent, { type: T }>;

const same = (text: string): string => text;
const PLAIN: Palette = { dim: same, green: same, yellow: same, red: same, cyan: same };

/**
 * The palette for `io`: chalk when colour is on, plain text otherwise. chalk is loaded only then:
 * a supervisor writing to a pipe or a file (the usual case in production) never needs it, and
 * it would stay resident for the supervisor's whole life.
 */
export async function paletteFor(io: CliIO): Promise<Palette> {
  if (!useColor(io)) return PLAIN;
  const { Chalk } = await importModule<typeof import('chalk')>('chalk');
  return new Chalk({ level: 1 });
}


/** " (pid 42)", or nothing when there is no pid: never "(pid -)". */
function pidNote(pid: number | null | undefined): string {
  return pid ? ` (pid ${pid})` : '';
}

/**
 * Whether stderr is a terminal with a width ora can divide by. A pty can report 0 columns (`script`
 * or `ssh -tt` run from something that is not a terminal, `stty cols 0`), and ora 9 counts the
 * lines to erase as ceil(width / columns): Infinity, so its clear() loops forever writing cursor
 * escapes and the supervisor's event loop never turns again (no ready, no signals). No spinner
 * then: the lines it would animate are printed anyway.
 */
function hasColumns(): boolean {
  return (process.stderr.columns ?? 0) > 0;
}

export class EventRenderer {
  private readonly c: Palette;
  private spinner: Ora | null = null;
  private spinnerWanted = false;
  private readonly startedAt = Date.now();
  /** The port of the instance being started, for the "started" line. */
  private port: number | null = null;
  private readonly io: CliIO;
  private readonly opts: RendererOptions;

  constructor(io: CliIO, opts: RendererOptions, palette: Palette = PLAIN) {
    this.io = io;
    this.opts = opts;
    this.c = palette;
  }

  /** A supervisor line on stderr, kept apart from the child's output. */
  say(text: string, kind: 'info' | 'ok' | 'warn' | 'error' = 'info'): void {
    const tag = this.c.dim('naija-sup ›');
    const body = kind === 'ok' ? this.c.green(text) : kind === 'warn' ? this.c.yellow(text) : kind === 'error' ? this.c.red(text) : text;
    this.withSpinnerPaused(() => this.io.stderr(`${tag} ${body}\n`));
  }

  detail(text: string): void {
    this.withSpinnerPaused(() => this.io.stderr(`  ${text}\n`));
  }

  verbose(text: string): void {
    if (this.opts.verbose) this.say(this.c.dim(text));
  }

  private withSpinnerPaused(write: () => void): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      write();
      this.spinner.render();
    } else {
      write();
    }
  }

  private spin(text: string): void {
    if (!this.io.isTTY || this.opts.verbose || !hasColumns()) return;
    if (this.spinner) {
      this.spinner.text = text;
      return;
    }
    this.spinnerWanted = true;
    // ora (and what it pulls in) costs ~13 MiB of a long-lived supervisor: load it only on a TTY.
    void importModule<typeof import('ora')>('ora').then(({ default: ora }) => {
      if (!this.spinnerWanted || this.spinner || !hasColumns()) return;
      this.spinner = ora({ text, stream: process.stderr, isEnabled: true, discardStdin: false }).start();
      process.stderr.on('resize', this.onResize);
    }, () => undefined);
  }

  /** A terminal resized to 0 columns mid-spin: stop before ora's next frame divides by it. */
  private readonly onResize = (): void => {
    if (!hasColumns()) this.unspin();
  };

  private unspin(): void {
    this.spinnerWanted = false;
    process.stderr.off('resize', this.onResize);
    this.spinner?.stop();
    this.spinner = null;
  }

  close(): void {
    this.unspin();
  }

  handle(event: SupervisorEvent): void {
    switch (event.type) {
      case 'config-loaded':
      case 'preflight':
      case 'spawning':
      case 'spawned':
      case 'probe':
      case 'ready':
        this.renderStartup(event);
        return;
      case 'output':
        this.renderOutput(event);
        return;
      case 'exited':
      case 'backoff':
      case 'restarting':
      case 'liveness-failed':
      case 'readiness-changed':
        this.renderFailure(event);
        return;
      case 'fatal':
        this.renderFatal(event);
        return;
      case 'stopping':
      case 'escalated':
      case 'stopped':
        this.renderStop(event);
        return;
      case 'reload-requested':
      case 'reload-rejected':
      case 'reload-started':
      case 'reload-finished':
        this.renderReload(event);
        return;
      case 'standby':
        this.renderStandby(event);
        return;
      case 'signal-forwarded':
      case 'record-written':
      case 'record-error':
      case 'warning':
      case 'dependency':
      case 'status-server':
      case 'port-holders':
      case 'listener':
        this.renderNotice(event);
        return;
      default: {
        const never: never = event;
        this.verbose(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  /** From the config read to the first ready: mostly verbose steps, the spinner, "started", "ready". */
  private renderStartup(event: EventOf<'config-loaded' | 'preflight' | 'spawning' | 'spawned' | 'probe' | 'ready'>): void {
    switch (event.type) {
      case 'config-loaded':
        this.verbose(`config: ${event.file ?? 'no file (command from the command line)'} (${ms(event.durationMs)})`);
        return;
      case 'preflight':
        this.verbose(`preflight: ${event.findings.length ? event.findings.join('; ') : 'nothing to clean'} (${ms(event.durationMs)})`);
        return;
      case 'spawning':
        this.port = event.port;
        this.verbose(`spawn #${event.instance}: ${event.command.join(' ')} (PORT=${event.port})`);
        this.spin(`starting ${this.opts.name} on port ${event.port}…`);
        return;
      case 'spawned':
        this.say(`started ${this.opts.name} (pid ${event.pid}${this.port === null ? '' : `, PORT=${this.port}`}${this.opts.portOrigin ? ` — ${this.opts.portOrigin}` : ''})`);
        this.verbose(`spawn took ${ms(event.durationMs)}`);
        return;
      case 'probe':
        if (event.first) this.verbose(`first probe: ${event.detail} (${ms(event.latencyMs)})`);
        // The server answered, but not ready: say so at once, not only when the start times out.
        // Refusals while it boots are normal and stay quiet.
        if (event.probe === 'startup' && !event.ok && event.changed === true && event.status !== undefined) {
          this.say(`${event.detail} (still waiting, up to health.startupTimeout)`, 'warn');
        }
        return;
      case 'ready':
        this.unspin();
        this.say(`${this.opts.name} is ready in ${ms(event.readyInMs)} — ${event.url} (pid ${event.pid})${event.how ? `: ${event.how}` : ''}`, 'ok');
        return;
    }
  }

  /** One line of the server's own output, prefixed with `[name]` unless --raw. */
  private renderOutput(event: EventOf<'output'>): void {
    const c = this.c;
    const prefix = this.opts.raw ? '' : `${event.stream === 'stderr' ? c.yellow(`[${this.opts.name}]`) : c.cyan(`[${this.opts.name}]`)} `;
    const write = event.stream === 'stderr' ? this.io.stderr : this.io.stdout;
    // Only --raw prints the server's bytes as they are: they may hold terminal escapes.
    const line = this.opts.raw ? event.line : terminalSafe(event.line);
    this.withSpinnerPaused(() => write(`${prefix}${line}\n`));
  }

  /** A server that exited, failed a probe, or is about to be restarted because of it. */
  private renderFailure(event: EventOf<'exited' | 'backoff' | 'restarting' | 'liveness-failed' | 'readiness-changed'>): void {
    switch (event.type) {
      case 'exited':
        if (event.expected) {
          this.verbose(`instance${event.pid ? ` ${event.pid}` : ''} stopped: ${event.exit.summary}`);
          return;
        }
        this.unspin();
        this.say(`${this.opts.name}${pidNote(event.pid)} ${event.exit.summary} [${event.exit.cause}] after ${ms(event.exit.uptimeMs)}`, 'warn');
        if (event.exit.cause !== 'clean-exit') this.detail(`fix: ${event.exit.fix}\n  docs: ${docsLink(docsRef(event.exit.cause), this.io.cwd)}`);
        return;
      case 'backoff':
        // maxRestarts null (the default): no limit to count against, only the run of failures.
        this.say(`restarting in ${ms(event.delayMs)} (${event.maxRestarts === null
          ? `failure ${event.attempt} in a row`
          : `restart ${event.restartsInWindow} of at most ${event.maxRestarts} in the window`})`);
        return;
      case 'restarting':
        if (event.reason === 'reload') this.say('restarting with the current configuration');
        return;
      case 'liveness-failed':
        this.say(`liveness probe failed ${event.failures} times in a row (${event.detail}): restarting`, 'warn');
        return;
      case 'readiness-changed':
        this.say(event.ready ? `readiness probe passing again: ${event.detail}` : `readiness probe failing (${event.detail}): not ready for traffic`, event.ready ? 'ok' : 'warn');
        return;
    }
  }

  /** Giving up: the reason, then what is known of the last exit and how to fix it. */
  private renderFatal(event: EventOf<'fatal'>): void {
    this.unspin();
    this.say(`giving up: ${event.reason}`, 'error');
    const exit = event.exit;
    if (exit) {
      this.detail(`last exit: ${describeExitShort(exit)} [cause: ${exit.cause}]`);
      this.detail(`fix: ${exit.fix}`);
      if (exit.stderrTail.length > 0) {
        this.detail(`last ${exit.stderrTail.length} lines of its stderr:`);
        for (const line of exit.stderrTail) this.detail(`  ${this.c.dim('│')} ${line}`);
      }
      this.detail(`docs: ${docsLink(docsRef(exit.cause), this.io.cwd)}`);
    }
  }

  private renderStop(event: EventOf<'stopping' | 'escalated' | 'stopped'>): void {
    switch (event.type) {
      case 'stopping':
        this.unspin();
        this.say(event.reason === 'requested'
          ? `stopping ${this.opts.name}: ${event.signal} to its process group, SIGKILL after ${ms(event.timeoutMs)}`
          : `stopping ${this.opts.name} (${event.reason}): ${event.signal}`);
        return;
      case 'escalated':
        this.say(event.reason === 'timeout'
          ? 'the server did not exit within shutdown.timeout: sent SIGKILL to its process group'
          : 'second stop request: sent SIGKILL to the process group', 'warn');
        return;
      case 'stopped':
        this.unspin();
        this.say(`stopped${event.graceful ? '' : ' (killed)'} after ${ms(Date.now() - this.startedAt)} of supervision`, event.graceful ? 'info' : 'warn');
        return;
    }
  }

  private renderReload(event: EventOf<'reload-requested' | 'reload-rejected' | 'reload-started' | 'reload-finished'>): void {
    switch (event.type) {
      case 'reload-requested':
        this.say(`reload requested (${event.source}): re-reading the configuration`);
        return;
      case 'reload-rejected':
        this.say('the new configuration is invalid; the running instance keeps the old one:', 'error');
        for (const e of event.errors) this.detail(`- ${e}`);
        return;
      case 'reload-started':
        this.say(event.mode === 'direct'
          ? 'reload in direct mode: a plain restart (requests are refused while the server restarts; use mode handoff or proxy for zero downtime)'
          : `zero-downtime reload (${event.mode}): starting a new instance${event.bluePid === null ? '' : ` beside pid ${event.bluePid}`}`);
        return;
      case 'reload-finished':
        this.say(event.outcome === 'reloaded' || event.outcome === 'restarted'
          ? `reload done in ${ms(event.durationMs)}${event.pid === null ? '' : `: now serving from pid ${event.pid}`}`
          : `reload ${event.outcome}${event.cause ? `: ${event.cause}` : ''}${event.outcome === 'rolled-back' ? `; the previous instance${pidNote(event.pid)} keeps serving` : ''}`,
        event.outcome === 'reloaded' || event.outcome === 'restarted' ? 'ok' : 'error');
        return;
    }
  }

  private renderStandby(event: EventOf<'standby'>): void {
    if (event.state === 'lost') this.say(`${event.detail ?? 'the warm standby was lost'}${pidNote(event.pid)}`, 'warn');
    else if (event.state === 'promoted') this.say(`warm standby${event.pid === null ? '' : ` pid ${event.pid}`} takes over`);
    else if (event.state === 'armed') this.verbose(`warm standby ready: ${event.pid === null ? 'it' : `pid ${event.pid}`} waits before the server's code`);
    else this.verbose(`warm standby${event.pid === null ? '' : ` pid ${event.pid}`} ended${event.detail ? `: ${event.detail}` : ''}`);
  }

  /** The supervisor's own bookkeeping and surroundings: records, signals, dependencies, listeners, warnings. */
  private renderNotice(event: EventOf<'signal-forwarded' | 'record-written' | 'record-error' | 'warning' | 'dependency' | 'status-server' | 'port-holders' | 'listener'>): void {
    switch (event.type) {
      case 'signal-forwarded':
        this.verbose(`forwarded ${event.signal} to pid ${event.pid}`);
        return;
      case 'record-written':
        this.verbose(`record: ${event.recordPath}${event.pidFile ? `, PID file: ${event.pidFile}` : ''}`);
        return;
      case 'record-error':
        this.say(`could not write the instance record: ${event.message}`, 'warn');
        return;
      case 'warning':
        this.say(event.message, 'warn');
        if (event.fix) this.detail(`fix: ${event.fix}`);
        return;
      case 'dependency':
        if (event.ok) this.verbose(`dependency ${event.name} (${event.target}) is up after ${event.attempts} attempt(s), ${ms(event.latencyMs)}`);
        else this.say(`dependency ${event.name} (${event.target}) is not answering after ${event.attempts} attempt(s): ${event.detail}`, 'warn');
        return;
      case 'status-server':
        this.say(`status server on ${event.url} (/alive /ready /health /metrics)`);
        return;
      case 'port-holders':
        for (const line of event.lines) this.say(line, 'error');
        return;
      case 'listener':
        this.say(`${event.mode} mode: naija-sup holds ${event.address}; the server gets ${event.mode === 'handoff' ? 'the listening socket as fd 3 (LISTEN_FDS=1)' : 'a private port behind the proxy'}`);
        return;
    }
  }
}
