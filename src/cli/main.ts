/**
 * The CLI entry: `run(argv, io)` parses, dispatches to one lazily imported command module, renders
 * any error, and returns the exit status. It never calls process.exit, so tests call it directly;
 * bin/naija-sup.js sets process.exitCode from its result.
 */
import type { Command } from 'commander';
import { defaultIO, type CliIO } from './context.js';
import type { ControlOptions, StartOptions, StopOptions } from './options.js';
import { packageVersion } from '../package-root.js';
import { quickForm } from './quick-forms.js';
import { runQuick } from './quick.js';
import { importModule } from '../import-module.js';
import { handedStart } from './handed-start.js';

/**
 * The error renderer (and the redactor and docs links it needs) loads only when there is an error
 * to render: every `status`, `stop` and `start` that succeeds would load it for nothing.
 */
async function renderError(io: CliIO, error: unknown): Promise<number> {
  return (await import('./render.js')).renderError(io, error);
}

type Commander = typeof import('commander');

/** What every command family's registration needs: commander is imported lazily, so it is passed in. */
interface ProgramContext {
  commander: Commander;
  program: Command;
  io: CliIO;
  setStatus: (status: number) => void;
  argv: readonly string[];
  parsePort: (value: string) => number;
}

function portParser({ InvalidArgumentError }: Commander): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
      throw new InvalidArgumentError(`expected a port number 1–65535, got "${value}".`);
    }
    return n;
  };
}

/** The options of every command that talks to a running supervisor: which app. */
function withControlOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'the config file that names the app (its "name")')
    .option('--name <name>', 'the app\'s name (default: from the config or package.json; else the only app running)');
}

function buildProgram(commander: Commander, io: CliIO, setStatus: (status: number) => void, argv: readonly string[] = []): Command {
  const program = new commander.Command();
  program
    .name('naija-sup')
    .description('Supervise an API server: free its port safely, start it, wait until healthy, restart it with backoff, stop it gracefully.')
    .version(packageVersion(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run "naija-sup --help" for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(s),
    });
  const ctx: ProgramContext = { commander, program, io, setStatus, argv, parsePort: portParser(commander) };
  // The order here is the order `--help` lists the commands in.
  addStartCommand(ctx);
  addControlCommands(ctx);
  addListAndLogsCommands(ctx);
  addDiagnosisCommands(ctx);
  addConfigFileCommands(ctx);
  addProbeCommand(ctx);
  return program;
}

function addStartCommand({ commander: { Option }, program, io, setStatus, argv, parsePort }: ProgramContext): void {
  program
    .command('start')
    .description('start the configured server under supervision (foreground)')
    .option('-c, --config <file>', 'use this config file instead of searching for one')
    .option('-p, --port <port>', 'port the server listens on (PORT)', parsePort)
    .option('-H, --host <host>', 'host the server binds (HOST)')
    .option('--pid-file <file>', 'write the server\'s PID to this file (PID_FILE)')
    .option('--kill-existing', 'stop stale servers that hold the port or match cleanup.match (KILL_EXISTING)')
    .option('--port-fallback', 'if the port is taken, pick the next free one instead of failing')
    .option('--force', 'with --kill-existing as root: also stop other users\' processes')
    .option('-d, --detach', 'run the supervisor in the background; return once the server is ready (or failed)')
    .addOption(new Option('--status-port <port>', 'serve /alive /ready /health /metrics on this port (127.0.0.1)').argParser(parsePort))
    .addOption(new Option('--log-format <format>', 'supervisor log format').choices(['human', 'json']))
    .addOption(new Option('--mode <mode>', 'how the port reaches the server').choices(['direct', 'handoff', 'proxy']))
    .option('--raw', 'stream the server\'s output unchanged: no [name] prefix, terminal escape sequences kept')
    .option('--verbose', 'show each step with its duration')
    .argument('[command...]', 'the server command, after "--" (overrides the config\'s command)')
    .action(async (command: string[], opts: StartOptions) => {
      const { startCommand } = await import('./commands/start.js');
      setStatus(await startCommand(io, opts, command, [...argv]));
    });
}

/** stop, status, restart, reload, rollback, scale: the commands sent to a running supervisor. */
function addControlCommands({ program, io, setStatus }: ProgramContext): void {
  withControlOptions(program.command('stop'))
    .description('stop the running supervisor and its server (graceful; --force kills at once)')
    .option('--timeout <duration>', 'how long the server may take to drain (default: shutdown.timeout)')
    .option('--force', 'kill the server\'s process group at once')
    .action(async (opts: StopOptions) => {
      const { stopCommand } = await import('./commands/stop.js');
      setStatus(await stopCommand(io, opts));
    });

  withControlOptions(program.command('status'))
    .description('show the state of the running supervisor (exit 3 when not running)')
    .option('--json', 'print JSON')
    .action(async (opts: ControlOptions) => {
      const { statusCommand } = await import('./commands/status.js');
      setStatus(await statusCommand(io, opts));
    });

  const restarts = [
    ['restart', 'stop the server and start it again under the same supervisor'],
    ['reload', 're-read the config and restart the server with it (zero-downtime in handoff/proxy mode)'],
    ['rollback', 'go back to the configuration before the last reload (blue/green in handoff/proxy mode)'],
  ] as const;
  for (const [name, description] of restarts) {
    const cmd = withControlOptions(program.command(name)).description(description);
    if (name === 'reload') cmd.option('--parallel <k>', 'replace up to K instances at a time (default 1)');
    cmd
      .action(async (opts: ControlOptions & { parallel?: string }) => {
        const { restartCommand } = await import('./commands/restart.js');
        setStatus(await restartCommand(io, opts, name));
      });
  }

  withControlOptions(program.command('scale'))
    .description('run N instances of the app from now on, without restarting the others (mode handoff or proxy)')
    .argument('<instances>', 'how many instances to run')
    .action(async (instances: string, opts: ControlOptions) => {
      const { scaleCommand } = await import('./commands/scale.js');
      setStatus(await scaleCommand(io, opts, instances));
    });
}

/** ls and logs: read what the supervisors left in the run dir. */
function addListAndLogsCommands({ commander: { InvalidArgumentError }, program, io, setStatus }: ProgramContext): void {
  program
    .command('ls')
    .description('list every app of this user: name, state, pid, port, uptime, restarts, folder')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { lsCommand } = await import('./commands/ls.js');
      setStatus(await lsCommand(io, opts));
    });

  withControlOptions(program.command('logs'))
    .description('print the supervisor\'s and the server\'s log (from the run dir)')
    .option('-n, --lines <n>', 'how many lines to show (default 50)', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected a number of lines, got "${v}".`);
      return Number(v);
    })
    .option('-f, --follow', 'keep printing new lines')
    .option('--raw', 'print the server\'s output unchanged, terminal escape sequences included')
    .action(async (opts: ControlOptions & { lines?: number; follow?: boolean; raw?: boolean }) => {
      const { logsCommand } = await import('./commands/logs.js');
      setStatus(await logsCommand(io, opts));
    });
}

/** doctor and free-port: find out what is wrong, and free a port held by something else. */
function addDiagnosisCommands({ commander: { Option }, program, io, setStatus, parsePort }: ProgramContext): void {
  program
    .command('doctor')
    .description('diagnose bcrypt and port problems and print the fix (read-only)')
    .option('-c, --config <file>', 'use this config file instead of searching for one')
    .option('--json', 'print the checks as JSON')
    .option('--only <ids...>', 'run only these checks (runtime, config, port, pid-file, run-dir, bcrypt-node, bcrypt-python, health, init, handoff-drain)')
    .addOption(new Option('-p, --port <port>', 'check this port').argParser(parsePort))
    .option('--bundle <file>', 'also write a diagnostic archive (.tar.gz, no secrets) for a bug report or an incident')
    .option('--drain', 'also start the app on a private port and measure whether a handoff reload resets connections (handoff-drain)')
    .action(async (opts: { config?: string; json?: boolean; only?: string[]; port?: number; bundle?: string; drain?: boolean }) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      setStatus(await doctorCommand(io, opts));
    });

  program
    .command('free-port')
    .description('safely free a port: show its owners, stop them gracefully (SIGTERM, wait, SIGKILL), confirm it is free')
    .argument('<port>', 'the port', parsePort)
    .option('-H, --host <host>', 'the host a server would bind (default: :: — every address)')
    .option('--dry-run', 'only show the owners')
    .option('--force', 'also stop other users\' processes (root only)')
    .option('--timeout <duration>', 'grace period before SIGKILL (default 10s)')
    .option('--json', 'print JSON')
    .action(async (port: number, opts: { host?: string; dryRun?: boolean; force?: boolean; timeout?: string; json?: boolean }) => {
      const { freePortCommand } = await import('./commands/free-port.js');
      setStatus(await freePortCommand(io, port, opts));
    });
}

/** config, export, import: print the config, or turn it into (or make it from) another tool's files. */
function addConfigFileCommands({ commander: { Option }, program, io, setStatus, parsePort }: ProgramContext): void {
  program
    .command('config')
    .description('print the resolved configuration and where each value came from')
    .option('-c, --config <file>', 'use this config file instead of searching for one')
    .option('--json', 'print JSON')
    .option('--json-schema', 'print the JSON Schema of the config file')
    .addOption(new Option('-p, --port <port>', 'as for start').argParser(parsePort))
    .option('-H, --host <host>', 'as for start')
    .action(async (opts: { config?: string; json?: boolean; jsonSchema?: boolean; port?: number; host?: string }) => {
      const { configCommand } = await import('./commands/config.js');
      setStatus(await configCommand(io, opts));
    });

  program
    .command('export')
    .description('write a file from the config: dockerfile, compose, systemd, kubernetes, railway (deployment); prometheus-rules, grafana (monitoring)')
    .argument('<target>', 'dockerfile | compose | systemd | kubernetes | railway | prometheus-rules | grafana')
    .option('-c, --config <file>', 'use this config file instead of searching for one')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--workdir <dir>', 'systemd: the app\'s folder on the server (default: the config\'s cwd)')
    .option('--user <user>', 'systemd: the user the service runs as (default: the app\'s name)')
    .option('--job <name>', 'prometheus-rules, grafana: the Prometheus scrape job of the status server (default: naija-sup)')
    .option('--runbook-base <url>', 'prometheus-rules: where docs/metrics.md is published, for the rules\' runbook_url')
    .action(async (target: string, opts: { config?: string; output?: string; workdir?: string; user?: string; job?: string; runbookBase?: string }) => {
      const { exportCommand } = await import('./commands/export.js');
      setStatus(await exportCommand(io, target, opts));
    });

  program
    .command('import')
    .description('write a naija-sup config from another tool\'s: pm2 <ecosystem.config.js|json>')
    .argument('<tool>', 'pm2')
    .argument('<file>', 'the ecosystem file')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--app <name>', 'the app to import when the file has several')
    .action(async (tool: string, file: string, opts: { output?: string; app?: string }) => {
      const { importCommand } = await import('./commands/import.js');
      setStatus(await importCommand(io, tool, file, opts));
    });
}

function addProbeCommand({ program, io, setStatus }: ProgramContext): void {
  program
    .command('probe')
    .description('exit 0 when the app is ready, 1 otherwise (for container health checks)')
    .option('--name <name>', 'the app\'s name (default: from the config)')
    .option('-c, --config <file>', 'the config file that names the app')
    .action(async (opts: { name?: string; config?: string }) => {
      const { probeCommand } = await import('./commands/probe.js');
      setStatus(await probeCommand(io, opts));
    });
}

const START_VALUES: Readonly<Record<string, keyof StartOptions>> = {
  '-c': 'config', '--config': 'config', '-p': 'port', '--port': 'port', '-H': 'host', '--host': 'host',
  '--pid-file': 'pidFile', '--status-port': 'statusPort', '--log-format': 'logFormat', '--mode': 'mode',
};
const START_BOOLEANS: Readonly<Record<string, keyof StartOptions>> = {
  '--kill-existing': 'killExisting', '--port-fallback': 'portFallback', '--force': 'force',
  '-d': 'detach', '--detach': 'detach', '--raw': 'raw', '--verbose': 'verbose',
};
/** The values commander would accept for a start option; anything else takes its path (and its usage error). */
const START_CHOICES: Readonly<Partial<Record<keyof StartOptions, (v: string) => boolean>>> = {
  port: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535,
  statusPort: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535,
  logFormat: (v) => v === 'human' || v === 'json',
  mode: (v) => v === 'direct' || v === 'handoff' || v === 'proxy',
};

/**
 * `start`'s plain forms (`start [-d] [--config F] [--port N] … [-- command…]`) skip commander: its
 * import and set-up are tens of ms between `start` and the spawn, and `start -d` would pay them
 * once more before handing over. Only the flags below, each value one commander would accept, one
 * flag per argument; anything else (`--port=1`, `-dp 1`, a command without "--", --help) is null
 * and takes the full path, so usage errors read the same.
 */
export function startFastPath(argv: readonly string[]): { opts: StartOptions; command: string[] } | null {
  if (argv[0] !== 'start') return null;
  const opts: Record<string, string | number | boolean> = {};
  for (let i = 1; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a === '--') return { opts: opts as StartOptions, command: argv.slice(i + 1) };
    const boolean = START_BOOLEANS[a];
    const key = START_VALUES[a];
    const value = argv[i + 1];
    if (boolean !== undefined) opts[boolean] = true;
    else if (key !== undefined && value !== undefined && !value.startsWith('-') && (START_CHOICES[key]?.(value) ?? true)) {
      opts[key] = key === 'port' || key === 'statusPort' ? Number(value) : value;
      i += 1;
    } else return null;
  }
  return { opts: opts as StartOptions, command: [] };
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit status. */
export async function run(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  const handed = handedStart(argv, io.env);
  if (handed) {
    try {
      const { startCommand } = await import('./commands/start.js');
      return await startCommand(io, handed.opts, handed.command, [...argv]);
    } catch (error) {
      return renderError(io, error);
    }
  }
  // The plain forms of status and stop, probe --name and --version: without commander (quick-forms.ts).
  const quick = quickForm(argv);
  if (quick) return runQuick(quick, io);
  const plainStart = startFastPath(argv);
  if (plainStart) {
    try {
      const { startCommand } = await import('./commands/start.js');
      return await startCommand(io, plainStart.opts, plainStart.command, [...argv]);
    } catch (error) {
      return renderError(io, error);
    }
  }
  let status = 0;
  const commander = await importModule<typeof import('commander')>('commander');
  const { CommanderError } = commander;
  const program = buildProgram(commander, io, (s) => { status = s; }, argv);
  if (argv.length === 0) {
    io.stdout(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with a "success" CommanderError; usage errors are status 2.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    return renderError(io, error);
  }
}
