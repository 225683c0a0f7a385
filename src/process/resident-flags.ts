/**
 * The node flags and glibc malloc environment of the resident supervisor, and how the server's
 * environment is cleaned of them. Why each and what it measured: src/cli/resident.ts's header.
 * Here, in the core, because two starters use them: `start -d` (src/cli/detach.ts) and the
 * deployment exports (src/export/common.ts), whose units and images run `start` for days.
 */

/** The environment variable that tells `start` it is the detached background supervisor. */
export const DETACHED_ENV = 'NAIJA_SUP_DETACHED';
/**
 * `start`'s options as `start -d` parsed them, for the background supervisor: it skips the CLI
 * framework (tens of ms before its config is even read, and memory it would hold for days).
 * Read by main.ts only together with {@link DETACHED_ENV}; the arguments stay for `ps`. Its
 * `mode` (the app's, from the flag or the config) tells the bin which of the resident bundle's
 * code caches was made under this process's node flags (bin/naija-sup.js, residentCache).
 */
export const START_OPTIONS_ENV = 'NAIJA_SUP_START_OPTIONS';
/**
 * The names of variables `start -d` (or a deployment export's unit or image) added to the
 * supervisor's environment for itself (comma-separated), removed again before the server's
 * environment is built: the server keeps the environment the user gave it.
 */
export const ADDED_ENV = 'NAIJA_SUP_ADDED_ENV';
/**
 * NODE_EXTRA_CA_CERTS, held for the server while a supervisor runs without it. Node 20
 * reads and parses that file as it starts, before any of our code, whether or not the process
 * ever makes a TLS connection: with Debian's bundle of 144 certificates (a machine that sets it
 * for a corporate proxy) `node -e 0` took 60 ms instead of 22, and the process kept 1.8 MiB more.
 * A supervisor makes no TLS connection of its own but a webhook's (src/metrics/webhook-delivery.ts),
 * and a config file that is code runs in a thread of its own (src/config/module-loaders.ts); both
 * trust the file as node would, reading it themselves ({@link heldCaFile}). So `start -d` starts
 * the resident without the variable (so does bin/naija-sup.js's launcher for `start` and the
 * quick forms), {@link withHeldCa} gives it back to a config's code and {@link instanceEnv} to
 * the server. Kept in place when NODE_OPTIONS or NODE_USE_SYSTEM_CA ask for another CA store
 * (--use-openssl-ca, --use-system-ca): that store could not be rebuilt on Node 20.
 */
export const HELD_CA_ENV = 'NAIJA_SUP_EXTRA_CA_CERTS';
const NODE_CA_ENV = 'NODE_EXTRA_CA_CERTS';

/** glibc malloc settings for the resident supervisor (see the header), each unless the user set it. */
const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(64 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(128 * 1024),
};

/**
 * Node and V8 flags for the background supervisor of an app in `mode` (see the header). The old
 * generation is bounded well above what one supervisor needs, so a leak ends in a crash that
 * `status` and the logs show rather than in the machine swapping. Each is left out when
 * NODE_OPTIONS sets it already (flags given here would win over the user's).
 */
export function supervisorNodeFlags(env: NodeJS.ProcessEnv, mode: string): string[] {
  const options = env['NODE_OPTIONS'] ?? '';
  return [
    // Proxy mode allocates ~16 KB of young objects per request relayed: 4 MB semi-spaces (see the header).
    ...(/--max-semi-space-size/.test(options) ? [] : [`--max-semi-space-size=${mode === 'proxy' ? 4 : 1}`]),
    ...(/--max-old-space-size/.test(options) ? [] : ['--max-old-space-size=256']),
    ...(/--v8-pool-size/.test(options) ? [] : ['--v8-pool-size=1']),
    // Not allowed in NODE_OPTIONS, so the user cannot have chosen otherwise there.
    ...(mode === 'proxy' ? [] : ['--no-opt', '--no-sparkplug']),
  ];
}

/**
 * The background supervisor's environment: `env`, plus the glibc malloc settings the user did not
 * set (theirs are kept), noted in {@link ADDED_ENV} so {@link instanceEnv} takes them out again,
 * and with NODE_EXTRA_CA_CERTS held for the server ({@link HELD_CA_ENV}); held already when the
 * launcher held it for `start -d`.
 */
export function supervisorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const ca = env[NODE_CA_ENV];
  const otherStore = /--use-(openssl|system)-ca/.test(env['NODE_OPTIONS'] ?? '') || env['NODE_USE_SYSTEM_CA'] === '1';
  if (ca !== undefined && !otherStore) {
    delete out[NODE_CA_ENV];
    out[HELD_CA_ENV] = ca;
  }
  const added = Object.entries(MALLOC_ENV).filter(([name]) => env[name] === undefined);
  if (added.length === 0) return out;
  return { ...out, ...Object.fromEntries(added), [ADDED_ENV]: added.map(([name]) => name).join(',') };
}

/**
 * The environment for the server, from the supervisor's: without the variables that only tell
 * the background supervisor what it is, and without what `start -d` or a deployment export added
 * for the supervisor's own sake (a server with many threads may well want glibc's defaults), and
 * with NODE_EXTRA_CA_CERTS back where the supervisor held it.
 * Used by every `start`, foreground too: an exported unit or image starts it with these set.
 * An added name is removed only while it still has our value: an export's environment is fixed
 * text that the platform can override (`docker run -e`, systemd's EnvironmentFile=, a
 * Kubernetes env entry), and a value the user gave that way is theirs, for the server too.
 */
export function instanceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = withHeldCa(env);
  for (const name of (env[ADDED_ENV] ?? '').split(',')) {
    const ours = MALLOC_ENV[name];
    if (name !== '' && (ours === undefined || env[name] === ours)) delete out[name];
  }
  delete out[ADDED_ENV];
  delete out[DETACHED_ENV];
  delete out[START_OPTIONS_ENV];
  return out;
}

/**
 * The file of NODE_EXTRA_CA_CERTS when this process runs without it, holding it for its server
 * ({@link HELD_CA_ENV}); undefined when node read it (or there is none), and for an empty value,
 * which node ignores.
 */
export function heldCaFile(env: NodeJS.ProcessEnv): string | undefined {
  const held = env[HELD_CA_ENV];
  return held === undefined || held === '' || env[NODE_CA_ENV] !== undefined ? undefined : held;
}

/**
 * `env` as the user gave it as far as NODE_EXTRA_CA_CERTS goes: with the value the background
 * supervisor held ({@link HELD_CA_ENV}) back in place, unless it was set again since. Always a
 * copy. For the server ({@link instanceEnv}) and for a config's code (src/config/module-loaders.ts).
 */
export function withHeldCa(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const held = env[HELD_CA_ENV];
  if (held === undefined) return { ...env };
  const out: NodeJS.ProcessEnv = { ...env, [NODE_CA_ENV]: env[NODE_CA_ENV] ?? held };
  delete out[HELD_CA_ENV];
  return out;
}
