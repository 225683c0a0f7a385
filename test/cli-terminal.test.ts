/**
 * `naija-sup start` on a real terminal, with the built binary (`npm run build` first). `script`
 * (util-linux) gives it a pty as its controlling terminal, the way a shell in a terminal window
 * does, and `stty` inside sets the pty's size.
 *
 * - A pty that reports 0 columns (`script` or `ssh -tt` run from something that is not a
 *   terminal): ora divided by it and looped forever, so the server was never reported ready.
 * - SIGHUP in the foreground with a controlling terminal (the terminal closed) stops gracefully;
 *   a detached supervisor (setsid, no terminal) still reloads on SIGHUP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { BIN, cliApp, endCliApps, processesIn, type CliApp } from './helpers/cli-app.js';
import { isRunning, track, waitFor } from './helpers/processes.js';

afterEach(endCliApps);

interface OnTerminal {
  script: ChildProcess;
  /** Everything written to the terminal so far. */
  output(): string;
  /** script's exit status (-e: the supervisor's), once it has exited. */
  exited: Promise<number | null>;
}

/** `naija-sup start` in the foreground on a fresh pty of `cols` columns. */
function startOnTerminal(a: CliApp, cols: number): OnTerminal {
  const command = `stty cols ${cols} rows 24; exec '${process.execPath}' '${BIN}' start`;
  const script = spawn('script', ['-qec', command, '/dev/null'], { cwd: a.cwd, env: { ...a.env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  track(script.pid as number);
  let out = '';
  script.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
  script.stderr?.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const exited = new Promise<number | null>((resolve) => script.once('exit', (code) => resolve(code)));
  return { script, output: () => out, exited };
}

/** The supervisor's status once its server is ready; tracks both pids. */
async function readyStatus(a: CliApp, t: OnTerminal): Promise<StatusSnapshot> {
  await waitFor(() => /is ready in \d+ ms/.test(t.output()), { timeout: 20_000, message: () => `never reported ready; ${t.output().length} bytes on the terminal:\n${t.output().slice(0, 2000)}` });
  const r = await a.cli(['status', '--json']);
  expect(r.status, r.stderr).toBe(0);
  const s = JSON.parse(r.stdout) as StatusSnapshot;
  track(s.supervisorPid);
  track(s.instancePid as number);
  return s;
}

describe('start on a terminal', () => {
  it('a 0-column terminal: the server is reported ready, and the supervisor stops on request', async () => {
    const a = await cliApp();
    const t = startOnTerminal(a, 0);
    const s = await readyStatus(a, t);
    expect(s.state).toBe('ready');
    const stopped = await a.cli(['stop']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(await t.exited).toBe(0);
    expect(t.output()).toMatch(/stopped after/);
    // The spinner's runaway wrote megabytes of cursor escapes within seconds.
    expect(t.output().length).toBeLessThan(64 * 1024);
    expect(processesIn(a.cwd)).toEqual([]);
  });

  it('SIGHUP to a foreground supervisor with a controlling terminal stops it gracefully; its server is gone', async () => {
    const a = await cliApp();
    const t = startOnTerminal(a, 80);
    const s = await readyStatus(a, t);
    process.kill(s.supervisorPid, 'SIGHUP');
    expect(await t.exited, t.output()).toBe(0);
    expect(t.output()).toContain('the terminal closed');
    expect(t.output()).toMatch(/stopping cli-app: SIGTERM to its process group/);
    expect(t.output()).toMatch(/stopped after/);
    expect(t.output()).not.toMatch(/reload requested/);
    expect(isRunning(s.instancePid as number)).toBe(false);
    expect(processesIn(a.cwd)).toEqual([]);
  });

  it('closing the terminal (its pty master) stops the foreground supervisor and its server gracefully', async () => {
    const a = await cliApp();
    const t = startOnTerminal(a, 80);
    const s = await readyStatus(a, t);
    // SIGKILL: script cannot pass anything on; the kernel hangs the pty up and sends SIGHUP.
    t.script.kill('SIGKILL');
    await t.exited;
    let left: number[] = [];
    await waitFor(() => (left = processesIn(a.cwd)).length === 0, { timeout: 15_000, message: () => `still running after the terminal closed: ${left.join(', ')}` });
    const logs = await a.cli(['logs', '-n', '200']);
    expect(logs.stdout).toContain('the terminal closed');
    expect(logs.stdout).toMatch(/sup \| stopped \(gracefully\)/);
    expect(logs.stdout).not.toMatch(/reload-requested|reload requested/);
    expect(isRunning(s.instancePid as number)).toBe(false);
  });

  it('a detached supervisor (no controlling terminal) still reloads on SIGHUP', async () => {
    const a = await cliApp();
    const started = await a.cli(['start', '-d']);
    expect(started.status, started.stderr).toBe(0);
    const first = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    track(first.supervisorPid);
    track(first.instancePid as number);
    process.kill(first.supervisorPid, 'SIGHUP');
    const next = await waitFor(async () => {
      const s = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
      return s.instancePid !== first.instancePid && s.state === 'ready' ? s : null;
    }, { timeout: 20_000, message: 'no new instance after SIGHUP' });
    track(next.instancePid as number);
    expect(next.supervisorPid).toBe(first.supervisorPid);
    expect((await a.cli(['logs', '-n', '200'])).stdout).toMatch(/reload/);
    expect((await a.cli(['stop'])).status).toBe(0);
  });
});
