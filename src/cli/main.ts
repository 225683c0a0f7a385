/**
 * The CLI entry: `run(argv, io)` parses, dispatches to one lazily imported command module, renders
 * any error, and returns the exit status. It never calls process.exit, so tests call it directly;
 * bin/naija-sup.js sets process.exitCode from its result.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { defaultIO, type CliIO } from './context.js';
import { renderError } from './render.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 1–65535, got "${value}".`);
  }
  return n;
}

/** Options that `start` (and later `doctor`) pass to config resolution as the "flags" layer. */
export interface StartOptions {
  config?: string;
  port?: number;
  host?: string;
  verbose?: boolean;
  raw?: boolean;
  killExisting?: boolean;
  pidFile?: string;
  portFallback?: boolean;
}

function buildProgram(io: CliIO, setStatus: (status: number) => void): Command {
  const program = new Command();
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

  program
    .command('start')
    .description('start the configured server under supervision (foreground)')
    .option('-c, --config <file>', 'use this config file instead of searching for one')
    .option('-p, --port <port>', 'port the server listens on (PORT)', parsePort)
    .option('-H, --host <host>', 'host the server binds (HOST)')
    .option('--pid-file <file>', 'write the server\'s PID to this file (PID_FILE)')
    .option('--kill-existing', 'stop stale servers that hold the port or match cleanup.match (KILL_EXISTING)')
    .option('--port-fallback', 'if the port is taken, pick the next free one instead of failing')
    .option('--raw', 'stream the server\'s output without the [name] prefix')
    .option('--verbose', 'show each step with its duration')
    .argument('[command...]', 'the server command, after "--" (overrides the config\'s command)')
    .action(async (command: string[], opts: StartOptions) => {
      const { startCommand } = await import('./commands/start.js');
      setStatus(await startCommand(io, opts, command));
    });

  program
    .command('stop')
    .description('stop the running supervisor and its server')
    .action(() => setStatus(notBuilt(io, 'stop', 'press Ctrl+C in the terminal that runs "naija-sup start"')));

  program
    .command('status')
    .description('show the state of the running supervisor')
    .action(() => setStatus(notBuilt(io, 'status', 'read the supervisor\'s own output in the terminal that runs it')));

  program
    .command('doctor')
    .description('diagnose bcrypt and port problems and print the fix')
    .action(() => setStatus(notBuilt(io, 'doctor', 'run "naija-sup start --verbose": it classifies port and bcrypt failures with their fix')));

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

  return program;
}

function notBuilt(io: CliIO, command: string, meanwhile: string): number {
  io.stderr(`naija-sup ${command} is not built yet. Meanwhile: ${meanwhile}.\n`);
  return 2;
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit status. */
export async function run(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  let status = 0;
  const program = buildProgram(io, (s) => { status = s; });
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
