import { describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { JsonRenderer, eventLevel } from '../src/cli/json-renderer.js';
import type { ExitInfo, SupervisorEvent } from '../src/supervisor/events.js';

const exit: ExitInfo = {
  code: null, signal: 'SIGKILL', cause: 'killed', summary: 'killed by SIGKILL', fix: 'check memory',
  at: 1_735_689_600_000, uptimeMs: 1500, stderrTail: ['boom'],
};

/**
 * One sample of every event type. The mapped type makes this fail to compile when an event type is
 * added and not listed here, so "every lifecycle event renders" stays true.
 */
const SAMPLES: { [K in SupervisorEvent['type']]: Extract<SupervisorEvent, { type: K }> } = {
  'config-loaded': { type: 'config-loaded', file: '/app/naija-sup.config.json', durationMs: 4 },
  preflight: { type: 'preflight', durationMs: 2, findings: ['stopped a stale instance (pid 9)'] },
  spawning: { type: 'spawning', instance: 1, command: ['node', 'server.js'], port: 8000 },
  spawned: { type: 'spawned', instance: 1, pid: 4242, durationMs: 3 },
  probe: { type: 'probe', instance: 1, ok: false, detail: 'connection refused', latencyMs: 0.4, first: true },
  'readiness-changed': { type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503' },
  dependency: { type: 'dependency', name: 'postgres', target: '127.0.0.1:5432', ok: false, attempts: 4, latencyMs: 0.3, detail: 'connection refused' },
  ready: { type: 'ready', instance: 1, pid: 4242, readyInMs: 120, url: 'http://127.0.0.1:8000/health' },
  exited: { type: 'exited', instance: 1, pid: 4242, exit, expected: false },
  backoff: { type: 'backoff', delayMs: 200, attempt: 1, restartsInWindow: 1, maxRestarts: 5 },
  restarting: { type: 'restarting', reason: 'crash' },
  'liveness-failed': { type: 'liveness-failed', instance: 1, failures: 3, detail: 'timed out' },
  stopping: { type: 'stopping', instance: 1, signal: 'SIGTERM', timeoutMs: 30_000, reason: 'requested' },
  escalated: { type: 'escalated', instance: 1, reason: 'timeout' },
  stopped: { type: 'stopped', exitStatus: 0, graceful: true },
  fatal: { type: 'fatal', reason: 'restarted 5 times within 60 s', exit, exitStatus: 1 },
  'reload-requested': { type: 'reload-requested', source: 'SIGHUP' },
  'reload-rejected': { type: 'reload-rejected', errors: ['port: expected a number'] },
  'signal-forwarded': { type: 'signal-forwarded', signal: 'SIGUSR2', pid: 4242 },
  'record-written': { type: 'record-written', recordPath: '/run/app.json', pidFile: null },
  'record-error': { type: 'record-error', message: 'EACCES' },
  output: { type: 'output', instance: 1, stream: 'stderr', line: 'listening on "8000" \u001b[32mok\u001b[0m' },
  warning: { type: 'warning', message: 'crash rate 6 per minute is above alerts.crashRate (5)', fix: 'look at the last exits' },
  'reload-started': { type: 'reload-started', mode: 'handoff', bluePid: 4242 },
  'reload-finished': { type: 'reload-finished', outcome: 'rolled-back', cause: 'green never ready', durationMs: 900, pid: 4242 },
  listener: { type: 'listener', mode: 'proxy', address: '127.0.0.1:8000' },
  'status-server': { type: 'status-server', url: 'http://127.0.0.1:9100' },
  'port-holders': { type: 'port-holders', port: 8000, lines: ['port 8000 is held by pid 42 (alice): node old.js, for 3m 0s'] },
  standby: { type: 'standby', state: 'armed', pid: 42 },
};

function capture(verbose = false): { io: CliIO; out: string[]; err: string[]; renderer: JsonRenderer } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: '/app', isTTY: false };
  const renderer = new JsonRenderer(io, { name: 'api', verbose, now: () => new Date('2025-01-01T12:00:00.000Z') });
  return { io, out, err, renderer };
}

function parseLine(text: string): Record<string, unknown> {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.slice(0, -1)).not.toContain('\n');
  return JSON.parse(text) as Record<string, unknown>;
}

describe('JsonRenderer (--log-format json)', () => {
  it.each(Object.values(SAMPLES).filter((e) => e.type !== 'output'))('renders $type as one JSON line with time, level, event and its fields', (event) => {
    const { out, err, renderer } = capture();
    renderer.handle(event);
    expect(out).toHaveLength(1);
    expect(err).toEqual([]);
    const line = parseLine(out[0] ?? '');
    expect(Object.keys(line).slice(0, 4)).toEqual(['time', 'level', 'event', 'name']);
    expect(line['time']).toBe('2025-01-01T12:00:00.000Z');
    expect(line['level']).toBe(eventLevel(event));
    expect(['info', 'warn', 'error']).toContain(line['level']);
    expect(line['event']).toBe(event.type);
    expect(line['name']).toBe('api');
    expect(line).not.toHaveProperty('type');
    // Every field of the event is there (a name clash renamed to <event>_<key>).
    for (const [key, value] of Object.entries(event)) {
      if (key === 'type') continue;
      const out = key === 'name' ? `${event.type}_name` : key;
      expect(line[out], key).toEqual(value);
    }
  });

  it('renders the child output as {time, stream, line, name}', () => {
    const { out, renderer } = capture();
    renderer.handle(SAMPLES.output);
    renderer.handle({ type: 'output', instance: 2, stream: 'stdout', line: '{"msg":"a JSON log line of the app"}' });
    expect(out.map(parseLine)).toEqual([
      { time: '2025-01-01T12:00:00.000Z', stream: 'stderr', line: 'listening on "8000" \u001b[32mok\u001b[0m', name: 'api', instance: 1 },
      { time: '2025-01-01T12:00:00.000Z', stream: 'stdout', line: '{"msg":"a JSON log line of the app"}', name: 'api', instance: 2 },
    ]);
  });

  it('uses error for fatal, warn for trouble, info otherwise', () => {
    expect(eventLevel(SAMPLES.fatal)).toBe('error');
    for (const e of [SAMPLES.exited, SAMPLES.escalated, SAMPLES['liveness-failed'], SAMPLES.warning, SAMPLES['record-error'], SAMPLES['reload-rejected'], SAMPLES['readiness-changed'], SAMPLES.dependency, SAMPLES['reload-finished']]) {
      expect(eventLevel(e), e.type).toBe('warn');
    }
    expect(eventLevel({ ...SAMPLES.exited, expected: true })).toBe('info');
    expect(eventLevel({ ...SAMPLES['readiness-changed'], ready: true })).toBe('info');
    expect(eventLevel({ ...SAMPLES.dependency, ok: true })).toBe('info');
    expect(eventLevel({ ...SAMPLES['reload-finished'], outcome: 'reloaded' })).toBe('info');
    for (const e of [SAMPLES.spawning, SAMPLES.spawned, SAMPLES.ready, SAMPLES.backoff, SAMPLES.stopping, SAMPLES.stopped, SAMPLES.probe]) {
      expect(eventLevel(e), e.type).toBe('info');
    }
  });

  it('writes repeated passing probes only with --verbose (as debug)', () => {
    const passing: SupervisorEvent = { type: 'probe', instance: 1, ok: true, detail: '200 OK', latencyMs: 2, first: false, probe: 'liveness' };
    const quiet = capture();
    quiet.renderer.handle(passing);
    quiet.renderer.handle({ ...passing, first: true });
    quiet.renderer.handle({ ...passing, ok: false });
    expect(quiet.out.map(parseLine).map((l) => [l['level'], l['first'], l['ok'], l['probe']])).toEqual([['info', true, true, 'liveness'], ['info', false, false, 'liveness']]);
    const loud = capture(true);
    loud.renderer.handle(passing);
    expect(parseLine(loud.out[0] ?? '')).toMatchObject({ level: 'debug', event: 'probe', ok: true });
  });

  it('writes its own messages in the same shape', () => {
    const { out, renderer } = capture();
    renderer.say('status server on http://127.0.0.1:9100', 'ok');
    renderer.say('something odd', 'warn');
    renderer.close();
    expect(out.map(parseLine)).toEqual([
      { time: '2025-01-01T12:00:00.000Z', level: 'info', event: 'message', name: 'api', message: 'status server on http://127.0.0.1:9100' },
      { time: '2025-01-01T12:00:00.000Z', level: 'warn', event: 'message', name: 'api', message: 'something odd' },
    ]);
  });

  it('stamps the real time by default', () => {
    const out: string[] = [];
    const renderer = new JsonRenderer({ stdout: (t) => out.push(t), stderr: () => undefined, env: {}, cwd: '/', isTTY: false }, { name: 'api' });
    const before = Date.now();
    renderer.handle(SAMPLES.spawned);
    const time = Date.parse(String(parseLine(out[0] ?? '')['time']));
    expect(time).toBeGreaterThanOrEqual(before - 1);
    expect(time).toBeLessThanOrEqual(Date.now() + 1);
  });
});
