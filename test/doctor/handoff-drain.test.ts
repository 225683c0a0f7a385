// Issue 13: `naija-sup doctor --drain` (the handoff-drain check) with real processes: the drain
// fixture's naive shutdown (server.close(() => process.exit(0))) fails with ECONNRESET counts and
// the fix, the same server under naija-sup/node's serve() passes, a command that never answers (or
// exits at once) is a clear failure, and nothing the check started is left running. Without
// --drain: the static hint. Needs `npm run build` (the fixture's helper mode and the CLI load dist/).
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { doctorCommand } from '../../src/cli/commands/doctor.js';
import { nodeEntryFile, looksLikeNaiveShutdown } from '../../src/doctor/checks/handoff-drain-hint.js';
import { judgeDrain } from '../../src/doctor/checks/handoff-drain.js';
import type { CheckResult } from '../../src/doctor/index.js';
import type { DrainSwapReport } from '../../src/reload/drain-check.js';
import { cliApp, endCliApps, processesIn, type CliApp } from '../helpers/cli-app.js';
import { fixture, isRunning, waitFor } from '../helpers/processes.js';
import { doctorOne, removeTemps, tempDir } from './helpers.js';

afterEach(async () => {
  removeTemps();
  await endCliApps();
});

const DRAIN_SERVER = fixture('reload/drain-server.mjs');

/** A handoff-mode app running the drain fixture with `shutdown`. */
function drainApp(shutdown: 'naive' | 'helper', extra: Record<string, unknown> = {}): Promise<CliApp> {
  return cliApp({
    name: `drain-${shutdown}`,
    command: [process.execPath, DRAIN_SERVER],
    mode: 'handoff',
    health: { path: '/health', startupTimeout: '10s' },
    env: { SHUTDOWN: shutdown },
    ...extra,
  });
}

async function measure(app: CliApp): Promise<CheckResult> {
  return doctorOne(app.cwd, 'handoff-drain', app.env, { drain: true });
}

/** Every pid the check's details name (each old instance and the last one). */
function pidsIn(result: CheckResult): number[] {
  return result.details.flatMap((line) => [...line.matchAll(/\bpid (\d+)/g)].map((match) => Number(match[1])));
}

describe('doctor --drain (handoff-drain) with real servers', () => {
  it('naive server.close(() => process.exit(0)): fail, ECONNRESET counted, the fix names serve() and mode: proxy; nothing left running', { timeout: 120_000 }, async () => {
    const app = await drainApp('naive');
    const result = await measure(app);
    expect(result.status, JSON.stringify(result)).toBe('fail');
    expect(result.failureId).toBe('E_DRAIN_RESETS');
    expect(result.summary).toMatch(/^the server's shutdown resets connections: [1-9]\d* of \d+ requests failed with ECONNRESET during 3 handoff reloads$/);
    expect(result.details).toContainEqual(expect.stringMatching(/^requests: \d+ \(\d+ ok; ECONNRESET [1-9]\d*\)$/));
    expect(result.fix).toContain("Your server's shutdown resets connections (");
    expect(result.fix).toContain('use `serve()` from `naija-sup/node` (docs/handoff.md)');
    expect(result.fix).toContain('for uvicorn, use `mode: proxy`');
    expect(result.fix).toContain('any server: use `mode: proxy`');
    const pids = pidsIn(result);
    expect(pids).toHaveLength(4);
    expect(pids.filter(isRunning)).toEqual([]);
    expect(processesIn(app.cwd)).toEqual([]);
  });

  it('the same server with naija-sup/node serve(): ok, 3 swaps, 0 reset, every old instance exited 0', { timeout: 120_000 }, async () => {
    const app = await drainApp('helper');
    const result = await measure(app);
    expect(result.status, JSON.stringify(result)).toBe('ok');
    expect(result.summary).toMatch(/^3 swaps, [1-9]\d* requests, 0 reset; the old instance exited 0 in \d+(–\d+)? ms$/);
    expect(result.details.filter((line) => /^swap \d: old instance pid \d+ exited 0 \d+ ms after the stop signal$/.test(line))).toHaveLength(3);
    expect(pidsIn(result).filter(isRunning)).toEqual([]);
    expect(processesIn(app.cwd)).toEqual([]);
  });

  it('a command that never answers: a clear failure at its startup deadline, the process stopped', { timeout: 60_000 }, async () => {
    const app = await cliApp({ name: 'never', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], mode: 'proxy', health: { startupTimeout: '2s' } });
    const result = await measure(app);
    expect(result.status).toBe('fail');
    expect(result.failureId).toBe('E_STARTUP_FAILED');
    expect(result.summary).toMatch(/^could not measure under socket handoff: the first instance \(pid \d+\) did not answer on the inherited socket \(fd 3\) within 2 s$/);
    expect(result.details).toContain(`the config's mode is "proxy"; the measurement uses socket handoff regardless`);
    expect(result.fix).toMatch(/must listen on fd 3 when LISTEN_FDS=1/);
    const pid = Number(/pid (\d+)/.exec(result.summary)?.[1]);
    expect(isRunning(pid)).toBe(false);
    expect(processesIn(app.cwd)).toEqual([]);
  });

  it('a command that exits at once: the exit code and its output', { timeout: 60_000 }, async () => {
    const app = await cliApp({ name: 'exits', command: [process.execPath, '-e', 'console.error("no fd 3 here"); process.exit(3)'], mode: 'handoff' });
    const result = await measure(app);
    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(/^could not measure under socket handoff: the first instance \(pid \d+\) exited with code 3 before it answered/);
    expect(result.details).toContain('  stderr: no fd 3 here');
    expect(processesIn(app.cwd)).toEqual([]);
  });
});

describe('`naija-sup doctor --drain` (the built CLI)', () => {
  it('exits non-zero on the naive server and prints the fix', { timeout: 120_000 }, async () => {
    const app = await drainApp('naive');
    const { status, stdout } = await app.cli(['doctor', '--drain'], 110_000);
    expect(status).toBe(1);
    expect(stdout).toMatch(/✖ handoff-drain\s+the server's shutdown resets connections: [1-9]\d* of \d+ requests failed with ECONNRESET/);
    expect(stdout).toContain("fix: Your server's shutdown resets connections (");
    expect(stdout).toContain('use `serve()` from `naija-sup/node` (docs/handoff.md)');
    expect(processesIn(app.cwd)).toEqual([]);
  });

  it('Ctrl+C during the measurement stops it: every process it started is gone, the check says so', { timeout: 60_000 }, async () => {
    const app = await drainApp('helper');
    const signals = new EventEmitter();
    let out = '';
    const io = { stdout: (text: string) => void (out += text), stderr: () => undefined, env: app.env, cwd: app.cwd, isTTY: false, signals };
    const status = doctorCommand(io, { drain: true, only: ['handoff-drain'] });
    await waitFor(() => processesIn(app.cwd).length > 0, { timeout: 15_000, message: 'the measurement never started the app' });
    expect(signals.listenerCount('SIGINT')).toBe(1);
    signals.emit('SIGINT');
    expect(await status).toBe(1);
    expect(out).toMatch(/✖ handoff-drain\s+could not measure under socket handoff: The handoff drain measurement was stopped \(at /);
    expect(processesIn(app.cwd)).toEqual([]);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('without --drain nothing is started: the naive entry file gets the static warning', { timeout: 60_000 }, async () => {
    const app = await cliApp({ name: 'hint', command: ['node', 'server.js'], mode: 'handoff' });
    writeFileSync(join(app.cwd, 'server.js'), "process.on('SIGTERM', () => server.close(() => process.exit(0)));\n");
    const { status, stdout } = await app.cli(['doctor', '--only', 'handoff-drain']);
    expect(stdout).toContain('⚠ handoff-drain  server.js shuts down with server.close(…), which may reset connections on reload; run `naija-sup doctor --drain` to measure');
    expect(status).toBe(0);
  });
});

describe('the static hint (no --drain)', () => {
  it('warns for a naive Node shutdown in handoff mode; skips with serve(), other modes, or an entry it cannot find', async () => {
    const app = await cliApp({ name: 'hint', command: ['node', '--require', './tracing.js', 'server'], mode: 'handoff' });
    writeFileSync(join(app.cwd, 'server.js'), 'server.listen(3000);\nprocess.on("SIGTERM", () => { server.close(() => process.exit(0)); });\n');
    const warned = await doctorOne(app.cwd, 'handoff-drain', app.env);
    expect(warned).toMatchObject({ status: 'warn', summary: 'server.js shuts down with server.close(…), which may reset connections on reload; run `naija-sup doctor --drain` to measure' });
    expect(warned.fix).toMatch(/naija-sup doctor --drain/);

    writeFileSync(join(app.cwd, 'server.js'), "import { serve } from 'naija-sup/node';\nprocess.on('SIGTERM', () => server.close(() => process.exit(0)));\n");
    expect(await doctorOne(app.cwd, 'handoff-drain', app.env)).toMatchObject({ status: 'skip', summary: expect.stringMatching(/^not measured: `naija-sup doctor --drain` starts the app/) });
  });

  it('finds the entry of `node [options] file` only', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'server.js'), '');
    expect(nodeEntryFile(['node', 'server.js'], dir)).toBe(join(dir, 'server.js'));
    expect(nodeEntryFile(['/usr/bin/node20', '--enable-source-maps', '-r', 'dotenv/config', 'server'], dir)).toBe(join(dir, 'server.js'));
    expect(nodeEntryFile(['node', '-e', 'server.js'], dir)).toBeNull();
    expect(nodeEntryFile(['npm', 'start'], dir)).toBeNull();
    expect(nodeEntryFile(['node', 'missing.js'], dir)).toBeNull();
    expect(looksLikeNaiveShutdown('srv.close(() => process.exit(0))')).toBe(true);
    expect(looksLikeNaiveShutdown('server.close()')).toBe(true);
    expect(looksLikeNaiveShutdown("server.close(); import('naija-sup/node')")).toBe(false);
    expect(looksLikeNaiveShutdown('db.end()')).toBe(false);
  });
});

describe('judgeDrain', () => {
  const report = (over: Partial<DrainSwapReport>): DrainSwapReport => ({
    requests: 100,
    ok: 100,
    failed: 0,
    errors: {},
    connectionFailures: 0,
    sampleErrors: [],
    loads: [],
    retired: [1, 2, 3].map((pid) => ({ pid, code: 0, signal: null, drainMs: 10 * pid, forced: false, outcome: 'exited' as const })),
    last: { pid: 4, code: 0, signal: null, drainMs: 5, forced: false, outcome: 'exited' },
    pids: [1, 2, 3, 4],
    ...over,
  });
  const handoff = { mode: 'handoff' as const, shutdown: { signal: 'SIGTERM' as const, timeout: 10_000 } };

  it('HTTP statuses are answers, not resets: ok', () => {
    const outcome = judgeDrain(report({ failed: 7, errors: { HTTP_503: 7 } }), handoff);
    expect(outcome).toMatchObject({ status: 'ok', summary: '3 swaps, 100 requests, 0 reset; the old instance exited 0 in 10–30 ms' });
    expect(outcome.details).toContain('HTTP_503: answers, not counted against the drain');
  });

  it('resets outside handoff mode are a warning (the proxy hides them)', () => {
    const outcome = judgeDrain(report({ failed: 2, errors: { ECONNRESET: 2 }, connectionFailures: 2 }), { ...handoff, mode: 'proxy' });
    expect(outcome).toMatchObject({ status: 'warn', failureId: 'E_DRAIN_RESETS', summary: "the server's shutdown resets connections: 2 of 100 requests failed with ECONNRESET during 3 handoff reloads" });
  });

  it('no reset but an old instance killed or exiting non-zero: a warning naming it', () => {
    const retired = report({}).retired.map((r) => (r.pid === 2 ? { ...r, code: null, signal: 'SIGKILL' as const, forced: true, drainMs: 10_000, outcome: 'killed' as const } : r));
    const outcome = judgeDrain(report({ retired }), handoff);
    expect(outcome.status).toBe('warn');
    expect(outcome.summary).toBe('3 swaps, 100 requests, 0 reset, but the old instance (pid 2) did not exit within the stop timeout and was killed after 10000 ms');
    expect(outcome.fix).toMatch(/exit 0 on SIGTERM within shutdown.timeout \(10 s\)/);
  });
});
