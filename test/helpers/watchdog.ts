/**
 * A test file whose event loop stops turning fails, instead of holding the whole run until CI's
 * own time limit. vitest's testTimeout and hookTimeout are timers in the test's own process: a
 * synchronous loop, a child_process *Sync call that never returns, or a storm of microtasks and
 * nextTicks that never yields to the timers phase (a load generator whose connects all fail
 * synchronously, say) stops them from ever firing, and vitest waits for that file forever. That
 * is how a CI run once sat silent after its last reported file until it was killed at 90 minutes.
 *
 * Each test process (a setup file runs once per process of the forks pool) starts a worker thread
 * that watches a heartbeat the main thread bumps every second. When the heartbeat has not moved
 * for LIMIT_S, the worker prints what was running (file and test) and where the main thread is
 * stuck, straight to fd 2 (the main thread's stdio is not turning), and SIGKILLs its process:
 * vitest reports the file as failed with those lines above it, and the run goes on. The worker
 * thread runs beside a stuck main thread, so it is not stopped by what it watches.
 *
 * Where: the worker opens an inspector session on the main thread and asks the debugger to pause
 * it. V8 answers that with an interrupt, which lands even in a busy loop, and the pause carries
 * the call stack. A main thread blocked in a system call (a *Sync child process) cannot pause
 * until the call returns: after 5 s the worker says so and kills it without a stack.
 *
 * LIMIT_S is well above the longest legitimate synchronous step of the suite (test/e2e/pack's
 * `npm install`, bounded at 180 s), so it only fires on a hang.
 */
import { Worker } from 'node:worker_threads';
import { beforeEach } from 'vitest';

/** Seconds without a heartbeat; NAIJA_SUP_TEST_WATCHDOG_S lowers it for the watchdog's own test. */
const LIMIT_S = Number(process.env['NAIJA_SUP_TEST_WATCHDOG_S'] ?? '') || 240;
const CHECK_S = Math.min(5, LIMIT_S);
const NAME_BYTES = 1024;

interface Watch {
  /** [0]: heartbeats so far; [1]: bytes of the current test's name in `name`. */
  beat: Int32Array;
  name: Uint8Array;
}

// Runs in the worker thread (plain CommonJS: no transform there).
const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { Session } = require('node:inspector');
const beat = new Int32Array(workerData.beat);
const name = new Uint8Array(workerData.name);

function end(lines) {
  writeSync(2, lines.join('\\n') + '\\n[test watchdog] killing the process (pid ' + process.pid + ') so the run goes on.\\n');
  process.kill(process.pid, 'SIGKILL');
}

function stuck(seconds) {
  const running = Buffer.from(name.slice(0, Atomics.load(beat, 1))).toString('utf8') || '(no test started yet)';
  const head = '\\n[test watchdog] the event loop of this test process has not turned for ' + seconds + ' s while running: ' + running;
  const scripts = new Map();
  const session = new Session();
  session.connectToMainThread();
  session.on('Debugger.scriptParsed', ({ params }) => scripts.set(params.scriptId, params.url));
  session.on('Debugger.paused', ({ params }) => {
    const frames = params.callFrames.slice(0, 30).map((f) =>
      '    at ' + (f.functionName || '<anonymous>') + ' (' + (scripts.get(f.location.scriptId) || f.url || '?') + ':' + (f.location.lineNumber + 1) + ')');
    end([head, "[test watchdog] the main thread's stack (a synchronous call or a loop that never yields):", ...frames]);
  });
  session.post('Debugger.enable', () => session.post('Debugger.pause'));
  setTimeout(() => end([head, '[test watchdog] no stack: the main thread did not pause within 5 s (blocked in a system call, e.g. a *Sync child process)']), 5000);
}

let last = Atomics.load(beat, 0);
let still = 0;
const timer = setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) { last = now; still = 0; return; }
  still += workerData.every;
  if (still < workerData.limit) return;
  clearInterval(timer);
  stuck(still);
}, workerData.every * 1000);
`;

const key = Symbol.for('naija-sup.test-watchdog');
const holder = globalThis as unknown as Record<symbol, Watch | undefined>;

function start(): Watch {
  const beat = new Int32Array(new SharedArrayBuffer(8));
  const name = new Uint8Array(new SharedArrayBuffer(NAME_BYTES));
  const heartbeat = setInterval(() => Atomics.add(beat, 0, 1), 1000);
  heartbeat.unref();
  const worker = new Worker(WATCHER, { eval: true, workerData: { beat: beat.buffer, name: name.buffer, limit: LIMIT_S, every: CHECK_S } });
  worker.unref();
  return { beat, name };
}

const watch = (holder[key] ??= start());

beforeEach(({ task }) => {
  const bytes = Buffer.from(`${task.file.name} > ${task.name}`, 'utf8').subarray(0, NAME_BYTES);
  watch.name.set(bytes);
  Atomics.store(watch.beat, 1, bytes.length);
});
