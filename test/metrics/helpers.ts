/** Shared by the metrics tests: event builders and a fake /proc that carries CPU ticks and RSS. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CrashCause, ExitInfo, SupervisorEvent } from '../../src/supervisor/events.js';

export function exitInfo(overrides: Partial<ExitInfo> & { cause?: CrashCause } = {}): ExitInfo {
  return {
    code: 1,
    signal: null,
    cause: 'exit-code',
    summary: 'exited with code 1',
    fix: 'look at its log',
    at: Date.UTC(2025, 0, 1),
    uptimeMs: 1234,
    stderrTail: [],
    ...overrides,
  };
}

export function exited(exit: Partial<ExitInfo> = {}, expected = false, pid = 4242): Extract<SupervisorEvent, { type: 'exited' }> {
  return { type: 'exited', instance: 1, pid, exit: exitInfo(exit), expected };
}

export const spawned = (pid = 4242, instance = 1): SupervisorEvent => ({ type: 'spawned', instance, pid, durationMs: 3 });
export const ready = (readyInMs = 120, pid = 4242): SupervisorEvent => ({ type: 'ready', instance: 1, pid, readyInMs, url: 'http://127.0.0.1:8000/health' });
export const backoff = (attempt = 1): SupervisorEvent => ({ type: 'backoff', delayMs: 100, attempt, restartsInWindow: attempt, maxRestarts: 10 });

export interface UsageProcess {
  pid: number;
  pgid: number;
  state?: string;
  utime?: number;
  stime?: number;
  startTime?: string;
  /** kB, as /proc/PID/status writes it; undefined = no VmRSS line (a kernel thread). */
  rssKb?: number;
}

export interface UsageProc {
  root: string;
  set(p: UsageProcess): void;
  remove(pid: number): void;
  cleanup(): void;
}

/** A temporary /proc with PID/stat (fields 3–22 in the kernel's order) and PID/status. */
export function createUsageProc(): UsageProc {
  const root = mkdtempSync(join(tmpdir(), 'naija-sup-usage-proc-'));
  // Something that is not a process, as in the real /proc.
  mkdirSync(join(root, 'sys'));
  writeFileSync(join(root, 'uptime'), '1.00 1.00\n');
  return {
    root,
    set(p) {
      const dir = join(root, String(p.pid));
      mkdirSync(dir, { recursive: true });
      // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itreal starttime vsize rss
      const fields = [p.state ?? 'S', 1, p.pgid, p.pgid, 0, -1, 4194304, 100, 0, 0, 0, p.utime ?? 0, p.stime ?? 0, 7, 7, 20, 0, 1, 0, p.startTime ?? '1000', 3133440, 389];
      // A comm with spaces and parentheses: the parser must split after the last ')'.
      writeFileSync(join(dir, 'stat'), `${p.pid} (node (x) y) ${fields.join(' ')}\n`);
      const rss = p.rssKb === undefined ? '' : `VmRSS:\t${String(p.rssKb).padStart(8)} kB\n`;
      writeFileSync(join(dir, 'status'), `Name:\tnode\nState:\t${p.state ?? 'S'}\nVmPeak:\t  999999 kB\n${rss}Threads:\t1\n`);
    },
    remove(pid) {
      rmSync(join(root, String(pid)), { recursive: true, force: true });
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection to 127.0.0.1 (or `host`). */
export function httpRequest(port: number, path: string, method = 'GET', host = '127.0.0.1'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}
