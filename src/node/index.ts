/**
 * `naija-sup/node`: a dependency-free helper for Node HTTP servers run under naija-sup (or systemd
 * socket activation). `serve(server)` listens on the handed-over socket (fd 3, `LISTEN_FDS`) or on
 * PORT/HOST, and on SIGTERM drains without resetting any connection it accepted — what
 * `mode: handoff` needs for a reload with 0 failed requests (docs/handoff.md).
 *
 * ```js
 * import http from 'node:http';
 * import { serve } from 'naija-sup/node';
 * const { description } = await serve(http.createServer(app));   // Express, Koa, Hono's node server…
 * console.log(description);
 * ```
 *
 * For Express, `http.createServer(expressServerOptions(app), app)` spares V8 Express's per-request
 * prototype change, the cause of Express's own multi-millisecond GC pauses (see express.ts).
 */
export { serve, type ServeOptions, type Serving } from './serve.js';
export { drainOnSignal, stderrLogger, type Drain, type DrainOptions, type Logger } from './drain.js';
export { DEFAULT_PORT, LISTEN_FDS_START, clearListenEnv, listenOn, resolveListenTarget, type ListenTarget, type ListenTargetOptions } from './listen.js';
export { expressServerOptions, type ExpressPrototypes } from './express.js';
