/**
 * The example API's life as its probes report it: warming up → ready → shutting down.
 *
 * Ready needs two things: the warm-up delay (WARMUP_MS, standing in for the cache priming and
 * connection pools a real API waits for) and a passing bcrypt self-test. Shutting down makes
 * /ready answer 503 again, so a load balancer or supervisor stops sending traffic while in-flight
 * requests finish.
 *
 * @module state
 */

import { runSelfTest } from './password.js';

/**
 * @typedef {import('./password.js').PasswordHasher} PasswordHasher
 * @typedef {import('./password.js').SelfTestResult} SelfTestResult
 * @typedef {import('node:http').ServerResponse} ServerResponse
 */

/**
 * @typedef {object} WarmupReport  the `checks.warmup` part of /health
 * @property {boolean} done          the delay has passed and the self-test has finished (pass or fail)
 * @property {number} warmupMs       the configured delay
 * @property {'pending' | 'ok' | 'failed'} selfTest  the bcrypt self-test (hash + verify at cost 4)
 * @property {number | null} selfTestMs how long the self-test took
 * @property {string} [error]        why the self-test failed
 */

/**
 * @typedef {object} AppState
 * @property {number} startedAt               epoch ms when the state was created (uptime counts from here)
 * @property {() => boolean} isReady          warm, self-test passed and not shutting down
 * @property {() => boolean} isShuttingDown
 * @property {() => 'starting' | 'ready' | 'failed' | 'stopping'} phase
 * @property {() => WarmupReport} warmup
 * @property {Promise<void>} warm             settles when warm-up has finished, passed or failed
 * @property {() => number} inFlight          requests whose response has not closed yet
 * @property {(res: ServerResponse) => void} track  counts a response until it closes
 * @property {() => void} beginShutdown      not ready any more; responses from now on close their connection
 * @property {() => void} dispose            clears the warm-up timer (tests that never wait for it)
 */

/**
 * @param {object} options
 * @param {PasswordHasher} options.hasher  self-tested during warm-up
 * @param {number} options.warmupMs
 * @param {() => number} [options.now]     clock in epoch ms
 * @returns {AppState}
 */
export function createAppState({ hasher, warmupMs, now = Date.now }) {
  const startedAt = now();
  let delayDone = false;
  /** @type {SelfTestResult | null} */
  let selfTest = null;
  let shuttingDown = false;
  /** @type {Set<ServerResponse>} */
  const responses = new Set();

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const delay = new Promise((resolve) => {
    timer = setTimeout(resolve, warmupMs);
    // The warm-up alone must not keep a process alive: the listening server does that.
    timer.unref();
  }).then(() => {
    delayDone = true;
  });
  const test = runSelfTest(hasher).then((result) => {
    selfTest = result;
  });
  const warm = Promise.all([delay, test]).then(() => undefined);

  return {
    startedAt,
    isReady: () => delayDone && selfTest?.ok === true && !shuttingDown,
    isShuttingDown: () => shuttingDown,
    phase() {
      if (shuttingDown) return 'stopping';
      if (selfTest !== null && !selfTest.ok) return 'failed';
      return delayDone && selfTest !== null ? 'ready' : 'starting';
    },
    warmup() {
      /** @type {WarmupReport} */
      const report = {
        done: delayDone && selfTest !== null,
        warmupMs,
        selfTest: selfTest === null ? 'pending' : selfTest.ok ? 'ok' : 'failed',
        selfTestMs: selfTest?.durationMs ?? null,
      };
      if (selfTest?.error !== undefined) report.error = selfTest.error;
      return report;
    },
    warm,
    inFlight: () => responses.size,
    track(res) {
      responses.add(res);
      // 'close' fires after the response is sent and also when the client goes away first.
      res.once('close', () => responses.delete(res));
    },
    beginShutdown() {
      shuttingDown = true;
      // Keep-alive connections would otherwise stay open after their last response and hold the
      // server's close() until keepAliveTimeout; "Connection: close" ends each one after its response.
      for (const res of responses) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
      }
    },
    dispose() {
      clearTimeout(timer);
    },
  };
}
