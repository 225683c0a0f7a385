/**
 * Webhook delivery at its limits: a receiver so slow that the queue overflows, a single attempt, a
 * close during a backoff, messages sent after close, and the real POST to an https URL, trusting
 * the NODE_EXTRA_CA_CERTS file the background supervisor holds for its server.
 */
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { certificatesWith, postJson, webhookTls, WebhookDelivery, type PostJson } from '../../src/metrics/webhook-delivery.js';
import { httpsReceiver } from '../helpers/https-receiver.js';
import { fixture } from '../helpers/processes.js';

/** A POST that never answers until aborted, counting attempts. */
function hanging(): { post: PostJson; bodies: string[] } {
  const bodies: string[] = [];
  return {
    bodies,
    post: (_url, body, signal) => {
      bodies.push(body);
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    },
  };
}

const refused: PostJson = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));

describe('webhook delivery with fake timers', () => {
  beforeEach(() => { vi.useFakeTimers({ now: Date.UTC(2025, 0, 1) }); });
  afterEach(() => { vi.useRealTimers(); });

  it('drops the oldest waiting message when the queue is full, and says so without marking the URL failing', async () => {
    const h = hanging();
    const warnings: string[] = [];
    const d = new WebhookDelivery(['http://127.0.0.1:9/h'], { post: h.post, maxQueue: 2, timeoutMs: 60_000, onGiveUp: (_u, e) => warnings.push(e) });
    for (let n = 1; n <= 4; n += 1) d.send({ n });
    // 1 is in flight; 2, 3, 4 queued beyond the limit of 2: 2 goes.
    expect(warnings).toEqual(['queue full: dropped the oldest of 3 waiting messages']);
    expect(d.status()[0]).toMatchObject({ failed: 1, failing: false, pending: 3, lastError: 'queue full: dropped the oldest of 3 waiting messages', lastErrorAt: '2025-01-01T00:00:00.000Z' });
    const closed = d.close(10);
    await vi.advanceTimersByTimeAsync(10);
    await closed;
    expect(h.bodies).toEqual(['{"n":1}']);
  });

  it('with one attempt, gives up after it and says "1 attempt"', async () => {
    const warnings: string[] = [];
    const d = new WebhookDelivery(['http://127.0.0.1:9/h'], { post: refused, attempts: 1, onGiveUp: (_u, e) => warnings.push(e) });
    d.send({ n: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(warnings).toEqual(['ECONNREFUSED (after 1 attempt)']);
    expect(d.status()[0]).toMatchObject({ failed: 1, failedAttempts: 1, failing: true });
    await d.close();
  });

  it('a close during the backoff ends the retries without reporting a give-up', async () => {
    let attempts = 0;
    const warnings: string[] = [];
    const d = new WebhookDelivery(['http://127.0.0.1:9/h'], {
      post: (...args) => { attempts += 1; return refused(...args); }, backoffMs: 1000, onGiveUp: (_u, e) => warnings.push(e),
    });
    d.send({ n: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toBe(1);
    const closed = d.close(50);
    await vi.advanceTimersByTimeAsync(50);
    await closed;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts).toBe(1);
    expect(warnings).toEqual([]);
    expect(d.status()[0]).toMatchObject({ failed: 0, failedAttempts: 1, pending: 0 });
  });

  it('sends nothing once closed', async () => {
    const h = hanging();
    const d = new WebhookDelivery(['http://127.0.0.1:9/h'], { post: h.post });
    await d.close();
    d.send({ n: 1 });
    expect(h.bodies).toEqual([]);
    expect(d.status()[0]?.pending).toBe(0);
  });
});

describe('postJson', () => {
  it('speaks TLS to an https URL: a plain TCP listener there makes it fail, not hang', async () => {
    // A listener that reads the first byte and hangs up: the TLS handshake cannot complete.
    const firstBytes: number[] = [];
    const server = createServer((socket) => socket.once('data', (chunk: Buffer) => { firstBytes.push(chunk[0] ?? -1); socket.destroy(); }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      await expect(postJson(`https://127.0.0.1:${port}/hook`, '{}', new AbortController().signal)).rejects.toThrow();
      expect(firstBytes).toEqual([0x16]); // a TLS handshake record, not "POST /hook"
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('postJson in the background supervisor, which holds NODE_EXTRA_CA_CERTS for its server', () => {
  const saved = { held: process.env['NAIJA_SUP_EXTRA_CA_CERTS'], extra: process.env['NODE_EXTRA_CA_CERTS'] };
  afterEach(() => {
    for (const [name, value] of [['NAIJA_SUP_EXTRA_CA_CERTS', saved.held], ['NODE_EXTRA_CA_CERTS', saved.extra]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('trusts node\'s roots and the held file\'s certificates, as node would have with the variable set', async () => {
    const hook = await httpsReceiver();
    try {
      delete process.env['NODE_EXTRA_CA_CERTS'];
      process.env['NAIJA_SUP_EXTRA_CA_CERTS'] = fixture('tls/cert.pem');
      await expect(postJson(hook.url, '{"a":1}', new AbortController().signal)).resolves.toBe(200);
      await expect(postJson(hook.url, '{"a":2}', new AbortController().signal)).resolves.toBe(200);
      expect(hook.bodies).toEqual(['{"a":1}', '{"a":2}']);
      // Node's own roots stay trusted beside the file's certificates.
      const pem = readFileSync(fixture('tls/cert.pem'), 'utf8');
      expect(certificatesWith(pem)).toEqual([...rootCertificates, pem]);
      // One context per file, made once: each makes node parse every certificate again.
      const first = await webhookTls();
      expect(first?.secureContext).toBeDefined();
      expect((await webhookTls())?.secureContext).toBe(first?.secureContext);
    } finally {
      await hook.close();
    }
  });

  it('without the held file (any other process, or one that cannot be read yet) node\'s default store decides: the receiver is not trusted', async () => {
    const hook = await httpsReceiver();
    try {
      delete process.env['NODE_EXTRA_CA_CERTS'];
      delete process.env['NAIJA_SUP_EXTRA_CA_CERTS'];
      await expect(postJson(hook.url, '{}', new AbortController().signal)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      // A file that cannot be read (yet): node's default store, and the file is read again next time.
      const dir = mkdtempSync(join(tmpdir(), 'naija-sup-held-ca-'));
      try {
        const later = join(dir, 'ca.pem');
        process.env['NAIJA_SUP_EXTRA_CA_CERTS'] = later;
        await expect(webhookTls()).resolves.toBeUndefined();
        await expect(postJson(hook.url, '{}', new AbortController().signal)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
        expect(hook.bodies).toEqual([]);
        copyFileSync(fixture('tls/cert.pem'), later);
        await expect(postJson(hook.url, '{"b":1}', new AbortController().signal)).resolves.toBe(200);
        expect(hook.bodies).toEqual(['{"b":1}']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // A process that started with NODE_EXTRA_CA_CERTS has it in its store already.
      process.env['NAIJA_SUP_EXTRA_CA_CERTS'] = fixture('tls/cert.pem');
      process.env['NODE_EXTRA_CA_CERTS'] = fixture('tls/cert.pem');
      await expect(webhookTls()).resolves.toBeUndefined();
    } finally {
      await hook.close();
    }
  });
});
