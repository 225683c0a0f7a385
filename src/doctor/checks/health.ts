/**
 * `health`: probe the running server the way the supervisor does (src/health: explicit loopback
 * addresses, never "localhost") and say which of the common health routes answer 200, so the
 * user can pick a real `health.path`. All routes, the configured path and a TCP connect are probed
 * in parallel, each with a short timeout: doctor stays fast and never waits on one slow route.
 *
 * The server is the supervised instance (its record's port and host) when a supervisor runs the
 * app, else whatever listens on the configured port — a server started by hand is worth
 * diagnosing too. The configured path decides the status: 200–399 is ok; a 404 means the server is
 * up but the health path is wrong (the seed project's `/api/v1/public/health` did not exist:
 * research failures-and-ports.md §5); a refusal means nothing listens.
 */
import type { ResolvedConfig } from '../../config/index.js';
import { displayPath } from '../../config/index.js';
import { formatHostPort, probeHostFor, probeOnce, type ProbeOnceResult } from '../../health/index.js';
import { readInstanceState } from './instance-state.js';
import type { Check, CheckOutcome, DoctorContext } from '../types.js';

/** The routes API servers commonly serve a health check on, in the order doctor lists them. */
export const COMMON_HEALTH_ROUTES = ['/health', '/healthz', '/ready', '/api/health', '/api/v1/public/health', '/'] as const;

/**
 * Per-probe timeout, ms (lowered further by `health.timeout`): a health route that needs longer
 * on loopback is a finding in itself, and doctor must stay fast.
 */
export const ROUTE_TIMEOUT_MS = 1000;

interface RouteAnswer {
  path: string;
  result: ProbeOnceResult;
}

/** What the probes found on one port. */
interface Survey {
  port: number;
  host: string;
  /** Whether a live supervisor runs the app (else: whatever listens on the configured port). */
  supervised: boolean;
  /** The configured health.path, when readiness is judged by HTTP. */
  configured: RouteAnswer | null;
  /** Every common route, in {@link COMMON_HEALTH_ROUTES} order. */
  routes: RouteAnswer[];
  tcp: ProbeOnceResult;
}

export const healthCheck: Check = {
  id: 'health',
  title: 'health endpoint',
  async run(ctx: DoctorContext): Promise<CheckOutcome> {
    if (ctx.loaded === null) return { status: 'skip', summary: 'needs a valid config (see the config check)' };
    const config = ctx.loaded.config;
    const state = readInstanceState(ctx, config.name);
    const supervised = state.record !== null && state.supervisor === 'same';
    const where = supervised && state.record !== null ? state.record : config;
    const survey = await surveyServer(ctx, config, where.port, where.host, supervised);
    const file = ctx.loaded.filepath === null ? 'naija-sup.config.json' : displayPath(ctx.loaded.filepath, ctx.cwd);
    return judge(survey, config, { file });
  },
};

/** Probes the TCP port, the configured path and every common route at once. */
async function surveyServer(ctx: DoctorContext, config: ResolvedConfig, port: number, host: string, supervised: boolean): Promise<Survey> {
  const hosts = probeHostFor(host);
  const timeout = Math.min(config.health.timeout, ctx.probeTimeoutMs, ROUTE_TIMEOUT_MS);
  const configuredPath = config.health.type === 'http' ? config.health.path : null;
  const paths: string[] = [...COMMON_HEALTH_ROUTES];
  if (configuredPath !== null && !paths.includes(configuredPath)) paths.push(configuredPath);
  const [tcp, ...answers] = await Promise.all([
    probeOnce({ type: 'tcp', hosts, port, timeout, signal: ctx.signal }),
    ...paths.map((path) => probeOnce({ type: 'http', hosts, port, path, timeout, signal: ctx.signal })),
  ]);
  const byPath = new Map(paths.map((path, i) => [path, answers[i] as ProbeOnceResult]));
  const answer = (path: string): RouteAnswer => ({ path, result: byPath.get(path) as ProbeOnceResult });
  return {
    port,
    host,
    supervised,
    configured: configuredPath === null ? null : answer(configuredPath),
    routes: COMMON_HEALTH_ROUTES.map(answer),
    tcp: tcp as ProbeOnceResult,
  };
}

interface JudgeOptions {
  /** The config file as the user knows it, for fixes. */
  file: string;
}

function judge(survey: Survey, config: ResolvedConfig, options: JudgeOptions): CheckOutcome {
  const anyHttp = [survey.configured, ...survey.routes].some((answer) => answer?.result.status !== undefined);
  if (!anyHttp) return noHttpAnswer(survey, config);
  const details = routeDetails(survey, config);
  const found = sentence200(answering200(survey));
  const { configured } = survey;
  if (configured === null && config.health.type === 'auto') {
    // No health.path: the default rule (any answer below 500) makes the server ready under
    // naija-sup, which is fine; doctor's job is to name the routes that would be a real check.
    const root = survey.routes.find((answer) => answer.path === config.health.path)?.result;
    const rootText = root?.status === undefined ? '' : ` (HTTP ${root.status} on ${config.health.path})`;
    return {
      status: 'ok',
      summary: `the server on ${addressOf(survey)} answers HTTP${rootText}, which is ready by the default rule; ${found}`,
      details: [...details, `readiness is judged by ${judgedBy(config)}; set "health": {"path": …} to a route that answers 200 for a real health check`],
    };
  }
  if (configured === null) {
    return {
      status: 'ok',
      summary: `the server on ${addressOf(survey)} answers HTTP; ${found}`,
      details: [...details, `readiness is judged by ${judgedBy(config)}; set "health": {"path": …} to a route that answers 200 for a real health check`],
    };
  }
  const target = `GET http://${formatHostPort(configured.result.host, survey.port)}${configured.path}`;
  if (configured.result.ok) return { status: 'ok', summary: `${target} → ${configured.result.detail}; ${found}`, details };
  if (configured.result.status === 404) return wrongPath(survey, configured.path, details, options);
  return {
    status: 'fail',
    summary: `${target}: ${configured.result.detail}; ${found}`,
    details,
    fix:
      configured.result.status === undefined
        ? 'The server accepts connections but does not answer in time: look for a blocked event loop or an exhausted worker pool.'
        : 'The server answers, but not with 200–399: read its log for the error behind this status.',
  };
}

/** The configured path gives 404: name the routes that do answer and the one to configure. */
function wrongPath(survey: Survey, path: string, details: string[], options: JudgeOptions): CheckOutcome {
  const ok = answering200(survey);
  // "/" answering 200 proves little (a home page); a dedicated route is the better health check.
  const best = ok.find((route) => route !== '/') ?? ok[0];
  return {
    status: 'warn',
    summary: `the server is up but the health path is wrong: ${path} gives 404; ${sentence200(ok)}`,
    details,
    fix:
      best === undefined
        ? `Set health.path in ${options.file} to the server's health route, or use "health": {"type": "tcp"}.`
        : best === '/'
          ? `Add a health route to the server and set health.path to it in ${options.file}; until then "health": {"path": "/"} works, though a 200 on / only shows the server is up.`
          : `Set "health": {"path": "${best}"} in ${options.file}.`,
  };
}

/** No route got an HTTP status: nothing listens, or it does not speak HTTP (in time). */
function noHttpAnswer(survey: Survey, config: ResolvedConfig): CheckOutcome {
  const address = addressOf(survey);
  const details = [`TCP ${formatHostPort(survey.tcp.host, survey.port)}: ${survey.tcp.detail}`, ...routeDetails(survey, config)];
  if (survey.tcp.error === 'ECONNREFUSED') {
    if (!survey.supervised) {
      return {
        status: 'skip',
        summary: `no server is running on ${address} (nothing listens there and no supervisor runs ${config.name}): start it to see which health routes answer`,
        details,
      };
    }
    const hosts = probeHostFor(survey.host);
    return {
      status: 'fail',
      summary: `nothing listens on port ${survey.port} (${hosts.join(', ')}): the supervisor runs, but the server is not listening (starting, crashed, or bound elsewhere)`,
      details,
      fix: `Check the supervisor's output or \`naija-sup status\`; make sure the server binds PORT=${survey.port} on HOST=${survey.host}.`,
    };
  }
  if (survey.tcp.ok && config.health.type !== 'http') {
    return {
      status: 'ok',
      summary: `TCP ${formatHostPort(survey.tcp.host, survey.port)} accepts connections; no HTTP answer on the common routes (not an HTTP server, or slower than ${ROUTE_TIMEOUT_MS} ms)`,
      details,
    };
  }
  return {
    status: 'fail',
    summary: survey.tcp.ok
      ? `the server on ${address} accepts connections but answers no HTTP request on the common routes`
      : `TCP ${formatHostPort(survey.tcp.host, survey.port)}: ${survey.tcp.detail}`,
    details,
    fix: survey.tcp.ok
      ? 'The server accepts connections but does not answer in time: look for a blocked event loop or an exhausted worker pool, or use "health": {"type": "tcp"} if it does not speak HTTP.'
      : `Make sure the server binds PORT=${survey.port} on HOST=${survey.host}.`,
  };
}

/** The common routes that answered exactly 200, in list order. */
function answering200(survey: Survey): string[] {
  return survey.routes.filter((answer) => answer.result.status === 200).map((answer) => answer.path);
}

/** "/health answers 200", "/healthz, / answer 200", or none. */
function sentence200(paths: readonly string[]): string {
  if (paths.length === 0) return `none of the common routes answers 200 (${COMMON_HEALTH_ROUTES.join(', ')})`;
  return `${paths.join(', ')} answer${paths.length === 1 ? 's' : ''} 200`;
}

/** One line per probed route, the configured one first: "GET /healthz: HTTP 404 for /healthz (…)". */
function routeDetails(survey: Survey, config: ResolvedConfig): string[] {
  const configured = survey.configured;
  const lines: string[] = [];
  if (configured !== null && !survey.routes.some((answer) => answer.path === configured.path)) {
    lines.push(`GET ${configured.path} (health.path): ${withoutRequest(configured.result.detail)}`);
  }
  for (const answer of survey.routes) {
    lines.push(`GET ${answer.path}${answer.path === configured?.path ? ' (health.path)' : ''}: ${withoutRequest(answer.result.detail)}`);
  }
  if (!survey.supervised) lines.push(`no supervisor runs ${config.name}: these are the answers of whatever listens on ${addressOf(survey)}`);
  return lines;
}

/** "GET /x → HTTP 404: …" → "HTTP 404: …": the line already names the request. */
function withoutRequest(detail: string): string {
  return detail.replace(/^GET \S+ \u2192 /, '');
}

function judgedBy(config: ResolvedConfig): string {
  switch (config.health.type) {
    case 'auto': return `any HTTP answer below 500 on ${config.health.path} (no health.path is set)`;
    case 'tcp': return 'a TCP connect';
    default: return 'a log line';
  }
}

function addressOf(survey: Survey): string {
  return formatHostPort(survey.host, survey.port);
}
