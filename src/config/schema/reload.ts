/**
 * How the public port reaches the server (`mode`): which of "direct", "handoff" and "proxy" a
 * reload can do without a gap.
 */
import { enumLeaf } from './builders.js';

export const modeLeaf = enumLeaf(
  'How the public port reaches the server. "direct": the server binds `port` itself (a restart leaves a gap). "handoff": naija-sup binds `port` once and passes the listening socket to each server as fd 3 with LISTEN_FDS=1 (Node `listen({fd: 3})`, `uvicorn --fd 3`); zero-downtime reload, no extra hop. "proxy": naija-sup listens on `port` and forwards connections to the server on a private port; zero-downtime reload with any server, at the cost of a hop.',
  ['direct', 'handoff', 'proxy'] as const,
  'direct',
);
