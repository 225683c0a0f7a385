/**
 * runLoad's accounting when answers go wrong in the middle (src/reload/load.ts): a body cut off
 * after the headers, a request that errors after it already timed out, a path given without its
 * slash, and the bodies handed to onResponse. In-process HTTP servers on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runLoad } from '../../src/reload/load.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('runLoad, edges', () => {
  it('sends a path given without its leading slash to /path, and hands each body to onResponse', async () => {
    const paths: string[] = [];
    const port = await serve((req, res) => {
      paths.push(req.url ?? '');
      res.end(`pid=${process.pid}`);
    });
    const bodies: string[] = [];
    const result = await runLoad({ port, path: 'whoami', durationMs: 60_000, maxRequests: 3, concurrency: 1, onResponse: (r) => bodies.push(`${r.status} ${r.body}`) });
    expect(paths).toEqual(['/whoami', '/whoami', '/whoami']);
    expect(bodies).toEqual(Array.from({ length: 3 }, () => `200 pid=${process.pid}`));
    expect(result).toMatchObject({ ok: 3, failed: 0, total: 3, statuses: { 200: 3 } });
  });

  it('counts a response cut off in its body as a failure by its error code, not as an answer', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('only the start', () => (res.socket as Socket).destroy());
    });
    const result = await runLoad({ port, durationMs: 60_000, maxRequests: 1, concurrency: 1 });
    expect(result).toMatchObject({ ok: 0, failed: 1, total: 1, statuses: {} });
    expect(result.errors).toEqual({ ECONNRESET: 1 });
    expect(result.sampleErrors).toEqual(['response: aborted']);
    expect(result.latency).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });

  it('counts a timed-out request once, not again when its connection is then torn down', async () => {
    const port = await serve(() => undefined); // never answers
    const result = await runLoad({ port, durationMs: 60_000, maxRequests: 2, concurrency: 1, requestTimeout: 50 });
    expect(result).toMatchObject({ ok: 0, failed: 2, total: 2, errors: { ETIMEDOUT: 2 } });
    expect(result.sampleErrors).toEqual(['no answer within 50 ms', 'no answer within 50 ms']);
  });
});
