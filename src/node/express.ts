/**
 * `expressServerOptions(app)`: `http.createServer` options under which an Express app (4 or 5) no
 * longer changes the prototype of every request and response.
 *
 * Express's `app.handle` (Express 5; the `init` middleware in Express 4) calls
 * `Object.setPrototypeOf(req, app.request)` and `Object.setPrototypeOf(res, app.response)` on every
 * request. On Node 20's V8, objects changed so survive the young-generation GC: at 3,200 req/s
 * on the example API, `node --trace-gc-nvp` shows 99.9% of the survivors promoted, 3.5–4 MB per
 * scavenge, scavenges of 3–7 ms every ~100 ms and a mark-compact every ~0.7 s. That is Express's
 * own p99 of 8–12 ms at a p50 of 0.2 ms, and a pause like that piles requests up in front of
 * anything between the client and the app (issue 13's proxy, docs/http-proxy.md). The same server
 * with a plain node:http handler promotes nothing.
 *
 * V8 skips `setPrototypeOf` when the object already has that prototype, so the fix is to have
 * node:http build each request and response with Express's prototypes from the start: with these
 * options the example API promotes ~0 bytes per scavenge (0.5 ms) and its p99 at the same rate
 * is 0.66–1.06 ms. The idea is the one in expressjs/express#5998; Express itself still sets the
 * prototypes (so a sub-app mounted with `app.use` changes them, as before, for its own requests).
 *
 * What changes outside Express: every request (also those of 'upgrade', 'connect' and
 * 'checkContinue' listeners, which Express never sees) carries Express's prototype from the start,
 * so code that runs before Express cannot assign the names Express defines as getters (`ip`,
 * `query`, `path`, `host`, `protocol`…): that throws in strict code. Set them in a middleware, or
 * with Object.defineProperty.
 *
 * ```js
 * const server = http.createServer(expressServerOptions(app), app);
 * ```
 *
 * `app.listen()` builds its own server, without these options: build the server as above instead.
 *
 * Node built-ins only: this file runs inside the user's server process (`naija-sup/node`).
 */
import { IncomingMessage, ServerResponse, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';

/** What an Express application exposes: the prototypes it gives every request and response. */
export interface ExpressPrototypes {
  request: object;
  response: object;
}

/**
 * `IncomingMessage` and `ServerResponse` options for `http.createServer` (or `https.createServer`)
 * whose objects have exactly `app.request` and `app.response` as their prototypes. Throws a
 * TypeError when `app` has no such objects (not an Express application).
 */
export function expressServerOptions(app: ExpressPrototypes): Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  return optionsFor(app, IncomingMessage, ServerResponse);
}

/** `expressServerOptions` over given base constructors (node:http's; others in tests). */
export function optionsFor(
  app: ExpressPrototypes,
  Request: typeof IncomingMessage,
  Response: typeof ServerResponse,
): Pick<ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  const { request, response } = app ?? {};
  if (!isPrototypeOf(request, Request) || !isPrototypeOf(response, Response)) {
    throw new TypeError('expressServerOptions(app): app.request and app.response must inherit from http.IncomingMessage and http.ServerResponse (pass an Express application)');
  }
  // node:http calls `new IncomingMessage(socket)`: `this` already has `request` as its prototype, and
  // node's IncomingMessage, a plain constructor function in Node 20, fills it in. Reflect.construct
  // with a new.target would also cope with a class, but measured on the example API it made requests
  // far slower (p50 0.19 → 16–40 ms) and the promotions stayed. The functions carry node's names, so
  // stack traces read as they do without these options (`IncomingMessage.emit`).
  const named = {
    IncomingMessage: function (this: IncomingMessage, socket: Socket): void {
      (Request as unknown as (this: IncomingMessage, socket: Socket) => void).call(this, socket);
    },
    ServerResponse: function (this: ServerResponse, req: IncomingMessage, options?: unknown): void {
      (Response as unknown as (this: ServerResponse, req: IncomingMessage, options?: unknown) => void).call(this, req, options);
    },
  };
  named.IncomingMessage.prototype = request;
  named.ServerResponse.prototype = response;
  const options = {
    IncomingMessage: named.IncomingMessage as unknown as typeof IncomingMessage,
    ServerResponse: named.ServerResponse as unknown as typeof ServerResponse,
  };
  // Built once here: should a later Node make these constructors classes (which cannot be called
  // with an existing `this`) or check new.target, no options are given, and Express works as it
  // does without them.
  return constructs(options, request, response) ? options : {};
}

function constructs(options: { IncomingMessage: typeof IncomingMessage; ServerResponse: typeof ServerResponse }, request: object, response: object): boolean {
  try {
    const req = new options.IncomingMessage(undefined as unknown as Socket);
    const res = new options.ServerResponse(req);
    return Object.getPrototypeOf(req) === request && Object.getPrototypeOf(res) === response && typeof req.headers === 'object' && typeof res.setHeader === 'function' && !res.headersSent;
  } catch {
    return false;
  }
}

function isPrototypeOf(value: unknown, base: { prototype: object }): value is object {
  return typeof value === 'object' && value !== null && Object.prototype.isPrototypeOf.call(base.prototype, value);
}
