/**
 * PID 1 in a container, without a container engine: a PID namespace (`unshare --pid --fork
 * --mount-proc`, as root) with a server that abandons grandchildren (abandons-children.mjs).
 *
 * - Under Debian's tini (PID 1 → naija-sup → server), the orphans are reaped (no zombie is left in
 *   the namespace), and tini's SIGTERM — what `docker stop` sends — stops naija-sup gracefully
 *   (exit 0, the server stopped by naija-sup, not killed).
 * - naija-sup as PID 1 says so at start (with doctor's fix), and the orphans do stay zombies: the
 *   warning is about something real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture, track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

interface Ns {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function startInNamespace(argv: string[], cwd: string, env: Record<string, string | undefined>): Ns {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) track(child.pid);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out: () => out, exit };
}

/** The outer pid of the namespace's PID 1: unshare's only child. */
function namespaceInit(unsharePid: number): number | null {
  try {
    const kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length === 1 ? Number(kids[0]) : null;
  } catch {
    return null;
  }
}

interface NsProcess { pid: number; comm: string; state: string; ppid: number }

/** Every process in the PID namespace of `initPid` (outer pids), from /proc/<pid>/stat. */
function processesInNamespace(initPid: number): NsProcess[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const found: NsProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      found.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close), state: state ?? '', ppid: Number(ppid) });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function jsonEvents(out: string): Array<Record<string, unknown>> {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function appWithOrphans(): Promise<Awaited<ReturnType<typeof cliApp>>> {
  return cliApp({
    name: 'pid1-app',
    command: [process.execPath, fixture('abandons-children.mjs')],
    env: { ABANDON: '3', ORPHAN_MS: '200' },
    shutdown: { timeout: '5s' },
  });
}

describe('PID 1 in a PID namespace', () => {
  it('under tini: the abandoned grandchildren are reaped, and tini\'s SIGTERM stops naija-sup gracefully', async () => {
    const app = await appWithOrphans();
    const ns = startInNamespace(['tini', '--', process.execPath, BIN, 'start', '--log-format', 'json'], app.cwd, app.env);
    await waitFor(() => jsonEvents(ns.out()).some((e) => e['event'] === 'ready'), { timeout: 20_000, message: () => ns.out() });
    const init = await waitFor(() => namespaceInit(ns.child.pid as number), { message: 'no PID 1 in the namespace' });
    expect(readFileSync(`/proc/${init}/comm`, 'utf8').trim()).toBe('tini');
    for (const p of processesInNamespace(init)) track(p.pid);
    // The orphans exit after 200 ms; tini reaps them: no sleep is left, running or zombie.
    let left: NsProcess[] = [];
    await waitFor(() => (left = processesInNamespace(init).filter((p) => p.comm === 'sleep' || p.state === 'Z')).length === 0, {
      timeout: 10_000, message: () => `left in the namespace: ${JSON.stringify(left)}`,
    });
    expect(ns.out()).not.toContain('PID 1 with no init');

    process.kill(init, 'SIGTERM');
    const code = await ns.exit;
    const events = jsonEvents(ns.out());
    expect(code, ns.out()).toBe(0);
    expect(events.find((e) => e['event'] === 'stopped')).toMatchObject({ graceful: true, exitStatus: 0 });
    expect(events.some((e) => e['event'] === 'escalated')).toBe(false);
  });

  it('naija-sup as PID 1 warns at start that orphans will not be reaped, and they are not', async () => {
    const app = await appWithOrphans();
    const ns = startInNamespace([process.execPath, BIN, 'start', '--log-format', 'json'], app.cwd, app.env);
    await waitFor(() => jsonEvents(ns.out()).some((e) => e['event'] === 'ready'), { timeout: 20_000, message: () => ns.out() });
    const warning = jsonEvents(ns.out()).find((e) => e['event'] === 'warning' && /PID 1/.test(String(e['message'])));
    expect(warning?.['message']).toMatch(/not be reaped/);
    expect(warning?.['fix']).toMatch(/docker run --init.*tini/);
    const init = await waitFor(() => namespaceInit(ns.child.pid as number));
    for (const p of processesInNamespace(init)) track(p.pid);
    // The proof that the warning is needed: the exited orphans stay zombies of naija-sup.
    await waitFor(() => processesInNamespace(init).filter((p) => p.state === 'Z' && p.ppid === init).length === 3, {
      timeout: 10_000, message: () => JSON.stringify(processesInNamespace(init)),
    });

    process.kill(init, 'SIGTERM');
    expect(await ns.exit, ns.out()).toBe(0);
    expect(jsonEvents(ns.out()).find((e) => e['event'] === 'stopped')).toMatchObject({ graceful: true });
  });
});
