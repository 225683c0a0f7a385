/**
 * sd_notify for `Type=notify` units (issue 16): a subscriber of the supervisor's event stream,
 * created by supervise() when NOTIFY_SOCKET is set. It tells systemd
 *
 *   READY=1     once, when the server first passed its startup probe (not when it was spawned);
 *   STOPPING=1  once, when a requested stop begins (not a restart, not a blue/green reload);
 *   WATCHDOG=1  after each liveness probe that passed, only when systemd asked for it (WATCHDOG_USEC,
 *               from WatchdogSec=): a failing liveness probe stops the pings, so a naija-sup that
 *               cannot get its server healthy again is restarted by systemd;
 *   STATUS=…    one line for `systemctl status`.
 *
 * How: sd_notify is a datagram on a unix socket, which Node cannot send (net has stream sockets
 * only). Measured here (bench/probe.mjs, Debian 12, a busy 2-core machine): `systemd-notify` costs a
 * process per message, ~14 ms median each, every liveness interval for WATCHDOG=1, and it has a
 * known race with NotifyAccess=all before systemd 254 (it may exit before systemd reads its cgroup,
 * and the message is dropped); one long-lived `python3` helper costs 4–110 ms once, then ~0.1–1.3 ms
 * per message, and never exits before its message is read. So: the python3
 * helper when python3 is on PATH, else `systemd-notify` per message. NAIJA_SUP_NOTIFY_HELPER
 * (`python3` | `systemd-notify`) forces one. Both are children of naija-sup: the unit needs
 * NotifyAccess=all (`naija-sup export systemd` writes it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { SupervisorEvent } from '../supervisor/events.js';

/** Reads one message per line on stdin ("\t" separates its fields) and sends it as one datagram. */
const PYTHON_HELPER = [
  'import os, socket, sys',
  'a = os.environ["NOTIFY_SOCKET"]',
  'a = "\\0" + a[1:] if a.startswith("@") else a',
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  'for line in sys.stdin:',
  '    try: s.sendto(line.rstrip("\\n").replace("\\t", "\\n").encode(), a)',
  '    except OSError as e: sys.stderr.write("naija-sup sd_notify: %s\\n" % e)',
].join('\n');

export type NotifyHelper = 'python3' | 'systemd-notify';

export interface Notifier {
  event(e: SupervisorEvent): void;
  close(): Promise<void>;
  readonly helper: NotifyHelper;
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // Not in this one.
    }
  }
  return null;
}

/** The environment a server is given: without NOTIFY_SOCKET, or a server that speaks sd_notify would claim READY itself. */
export function withoutNotifySocket(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env['NOTIFY_SOCKET'] === undefined) return env;
  const { NOTIFY_SOCKET: _socket, WATCHDOG_USEC: _usec, WATCHDOG_PID: _pid, ...rest } = env;
  return rest;
}

type Send = { send(fields: string[]): void; close(): Promise<void> };

function pythonSender(python: string, env: NodeJS.ProcessEnv, warn: (m: string) => void): Send {
  const child = spawn(python, ['-c', PYTHON_HELPER], {
    stdio: ['pipe', 'ignore', 'inherit'],
    env: { NOTIFY_SOCKET: env['NOTIFY_SOCKET'], PATH: env['PATH'] },
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('error', (error) => warn(`sd_notify helper (${python}) failed: ${error.message}`));
  child.stdin?.on('error', () => undefined);
  return {
    send: (fields) => { if (child.stdin?.writable) child.stdin.write(`${fields.join('\t')}\n`); },
    close: async () => {
      child.stdin?.end();
      await exited;
    },
  };
}

function systemdNotifySender(binary: string, env: NodeJS.ProcessEnv, warn: (m: string) => void): Send {
  const running = new Set<Promise<void>>();
  return {
    send: (fields) => {
      const child: ChildProcess = spawn(binary, fields, { stdio: 'ignore', env: { NOTIFY_SOCKET: env['NOTIFY_SOCKET'], PATH: env['PATH'] } });
      const done = new Promise<void>((resolve) => {
        child.once('error', (error) => { warn(`systemd-notify failed: ${error.message}`); resolve(); });
        child.once('close', () => resolve());
      });
      running.add(done);
      void done.then(() => running.delete(done));
    },
    close: async () => { await Promise.all(running); },
  };
}

/**
 * The notifier for `env`, or null without NOTIFY_SOCKET (not under systemd) or without any helper
 * (then `warn` says so once).
 */
export function systemdNotifier(env: NodeJS.ProcessEnv, warn: (message: string, fix?: string) => void): Notifier | null {
  if (!env['NOTIFY_SOCKET']) return null;
  const forced = env['NAIJA_SUP_NOTIFY_HELPER'];
  const python = forced === 'systemd-notify' ? null : onPath('python3', env);
  const notify = forced === 'python3' ? null : onPath('systemd-notify', env);
  const helper: NotifyHelper | null = python !== null ? 'python3' : notify !== null ? 'systemd-notify' : null;
  if (helper === null) {
    warn('NOTIFY_SOCKET is set but neither python3 nor systemd-notify is on PATH: systemd will not hear READY=1', 'install python3 (or systemd), or use Type=exec in the unit');
    return null;
  }
  const sender = helper === 'python3' ? pythonSender(python as string, env, warn) : systemdNotifySender(notify as string, env, warn);
  const watchdog = Boolean(env['WATCHDOG_USEC']) && (env['WATCHDOG_PID'] === undefined || env['WATCHDOG_PID'] === String(process.pid));
  const sent = { ready: false, stopping: false };
  let reloading = false;
  return {
    helper,
    event(e) {
      if (e.type === 'ready' && !sent.ready) {
        sent.ready = true;
        sender.send(['READY=1', `STATUS=ready: pid ${e.pid}, ${e.url}`]);
      } else if (e.type === 'reload-started') reloading = true;
      else if (e.type === 'reload-finished') reloading = false;
      else if (e.type === 'stopping' && e.reason === 'requested' && !reloading && !sent.stopping) {
        sent.stopping = true;
        sender.send(['STOPPING=1', 'STATUS=stopping']);
      } else if (e.type === 'probe' && e.probe === 'liveness' && e.ok && watchdog && !sent.stopping) sender.send(['WATCHDOG=1']);
      else if (e.type === 'fatal') sender.send([`STATUS=gave up: ${e.reason}`]);
    },
    close: () => sender.close(),
  };
}
