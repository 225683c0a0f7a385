/**
 * Services the server needs (`dependsOn`: a database by "host:port", a search engine by URL) and
 * how long naija-sup waits for them before each start (`dependencies`).
 */
import { isIP } from 'node:net';
import type { DependencyInput } from '../define-config.js';
import { splitHostPort } from '../host-port.js';
import type { DependencyConfig } from '../types.js';
import { decodeJson, describeValue, durationLeaf, fail, integerLeaf, isPlainObject, keySuffix, leaf, ok, prefixed, secondsEnv, section, suggestKey, value } from './builders.js';
import type { ParseResult, Problem } from './nodes.js';

const HOST_PORT_EXPECTED = '"host:port" like "localhost:5432"';

/** What is wrong with a near miss of "host:port", when it is one of the common ones. */
function hostPortNote(raw: string): string | undefined {
  let portText: string;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close === -1) return 'the "]" after the IPv6 address is missing';
    const host = raw.slice(1, close);
    if (isIP(host) !== 6) return `${JSON.stringify(host)} in brackets is not an IPv6 address`;
    const rest = raw.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest.slice(1);
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon === -1) return 'the port is missing';
    const host = raw.slice(0, colon);
    if (host.includes(':')) return 'write an IPv6 address in brackets: "[::1]:5432"';
    if (host === '') return 'the host is missing';
    portText = raw.slice(colon + 1);
  }
  if (portText === '') return 'the port is missing';
  return /^\d+$/.test(portText) ? 'the port must be 1–65535' : undefined;
}

function parseHostPort(raw: unknown): ParseResult<string> {
  if (typeof raw !== 'string') return fail(HOST_PORT_EXPECTED, raw);
  return splitHostPort(raw) !== undefined ? ok(raw) : fail(HOST_PORT_EXPECTED, raw, hostPortNote(raw));
}

const URL_EXPECTED = 'an http:// or https:// URL like "http://localhost:9200/"';

function parseHttpUrl(raw: unknown): ParseResult<string> {
  if (typeof raw !== 'string' || raw === '' || /\s/.test(raw)) return fail(URL_EXPECTED, raw);
  // "localhost:9200" parses as a URL of scheme "localhost:"; say what is missing instead.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return fail(URL_EXPECTED, raw, `add the scheme: "http://${raw}"`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(URL_EXPECTED, raw);
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? ok(raw) : fail(URL_EXPECTED, raw, `"${url.protocol}" is not http: or https:`);
}

const DEPENDENCY_KEYS = ['name', 'tcp', 'http'];
const DEPENDENCY_EXAMPLE = '{"name": "db", "tcp": "localhost:5432"}';

function parseDependency(raw: unknown, index: number): ParseResult<DependencyConfig> {
  if (!isPlainObject(raw)) return fail(`an object like ${DEPENDENCY_EXAMPLE}`, raw);
  const problems: Problem[] = [];
  for (const key of Object.keys(raw)) {
    if (!DEPENDENCY_KEYS.includes(key)) {
      const suggestion = suggestKey(key, DEPENDENCY_KEYS);
      problems.push({ at: keySuffix(key), message: `unknown key${suggestion ? `; did you mean "dependsOn[${index}].${suggestion}"?` : ` (known keys of a dependency: ${DEPENDENCY_KEYS.join(', ')})`}` });
    }
  }
  let name = '';
  if (raw['name'] === undefined) problems.push({ at: '.name', message: 'required (a name for messages and status, like "db")' });
  else if (typeof raw['name'] !== 'string' || raw['name'].trim() === '') problems.push(...prefixed(fail('a non-empty string', raw['name']).problems, '.name'));
  else name = raw['name'];
  // null counts as absent, so that `naija-sup config --json` output ({tcp: "…", http: null}) reads back.
  const given = (['tcp', 'http'] as const).filter((key) => raw[key] !== undefined && raw[key] !== null);
  if (given.length !== 1) {
    problems.push({ at: '', message: `expected exactly one of "tcp" ("host:port") or "http" (a URL), got ${given.length === 0 ? 'neither' : 'both'}` });
  }
  let tcp: string | null = null;
  let http: string | null = null;
  if (given.includes('tcp')) {
    const result = parseHostPort(raw['tcp']);
    if (result.ok) tcp = result.value;
    else problems.push(...prefixed(result.problems, '.tcp'));
  }
  if (given.includes('http')) {
    const result = parseHttpUrl(raw['http']);
    if (result.ok) http = result.value;
    else problems.push(...prefixed(result.problems, '.http'));
  }
  return problems.length > 0 ? { ok: false, problems } : ok({ name, tcp, http });
}

export const dependsOnLeaf = leaf<DependencyInput[], DependencyConfig[]>({
  description: 'Services that must answer before each start of the server: `{"name": "db", "tcp": "localhost:5432"}` (a TCP connect; IPv6 as "[::1]:5432") or `{"name": "search", "http": "http://localhost:9200/"}` (a GET answered 200–399). Each has exactly one of `tcp` and `http`; names are unique. See `dependencies` for the time allowed.',
  typeText: 'object[]',
  jsonSchema: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: { type: 'string', pattern: '\\S' },
        tcp: { type: ['string', 'null'], pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]/]+):\\d{1,5}$' },
        http: { type: ['string', 'null'], pattern: '^https?://\\S+$' },
      },
      required: ['name'],
      additionalProperties: false,
      anyOf: [
        { required: ['tcp'], properties: { tcp: { type: 'string' }, http: { type: 'null' } } },
        { required: ['http'], properties: { http: { type: 'string' }, tcp: { type: 'null' } } },
      ],
    },
  },
  default: value([]),
  envForm: 'JSON',
  fromEnv: decodeJson,
  parse: (raw) => {
    if (!Array.isArray(raw)) return fail(`an array of dependencies like [${DEPENDENCY_EXAMPLE}]`, raw);
    const problems: Problem[] = [];
    const out: DependencyConfig[] = [];
    const firstWithName = new Map<string, number>();
    raw.forEach((item: unknown, i) => {
      const one = parseDependency(item, i);
      if (!one.ok) {
        problems.push(...prefixed(one.problems, `[${i}]`));
        return;
      }
      const earlier = firstWithName.get(one.value.name);
      if (earlier === undefined) firstWithName.set(one.value.name, i);
      else problems.push({ at: `[${i}].name`, message: `expected a name no other dependency has, got ${describeValue(one.value.name)} (dependsOn[${earlier}] has it too)` });
      out.push(one.value);
    });
    return problems.length > 0 ? { ok: false, problems } : ok(out);
  },
  toInput: (list) => list.map((d) => (d.tcp !== null ? { name: d.name, tcp: d.tcp } : { name: d.name, http: d.http })),
});

export const dependenciesSection = section('How long naija-sup waits for `dependsOn` before each start.', {
  timeout: durationLeaf('Time allowed for one attempt to reach a dependency.', 10_000, [secondsEnv('DB_CONNECTION_TIMEOUT')]),
  retries: integerLeaf('Attempts after the first, with backoff, before the start fails naming the dependency that did not answer.', 0, 3, [{ name: 'REDIS_RETRY_ATTEMPTS' }]),
});
