/**
 * The quick forms (issue 19): the plain forms of the commands that scripts, prompts and container
 * health checks run often, and that every stop waits for: `status`, `stop`, `probe --name N` and
 * `--version`. They skip commander and every other command's code; anything unusual (`--name=x`,
 * a flag they do not know, a missing value) is null here and takes commander's full path, so usage
 * errors read the same.
 *
 * Pure argv recognition, importing nothing: bin/naija-sup.js loads this module on every run, as a
 * CommonJS file of its own (dist/quick/forms.cjs, scripts/bundle.mjs), to decide whether the
 * command runs from the CommonJS quick bundle without Node's ESM loader (see {@link standalone}).
 */
import type { ControlOptions, StopOptions } from './options.js';

export type QuickForm =
  | { command: 'status'; opts: ControlOptions }
  | { command: 'stop'; opts: StopOptions }
  | { command: 'probe'; name: string }
  | { command: 'version' };

/**
 * The plain forms of `command`: only the given flags, each value flag with a value that is not a
 * flag. Null for anything else.
 */
function plainForm(argv: readonly string[], command: string, values: Readonly<Record<string, string>>, booleans: Readonly<Record<string, string>>): Record<string, string | boolean> | null {
  if (argv[0] !== command) return null;
  const opts: Record<string, string | boolean> = {};
  for (let i = 1; i < argv.length; i += 1) {
    const a = argv[i] as string;
    const value = argv[i + 1];
    // Own properties only: `constructor` or `__proto__` is not a flag.
    const valueKey = Object.hasOwn(values, a) ? values[a] : undefined;
    const booleanKey = Object.hasOwn(booleans, a) ? booleans[a] : undefined;
    if (booleanKey !== undefined) opts[booleanKey] = true;
    else if (valueKey !== undefined && value !== undefined && !value.startsWith('-')) {
      opts[valueKey] = value;
      i += 1;
    } else return null;
  }
  return opts;
}

const CONTROL_VALUES = { '--name': 'name', '-c': 'config', '--config': 'config' } as const;

/** `status`'s plain forms: `--name`, `-c`/`--config`, `--json`. */
export function statusFastPath(argv: readonly string[]): ControlOptions | null {
  return plainForm(argv, 'status', CONTROL_VALUES, { '--json': 'json' }) as ControlOptions | null;
}

/** `stop`'s plain forms: `--name`, `-c`/`--config`, `--timeout`, `--force`. */
export function stopFastPath(argv: readonly string[]): StopOptions | null {
  return plainForm(argv, 'stop', { ...CONTROL_VALUES, '--timeout': 'timeout' }, { '--force': 'force' }) as StopOptions | null;
}

/** The quick form of `argv`, or null for commander's path. */
export function quickForm(argv: readonly string[]): QuickForm | null {
  // `--version` is asked by scripts and installers: commander would add tens of ms to a file read.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) return { command: 'version' };
  // `probe` runs every few seconds in a container.
  if (argv[0] === 'probe' && argv[1] === '--name' && argv.length === 3) return { command: 'probe', name: argv[2] as string };
  const status = statusFastPath(argv);
  if (status) return { command: 'status', opts: status };
  const stop = stopFastPath(argv);
  return stop ? { command: 'stop', opts: stop } : null;
}

/**
 * Whether a quick form needs no config file: it names its app (`--name`), so it runs from the
 * CommonJS quick bundle, whose code for a config file would be a second copy of the loader's. One
 * without a name (`status` in the app's folder) reads the config through the ESM bundle.
 */
export function standalone(form: QuickForm): boolean {
  return form.command === 'version' || form.command === 'probe' || form.opts.name !== undefined;
}
