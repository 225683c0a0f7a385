/**
 * naija-sup/node's expressServerOptions (src/node/express.ts) on a real Express 5 app and a real
 * server on 127.0.0.1: node:http builds each request and response with Express's prototypes, so
 * Express's own Object.setPrototypeOf finds nothing to change; Express works as before (query,
 * JSON bodies, keep-alive, errors); anything that is not an Express app is refused. The GC effect
 * itself is measured by bench/http-proxy.mjs (docs/http-proxy.md), not asserted here.
 */
import { once } from 'node:events';
import { Agent, createServer, IncomingMessage, request, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { expressServerOptions, optionsFor } from '../../src/node/express.js';

/** The little of Express 5 these tests use (the repository has no @types/express). */
interface Req extends IncomingMessage {
  query: Record<string, unknown>;
  path: string;
  body: unknown;
}
interface Res extends ServerResponse {
  status(code: number): Res;
  json(body: unknown): void;
}
interface ExpressApp {
  (req: IncomingMessage, res: ServerResponse): void;
  request: object;
  response: object;
  use(handler: unknown): void;
  get(path: string, handler: (req: Req, res: Res) => void): void;
  post(path: string, handler: (req: Req, res: Res) => void): void;
}
const express = createRequire(import.meta.url)('express') as { (): ExpressApp; json(options: { limit: string }): unknown };

const servers: Server[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Seen {
  /** Per request: did the request and the response have Express's prototypes before Express ran? */
  built: { request: boolean; response: boolean }[];
}

function buildApp(): ExpressApp {
  const app = express();
  app.use(express.json({ limit: '1kb' }));
  app.get('/echo', (req, res) => {
    res.json({ query: req.query, path: req.path, isRequest: req instanceof IncomingMessage, isResponse: res instanceof ServerResponse });
  });
  app.post('/body', (req, res) => res.status(201).json({ got: req.body }));
  return app;
}

/** Serves `app`, recording each request's prototypes as node:http built them, before Express sees them. */
async function listen(app: ExpressApp, options: ReturnType<typeof expressServerOptions> | undefined): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { built: [] };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    seen.built.push({ request: Object.getPrototypeOf(req) === app.request, response: Object.getPrototypeOf(res) === app.response });
    app(req, res);
  };
  const server = options === undefined ? createServer(handler) : createServer(options, handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, seen };
}

async function call(port: number, agent: Agent, method: string, path: string, body?: string): Promise<{ status: number; json: unknown; socket: unknown }> {
  const req = request({ host: '127.0.0.1', port, method, path, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  // Express's own error pages (404, 413) are HTML.
  const json: unknown = res.headers['content-type']?.startsWith('application/json') === true ? JSON.parse(text) : text;
  return { status: res.statusCode ?? 0, json, socket: req.socket };
}

describe('expressServerOptions', () => {
  it('has node:http build requests and responses with the app’s own prototypes', async () => {
    const app = buildApp();
    const { port, seen } = await listen(app, expressServerOptions(app));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);

    const first = await call(port, agent, 'GET', '/echo?a=1&b=two');
    expect(first).toMatchObject({ status: 200, json: { query: { a: '1', b: 'two' }, path: '/echo', isRequest: true, isResponse: true } });
    const second = await call(port, agent, 'POST', '/body', JSON.stringify({ name: 'ada' }));
    expect(second).toMatchObject({ status: 201, json: { got: { name: 'ada' } } });
    expect(second.socket).toBe(first.socket); // one keep-alive connection carried both
    const tooBig = await call(port, agent, 'POST', '/body', JSON.stringify({ pad: 'x'.repeat(2000) }));
    expect(tooBig.status).toBe(413);
    const missing = await call(port, agent, 'GET', '/nowhere');
    expect(missing.status).toBe(404);

    expect(seen.built).toEqual(Array.from({ length: 4 }, () => ({ request: true, response: true })));
  });

  it('without it, Express has to change every prototype (what the options spare)', async () => {
    const app = buildApp();
    const { port, seen } = await listen(app, undefined);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect((await call(port, agent, 'GET', '/echo?a=1')).json).toMatchObject({ query: { a: '1' } });
    expect(seen.built).toEqual([{ request: false, response: false }]);
  });

  it('gives each app its own prototypes', async () => {
    const one = buildApp();
    const two = buildApp();
    const options = expressServerOptions(two);
    const { port, seen } = await listen(two, options);
    const agent = new Agent({ keepAlive: false });
    agents.push(agent);
    await call(port, agent, 'GET', '/echo');
    expect(seen.built).toEqual([{ request: true, response: true }]);
    expect(Object.getPrototypeOf(new options.IncomingMessage!(undefined as never))).not.toBe(one.request);
  });

  it('keeps the server’s own options: highWaterMark reaches each response, HEAD still refuses a body', async () => {
    const app = buildApp();
    const seen: { hwm: number; headWrite: string }[] = [];
    app.get('/hwm', (req, res) => {
      let headWrite = 'written';
      if (req.method === 'HEAD') {
        try {
          res.write('x');
        } catch (error) {
          headWrite = (error as NodeJS.ErrnoException).code ?? 'threw';
        }
      }
      seen.push({ hwm: res.writableHighWaterMark, headWrite });
      if (res.headersSent) res.end(); // the refused write sent the head first
      else res.json({ ok: true });
    });
    const server = createServer({ ...expressServerOptions(app), highWaterMark: 12_345, rejectNonStandardBodyWrites: true }, app);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect((await call(port, agent, 'GET', '/hwm')).status).toBe(200);
    const head = request({ host: '127.0.0.1', port, method: 'HEAD', path: '/hwm', agent });
    head.end();
    const [res] = (await once(head, 'response')) as [IncomingMessage];
    res.resume();
    await once(res, 'end');
    expect(res.statusCode).toBe(200);
    expect(seen).toEqual([
      { hwm: 12_345, headWrite: 'written' },
      { hwm: 12_345, headWrite: 'ERR_HTTP_BODY_NOT_ALLOWED' },
    ]);
  });

  it('refuses what is not an Express app', () => {
    const message = /app\.request and app\.response must inherit from http\.IncomingMessage and http\.ServerResponse/;
    expect(() => expressServerOptions({} as never)).toThrow(message);
    expect(() => expressServerOptions(undefined as never)).toThrow(TypeError);
    expect(() => expressServerOptions({ request: {}, response: {} })).toThrow(message);
    expect(() => expressServerOptions({ request: Object.create(ServerResponse.prototype), response: Object.create(IncomingMessage.prototype) })).toThrow(message);
  });
});

describe('optionsFor', () => {
  it('gives no options when the constructors cannot be called on an existing object (a class), so Express works as without them', () => {
    class Request extends IncomingMessage {}
    class Response extends ServerResponse {}
    const app = { request: Object.create(Request.prototype) as object, response: Object.create(Response.prototype) as object };
    expect(optionsFor(app, Request, Response as typeof ServerResponse)).toEqual({});
  });

  it('gives node:http’s constructors their names, so stack traces read as without the options', () => {
    const options = expressServerOptions(buildApp());
    expect(options.IncomingMessage?.name).toBe('IncomingMessage');
    expect(options.ServerResponse?.name).toBe('ServerResponse');
  });
});
