/**
 * Zero-downtime reload building blocks (issue 8): the handoff listener (one socket passed to every
 * instance as fd 3), the pipe proxy (public port → the instance's private port), "which instance
 * answered?" for handoff mode, and a bounded loopback load generator for tests and benchmarks.
 * Re-exports only; no side effects.
 */

export { checkHandoffSupport, createHandoffListener, HANDOFF_FD, handoffEnv } from './handoff.js';
export type { HandoffListener, HandoffListenerOptions } from './handoff.js';

export { hostPort } from './mode.js';
export { openMode } from './open-mode.js';
export type { InstanceWiring, Mode } from './mode.js';

export { queuedConnections, waitForAcceptQueueEmpty } from './accept-queue.js';

export { createProxy } from './proxy.js';
export { pickPrivatePort } from './private-port.js';
export type { ProxyEvent, ProxyOptions, ProxyStats, ReloadProxy } from './proxy.js';

export { findAcceptedInode, findSocketHolder, probeHttpAnsweredBy } from './answered-by.js';
export type { AnsweredByOptions, AnsweredByResult } from './answered-by.js';

export { checkLoopback, LOAD_LIMITS, runLoad, summarize } from './load.js';
export type { LatencySummary, LoadOptions, LoadResult } from './load.js';
