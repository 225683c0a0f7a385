/**
 * The `start` preflight (issue 4; README.md "Before every start: preflight"): before the instance is spawned, make sure the
 * port can be had — safely. In order:
 *
 * 1. our own stale instance, from the record: supervisor gone and the instance verifiably ours →
 *    stop its whole group; supervisor alive → E_ALREADY_RUNNING; record stale → remove it;
 * 2. processes matching `cleanup.match` (same user, full command line; never us, our ancestors,
 *    our own process group or PID 1) → listed; stopped only with killExisting;
 * 3. the port held by anyone else → with killExisting, stop each owner's group (graceful, then
 *    kill; identity re-checked before each signal; never another user's process unless root with
 *    force) and wait until a bind succeeds; without it, E_PORT_IN_USE naming pid, user, command
 *    line and age, and both ways out;
 * 4. TIME_WAIT only → wait (bounded) until a bind succeeds, and say why;
 * 5. `portFallback` → instead of failing in 3/4, get-port picks the next free port, loudly.
 *
 * Nothing is printed: findings come back as one-liners (and through `onStep` as they happen).
 * get-port cannot reserve a port for another process, so the child's own bind stays the real test
 * (STYLE.md lesson 8): a later EADDRINUSE is a classified crash, and `describePortHolders`
 * (free-port.ts) names the owner then.
 */

import type { ResolvedConfig } from '../config/types.js';
import { formatDuration } from '../config/duration.js';
import { InternalError, NaijaSupError } from '../errors.js';
import type { CanBindResult } from './availability.js';
import { cleanupMatches, type MatchedProcess } from './cleanup-match.js';
import {
  describeStopped,
  endpoint,
  formatAge,
  formatOwner,
  freePort,
  ownerCandidate,
  planStops,
  resolveStopDeps,
  type FreePortResult,
  type Refusal,
  type ResolvedStopDeps,
  type StopDeps,
  type StoppedProcess,
} from './free-port.js';
import type { PortOwnersAnswer } from './owners.js';
import { cleanStaleInstance, listRecords, recordOfOwner } from './stale.js';
import { importModule } from '../import-module.js';

// Step 2 has its own module; its names stay importable from here, where they always were.
export { findMatchingProcesses, type MatchDeps, type MatchedProcess } from './cleanup-match.js';

export type PreflightStep = 'stale-instance' | 'cleanup-match' | 'port' | 'time-wait' | 'port-fallback';

/** One thing the preflight found or did, as a human one-liner. */
export interface PreflightFinding {
  step: PreflightStep;
  /** `warn`: something was stopped, changed or could not be done; `info`: for --verbose. */
  level: 'info' | 'warn';
  message: string;
}

export interface PreflightDeps extends StopDeps {
  /** get-port's default export (injectable to test the fallback). */
  getPort?: ((options: { port: Iterable<number> }) => Promise<number>) | undefined;
  /** How long to wait for TIME_WAIT leftovers to expire, ms. Default 65 000 (Linux keeps them 60 s). */
  timeWaitTimeout?: number | undefined;
  /** How often the bind is retried meanwhile, ms. Default 250. */
  timeWaitInterval?: number | undefined;
}

/** The parts of the resolved config the preflight reads. */
export type PreflightConfig = Pick<ResolvedConfig, 'name' | 'port' | 'host' | 'pidFile' | 'portFallback' | 'shutdown' | 'cleanup'>;

export interface PreflightOptions {
  config: PreflightConfig;
  /** The run dir holding the instance records. */
  runDir: string;
  /**
   * Stop cleanup.match hits and port owners. Default `config.cleanup.killExisting`, which already
   * folds in --kill-existing and KILL_EXISTING (flags > env > file).
   */
  killExisting?: boolean | undefined;
  /** As root, also stop other users' port owners (--force). Default false. */
  force?: boolean | undefined;
  /** Called with each finding as it happens (a long TIME_WAIT wait is announced before it starts). */
  onStep?: ((finding: PreflightFinding) => void) | undefined;
  deps?: PreflightDeps | undefined;
}

export interface PreflightResult {
  /** The port the instance must use: config.port, or the fallback get-port picked. */
  port: number;
  requestedPort: number;
  /** True when `port` differs from the configured one: announce it loudly. */
  portChanged: boolean;
  /** Human one-liners, in order. */
  findings: string[];
  /** The same findings with their step and level. */
  details: PreflightFinding[];
  /** Everything stopped: an orphaned instance, cleanup.match hits, port owners. */
  stopped: StoppedProcess[];
  /** cleanup.match hits (stopped or not). */
  matched: MatchedProcess[];
  durationMs: number;
  /** ms spent in each step that ran. */
  timings: Partial<Record<PreflightStep, number>>;
}

const DEFAULT_TIME_WAIT_TIMEOUT = 65_000;
const DEFAULT_TIME_WAIT_INTERVAL = 250;
/** How far above the port the fallback looks (get-port's portNumbers range). */
const FALLBACK_RANGE = 100;

/**
 * get-port, loaded only when a port is taken (a fallback or an error's suggestion): importing it
 * cost 4–25 ms of every `start` before its spawn, where the port is nearly always free.
 */
function loadGetPort(): Promise<typeof import('get-port')> {
  return importModule<typeof import('get-port')>('get-port');
}

/** `portNumbers(from, to)` of get-port: the range it searches, as a plain generator. */
function* portRange(from: number, to: number): Generator<number> {
  for (let port = from; port <= to; port += 1) yield port;
}

/**
 * Runs the five steps. Throws NaijaSupError: E_ALREADY_RUNNING (a live supervisor runs this app),
 * E_PORT_IN_USE (held and not to be stopped, owner invisible, TIME_WAIT that did not clear),
 * E_PORT_NOT_FREED (owners stopped but the port stayed held) — the last two only without
 * portFallback.
 */
export async function runPreflight(options: PreflightOptions): Promise<PreflightResult> {
  const { config, runDir } = options;
  const killExisting = options.killExisting ?? config.cleanup.killExisting;
  const force = options.force ?? false;
  const deps = resolveStopDeps(options.deps);
  const started = deps.now();
  const details: PreflightFinding[] = [];
  const stopped: StoppedProcess[] = [];
  const timings: Partial<Record<PreflightStep, number>> = {};
  const note = (step: PreflightStep, level: PreflightFinding['level'], message: string): void => {
    const finding = { step, level, message };
    details.push(finding);
    options.onStep?.(finding);
  };
  const timed = async <T>(step: PreflightStep, run: () => Promise<T>): Promise<T> => {
    const t0 = deps.now();
    try {
      return await run();
    } finally {
      timings[step] = (timings[step] ?? 0) + (deps.now() - t0);
    }
  };

  // 1. Our own stale instance.
  await timed('stale-instance', async () => {
    const stale = await cleanStaleInstance({
      runDir,
      name: config.name,
      pidFile: config.pidFile,
      signal: config.shutdown.signal,
      timeout: config.shutdown.timeout,
      deps,
    });
    stopped.push(...stale.stopped);
    for (const finding of stale.findings) note('stale-instance', finding.level, finding.message);
  });

  // 2. cleanup.match.
  const matched = await timed('cleanup-match', async () => {
    const found = await cleanupMatches({
      patterns: config.cleanup.match,
      runDir,
      killExisting,
      signal: config.shutdown.signal,
      timeout: config.shutdown.timeout,
      deps,
      note: (level, message) => note('cleanup-match', level, message),
    });
    stopped.push(...found.stopped);
    return found.matched;
  });

  // 3–5. The port.
  const port = await timed('port', () =>
    claimPort({ config, runDir, killExisting, force, deps, options, note, stopped, timed, matched }),
  );

  return {
    port,
    requestedPort: config.port,
    portChanged: port !== config.port,
    findings: details.map((finding) => finding.message),
    details,
    stopped,
    matched,
    durationMs: deps.now() - started,
    timings,
  };
}

interface ClaimContext {
  config: PreflightConfig;
  runDir: string;
  killExisting: boolean;
  force: boolean;
  deps: ResolvedStopDeps;
  options: PreflightOptions;
  note: (step: PreflightStep, level: PreflightFinding['level'], message: string) => void;
  stopped: StoppedProcess[];
  timed: <T>(step: PreflightStep, run: () => Promise<T>) => Promise<T>;
  matched: MatchedProcess[];
}

/** Steps 3–5: returns the port to use, or throws. */
async function claimPort(ctx: ClaimContext): Promise<number> {
  const { config, deps, note } = ctx;
  const host = config.host;
  const { port } = config;
  const looked = await lookUpOwners(ctx);
  const { answer } = looked;
  if (answer.nonConflicting.length > 0) {
    note(
      'port',
      'warn',
      `also listening on port ${port}: ${answer.nonConflicting.map((s) => s.endpoint).join(', ')} — harmless for a bind on ` +
        `${host}, but "localhost:${port}" may reach that server instead of this one`,
    );
  }

  let problem: NaijaSupError | null = null;
  switch (answer.kind) {
    case 'free': {
      // Always there on a free answer (OwnersLooked); TypeScript cannot narrow `looked` by `answer`.
      if (!('bind' in looked)) throw new InternalError('a free port was looked up without its bind result');
      const { bind } = looked;
      if (bind === false) problem = invisibleError(answer, host, port, await suggestPort(ctx), deps.uid);
      else if (bind !== true) note('port', 'warn', `nothing holds ${endpoint(host, port)}, but binding it fails here with ${bind.error}`);
      break;
    }
    case 'time-wait':
      problem = await ctx.timed('time-wait', () => waitOutTimeWait(ctx, answer));
      break;
    case 'held-invisible':
      problem = invisibleError(answer, host, port, await suggestPort(ctx), deps.uid);
      break;
    case 'held': {
      if (!ctx.killExisting) {
        // Decide as --kill-existing would, so the fix names the way out that really works.
        const records = listRecords(ctx.runDir);
        const candidates = answer.owners.map((owner) =>
          ownerCandidate(owner, 'port-owner', recordOfOwner(owner, records, { proc: deps.proc })),
        );
        const plan = planStops(candidates, { force: ctx.force, proc: deps.proc, self: deps.self, uid: deps.uid });
        problem = portInUseError(answer, ctx, { refused: plan.refused, suggestion: await suggestPort(ctx) });
        break;
      }
      const freed: FreePortResult = await freePort({
        port,
        host,
        force: ctx.force,
        timeout: config.shutdown.timeout,
        signal: config.shutdown.signal,
        runDir: ctx.runDir,
        before: answer,
        deps,
      });
      ctx.stopped.push(...freed.stopped);
      for (const result of freed.stopped) note('port', 'warn', `stopped ${describeStopped(result)}, which held port ${port}`);
      if (freed.free) {
        note('port', 'info', `port ${port} is free (${Math.round(freed.durationMs)} ms to stop its owners and confirm with a bind)`);
      } else if (freed.refused.length > 0) {
        problem = portInUseError(answer, ctx, { refused: freed.refused, suggestion: await suggestPort(ctx) });
      } else {
        problem = new NaijaSupError('E_PORT_NOT_FREED', `port ${port} (${host}) is still in use after stopping its owners`, {
          fix: `see who holds it with \`naija-sup free-port ${port} --dry-run\`, or use another port with --port N`,
          details: [freed.reason ?? 'the port stayed held', ...freed.stopped.map((s) => `stopped ${describeStopped(s)}`)],
        });
      }
      break;
    }
  }
  if (problem === null) return port;
  if (!config.portFallback) throw problem;
  return ctx.timed('port-fallback', () => fallBack(ctx, problem));
}

/**
 * Who holds the port, and for a free one whether binding it works. A "free" may come from the
 * socket tables read while the config loaded (tables-ahead.ts): when the bind then fails, a
 * listener appeared since, and tables read now name it (so --kill-existing can stop it).
 */
async function lookUpOwners(ctx: ClaimContext): Promise<OwnersLooked> {
  const { config, deps } = ctx;
  const look = async (): Promise<PortOwnersAnswer> => waitForExitingOwners(ctx, await deps.lookup({ port: config.port, host: config.host, proc: deps.proc }));
  const answer = await look();
  if (answer.kind !== 'free') return { answer };
  const bind = await deps.probe(config.host, config.port);
  if (bind !== false) return { answer, bind };
  const again = await look();
  return again.kind === 'free' ? { answer: again, bind: false } : { answer: again };
}

/** A port's owners as looked up; a free port carries what binding it gave. */
type OwnersLooked =
  | { answer: Extract<PortOwnersAnswer, { kind: 'free' }>; bind: CanBindResult }
  | { answer: Exclude<PortOwnersAnswer, { kind: 'free' }> };

/**
 * When every owner of the port is a killed process still on its way out (its main thread gone, the
 * others still holding its files), the port is about to be released by itself: look again, bounded
 * by the stop deps' portFreeTimeout, instead of calling the port taken.
 */
async function waitForExitingOwners(ctx: ClaimContext, first: PortOwnersAnswer): Promise<PortOwnersAnswer> {
  const { deps, note, config } = ctx;
  const exitingOnly = (answer: PortOwnersAnswer): boolean => answer.kind === 'held' && answer.owners.every((owner) => owner.exiting === true);
  if (!exitingOnly(first)) return first;
  const pids = first.kind === 'held' ? first.owners.map((owner) => owner.pid).join(', ') : '';
  const t0 = deps.now();
  const interval = Math.max(1, deps.pollInterval);
  let answer = first;
  // Bounded in count and time.
  for (let attempt = 0; attempt < Math.ceil(deps.portFreeTimeout / interval) + 1 && deps.now() - t0 < deps.portFreeTimeout; attempt += 1) {
    await deps.sleep(interval);
    answer = await deps.lookup({ port: config.port, host: config.host, proc: deps.proc });
    if (!exitingOnly(answer)) break;
  }
  note('port', 'info', `pid ${pids} held port ${config.port} while exiting (killed, its last threads still going); waited ${Math.round(deps.now() - t0)} ms`);
  return answer;
}

/** Step 4: TIME_WAIT with no owner. Returns the error when it does not clear in time, else null. */
async function waitOutTimeWait(
  ctx: ClaimContext,
  answer: Extract<PortOwnersAnswer, { kind: 'time-wait' }>,
): Promise<NaijaSupError | null> {
  const { deps, note, config } = ctx;
  const { port, host } = config;
  let bind: CanBindResult = await deps.probe(host, port);
  const what = `${answer.count} connection(s) in TIME_WAIT left by a previous server on port ${port}`;
  if (bind === true) {
    note('time-wait', 'info', `${what}: no owner, and binding works anyway (SO_REUSEADDR)`);
    return null;
  }
  if (bind !== false) {
    note('time-wait', 'warn', `${what}; binding ${endpoint(host, port)} fails with ${bind.error}`);
    return null;
  }
  const timeout = ctx.options.deps?.timeWaitTimeout ?? DEFAULT_TIME_WAIT_TIMEOUT;
  const interval = Math.max(1, ctx.options.deps?.timeWaitInterval ?? DEFAULT_TIME_WAIT_INTERVAL);
  const blocked = new NaijaSupError(
    'E_PORT_IN_USE',
    `port ${port} (${host}) is blocked by ${what}; that server did not set SO_REUSEADDR, so the kernel keeps the port for up to 60 s`,
    { fix: `wait a minute and start again, or use another port with --port N (or --port-fallback)`, details: answer.note ? [answer.note] : [] },
  );
  if (config.portFallback) return blocked; // a new port now beats waiting a minute
  note('time-wait', 'warn', `${what} block the bind (that server did not set SO_REUSEADDR); waiting up to ${formatDuration(timeout)} for them to expire`);
  const t0 = deps.now();
  const maxAttempts = Math.ceil(timeout / interval) + 1;
  for (let attempt = 0; attempt < maxAttempts && deps.now() - t0 < timeout; attempt += 1) {
    await deps.sleep(Math.min(interval, Math.max(1, timeout - (deps.now() - t0))));
    bind = await deps.probe(host, port);
    if (bind === true) {
      note('time-wait', 'warn', `TIME_WAIT cleared after ${formatAge(deps.now() - t0)}: port ${port} is free`);
      return null;
    }
    if (bind !== false) return null; // another bind error: the child's own bind will tell
  }
  return new NaijaSupError('E_PORT_IN_USE', `${blocked.message}; waited ${formatAge(deps.now() - t0)}`, {
    fix: blocked.fix,
    details: blocked.details,
  });
}

/** Step 5: pick another port with get-port, confirm it with a bind on the configured host. */
async function fallBack(ctx: ClaimContext, problem: NaijaSupError): Promise<number> {
  const { config, deps, note } = ctx;
  const from = config.port + 1;
  const to = Math.min(65_535, config.port + FALLBACK_RANGE);
  const range: Iterable<number> = portRange(from, to);
  let picked: number;
  try {
    const pick = ctx.options.deps?.getPort ?? (await loadGetPort()).default;
    picked = await pick({ port: range });
  } catch (cause) {
    throw new NaijaSupError(problem.code, problem.message, { fix: problem.fix, details: problem.details, cause });
  }
  const bind = await deps.probe(config.host, picked);
  if (bind !== true) {
    throw new NaijaSupError(problem.code, `${problem.message}; the fallback port ${picked} cannot be bound either`, {
      fix: problem.fix,
      details: problem.details,
    });
  }
  const outside = picked < from || picked > to ? ` (nothing in ${from}–${to} was free; get-port chose one at random)` : '';
  note(
    'port-fallback',
    'warn',
    `port ${config.port} is not available (${problem.message}); using port ${picked} instead${outside} because portFallback is on`,
  );
  return picked;
}

/** A free port to suggest in an error's fix ("--port 8001"), or undefined. */
async function suggestPort(ctx: ClaimContext): Promise<number | undefined> {
  const from = ctx.config.port + 1;
  const to = Math.min(65_535, ctx.config.port + FALLBACK_RANGE);
  if (from < 1024 || to <= from) return undefined;
  try {
    const pick = ctx.options.deps?.getPort ?? (await loadGetPort()).default;
    return await pick({ port: portRange(from, to) });
  } catch {
    return undefined; // only a hint
  }
}

function portWays(ctx: ClaimContext, suggestion: number | undefined): string {
  const port = suggestion === undefined ? '--port N' : `--port N (${suggestion} is free now)`;
  return `use another port with ${port}${ctx.config.portFallback ? '' : ', or let naija-sup pick one with --port-fallback'}`;
}

/** E_PORT_IN_USE for a port with visible owners. */
function portInUseError(
  answer: Extract<PortOwnersAnswer, { kind: 'held' }>,
  ctx: ClaimContext,
  extra: { refused: readonly Refusal[]; suggestion: number | undefined },
): NaijaSupError {
  const { port, host } = ctx.config;
  const now = ctx.deps.now();
  const [first, ...rest] = answer.owners;
  const records = listRecords(ctx.runDir);
  const matchedPids = new Set(ctx.matched.map((m) => m.pid));
  const refusedBy = new Map(extra.refused.map((r) => [r.pid, r.reason]));
  const who = first === undefined ? 'an unknown process' : formatOwner(first, now);
  const more = rest.length > 0 ? ` and ${rest.length} more process(es) sharing the socket` : '';
  const details = answer.owners.map((owner) => {
    const tags: string[] = [];
    const record = recordOfOwner(owner, records, { proc: ctx.deps.proc });
    if (record !== undefined) tags.push(`naija-sup instance of "${record.name}"`);
    if (matchedPids.has(owner.pid)) tags.push('matches cleanup.match');
    const refusal = refusedBy.get(owner.pid);
    if (refusal !== undefined) tags.push(`cannot be stopped: ${refusal}`);
    if (owner.cwd !== undefined) tags.push(`cwd ${owner.cwd}`);
    return `${formatOwner(owner, now, { full: true })}${tags.length > 0 ? ` [${tags.join('; ')}]` : ''}`;
  });
  if (answer.note) details.push(answer.note);
  const ways = portWays(ctx, extra.suggestion);
  let fix: string;
  // freePort stops nothing when any owner may not be stopped: one refusal rules --kill-existing out.
  if (extra.refused.length > 0) {
    const reasons = [...new Set(extra.refused.map((r) => r.reason))].join('; ');
    fix = `--kill-existing cannot stop it (${reasons}); ${ways}`;
  } else {
    fix = `stop it with --kill-existing (${ctx.config.shutdown.signal} to its process group, SIGKILL after ${formatAge(ctx.config.shutdown.timeout)}), or ${ways}`;
  }
  return new NaijaSupError('E_PORT_IN_USE', `port ${port} (${host}) is in use by ${who}${more}`, { fix, details });
}

/** E_PORT_IN_USE for a port whose owner this user cannot see. */
function invisibleError(answer: PortOwnersAnswer, host: string, port: number, suggestion: number | undefined, uid: number | undefined): NaijaSupError {
  const owner =
    answer.kind === 'held-invisible'
      ? `the socket (${answer.sockets.map((s) => s.endpoint).join(', ')}) belongs to ${answer.user}, uid ${answer.uid}`
      : `no socket on it is visible either (another network namespace or container?)`;
  const ways = `use another port with ${suggestion === undefined ? '--port N' : `--port N (${suggestion} is free now)`}`;
  if (uid === 0) {
    // Root reads every fd table here: a holder it cannot find lives outside this PID namespace.
    return new NaijaSupError('E_PORT_IN_USE', `port ${port} (${host}) is in use by no process of this PID namespace: ${owner}`, {
      fix: `a container or another PID namespace holds it (look with \`ss -ltnp 'sport = :${port}'\` on the host): --kill-existing cannot stop it from here; or ${ways}`,
      details: answer.note ? [answer.note] : [],
    });
  }
  return new NaijaSupError('E_PORT_IN_USE', `port ${port} (${host}) is in use, but its owner is not visible to this user: ${owner}`, {
    fix: `find it as root (\`sudo ss -ltnp 'sport = :${port}'\`): --kill-existing cannot stop a process it cannot see; or ${ways}`,
    details: answer.note ? [answer.note] : [],
  });
}
