/**
 * What a command needs from the outside world, injected so that tests call `run(argv, io)` and
 * capture output and exit status without spawning a process.
 */
export interface CliIO {
  /** Writes to standard output (the text includes its own newline). */
  stdout: (text: string) => void;
  /** Writes to standard error (the text includes its own newline). */
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stdout/stderr are terminals (spinner, colour). */
  isTTY: boolean;
  /** The process whose signals `start` handles; tests pass a fake EventEmitter. */
  signals?: SignalSource;
}

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

let outputGuarded = false;

/**
 * A supervisor outlives whoever reads its output: `naija-sup start | tee log` whose tee died, a
 * closed terminal, a log shipper that restarted. Writing then fails with EPIPE or EIO, and an
 * unhandled 'error' on stdout would kill the supervisor and orphan the server. So `start` drops
 * write errors on its own output: that output is lost (the run dir's log file keeps it),
 * supervision goes on. Other commands keep Node's default: `naija-sup logs -f | head` must end
 * when head does.
 */
export function guardOutput(): void {
  if (outputGuarded) return;
  outputGuarded = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

export function defaultIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY && process.stderr.isTTY),
    signals: process,
  };
}
