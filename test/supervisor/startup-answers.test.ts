import { describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/types.js';
import { readyDescription, StartupAnswers } from '../../src/supervisor/startup-answers.js';

const config = (health: Partial<ResolvedConfig['health']> = {}): ResolvedConfig => ({
  port: 8000,
  host: '127.0.0.1',
  health: { type: 'auto', path: '/', timeout: 2000, interval: 250, startupTimeout: 30_000, log: null, liveness: null, readiness: null, ...health },
} as ResolvedConfig);

const refused = { ok: false, detail: 'connection refused (nothing is listening on 127.0.0.1:8000)' };
const notFound = {
  ok: false, status: 404, detail: 'GET /health → HTTP 404: …',
  failure: { answer: 'GET /health → HTTP 404', meaning: 'the server is up but has no such route', fix: 'set health.path to one that answers 200' },
};

describe('StartupAnswers', () => {
  it('no probe yet: no reason of its own (the machine says it)', () => {
    expect(new StartupAnswers().failure(config())).toBeUndefined();
  });

  it('counts equal answers in a row, timings aside, and says when the answer changes', () => {
    const answers = new StartupAnswers();
    expect(answers.count({ ok: false, detail: 'timed out after 2000 ms connecting' })).toBe(true);
    expect(answers.count({ ok: false, detail: 'timed out after 2001 ms connecting' })).toBe(false);
    expect(answers.times).toBe(2);
    expect(answers.count(notFound)).toBe(true);
    expect(answers.count({ ...notFound })).toBe(false);
    expect(answers.times).toBe(2);
  });

  it('an HTTP answer is the reason, with its count; its fix is the fix', () => {
    const answers = new StartupAnswers();
    for (let i = 0; i < 191; i += 1) answers.count(notFound);
    expect(answers.failure(config({ type: 'http', path: '/health' }))).toEqual({
      summary: 'GET /health → HTTP 404 (191 times, not ready within 30 s): the server is up but has no such route',
      fix: 'set health.path to one that answers 200',
    });
  });

  it('no answer: the generic advice, with what the probe last found', () => {
    const answers = new StartupAnswers();
    answers.count(refused);
    expect(answers.failure(config())).toEqual({
      summary: 'not ready within 30 s (health.startupTimeout): the last probe found connection refused (nothing is listening on 127.0.0.1:8000) (once)',
      fix: 'check that the server listens on PORT (naija-sup passes PORT=8000) on host 127.0.0.1; raise health.startupTimeout if it is just slow',
    });
  });

  it('a server found listening elsewhere outranks the probe\'s refusals', () => {
    const answers = new StartupAnswers();
    answers.count(refused);
    answers.bindFinding = { kind: 'other-port', message: 'the server listens on 127.0.0.1:3000, not on port 8000', fix: 'read PORT' };
    expect(answers.failure(config())).toEqual({ summary: 'not ready within 30 s: the server listens on 127.0.0.1:3000, not on port 8000', fix: 'read PORT' });
  });
});

describe('readyDescription', () => {
  it('http: the health URL, nothing more to say', () => {
    expect(readyDescription(config({ type: 'http', path: '/health' }), { ok: true, detail: '200 OK in 3 ms' })).toEqual({ url: 'http://127.0.0.1:8000/health' });
  });

  it('auto: says what answered and that a real health check is a health.path away', () => {
    expect(readyDescription(config(), { ok: true, status: 404, detail: 'answers HTTP 404 on /' })).toEqual({
      url: 'http://127.0.0.1:8000',
      how: 'answers HTTP 404 on /; set health.path for a real health check',
    });
    expect(readyDescription(config(), { ok: true, detail: 'accepts TCP connections but does not answer HTTP' }).how).toBe(
      'accepts TCP connections but does not answer HTTP; set health.type to "tcp" to say so, or health.path for an HTTP health check',
    );
  });

  it('an IPv6 host is bracketed in the URL', () => {
    expect(readyDescription({ ...config({ type: 'tcp' }), host: '::1' }, { ok: true, detail: '' }).url).toBe('http://[::1]:8000');
  });
});
