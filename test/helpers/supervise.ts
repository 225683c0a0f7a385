/**
 * Runs `naija-sup start …` in-process through the CLI entry (`run(argv, io)`), with captured output
 * and a fake signal source, so integration tests drive the real supervisor against real child
 * processes without spawning naija-sup itself. Every pid the instance prints (READY … pid=N
 * worker=M) is tracked for the end-of-test "nothing left" assertion.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
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
  runDir: string;
  tmp: string;
  cleanup(): void;
}

export async function freePort(): Promise<number> {
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
  const done = run(['start', ...(typeof argv === 'function' ? argv(tmp) : argv)], io);
  return {
    done,
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
 * remove its temp dir.
 */
export async function finishSupervisor(sup: InProcessSupervisor | null): Promise<void> {
  if (!sup) return;
  try {
    await assertAllGone([...trackedPids.keys()], 10_000);
  } finally {
    killAllTracked();
    sup.signal('SIGTERM');
    sup.signal('SIGTERM');
    await Promise.race([sup.done.catch(() => 0), new Promise((r) => setTimeout(r, 5000))]);
    sup.cleanup();
  }
}
