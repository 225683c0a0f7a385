/**
 * `naija-sup export systemd`: a service unit that runs naija-sup as `Type=notify`.
 *
 * naija-sup sends READY=1 only once the server passed its startup probe, STOPPING=1 when it stops,
 * and (with WatchdogSec, set only when the config has a liveness probe) WATCHDOG=1 after each
 * liveness probe that passed (src/app/systemd-notify.ts). The notifier is a child of naija-sup, so
 * the unit needs NotifyAccess=all. KillMode=mixed: systemd's SIGTERM goes to naija-sup alone, which
 * stops the server's group gracefully; whatever is left after TimeoutStopSec gets SIGKILL.
 */
import { posix } from 'node:path';
import {
  APP_BIN, envNames, generatedBy, restartWords, seconds, startBudgetMs, startCommand, startEnv, stopBudgetMs, STOP_MARGIN_MS, type ExportInput,
} from './common.js';
import type { ResolvedConfig } from '../config/types.js';

/**
 * How long systemd waits between WATCHDOG=1 pings before it restarts the whole service: long enough
 * for naija-sup's own answer to a failing liveness probe (the failures, a stop, a restart and a new
 * startup probe) so that systemd only steps in when naija-sup itself hangs.
 */
export function watchdogMs(config: ResolvedConfig): number | null {
  const l = config.health.liveness;
  if (l === null) return null;
  return l.interval * (l.failureThreshold + 1) + l.timeout + config.shutdown.timeout + config.health.startupTimeout + STOP_MARGIN_MS;
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1').replace(/%/g, '%%')}"`;
}

/** The unit's text. */
export function exportSystemd(input: ExportInput): string {
  const { config } = input;
  const workdir = input.workdir ?? config.cwd;
  const user = input.user ?? config.name;
  const { secret } = envNames(config);
  const watchdog = watchdogMs(config);
  const restart = restartWords(config.restart.policy).systemd;
  const flags = `${input.workdir === undefined ? '' : ` --workdir ${input.workdir}`}${input.user === undefined ? '' : ` --user ${input.user}`}`;
  const lines = [
    ...generatedBy('systemd', input, flags),
    `# Install: copy to /etc/systemd/system/${config.name}.service, create the user (useradd --system ${user}),`,
    `# then: systemctl daemon-reload && systemctl enable --now ${config.name}`,
    '',
    '[Unit]',
    `Description=${config.name} (supervised by naija-sup)`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=notify',
    '# The READY=1/STOPPING=1/WATCHDOG=1 notifier is a child of naija-sup.',
    'NotifyAccess=all',
    `User=${user}`,
    `WorkingDirectory=${workdir}`,
    '# The app\'s own naija-sup (npm install naija-sup), run by node with the resident supervisor\'s',
    '# memory flags; the MALLOC_* settings are for naija-sup alone: the server does not get them.',
    `ExecStart=/usr/bin/env ${startCommand(input, posix.join(workdir, APP_BIN)).map(quoteArg).join(' ')}`,
    '# naija-sup keeps its control socket here: `NAIJA_SUP_RUN_DIR=/run/' + config.name + ' npx naija-sup status --name ' + config.name + '` (as the user, in the app\'s folder).',
    `RuntimeDirectory=${config.name}`,
    'RuntimeDirectoryMode=0700',
    `Environment=NAIJA_SUP_RUN_DIR=/run/${config.name} NODE_ENV=production`,
    `Environment=${startEnv().map(([name, value]) => `${name}=${value}`).join(' ')}`,
    ...(secret.length > 0 ? [`# Secrets (${secret.join(', ')}) go in this file (NAME=value lines, mode 0600), never in the unit.`] : []),
    `EnvironmentFile=-/etc/${config.name}/env`,
    `# READY=1 comes after the startup probe: up to ${config.restart.startRetries + 1} attempts of health.startupTimeout, with backoff.`,
    `TimeoutStartSec=${seconds(startBudgetMs(config) + STOP_MARGIN_MS)}`,
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `# shutdown.timeout (${seconds(config.shutdown.timeout)} s) for the server, plus ${seconds(STOP_MARGIN_MS)} s for naija-sup.`,
    `TimeoutStopSec=${seconds(stopBudgetMs(config))}`,
    ...(watchdog === null ? [] : [`# WATCHDOG=1 follows each liveness probe that passed.`, `WatchdogSec=${seconds(watchdog)}`]),
    '# naija-sup restarts the server itself; this restarts naija-sup when it gives up.',
    `Restart=${restart}`,
    `RestartSec=${seconds(config.restart.initialDelay)}`,
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    // full, not strict: the server may write in its own folder (uploads, sqlite, logs).
    'ProtectSystem=full',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}
