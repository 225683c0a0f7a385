/**
 * How the public port reaches an instance — `direct`, `handoff` or `proxy` (issue 8) — behind one
 * small interface, so that the app (src/app/) runs instances and reloads them without knowing
 * which mode it is in (issue 21). Each mode is one module:
 *
 * - src/reload/direct-mode.ts: the instance binds the port itself; a reload is a restart.
 * - src/reload/handoff-mode.ts: naija-sup binds the port once and passes it to every instance as
 *   fd 3 (LISTEN_FDS=1); blue/green share the socket.
 * - src/reload/proxy-mode.ts: naija-sup listens on the port and forwards to the instances, each on a
 *   private port of its own (several: the least busy one gets each request).
 *
 * The lifecycle: `openMode(config)` (open; src/reload/open-mode.ts) → for each instance
 * `instanceConfig()` and `wiring()` (wire) → `switchTo()` once it is ready (switch) → `retire()`
 * before an old instance gets its stop signal (retire) → `close()` when the app ends (close).
 */
import type { ReloadMode, ResolvedConfig } from '../config/types.js';
import type { HttpProxyStats } from './http-proxy.js';

/** Per-instance wiring the mode gives the process layer. */
export interface InstanceWiring {
  /** Open fds passed as 3, 4, … (handoff). */
  extraFds: number[];
  /** Added to the instance's environment (LISTEN_FDS). */
  extraEnv: Record<string, string>;
  /** Readiness must come from this instance, not from another one on the same socket (handoff). */
  verifyAnsweredBy: boolean;
  /** The public port, which the instance must not bind itself (proxy). */
  publicPort?: number | undefined;
}

export interface Mode {
  readonly name: ReloadMode;
  /** The public address naija-sup holds ("127.0.0.1:8000"), or null when the instance binds it (direct). */
  readonly address: string | null;
  /** Whether a reload starts the new instance beside the old one (blue/green) rather than restarting it. */
  readonly zeroDowntime: boolean;
  /** Whether each instance listens on a private port naija-sup chose (so "set port to N" is no fix). */
  readonly privatePorts: boolean;
  /** The config a new instance runs with (proxy: a private port on loopback). */
  instanceConfig(config: ResolvedConfig): Promise<ResolvedConfig>;
  wiring(): InstanceWiring;
  /**
   * Sends new traffic to instance `index`'s process running with `config` (proxy); null: that
   * instance takes none now. With several instances each has its own slot and the proxy balances
   * over them (issue 20). A no-op where the kernel decides.
   */
  switchTo(index: number, config: ResolvedConfig | null): void;
  /**
   * Resolves once the old instance `config` may get its stop signal without failing traffic already
   * sent its way. Bounded by the implementation.
   */
  retire(config: ResolvedConfig): Promise<void>;
  /** An instance's own URL as clients reach it (proxy: the public address). */
  publicUrl(instanceUrl: string): string;
  /**
   * A config to reload with, adjusted to what the mode can do: a listener keeps the address it bound
   * at start. Returns the config to use and, when it had to differ, why.
   */
  adoptReload(current: ResolvedConfig, next: ResolvedConfig): { config: ResolvedConfig; warning?: { message: string; fix: string } };
  /** The HTTP proxy's counts per instance (proxy mode, protocol "http"); absent or null otherwise. */
  stats?(): HttpProxyStats | null;
  close(): Promise<void>;
}

/** "127.0.0.1:8000", "[::1]:8000". */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A listener bound at start keeps its address: a reloaded config asking for another host or port
 * gets the old ones back, with a warning (preflight may also have moved the port with
 * portFallback, which a re-read file does not know).
 */
export function keepAddress(mode: Mode, current: ResolvedConfig, next: ResolvedConfig): ReturnType<Mode['adoptReload']> {
  if (next.port === current.port && next.host === current.host) return { config: next };
  return {
    config: { ...next, port: current.port, host: current.host },
    warning: {
      message: `${mode.name} mode: the listener stays on ${mode.address ?? hostPort(current.host, current.port)}; the reloaded configuration asks for ${next.host}:${next.port}`,
      fix: 'stop and start the supervisor to move the public port',
    },
  };
}
