/**
 * Helpers for the reload tests: start the fd-aware fixtures (test/fixtures/reload/) with or without
 * an inherited socket, one-shot HTTP requests, and a tally of which pid answered under load.
 * Processes go through spawnInstance + trackChild, so assertAllGone/killAllTracked cover them.
 */

import { request } from 'node:http';
import type { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { handoffEnv } from '../../src/reload/handoff.js';
import { spawnInstance } from '../../src/process/spawn.js';
import type { ExitInfo, RunningChild } from '../../src/process/spawn.js';
import { terminateGroup } from '../../src/process/terminate.js';
import type { GroupTarget, TerminateResult } from '../../src/process/terminate.js';
import { childEnv, trackChild, waitForLine } from '../helpers/processes.js';

export const RELOAD_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/reload/', import.meta.url));

export type ServerKind = 'node' | 'python';

export interface FdServer {
  kind: ServerKind;
  child: RunningChild;
  pid: number;
  /** The port it listens on (the shared one when it inherited fd 3). */
  port: number;
  /** `3` when it listens on the inherited socket, `none` when it bound PORT itself. */
  fd: string;
  lines: string[];
  /** SIGTERM to the group (SIGKILL after `timeout`), then the 'exit' event. */
  stop(timeout?: number): Promise<{ result: TerminateResult; exit: ExitInfo }>;
}

export interface StartFdServerOptions {
  /** Pass this fd as the child's fd 3 with LISTEN_FDS=1. */
  fd?: number;
  env?: Record<string, string | undefined>;
  /** ms to wait for READY; default 10 s. */
  timeout?: number;
}

/** Starts test/fixtures/reload/fd-server.{mjs,py} and waits for its READY line. */
export async function startFdServer(kind: ServerKind, options: StartFdServerOptions = {}): Promise<FdServer> {
  const script = kind === 'node' ? 'fd-server.mjs' : 'fd-server.py';
  const command = kind === 'node' ? [process.execPath, script] : ['/usr/bin/python3', script];
  const env = childEnv({ ...(options.fd === undefined ? {} : handoffEnv()), ...options.env });
  const handle = spawnInstance({
    command,
    cwd: RELOAD_FIXTURES_DIR,
    env,
    extraFds: options.fd === undefined ? [] : [options.fd],
  });
  if (handle.pid === null) throw new Error(`spawning ${script} failed`);
  trackChild(handle);
  const child = handle as RunningChild;
  const lines: string[] = [];
  child.on('line', (stream, line) => lines.push(`${stream}: ${line}`));
  let ready: RegExpMatchArray;
  try {
    ready = await waitForLine(child, /READY port=(\d+) pid=(\d+) fd=(\S+)/, options.timeout ?? 10_000);
  } catch (error) {
    throw new Error(`${script} did not become ready: ${(error as Error).message}\n${lines.join('\n')}`, { cause: error });
  }
  const target = child.groupTarget() as GroupTarget;
  return {
    kind,
    child,
    pid: child.pid,
    port: Number(ready[1]),
    fd: ready[3] ?? '',
    lines,
    async stop(timeout = 10_000) {
      const exitPromise = child.waitForExit();
      const result = await terminateGroup(target, { timeout });
      const exit = await exitPromise;
      return { result, exit };
    },
  };
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One GET over a fresh connection (or `agent`), with a deadline. Rejects on socket errors. */
export function httpGet(port: number, path: string, options: { timeout?: number; agent?: Agent | false; host?: string } = {}): Promise<HttpAnswer> {
  const timeout = options.timeout ?? 10_000;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request({ host: options.host ?? '127.0.0.1', port, path, agent: options.agent ?? false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`GET ${path} timed out after ${timeout} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** Counts answers by the pid in their body (GET /pid answers with the bare pid). */
export class PidTally {
  readonly counts = new Map<number, number>();

  record = (response: { status: number; body: string }): void => {
    const pid = Number(response.body.trim());
    if (response.status === 200 && Number.isInteger(pid)) this.counts.set(pid, (this.counts.get(pid) ?? 0) + 1);
  };

  count(pid: number): number {
    return this.counts.get(pid) ?? 0;
  }
}
