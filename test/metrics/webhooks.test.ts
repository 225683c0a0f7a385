/**
 * The webhook notifier's incidents and the delivery's retries, with fake timers and a fake POST.
 * (The real HTTP path, against a loopback receiver and a real supervisor, is in
 * webhooks.integration.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebhookDelivery, type PostJson } from '../../src/metrics/webhook-delivery.js';
import { createWebhookNotifier, type WebhookNotifier, type WebhookPayload } from '../../src/metrics/webhooks.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { exited, ready } from './helpers.js';

interface Sent { url: string; body: WebhookPayload }

function recorder(answers: Array<number | 'hang' | 'refuse'> = []): { post: PostJson; sent: Sent[]; attempts: number } {
  const state = { sent: [] as Sent[], attempts: 0, post: null as unknown as PostJson };
  state.post = (url, body, signal) => {
    state.attempts += 1;
    const answer = answers.shift() ?? 200;
    if (answer === 'hang') {
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'TimeoutError' }))));
    }
    if (answer === 'refuse') return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    if (answer >= 200 && answer < 300) state.sent.push({ url, body: JSON.parse(body) as WebhookPayload });
    return Promise.resolve(answer);
  };
  return state;
}

beforeEach(() => { vi.useFakeTimers({ now: Date.UTC(2025, 0, 1) }); });
afterEach(() => { vi.useRealTimers(); });

describe('webhook notifier', () => {
  let readyNow = false;
  let notifier: WebhookNotifier;
  const make = (post: PostJson, overrides: Partial<Parameters<typeof createWebhookNotifier>[0]> = {}): WebhookNotifier => createWebhookNotifier({
    urls: ['http://127.0.0.1:9/hook'], name: 'api', crashRate: 2, notReadyForMs: 30_000, isReady: () => readyNow, post, backoffMs: 100, timeoutMs: 1000, ...overrides,
  });
  const feed = (...events: SupervisorEvent[]): void => { for (const e of events) notifier.handle(e); };
  afterEach(async () => { await notifier.close(); });

  it('a crash loop is one alert while it lasts and one resolution once the rate is down and the instance ready', async () => {
    const r = recorder();
    notifier = make(r.post);
    readyNow = true;
    feed(ready());
    for (let i = 0; i < 6; i += 1) {
      readyNow = false;
      feed(exited({ cause: 'killed', summary: 'killed by SIGKILL', fix: 'check memory' }));
      await vi.advanceTimersByTimeAsync(2000);
      readyNow = true;
      feed(ready());
    }
    expect(r.sent.map((s) => [s.body.incident, s.body.status])).toEqual([['crash-loop', 'firing']]);
    const alert = r.sent[0]?.body;
    expect(alert).toMatchObject({ version: 1, severity: 'critical', app: 'api', cause: 'killed', fix: 'check memory', resolvedAt: null });
    expect(alert?.text).toContain('crash-looping');
    expect(alert?.runbookUrl).toMatch(/#runbook-crash-loop$/);
    await vi.advanceTimersByTimeAsync(61_000);
    expect(r.sent.map((s) => [s.body.incident, s.body.status])).toEqual([['crash-loop', 'firing'], ['crash-loop', 'resolved']]);
    expect(r.sent[1]?.body.id).toBe(alert?.id);
    expect(r.sent[1]?.body.text).toMatch(/^:white_check_mark: .*resolved/);
  });

  it('stays quiet for crashes at or below alerts.crashRate, and without one', async () => {
    const r = recorder();
    notifier = make(r.post);
    readyNow = true;
    feed(exited(), ready(), exited(), ready());
    await vi.advanceTimersByTimeAsync(5000);
    await notifier.close();
    notifier = make(r.post, { crashRate: null });
    for (let i = 0; i < 10; i += 1) feed(exited(), ready());
    await vi.advanceTimersByTimeAsync(5000);
    expect(r.sent).toEqual([]);
  });

  it('not ready for longer than alerts.notReadyFor: one alert, and a resolution when ready; a shorter gap says nothing', async () => {
    const r = recorder();
    notifier = make(r.post);
    feed({ type: 'spawning', instance: 1, command: ['x'], port: 1 });
    await vi.advanceTimersByTimeAsync(20_000);
    readyNow = true;
    feed(ready());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.sent).toEqual([]);
    readyNow = false;
    feed({ type: 'readiness-changed', instance: 1, ready: false, detail: '503' });
    await vi.advanceTimersByTimeAsync(31_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.sent.map((s) => [s.body.incident, s.body.status, s.body.severity])).toEqual([['not-ready', 'firing', 'warning']]);
    readyNow = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.sent.map((s) => s.body.status)).toEqual(['firing', 'resolved']);
  });

  it('a liveness restart alerts once and resolves on ready; fatal alerts; stop resolves what is open', async () => {
    const r = recorder();
    notifier = make(r.post);
    feed({ type: 'liveness-failed', instance: 1, failures: 3, detail: 'timed out' }, { type: 'liveness-failed', instance: 2, failures: 3, detail: 'timed out' });
    readyNow = true;
    feed(ready());
    readyNow = false;
    feed({ type: 'liveness-failed', instance: 3, failures: 3, detail: 'HTTP 500' });
    feed({ type: 'stopped', exitStatus: 0, graceful: true });
    feed({ type: 'fatal', reason: 'too many restarts', exit: null, exitStatus: 1 });
    await vi.advanceTimersByTimeAsync(10);
    expect(r.sent.map((s) => `${s.body.incident} ${s.body.status}`)).toEqual([
      'liveness-restart firing', 'liveness-restart resolved', 'liveness-restart firing', 'liveness-restart resolved', 'fatal firing',
    ]);
    expect(r.sent[4]?.body.summary).toBe('api gave up: too many restarts');
  });
});

describe('webhook delivery', () => {
  it('retries a 500 with backoff, then delivers; the status says so', async () => {
    const r = recorder([500, 500, 200]);
    const d = new WebhookDelivery(['http://user:pw@127.0.0.1:9/secret/path'], { post: r.post, backoffMs: 100 });
    d.send({ a: 1 });
    await vi.advanceTimersByTimeAsync(99);
    expect(r.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(r.attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.attempts).toBe(3);
    expect(r.sent).toHaveLength(1);
    expect(d.status()).toEqual([expect.objectContaining({ url: 'http://127.0.0.1:9/[redacted]', delivered: 1, failed: 0, failedAttempts: 2, pending: 0, failing: false })]);
    await d.close();
  });

  it('gives up after the attempts, reports it once, and keeps order for the next message', async () => {
    const r = recorder(['refuse', 'hang', 500, 500, 200]);
    const warnings: string[] = [];
    const d = new WebhookDelivery(['http://127.0.0.1:9/h'], { post: r.post, backoffMs: 100, timeoutMs: 1000, onGiveUp: (_u, e) => warnings.push(e) });
    d.send({ n: 1 });
    d.send({ n: 2 });
    expect(d.status()[0]?.pending).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(warnings).toEqual(['answered HTTP 500 (after 4 attempts)']);
    expect(r.sent.map((s) => s.body)).toEqual([{ n: 2 }]);
    expect(d.status()[0]).toMatchObject({ delivered: 1, failed: 1, failing: false, lastError: 'answered HTTP 500 (after 4 attempts)' });
    await d.close();
  });

  it('a receiver that hangs is cut at the timeout; close aborts what is left', async () => {
    const r = recorder(['hang', 'hang', 'hang', 'hang']);
    const d = new WebhookDelivery(['http://127.0.0.1:9/h'], { post: r.post, backoffMs: 100, timeoutMs: 1000 });
    d.send({ n: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.status()[0]).toMatchObject({ failedAttempts: 1, lastError: null });
    const closed = d.close(500);
    await vi.advanceTimersByTimeAsync(500);
    await closed;
    expect(d.status()[0]?.delivered).toBe(0);
  });
});
