/**
 * A wrapper's report of its child's death by a signal. npm, npx, yarn, pnpm, tsx and `sh -c` wait
 * for the server they start, and when it dies of signal n they exit with code 128 + n (the shell
 * convention; npm 11 passes on the 137 of its `sh -c`). Without decoding, an out-of-memory kill
 * behind `npm start` reads as "exited with code 137".
 *
 * Decision: 128 + n is decoded only when the command is a known wrapper, or when its stderr says
 * which signal it was (npm's "signal SIGKILL", a shell's "Killed"). Any program may choose its exit
 * code, and some choose 128 + n without being killed: a JVM exits 143 after running its SIGTERM
 * shutdown hooks, a CLI may exit 130 after catching Ctrl+C. Saying "killed by SIGKILL, possibly the
 * out-of-memory killer" about a program that exited by itself would send the user to `dmesg` for
 * nothing, so for those the code stays, with what 128 + n usually means beside it (classify.ts).
 */

import { constants } from 'node:os';

/** The signal a wrapper reported, and who reported it ("npm", "sh"). */
export interface ReportedSignal {
  signal: NodeJS.Signals;
  by: string;
}

/**
 * The signal behind exit `code`, when `command` is a known wrapper or `stderr` (oldest first)
 * reports it; null otherwise.
 */
export function signalReportedBy(code: number, command: readonly string[], stderr: readonly string[]): ReportedSignal | null {
  if (code === 0) return null;
  const wrapper = wrapperName(command);
  const said = signalSaidIn(stderr, code);
  // npm's `sh -c` prints "Killed", but the user ran npm: name what they ran.
  if (said !== null) return said.by === 'the shell' && wrapper !== null ? { ...said, by: wrapper } : said;
  const signal = signalNamed(code - 128);
  return wrapper !== null && signal !== undefined ? { signal, by: wrapper } : null;
}

/** The name of signal `number` (1–31) from os.constants.signals; of an alias pair, the first. */
export function signalNamed(number: number): NodeJS.Signals | undefined {
  if (!Number.isInteger(number) || number < 1 || number > 31) return undefined;
  const entry = Object.entries(constants.signals).find(([, value]) => value === number);
  return entry?.[0] as NodeJS.Signals | undefined;
}

const WRAPPERS = new Set(['npm', 'npx', 'yarn', 'pnpm', 'tsx']);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh']);

/**
 * The wrapper that `command` starts ("npm", "sh", or the name of a node_modules/.bin entry), or
 * null. Sees through `env VAR=value …` and `node …/npm-cli.js`.
 */
export function wrapperName(command: readonly string[]): string | null {
  let rest = command;
  if (rest[0] !== undefined && baseName(rest[0]) === 'env') {
    rest = rest.slice(1);
    while (rest[0] !== undefined && (rest[0].includes('=') || rest[0].startsWith('-'))) rest = rest.slice(1);
  }
  const [file, ...args] = rest;
  if (file === undefined) return null;
  const name = baseName(file);
  if (WRAPPERS.has(name)) return name;
  if (SHELLS.has(name) && args.some((arg) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(arg))) return name;
  if (IN_BIN.test(file)) return name;
  const script = args[0];
  if (name === 'node' && script !== undefined) {
    const cli = baseName(script).replace(/-cli\.js$/, '');
    if (WRAPPERS.has(cli)) return cli;
    if (IN_BIN.test(script)) return baseName(script);
  }
  return null;
}

const IN_BIN = /(?:^|[\\/])node_modules[\\/]\.bin[\\/][^\\/]+$/;

function baseName(path: string): string {
  return (path.split(/[\\/]/).pop() ?? path).replace(/\.(?:cmd|exe)$/i, '');
}

/** How dash and bash name a child's death by signal ("Killed", "bash: line 1: 42 Killed  node x"). */
const SHELL_WORDS: Readonly<Record<string, NodeJS.Signals>> = {
  Killed: 'SIGKILL',
  Terminated: 'SIGTERM',
  Aborted: 'SIGABRT',
  'Segmentation fault': 'SIGSEGV',
  'Bus error': 'SIGBUS',
  'Illegal instruction': 'SIGILL',
  'Floating point exception': 'SIGFPE',
  Hangup: 'SIGHUP',
  Quit: 'SIGQUIT',
};
const WORDS = Object.keys(SHELL_WORDS).join('|');
const DASH_REPORT = new RegExp(`^(${WORDS})(?: \\(core dumped\\))?$`);
const BASH_REPORT = new RegExp(`^(?:\\S+: )?line \\d+: +\\d+ (${WORDS})(?: \\(core dumped\\))?(?:\\s|$)`);
/** npm 7–10: `npm ERR! signal SIGKILL` / `npm error signal SIGKILL`; yarn 1: `error Command failed with signal "SIGKILL".` */
const NPM_REPORT = /^npm (?:ERR!|error) signal (SIG[A-Z0-9]+)\s*$/;
const YARN_REPORT = /Command failed with signal "(SIG[A-Z0-9]+)"/;

/**
 * The last report of a signal death in `stderr` that fits exit `code`. A shell's word must match
 * the code exactly (128 + n): "Killed" alone is too common a word to trust otherwise. npm and yarn
 * name the signal outright, so their report stands whatever non-zero code they chose.
 */
function signalSaidIn(stderr: readonly string[], code: number): ReportedSignal | null {
  for (let index = stderr.length - 1; index >= 0; index -= 1) {
    const line = (stderr[index] ?? '').trim();
    const named = NPM_REPORT.exec(line) ?? YARN_REPORT.exec(line);
    if (named?.[1] !== undefined && named[1] in constants.signals) {
      return { signal: named[1] as NodeJS.Signals, by: line.startsWith('npm') ? 'npm' : 'yarn' };
    }
    const word = (DASH_REPORT.exec(line) ?? BASH_REPORT.exec(line))?.[1];
    const signal = word === undefined ? undefined : SHELL_WORDS[word];
    if (signal !== undefined && signalNamed(code - 128) === signal) return { signal, by: 'the shell' };
  }
  return null;
}
