/**
 * How the public port reaches the server (`mode`): which of "direct", "handoff" and "proxy" a
 * reload can do without a gap; how many instances serve it (`instances`); and how the proxy of
 * proxy mode works (`proxy`).
 */
import { booleanLeaf, decodeNumber, describeValue, durationLeaf, enumLeaf, fail, leaf, nonZeroDuration, ok, section, value } from './builders.js';

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
  queueTimeout: nonZeroDuration(durationLeaf('How long a request waits for an instance to be ready (a restart after a crash) before it is answered 503 (protocol "http").', 10_000)),
  responseTimeout: durationLeaf('How long an instance may take to start its answer to a request it received in full (or to a WebSocket handshake) before the client gets 504 (protocol "http"; never sent again, the instance may still be working on it). Once an answer has started it may go quiet for longer (SSE, an open WebSocket). Like nginx\'s proxy_read_timeout, 60 s there too. 0 turns it off (long polling that may wait longer than any bound).', 60_000),
  forwardedHeaders: booleanLeaf('Add X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host to forwarded requests (protocol "http").', true),
});

/**
 * `instances`: how many processes serve the app. More than one needs a shared listener (handoff:
 * the kernel spreads connections) or the proxy (it balances requests); in direct mode each would
 * bind the same port itself, so the check sits here (mode resolves before instances, schema order).
 */
export const instancesLeaf = leaf<number | 'max', number | 'max'>({
  description: 'How many instances of the server run, each supervised on its own (restarts, probes, standby) and told its number in NAIJA_SUP_INSTANCE (0…N−1). An integer ≥ 1, or "max": the CPUs the supervisor may use (the cgroup CPU quota where there is one, else the available parallelism). More than 1 needs `mode` "handoff" (every instance accepts on the shared socket) or "proxy" (the proxy sends each request to the instance with the fewest in flight); a reload replaces them one at a time (`naija-sup reload --parallel K`: K at a time).',
  typeText: 'integer ≥ 1 | "max"',
  jsonSchema: { oneOf: [{ type: 'integer', minimum: 1 }, { const: 'max' }] },
  default: value(1),
  fromEnv: (raw) => (raw.trim() === 'max' ? ok('max') : decodeNumber(raw)),
  parse: (raw, ctx) => {
    if (raw !== 'max' && !(typeof raw === 'number' && Number.isInteger(raw) && raw >= 1)) return fail('an integer ≥ 1 or "max"', raw);
    if (raw !== 1 && ctx.resolved('mode') === 'direct') {
      return {
        ok: false,
        problems: [{ at: '', message: `${describeValue(raw)} instances need mode "handoff" or "proxy" (mode is "direct", where each instance would bind the port itself); set mode to "handoff" or "proxy", or instances to 1` }],
      };
    }
    return ok(raw);
  },
});
