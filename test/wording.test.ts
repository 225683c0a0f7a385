/**
 * How exits and durations read, in every place that prints them (the terminal renderer, the log
 * file, `status`): one duration style (ms under 1 s, then s with at most one decimal, then
 * "1m 15s"), an exit said once ("exited with code 1", never "exit code 1 — exited with code 1"),
 * and no placeholders for absent values ("(pid -)", "cause=undefined").
 */
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../src/cli/commands/status.js';
import type { CliIO } from '../src/cli/context.js';
import { EventRenderer } from '../src/cli/event-renderer.js';
import { formatLogEvent } from '../src/control/log-files.js';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { formatDuration } from '../src/elapsed.js';
import { describeExitShort } from '../src/exit-text.js';
import type { ExitInfo, SupervisorEvent } from '../src/supervisor/events.js';

const exitCode1: ExitInfo = {
  code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: 'read the stderr tail',
  at: 0, uptimeMs: 1500, stderrTail: ['boom'],
};
const portInUse: ExitInfo = { ...exitCode1, cause: 'port-in-use', summary: 'port 8000 is already in use', fix: 'free it' };

/** Everything the renderer writes to stderr for `events`. */
function rendered(events: SupervisorEvent[], verbose = false): string {
  let err = '';
  const io: CliIO = { stdout: () => undefined, stderr: (text) => { err += text; }, env: {}, cwd: '/', isTTY: false };
  const renderer = new EventRenderer(io, { name: 'api', raw: false, verbose });
  for (const event of events) renderer.handle(event);
  renderer.close();
  return err;
}

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [340.4, '340 ms'],
    [999.6, '1 s'],
    [1500, '1.5 s'],
    [12_000, '12 s'],
    [12_049, '12 s'],
    [59_960, '1m 0s'],
    [75_000, '1m 15s'],
    [2 * 3_600_000 + 5 * 60_000, '2h 5m'],
    [-5, '0 ms'],
    [Number.NaN, '0 ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('describeExitShort', () => {
  it('says how it ended once', () => {
    expect(describeExitShort(exitCode1)).toBe('exited with code 1');
    expect(describeExitShort({ code: null, signal: 'SIGKILL', cause: 'killed', summary: 'killed by SIGKILL (possibly the out-of-memory killer)' })).toBe(
      'killed by SIGKILL (possibly the out-of-memory killer)',
    );
  });

  it('adds the code or the signal when the summary names only the cause', () => {
    expect(describeExitShort(portInUse)).toBe('port 8000 is already in use (exit code 1)');
    expect(describeExitShort({ code: null, signal: 'SIGTERM', cause: 'exit-signal', summary: 'ended by its own signal handler' })).toBe(
      'ended by its own signal handler (ended by SIGTERM)',
    );
  });

  it('says nothing of how an instance exited that naija-sup itself stopped (startup timeout, liveness)', () => {
    expect(describeExitShort({ code: 0, signal: null, cause: 'startup-timeout', summary: 'not ready within 1.5 s (health.startupTimeout)' })).toBe('not ready within 1.5 s (health.startupTimeout)');
    expect(describeExitShort({ code: null, signal: 'SIGKILL', cause: 'liveness-failed', summary: 'failed its liveness probe (health.liveness)' })).toBe('failed its liveness probe (health.liveness)');
  });
});

describe('the terminal renderer', () => {
  it('gives up with the last exit said once', () => {
    const text = rendered([{ type: 'fatal', reason: 'restarted 3 times within 60 s', exit: exitCode1, exitStatus: 1 }]);
    expect(text).toContain('  last exit: exited with code 1 [cause: exit-code]\n');
    expect(text).not.toMatch(/exit code 1 — /);
    expect(rendered([{ type: 'fatal', reason: 'x', exit: portInUse, exitStatus: 1 }])).toContain('last exit: port 8000 is already in use (exit code 1) [cause: port-in-use]');
  });

  it('leaves out a pid it does not have', () => {
    const text = rendered(
      [
        { type: 'exited', instance: 1, pid: 0, exit: exitCode1, expected: false },
        { type: 'standby', state: 'lost', pid: null, detail: 'the warm standby died' },
        { type: 'standby', state: 'promoted', pid: null },
        { type: 'reload-started', mode: 'handoff', bluePid: null },
        { type: 'reload-finished', outcome: 'rolled-back', cause: 'not ready', durationMs: 10, pid: null },
      ],
      true,
    );
    expect(text).not.toMatch(/pid -|pid null|pid undefined/);
    expect(text).toContain('api exited with code 1 [exit-code] after 1.5 s');
    expect(text).toContain('reload rolled-back: not ready; the previous instance keeps serving');
  });

  it('writes durations in one style', () => {
    const text = rendered([
      { type: 'backoff', delayMs: 250, attempt: 1, restartsInWindow: 1, maxRestarts: 5 },
      { type: 'backoff', delayMs: 16_000, attempt: 5, restartsInWindow: 5, maxRestarts: 5 },
      { type: 'stopping', instance: 1, signal: 'SIGTERM', timeoutMs: 10_000, reason: 'requested' },
    ]);
    expect(text).toContain('restarting in 250 ms (');
    expect(text).toContain('restarting in 16 s (');
    expect(text).toContain('SIGKILL after 10 s');
  });
});

describe('the log file', () => {
  const at = new Date('2025-01-02T03:04:05.006Z');

  it('writes durations in the same style', () => {
    expect(formatLogEvent({ type: 'backoff', delayMs: 1500, attempt: 2, restartsInWindow: 2, maxRestarts: 5 }, at)).toContain('restarting in 1.5 s (attempt 2;');
    expect(formatLogEvent({ type: 'stopping', instance: 1, signal: 'SIGTERM', timeoutMs: 10_000, reason: 'requested' }, at)).toContain('SIGKILL after 10 s');
    expect(formatLogEvent({ type: 'probe', instance: 1, ok: true, detail: '200 OK', latencyMs: 3.14159, first: true }, at)).toContain('health probe passed (3 ms): 200 OK');
  });

  it('never writes an absent value as undefined or null', () => {
    const line = formatLogEvent({ type: 'reload-finished', outcome: 'failed', cause: undefined, durationMs: 12, pid: null }, at);
    expect(line).toBe('2025-01-02T03:04:05.006Z sup | reload-finished outcome=failed durationMs=12');
  });

  it('says an exit once, with the pid when there is one', () => {
    expect(formatLogEvent({ type: 'exited', instance: 1, pid: 42, exit: exitCode1, expected: false }, at)).toBe(
      '2025-01-02T03:04:05.006Z sup | instance pid 42: exited with code 1 (cause exit-code); fix: read the stderr tail | last stderr: boom',
    );
    expect(formatLogEvent({ type: 'exited', instance: 1, pid: 0, exit: exitCode1, expected: true }, at)).toBe(
      '2025-01-02T03:04:05.006Z sup | the instance stopped on request: exited with code 1 (cause exit-code) | last stderr: boom',
    );
  });
});

describe('status', () => {
  it('shows the last exit said once and durations in the same style', () => {
    const now = Date.parse('2025-01-02T03:04:05.000Z');
    const snapshot = {
      name: 'api', state: 'ready', url: 'http://127.0.0.1:8000', port: 8000, host: '127.0.0.1', mode: 'direct',
      supervisorPid: 10, uptimeMs: 75_000, instancePid: 11, instanceUptimeMs: 1500, restarts: 1,
      lastExit: { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', at: '2025-01-02T03:04:02.500Z' },
      health: { ok: true, latencyMs: 2.4, at: '2025-01-02T03:04:04.900Z', detail: '200 OK' },
      rss: null, cpuPercent: null, version: '0.1.0',
    } as unknown as StatusSnapshot;
    const text = renderStatus(snapshot, now);
    expect(text).toMatch(/^supervisor +pid 10, up 1m 15s$/m);
    expect(text).toMatch(/^instance +pid 11, up 1\.5 s$/m);
    expect(text).toMatch(/^last exit +exited with code 1 \[exit-code\], 2\.5 s ago$/m);
    expect(text).toMatch(/^health +ok, 2 ms, 100 ms ago: 200 OK$/m);
  });
});
