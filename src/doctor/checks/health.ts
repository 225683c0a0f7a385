/**
 * `health`: when a supervisor runs the app, probe its health URL the way the supervisor does
 * (src/health: explicit loopback addresses, never "localhost"). 200–399 is ok; a 404 means the
 * server is up but the health path is wrong (the seed project's `/api/v1/public/health` did not
 * exist: research failures-and-ports.md §5), so doctor tries the usual paths and lists those that
 * answer; a refusal means nothing listens.
 */
import { displayPath } from '../../config/index.js';
import { formatHostPort, probeHostFor, probeHttp, probeOnce } from '../../health/index.js';
import { readInstanceState } from './instance-state.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/** Health paths servers commonly use, tried when the configured one gives 404. */
export const USUAL_HEALTH_PATHS = [
  '/health',
  '/api/v1/public/health',
  '/api/v1/monitoring/health',
  '/healthz',
  '/api/health',
  '/status',
] as const;

export const healthCheck: Check = {
  id: 'health',
  title: 'health endpoint',
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    if (ctx.loaded === null) return { status: 'skip', summary: 'needs a valid config (see the config check)' };
    const config = ctx.loaded.config;
    const state = readInstanceState(ctx, config.name);
    if (state.record === null || state.supervisor !== 'same') {
      return { status: 'skip', summary: `no supervisor is running ${config.name}` };
    }
    const { port, host } = state.record;
    const hosts = probeHostFor(host);
    const timeout = Math.min(config.health.timeout, ctx.probeTimeoutMs);
    const type = config.health.type === 'tcp' ? 'tcp' : 'http';
    const path = config.health.path;
    const result = await probeOnce({ type, hosts, port, path, timeout, signal: ctx.signal });
    const target = type === 'http' ? `GET http://${formatHostPort(result.host, port)}${path}` : `TCP ${formatHostPort(result.host, port)}`;
    const details = [`${target}: ${result.detail}`];
    if (config.health.type === 'log') details.push('readiness is judged from a log line; doctor checks that the port answers');
    if (result.ok) return { status: 'ok', summary: `${target} → ${result.detail}`, details };

    if (result.status === 404) {
      const answered = await Promise.all(
        USUAL_HEALTH_PATHS.filter((candidate) => candidate !== path).map(async (candidate) => ({
          candidate,
          probe: await probeHttp({ host: result.host, port, path: candidate, timeout, signal: ctx.signal }),
        })),
      );
      const working = answered.filter((a) => a.probe.ok);
      for (const a of answered) details.push(`GET ${a.candidate}: ${a.probe.detail}`);
      const file = ctx.loaded.filepath === null ? 'the config' : displayPath(ctx.loaded.filepath, ctx.cwd);
      return {
        status: 'warn',
        summary:
          working.length === 0
            ? `the server is up but the health path is wrong: ${path} gives 404, and none of the usual paths answer`
            : `the server is up but the health path is wrong: ${path} gives 404; ${working.map((a) => a.candidate).join(', ')} answer${working.length === 1 ? 's' : ''}`,
        details,
        fix:
          working.length === 0
            ? `Set health.path in ${file} to the server's health route, or use "health": {"type": "tcp"}.`
            : `Set "health": {"path": "${working[0]?.candidate ?? '/health'}"} in ${file}.`,
      };
    }
    if (result.error === 'ECONNREFUSED') {
      return {
        status: 'fail',
        summary: `nothing listens on port ${port} (${hosts.join(', ')}): the supervisor runs, but the server is not listening (starting, crashed, or bound elsewhere)`,
        details,
        fix: `Check the supervisor's output or \`naija-sup status\`; make sure the server binds PORT=${port} on HOST=${host}.`,
      };
    }
    return {
      status: 'fail',
      summary: `${target}: ${result.detail}`,
      details,
      fix: result.status === undefined
        ? 'The server accepts connections but does not answer in time: look for a blocked event loop or an exhausted worker pool.'
        : 'The server answers, but not with 200–399: read its log for the error behind this status.',
    };
  },
};
