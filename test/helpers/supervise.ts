/**
 * Runs `naija-sup start …` in-process through the CLI entry (`run(argv, io)`), with captured output
 * and a fake signal source, so integration tests drive the real supervisor against real child
 * processes without spawning naija-sup itself. Every process started below this test process
 * while the supervisor runs is tracked for the end-of-test "nothing left" assertion and the
 * cleanup — found in /proc (descendants, and members of their groups), not from what the instance
 * prints, so a silent child, a shell wrapper and the wrapper's children are all counted.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { listDescendants } from '../../src/process/group.js';
import type { CliIO } from '../../src/cli/context.js';
import { assertAllGone, killAllTracked, track, trackedPids, waitFor } from './processes.js';

export interface InProcessSupervisor {
  /** Resolves with the exit status that `naija-sup start` returned. */
  done: Promise<number>;
  /** Sends a "signal" to the supervisor, as a terminal or `kill` would. */
  signal(name: NodeJS.Signals): void;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout+stderr match; returns the match. */
  waitFor(regex: RegExp, timeout?: number): Promise<RegExpMatchArray>;
  /** Instance pids seen so far (from READY lines), in order. */
  pids: number[];
  /** Takes one /proc pass now, tracking every new process below this test process (also done every 20 ms). */
  sampleProcesses(): void;
  runDir: string;
  tmp: string;
  cleanup(): void;
}

function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Ports this test process was handed lately: the kernel may hand a just-closed port out again. */
const recentPorts: number[] = [];

/**
 * A port that was free a moment ago and differs from the last 64 this process was given, so two
 * calls in a row (`--port` and `--status-port`) never name the same port.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await ephemeralPort();
    if (recentPorts.includes(port)) continue;
    recentPorts.push(port);
    if (recentPorts.length > 64) recentPorts.shift();
    return port;
  }
  throw new Error('freePort: the kernel kept handing out ports this test process was given lately');
}

export function superviseInProcess(
  argv: string[] | ((tmp: string) => string[]),
  env: Record<string, string | undefined> = {},
  setup?: (tmp: string) => void,
): InProcessSupervisor {
  const tmp = mkdtempSync(join(tmpdir(), 'naija-sup-test-'));
  setup?.(tmp);
  const runDir = join(tmp, 'run');
  let out = '';
  let err = '';
  const signals = new EventEmitter();
  const pids: number[] = [];
  const seen = new Set<number>();
  const scan = (text: string): void => {
    for (const m of text.matchAll(/\b(?:pid|worker)=(\d+)/g)) {
      const pid = Number(m[1]);
      if (!seen.has(pid)) {
        seen.add(pid);
        pids.push(pid);
        track(pid);
      }
    }
  };
  const io: CliIO = {
    stdout: (t) => { out += t; scan(t); },
    stderr: (t) => { err += t; scan(t); },
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      // The human format; JSON lines (the default off a TTY) are tested in their own suite.
      NAIJA_SUP_LOG_FORMAT: 'human',
      NAIJA_SUP_RUN_DIR: runDir,
      ...env,
    },
    cwd: tmp,
    isTTY: false,
    signals,
  };
  const watcher = watchDescendants();
  const done = run(['start', ...(typeof argv === 'function' ? argv(tmp) : argv)], io);
  void done.finally(() => watcher.stop()).catch(() => undefined);
  return {
    done,
    sampleProcesses: watcher.sample,
    signal: (name) => { signals.emit(name); },
    stdout: () => out,
    stderr: () => err,
    async waitFor(regex, timeout = 15_000) {
      return waitFor(() => regex.exec(out + err), { timeout, message: () => `no ${regex} in output:\n${out}${err}` });
    },
    pids,
    runDir,
    tmp,
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/**
 * Tracks every process that appears below this test process (the supervisor runs in-process, so
 * its instances, their wrappers and their children are all descendants of `process.pid`), sampled
 * every 20 ms until stopped. Processes that were already there (the worker's own helpers) are left
 * out. A process that is started and orphaned within one interval is missed — unless it stays in
 * the group of one seen, which survivors() and killAllTracked() also cover.
 */
function watchDescendants(): { sample(): void; stop(): void } {
  const before = new Set(listDescendants(process.pid).map((p) => `${p.pid}:${p.startTime}`));
  const sample = (): void => {
    for (const p of listDescendants(process.pid)) {
      if (!before.has(`${p.pid}:${p.startTime}`) && trackedPids.get(p.pid)?.startTime !== p.startTime) track(p.pid);
    }
  };
  const timer = setInterval(sample, 20);
  timer.unref();
  sample();
  return { sample, stop: () => { sample(); clearInterval(timer); } };
}

/** GET on 127.0.0.1 with a fresh connection; resolves (never rejects) with status 0 on failure. */
export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

/**
 * The end of every supervisor integration test: assert that nothing the test started is left
 * (the suite's own assertion), then — whatever the outcome — kill what is, stop the supervisor and
 * remove its temp dir. A supervisor still running 5 s after two SIGTERMs fails the test.
 */
export async function finishSupervisor(sup: InProcessSupervisor | null): Promise<void> {
  if (!sup) return;
  try {
    sup.sampleProcesses();
    await assertAllGone([...trackedPids.keys()], 10_000);
  } finally {
    killAllTracked();
    try {
      await stopOrFail(sup.done, () => {
        sup.signal('SIGTERM');
        sup.signal('SIGTERM');
      });
    } finally {
      sup.cleanup();
    }
  }
}

/**
 * Asks a supervisor to stop (`stop`), and throws if `done` has not settled `timeoutMs` later. The
 * supervisors in these tests run in the test process itself, so "killing" one means killing every
 * process it started: killAllTracked() does that before the throw, and the failed test names it.
 */
export async function stopOrFail(done: Promise<unknown>, stop: () => void, timeoutMs = 5000): Promise<void> {
  stop();
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    done.then(() => true, () => true),
    new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
  ]);
  clearTimeout(timer);
  if (!stopped) {
    const killed = killAllTracked();
    throw new Error(`the supervisor did not stop within ${timeoutMs} ms of being asked to; killed what it had started (${killed.join(', ') || 'nothing left'})`);
  }
}
