/**
 * The terminal lines `start` prints for the events the supervisor emits while it runs (probes
 * that change, reloads, the warm standby, record failures): what a user watching the terminal
 * reads, and what stays behind --verbose.
 */
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { EventRenderer } from '../src/cli/event-renderer.js';
import type { SupervisorEvent } from '../src/supervisor/events.js';

/** stderr's lines for `events`, each without the "naija-sup › " tag. */
function lines(events: SupervisorEvent[], options: { verbose?: boolean; isTTY?: boolean } = {}): string[] {
  let err = '';
  const io: CliIO = { stdout: () => undefined, stderr: (text) => { err += text; }, env: {}, cwd: '/', isTTY: options.isTTY ?? false };
  const renderer = new EventRenderer(io, { name: 'api', raw: false, verbose: options.verbose ?? false });
  for (const event of events) renderer.handle(event);
  renderer.close();
  return err.split('\n').filter((l) => l !== '').map((l) => l.replace(/^naija-sup › /, ''));
}

describe('EventRenderer: probes that change while the server runs', () => {
  it('says a liveness failure restarts the server', () => {
    expect(lines([{ type: 'liveness-failed', instance: 1, failures: 3, detail: 'GET /health → HTTP 500' }])).toEqual([
      'liveness probe failed 3 times in a row (GET /health → HTTP 500): restarting',
    ]);
  });

  it('says when readiness fails and when it passes again', () => {
    expect(lines([
      { type: 'readiness-changed', instance: 1, ready: false, detail: 'GET /ready → HTTP 503' },
      { type: 'readiness-changed', instance: 1, ready: true, detail: 'GET /ready → HTTP 200' },
    ])).toEqual([
      'readiness probe failing (GET /ready → HTTP 503): not ready for traffic',
      'readiness probe passing again: GET /ready → HTTP 200',
    ]);
  });
});

describe('EventRenderer: reloads', () => {
  it('names the instance that keeps serving after a rollback, and the cause', () => {
    expect(lines([{ type: 'reload-finished', outcome: 'rolled-back', cause: 'the new instance exited with code 1', durationMs: 900, pid: 4242 }])).toEqual([
      'reload rolled-back: the new instance exited with code 1; the previous instance (pid 4242) keeps serving',
    ]);
  });

  it('says a failed reload without inventing a cause', () => {
    expect(lines([{ type: 'reload-finished', outcome: 'failed', durationMs: 10, pid: null }])).toEqual(['reload failed']);
  });

  it('says a reload is done without a pid when none is known', () => {
    expect(lines([{ type: 'reload-finished', outcome: 'restarted', durationMs: 1500, pid: null }])).toEqual(['reload done in 1.5 s']);
  });

  it('says a handoff reload starts a new instance, beside the old one when its pid is known', () => {
    expect(lines([
      { type: 'reload-started', mode: 'handoff', bluePid: null },
      { type: 'reload-started', mode: 'proxy', bluePid: 7 },
    ])).toEqual([
      'zero-downtime reload (handoff): starting a new instance',
      'zero-downtime reload (proxy): starting a new instance beside pid 7',
    ]);
  });
});

describe('EventRenderer: the warm standby', () => {
  it('warns when the standby is lost, with a default reason', () => {
    expect(lines([{ type: 'standby', state: 'lost', pid: null }])).toEqual(['the warm standby was lost']);
    expect(lines([{ type: 'standby', state: 'lost', pid: 9, detail: 'the standby exited with code 1' }])).toEqual([
      'the standby exited with code 1 (pid 9)',
    ]);
  });

  it('says which standby takes over', () => {
    expect(lines([{ type: 'standby', state: 'promoted', pid: null }])).toEqual(['warm standby takes over']);
    expect(lines([{ type: 'standby', state: 'promoted', pid: 12 }])).toEqual(['warm standby pid 12 takes over']);
  });

  it('keeps armed and discarded standbys to --verbose', () => {
    const events: SupervisorEvent[] = [
      { type: 'standby', state: 'armed', pid: null },
      { type: 'standby', state: 'armed', pid: 5 },
      { type: 'standby', state: 'discarded', pid: null },
      { type: 'standby', state: 'discarded', pid: 5, detail: 'the configuration changed' },
    ];
    expect(lines(events)).toEqual([]);
    expect(lines(events, { verbose: true })).toEqual([
      "warm standby ready: it waits before the server's code",
      "warm standby ready: pid 5 waits before the server's code",
      'warm standby ended',
      'warm standby pid 5 ended: the configuration changed',
    ]);
  });
});

describe('EventRenderer: supervisor housekeeping', () => {
  it('warns when the instance record cannot be written', () => {
    expect(lines([{ type: 'record-error', message: 'ENOSPC: no space left on device' }])).toEqual([
      'could not write the instance record: ENOSPC: no space left on device',
    ]);
  });

  it('shows forwarded signals, preflight findings and expected exits only with --verbose', () => {
    const events: SupervisorEvent[] = [
      { type: 'signal-forwarded', signal: 'SIGUSR2', pid: 31 },
      { type: 'preflight', durationMs: 3, findings: ['removed a stale PID file'] },
      { type: 'exited', instance: 1, pid: 0, expected: true, exit: { code: 0, signal: null, cause: 'clean-exit', summary: 'exited with code 0', fix: '', at: 0, uptimeMs: 5, stderrTail: [] } },
    ];
    expect(lines(events)).toEqual([]);
    expect(lines(events, { verbose: true })).toEqual([
      'forwarded SIGUSR2 to pid 31',
      'preflight: removed a stale PID file (3 ms)',
      'instance stopped: exited with code 0',
    ]);
  });

  it('names the pid it started even before any port is known', () => {
    expect(lines([{ type: 'spawned', instance: 1, pid: 77, durationMs: 4 }])).toEqual(['started api (pid 77)']);
  });

  it('prints the start lines on a terminal that reports no width, with no spinner', () => {
    // No columns (stderr is not a terminal in the test worker): ora would divide by 0, so no spinner.
    expect(lines([
      { type: 'spawning', instance: 1, command: ['node', 'server.js'], port: 8123 },
      { type: 'spawned', instance: 1, pid: 78, durationMs: 4 },
    ], { isTTY: true })).toEqual(['started api (pid 78, PORT=8123)']);
  });

  it('reports an event it does not know with --verbose rather than dropping it silently', () => {
    const unknown = { type: 'from-a-newer-version', x: 1 } as unknown as SupervisorEvent;
    expect(lines([unknown])).toEqual([]);
    expect(lines([unknown], { verbose: true })).toEqual(['unknown event {"type":"from-a-newer-version","x":1}']);
  });
});
