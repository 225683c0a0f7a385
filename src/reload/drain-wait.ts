/**
 * Waiting for a proxy's connections to a target to end: both proxies (the TCP pipe, proxy.ts, and
 * the HTTP proxy's targets, http-proxy-targets.ts) emit 'drained' with the target's port whenever a
 * connection or request to it ends.
 */
import type { EventEmitter } from 'node:events';

export type DrainEmitter = EventEmitter<{ drained: [port: number] }>;

/** Resolves true once `condition` holds (checked now and whenever a target drains), false after `timeoutMs`. */
export function untilDrained(drained: DrainEmitter, condition: () => boolean, timeoutMs: number): Promise<boolean> {
  if (condition()) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const check = (): void => {
      if (condition()) finish(true);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (result: boolean): void => {
      clearTimeout(timer);
      drained.off('drained', check);
      resolve(result);
    };
    drained.on('drained', check);
  });
}
