/**
 * What the resident supervisor runs with to stay small and flat for days (issues 14 and 19).
 * Measured with bench/soak.mjs (2,000 crash/restart cycles) and idle RSS beside a bare `node`;
 * the figures are in docs/benchmarks.md ("Soak"). Its live V8 heap stays ~8–10 MB and heap
 * snapshots taken after 100 and 1,000 restarts hold the same objects: the growth was never a
 * leak, it was memory the process kept after using it once:
 *
 * - glibc malloc gives every thread that allocates an arena of its own and rarely returns their
 *   pages. V8's background threads (concurrent marking, compilation) and libuv's threadpool all
 *   allocate, so a restart loop spread native memory over up to 8 × cores arenas, each keeping its
 *   high-water mark: +9 MiB of anonymous memory outside the V8 heap over 500 restarts.
 *   MALLOC_ARENA_MAX=2 caps the arenas (a process that is mostly idle never contends for malloc).
 *   What was left came in bursts of buffers that are garbage until the next full GC (`external`
 *   up to 7.5 MB at once), after which the arena keeps the pages: glibc raises its mmap
 *   threshold as it sees large blocks freed, so later ones land in the arena (Node allocates
 *   64 KiB blocks e.g. to read a file of unknown size, as /proc files are). A fixed
 *   MALLOC_MMAP_THRESHOLD_ of 64 KiB (and a fixed trim threshold) gives each its own mapping,
 *   returned to the kernel on free: the memory outside the V8 heap stayed at 3.2–3.8 MiB from
 *   100 to 2,000 restarts.
 * - V8 grows the young generation towards 16 MB per semi-space under the restart churn and keeps
 *   it (−22 MiB with 1 MB semi-spaces).
 *   In proxy mode 4 MB (issue 13's p99 target): the HTTP proxy allocates ~16 KB of young objects
 *   per request it relays, so 1 MB semi-spaces meant a scavenge every ~40 requests — 160 in 7,000
 *   requests at 1,400 req/s (300 µs handler, bench/http-proxy.mjs's setup), 66–157 ms of pauses in
 *   5 s: 1.3–3% of the time, as much as the p99 looks at. With 4 MB: 40 scavenges, 16–21 ms
 *   (0.3–0.4%). Idle RSS is the same (46.9 MB either way: the semi-spaces grow only under
 *   allocation); after load 61 instead of 54.5 MB (+6.5 MiB), kept once grown. 16 MB changed
 *   nothing more in the first seconds (V8 grows them step by step) but may keep up to 4× the
 *   young generation for good; the proxy's scavenges are already below 1% of its time at 4 MB.
 *   (The foreground `start` keeps its initial 1 MB: boundYoungGeneration below.)
 * - Each V8 platform worker is a thread with its own stack and arena; one is enough for the
 *   background GC of a heap this size (--v8-pool-size=1: 3 threads fewer).
 * - TurboFan (the optimizing compiler) keeps compiling under a restart loop, and its code and
 *   zone memory stay: --no-opt took 4–5 MiB off the idle RSS (fewer pages of the node binary and
 *   less heap) and 4–12 MiB off the soak's plateau, for the same CPU per restart (34.7 vs
 *   34.9 ms, interleaved runs): the supervisor's work is I/O and short handlers, which the
 *   interpreter and Sparkplug run well. Not in proxy mode, where every request runs through
 *   JavaScript in this process (src/reload/http-proxy.ts) and its speed is the point.
 *   Not --jitless or --lite-mode (6 MiB less idle): they disable WebAssembly, so anything that
 *   reaches undici (fetch) would throw, and they cost about 60% more CPU per restart.
 * - Sparkplug (the baseline compiler) likewise keeps the machine code it makes for every function
 *   that runs often enough: --no-sparkplug took 0.3 MiB off the idle RSS (43.85 → 43.55, 4
 *   interleaved runs of bench/soak.mjs --idle 10) and 0.5–0.9 MiB off a 300-restart soak, for the
 *   same CPU per restart (15.3 and 14.4 ms against 15.1 and 15.0) and the same kill → the new
 *   server's exec. Not in proxy mode either.
 *
 * The background supervisor of `start -d` is spawned by us, so it gets all of them (flags and
 * environment, src/cli/detach.ts), and so does the one a deployment export starts (its unit's or
 * image's command line, src/export/common.ts). The foreground `start` runs in the node the user started:
 * re-executing it with flags would cost a second Node start-up (`node -e 0`: 45–440 ms on the
 * development machine, by its load; issue 19 is cutting start latency) and a second process between the user's signals
 * and the supervisor, so it gets only what can still be changed at run time:
 * {@link boundYoungGeneration}.
 */

// The flags and environment themselves live in the core, where the deployment exports
// (src/export/common.ts) read them too: one source for every way the supervisor is started.
export { ADDED_ENV, DETACHED_ENV, START_OPTIONS_ENV, instanceEnv, supervisorEnv, supervisorNodeFlags } from '../process/resident-flags.js';

/**
 * For a supervisor started without our flags (the foreground `start`): stops V8 from growing the
 * young generation beyond the size it has now. --max-semi-space-size is read only when the heap is
 * set up, so setting it now does nothing, but the growth factor is read at every growth
 * decision: at 1, the semi-spaces stay at their initial 1 MB, which is what --max-semi-space-size=1
 * gives (measured: new space 2 MB instead of 32 MB under allocation churn). Left alone when the
 * user chose a semi-space size (as the background supervisor of `start -d` has: node:v8 is then
 * not even loaded, so the resident does not keep it).
 */
export async function boundYoungGeneration(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const chosen = [...execArgv, env['NODE_OPTIONS'] ?? ''].some((a) => /--(max|min)-semi-space-size|--semi-space-growth-factor/.test(a));
  // process.getBuiltinModule, not import(): from the CommonJS start bundle an import() of a builtin
  // starts Node's ESM loader, 1.5 ms more (src/health/http.ts says the same).
  if (!chosen) process.getBuiltinModule('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
}
