/**
 * The port: where the server listens (`port`, `host`), what happens when it is taken
 * (`portFallback`), and the stale servers from earlier runs that may be stopped to free it
 * (`cleanup`).
 */
import { booleanLeaf, decodeList, decodeNumber, fail, leaf, ok, parseHost, parsePort, prefixed, section, value } from './builders.js';
import type { ParseResult, Problem } from './nodes.js';

export const portLeaf = leaf<number, number>({
  description: 'Port the server listens on; passed to it as PORT.',
  typeText: 'integer 1–65535',
  jsonSchema: { type: 'integer', minimum: 1, maximum: 65535 },
  default: value(8000),
  legacyEnv: [{ name: 'PORT' }],
  fromEnv: decodeNumber,
  parse: parsePort,
});

export const hostLeaf = leaf<string, string>({
  description: 'Host the server binds; health checks and port checks use it.',
  typeText: 'string',
  jsonSchema: { type: 'string', minLength: 1 },
  default: value('127.0.0.1'),
  legacyEnv: [{ name: 'HOST' }],
  parse: parseHost,
});

export const portFallbackLeaf = booleanLeaf('If the port is taken by something that may not be stopped, use the next free port instead of failing.', false);

/** Regex-literal form in cleanup.match: "/source/flags". */
const REGEX_LITERAL = /^\/(.+)\/([dgimsuyv]*)$/s;

/**
 * Compiles one cleanup.match pattern into a test on a process's command line: "/source/flags" is a
 * regular expression, anything else a substring.
 * @throws SyntaxError when a "/…/" pattern does not compile.
 */
export function compileMatchPattern(pattern: string): (commandLine: string) => boolean {
  const literal = REGEX_LITERAL.exec(pattern);
  if (!literal) return (commandLine) => commandLine.includes(pattern);
  // g and y make RegExp#test stateful (lastIndex), which would make every other test fail.
  const regex = new RegExp(literal[1] as string, (literal[2] as string).replace(/[gy]/g, ''));
  return (commandLine) => regex.test(commandLine);
}

/** One cleanup.match pattern, checked as preflight will compile it. */
function checkMatchPattern(raw: unknown): ParseResult<string> {
  if (typeof raw !== 'string' || raw === '') return fail('a non-empty substring or "/regex/flags"', raw);
  try {
    compileMatchPattern(raw);
  } catch (error) {
    return fail('a regular expression that compiles', raw, error instanceof Error ? error.message : String(error));
  }
  return ok(raw);
}

const cleanupMatchLeaf = leaf<string | string[], string[]>({
  description: 'Command lines of stale servers to stop before starting (like `pkill -f`): each a substring, or "/regex/flags".',
  typeText: 'string | string[]',
  jsonSchema: {
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string', minLength: 1 } },
    ],
  },
  default: value([]),
  envForm: 'comma-separated',
  fromEnv: decodeList,
  parse: (raw) => {
    if (typeof raw === 'string') {
      const one = checkMatchPattern(raw);
      return one.ok ? ok([one.value]) : one;
    }
    if (!Array.isArray(raw)) return fail('a substring, "/regex/flags", or an array of them', raw);
    const problems: Problem[] = [];
    const out: string[] = [];
    raw.forEach((item: unknown, i) => {
      const one = checkMatchPattern(item);
      if (one.ok) out.push(one.value);
      else problems.push(...prefixed(one.problems, `[${i}]`));
    });
    return problems.length > 0 ? { ok: false, problems } : ok(out);
  },
});

export const cleanupSection = section('Stale servers from earlier runs.', {
  killExisting: booleanLeaf('Stop whatever holds the port (or matches `cleanup.match`) before starting, gracefully then by force.', false, [{ name: 'KILL_EXISTING' }]),
  match: cleanupMatchLeaf,
});
