/**
 * How the public port reaches the server (`mode`): which of "direct", "handoff" and "proxy" a
 * reload can do without a gap; and how the proxy of proxy mode works (`proxy`).
 */
import { booleanLeaf, durationLeaf, enumLeaf, section } from './builders.js';

export const modeLeaf = enumLeaf(
  'How the public port reaches the server. "direct": the server binds `port` itself (a restart leaves a gap). "handoff": naija-sup binds `port` once and passes the listening socket to each server as fd 3 with LISTEN_FDS=1 (Node `listen({fd: 3})`, `uvicorn --fd 3`); zero-downtime reload, no extra hop. "proxy": naija-sup listens on `port` and forwards connections to the server on a private port; zero-downtime reload with any server, at the cost of a hop.',
  ['direct', 'handoff', 'proxy'] as const,
  'direct',
);

export const proxySection = section('The proxy of `mode` "proxy" (docs/http-proxy.md).', {
  protocol: enumLeaf(
    'What the proxy speaks. "http": HTTP/1.1 — client connections end at naija-sup, requests (not connections) move to a new instance at a reload, keep-alive clients stay connected, an idempotent request that failed before any response byte is retried once, and requests wait while no instance is ready. "tcp": a byte pipe per connection, for servers that do not speak HTTP; it can neither retry nor move a keep-alive connection.',
    ['http', 'tcp'] as const,
    'http',
  ),
  queueTimeout: durationLeaf('How long a request waits for an instance to be ready (a restart after a crash) before it is answered 503 (protocol "http").', 10_000),
  forwardedHeaders: booleanLeaf('Add X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host to forwarded requests (protocol "http").', true),
});
