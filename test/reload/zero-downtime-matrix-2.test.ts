/**
 * Issue 13, zero downtime through the supervisor (2/2): `mode: proxy` (proxy.protocol http) in front
 * of a Node server with no SIGTERM handler at all (it dies at once: requests in flight on it are
 * reset, and the proxy sends those GETs again to the new instance) and of Debian's uvicorn
 * (`/usr/bin/python3 -m uvicorn`, which closes idle keep-alive connections at once on shutdown),
 * 10 reloads under each client kind, 0 failed requests. See zero-downtime-matrix.test.ts.
 */
import { matrixSuite } from './zero-downtime-cells.js';

matrixSuite('zero-downtime matrix (2/2)', [
  ['proxy', 'no-handler'],
  ['proxy', 'uvicorn'],
]);
