/**
 * Issue 13, zero downtime through the supervisor (1/2): `naija-sup start` (in-process, the real CLI
 * entry) reloaded 10 times back to back under each client kind (keep-alive, new-connection, mixed
 * with ~1.1 s requests in flight at every switch), 0 failed requests, for
 * - `mode: proxy` (proxy.protocol http, the default) in front of the example API (serve()) and of a
 *   Node server whose shutdown is the naive `server.close(() => process.exit(0))`;
 * - `mode: handoff` in front of the example API (serve() drains right).
 * Servers with no SIGTERM handler and uvicorn: zero-downtime-matrix-2.test.ts. The instrument is
 * test/reload/supervised.ts; the figures go to docs/http-proxy.md.
 */
import { matrixSuite } from './zero-downtime-cells.js';

matrixSuite('zero-downtime matrix (1/2)', [
  ['proxy', 'example'],
  ['proxy', 'naive'],
  ['handoff', 'example'],
]);
