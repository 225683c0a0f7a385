/**
 * `handoff-drain`: does the server's shutdown reset connections during a handoff reload?
 *
 * With `--drain` (it starts the app, so never by default): src/reload/drain-check.ts runs the app's
 * command on a private 127.0.0.1 socket the way `mode: handoff` does (fd 3, LISTEN_FDS=1, the
 * supervisor's environment), swaps blue → green {@link DRAIN_SWAPS} times under a keep-alive load
 * and counts the requests that failed. Any mode's config is measured this way: the question is
 * what the server's shutdown does to its clients, which only handoff lets them see. Readiness is
 * the config's own (health.type/path/log), with "this instance answered" from the kernel.
 *
 * Without `--drain`: a static hint (handoff-drain-hint.ts).
 *
 * Only connection failures count against the drain (reset, refused, unanswered): an HTTP status is
 * an answer, whatever the route thinks of it (a readiness route may answer 503 while draining).
 */
import type { ResolvedConfig } from '../../config/types.js';
import { isNaijaSupError } from '../../errors.js';
import type { DrainSwapOptions, DrainSwapReport, RetiredInstance } from '../../reload/drain-check.js';
import { staticDrainHint } from './handoff-drain-hint.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/** Blue → green swaps per measurement. */
export const DRAIN_SWAPS = 3;
/** The failure id of a server whose shutdown resets connections (stable: scripts match on it). */
export const DRAIN_RESETS_ID = 'E_DRAIN_RESETS';
/** Keep-alive clients of the measurement. */
const DRAIN_CLIENTS = 4;
/** Caps on the config's own timeouts: doctor must end in reasonable time whatever the config says. */
const MAX_READY_MS = 30_000;
const MAX_STOP_MS = 15_000;
/** How long the load goes on after each old instance is gone, ms. */
const SETTLE_MS = 1000;
const REQUEST_TIMEOUT_MS = 5000;

/** The measurement's settings for `config` (the environment comes later: it needs the supervisor's rule). */
export function drainSettings(config: ResolvedConfig): Omit<DrainSwapOptions, 'fd' | 'port' | 'env'> {
  const { health } = config;
  const path = health.type === 'http' ? health.path : '/';
  const readyTimeout = Math.min(health.startupTimeout, MAX_READY_MS);
  const stopTimeout = Math.min(config.shutdown.timeout, MAX_STOP_MS);
  return {
    command: config.command,
    cwd: config.cwd,
    swaps: DRAIN_SWAPS,
    ready: {
      line: health.type === 'log' && health.log !== null ? new RegExp(health.log) : undefined,
      // http: 200–399 on health.path; auto, tcp and log: this instance accepts (and answers below 500).
      probe: { path: health.type === 'auto' ? health.path : path, anyAnswer: health.type !== 'http' },
    },
    loads: [{ path, concurrency: DRAIN_CLIENTS, keepAlive: true }],
    readyTimeout,
    stopTimeout,
    stopSignal: config.shutdown.signal,
    settleMs: SETTLE_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Every step at its longest: instances to answer, old ones to drain (+ SIGKILL's wait), the load after each.
    timeout: (DRAIN_SWAPS + 1) * readyTimeout + DRAIN_SWAPS * (stopTimeout + 5000 + SETTLE_MS) + 5000,
  };
}

export const handoffDrainCheck: Check = {
  id: 'handoff-drain',
  title: 'handoff drain',
  timeoutMs(ctx: DoctorContext): number {
    if (ctx.loaded === null || !ctx.drain) return 15_000;
    const settings = drainSettings(ctx.loaded.config);
    // The measurement's own deadline, its cleanup, and a margin: the check must settle by itself,
    // having stopped what it started, before the runner gives up on it.
    return (settings.timeout ?? 0) + (settings.stopTimeout ?? 0) + 5000 + 5000 + REQUEST_TIMEOUT_MS + 10_000;
  },
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    if (ctx.loaded === null) return { status: 'skip', summary: 'needs a valid config (see the config check)' };
    const config = ctx.loaded.config;
    if (!ctx.drain) return staticDrainHint(config);
    if (config.command.length === 0) return { status: 'skip', summary: 'no command is configured: nothing to start' };
    const [{ measureHandoffDrain }, { instanceEnv }] = await Promise.all([import('../../reload/drain-check.js'), import('../../supervisor/real-deps.js')]);
    let report: DrainSwapReport;
    try {
      // The supervisor's environment for instance 0 (PORT and HOST then point at the private socket).
      const env = { ...instanceEnv(config, { ...ctx.env }), NAIJA_SUP_INSTANCE: '0' };
      report = await measureHandoffDrain({ ...drainSettings(config), env, signal: ctx.signal });
    } catch (error) {
      if (!isNaijaSupError(error)) throw error;
      return {
        status: 'fail',
        summary: `could not measure under socket handoff: ${error.message.replace(/\.$/, '')}`,
        details: config.mode === 'handoff' ? [...error.details] : [...error.details, `the config's mode is "${config.mode}"; the measurement uses socket handoff regardless`],
        ...(error.fix === undefined ? {} : { fix: error.fix }),
        failureId: error.code,
      };
    }
    return judgeDrain(report, config);
  },
};

/** The verdict on a finished measurement. */
export function judgeDrain(report: DrainSwapReport, config: Pick<ResolvedConfig, 'mode' | 'shutdown'>): CheckOutcome {
  const swaps = report.retired.length;
  const details = drainDetails(report);
  if (report.connectionFailures > 0) {
    const codes = Object.entries(report.errors).filter(([code]) => !code.startsWith('HTTP_'));
    const main = codes.sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'ECONNRESET';
    const counted = `${report.connectionFailures} of ${report.requests} requests failed with ${codes.map(([code]) => code).join('/')} during ${swaps === 1 ? 'a handoff reload' : `${swaps} handoff reloads`}`;
    const handoff = config.mode === 'handoff';
    return {
      status: handoff ? 'fail' : 'warn',
      summary: `the server's shutdown resets connections: ${counted}`,
      details: handoff ? details : [...details, `mode is "${config.mode}": this shows only under mode "handoff" (the proxy holds client connections itself)`],
      fix:
        `Your server's shutdown resets connections (${counted}; ${main} means the server closed a connection a request was sent on). ` +
        'For Node, use `serve()` from `naija-sup/node` (docs/handoff.md); for uvicorn, use `mode: proxy`; gunicorn sync workers are fine; any server: use `mode: proxy`.',
      failureId: DRAIN_RESETS_ID,
    };
  }
  const badExits = report.retired.filter((instance) => instance.code !== 0 || instance.forced);
  const drains = report.retired.map((instance) => instance.drainMs);
  const summary = `${swaps} swaps, ${report.requests} requests, 0 reset`;
  if (badExits.length > 0) {
    return {
      status: 'warn',
      summary: `${summary}, but the old instance ${badExits.map(describeExit).join('; ')}`,
      details,
      fix: `Make the server finish its requests and exit 0 on ${config.shutdown.signal} within shutdown.timeout (${Math.round(config.shutdown.timeout / 1000)} s): a reload reports any other exit.`,
    };
  }
  return { status: 'ok', summary: `${summary}; the old instance exited 0 in ${rangeMs(drains)}`, details };
}

function describeExit(instance: RetiredInstance): string {
  if (instance.forced) return `(pid ${instance.pid}) did not exit within the stop timeout and was killed after ${instance.drainMs} ms`;
  if (instance.code === null) return `(pid ${instance.pid}) was ended by ${instance.signal ?? 'a signal'} after ${instance.drainMs} ms`;
  return `(pid ${instance.pid}) exited ${instance.code} after ${instance.drainMs} ms`;
}

/** "12 ms" or "12–40 ms". */
function rangeMs(values: readonly number[]): string {
  if (values.length === 0) return '0 ms';
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? `${low} ms` : `${low}–${high} ms`;
}

function drainDetails(report: DrainSwapReport): string[] {
  const stopped = (instance: RetiredInstance): string =>
    `pid ${instance.pid} ${instance.code === null ? `ended by ${instance.signal ?? 'a signal'}` : `exited ${instance.code}`} ${instance.drainMs} ms after the stop signal${instance.forced ? ' (killed)' : ''}`;
  const lines = report.retired.map((instance, i) => `swap ${i + 1}: old instance ${stopped(instance)}`);
  lines.push(`then, with the load over: last instance ${stopped(report.last)}`);
  const failures = Object.entries(report.errors).map(([code, n]) => `${code} ${n}`);
  lines.push(`requests: ${report.requests} (${report.ok} ok${failures.length === 0 ? '' : `; ${failures.join(', ')}`})`);
  const statuses = Object.keys(report.errors).filter((code) => code.startsWith('HTTP_'));
  if (statuses.length > 0) lines.push(`${statuses.join(', ')}: answers, not counted against the drain`);
  for (const sample of report.sampleErrors.slice(0, 3)) lines.push(`e.g. ${sample}`);
  return lines;
}
