/**
 * The HTTP reload proxy with several instances taking requests (issue 20) when every one of them
 * refuses connections (all crashed, or all closed their listening socket, before the supervisor
 * noticed): a refused request is sent to another instance once, then waits for the next target
 * like a refusal by the only instance — it must not bounce between the refusing instances. It used
 * to: one GET was sent 18,705 times in 8 s (an upstream-error and a retry event each), two seconds of
 * the supervisor's CPU, until its client gave up. Real closed ports on 127.0.0.1.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpProxy, type HttpProxyEvent, type HttpReloadProxy } from '../../src/reload/http-proxy.js';
import { freePort } from '../helpers/supervise.js';

const proxies: HttpReloadProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close({ timeout: 1000 })));
});

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP proxy, every instance refusing', () => {
  it('sends a refused GET to the other instance once, then it waits and gets the 503 of the queue timeout', async () => {
    const events: HttpProxyEvent[] = [];
    const proxy = await createHttpProxy({ host: '127.0.0.1', port: 0, queueTimeoutMs: 300, onEvent: (e) => events.push(e) });
    proxies.push(proxy);
    const [a, b] = [await freePort(), await freePort()];
    proxy.setTargetAt(0, { port: a, id: 'a' });
    proxy.setTargetAt(1, { port: b, id: 'b' });

    const answer = await get(proxy.port);

    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'no_instance' });
    const failures = events.filter((e) => e.type === 'upstream-error');
    expect(failures.map((e) => e.type === 'upstream-error' && e.code)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
    // Both instances were tried, each once.
    expect(new Set(failures.map((e) => e.type === 'upstream-error' && e.target))).toEqual(new Set(['a', 'b']));
    expect(events.filter((e) => e.type === 'queued')).toHaveLength(1);
  });
});
