/**
 * A whole resolved config for the runner's unit tests (fake timers, fake children): short timings
 * so lifecycles run in simulated milliseconds. One builder, so a new config key is added once.
 */
import type { ResolvedConfig } from '../../src/config/types.js';

export function runnerConfig(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return {
    name: 'api', command: ['node', 'server.js'], cwd: '/tmp', env: {}, redact: [], port: 8000, host: '127.0.0.1', pidFile: null, portFallback: false,
    health: { type: 'http', path: '/health', timeout: 1000, interval: 100, startupTimeout: 5000, log: null, liveness: null, readiness: null },
    restart: { policy: 'on-failure', initialDelay: 100, maxDelay: 1000, factor: 2, startRetries: 2, maxRestarts: 3, window: 60_000, minUptime: 1000, standby: false },
    shutdown: { signal: 'SIGTERM', timeout: 2000 },
    cleanup: { killExisting: false, match: [] },
    bcrypt: { fallback: false },
    dependsOn: [],
    dependencies: { timeout: 10_000, retries: 3 },
    status: { port: null, host: '127.0.0.1', maxConnections: 64, token: null },
    alerts: { crashRate: null, webhook: [], notReadyFor: 120_000 },
    logFormat: null,
    logs: { maxSize: 10 * 1024 * 1024, maxFiles: 5 },
    mode: 'direct',
    instances: 1,
    proxy: { protocol: 'http', queueTimeout: 10_000, responseTimeout: 60_000, forwardedHeaders: true },
    ...over,
  };
}
