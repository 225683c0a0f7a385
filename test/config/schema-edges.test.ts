/**
 * The config schema's leaves at their edges, called directly (src/config/schema/*.ts): the
 * environment decoders, the exact messages of near misses, the numeric bounds, and the helpers
 * every message goes through. schema.test.ts and resolve.test.ts test the same rules through
 * whole configurations.
 */
import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS } from '../../src/config/duration.js';
import { redactUrl } from '../../src/config/redact.js';
import { compileMatchPattern, configLeaves, describeValue, isPlainObject, sanitizeName, suggestKey, type LeafNode, type ParseContext } from '../../src/config/schema.js';

const ctx: ParseContext = {
  layer: 'file', configDir: '/srv/app', invocationCwd: '/home/me', appCwd: '/srv/app',
  packageNameOf: () => null, resolved: () => '/health', isSet: () => false,
};

function leafAt(path: string): LeafNode {
  const entry = configLeaves.find((l) => l.path === path);
  if (entry === undefined) throw new Error(`no leaf ${path}`);
  return entry.node as LeafNode;
}

const parse = (path: string, raw: unknown, c: ParseContext = ctx) => leafAt(path).parse(raw, c);
const fromEnv = (path: string, raw: string) => leafAt(path).fromEnv(raw);
const message = (result: { ok: boolean; problems?: { message: string }[] }) => (result.ok ? null : result.problems?.map((p) => p.message).join('; '));

describe('describeValue', () => {
  it('says what was found, in one short piece', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(Symbol('s'))).toBe('Symbol(s)');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(describeValue(circular)).toBe('[object Object]');
    expect(describeValue('x'.repeat(58))).toBe(`"${'x'.repeat(58)}"`); // 60 characters: whole
    expect(describeValue('x'.repeat(59))).toBe(`"${'x'.repeat(56)}…`); // 61: cut to 57 and an ellipsis
  });
});

describe('isPlainObject and suggestKey', () => {
  it('a plain object is one of Object or of no prototype', () => {
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
  });

  it('suggests a key that differs in case first, else the closest within two edits', () => {
    expect(suggestKey('PORT', ['host', 'port'])).toBe('port');
    expect(suggestKey('Prot', ['port', 'PROT'])).toBe('PROT');
    expect(suggestKey('prot', ['host', 'port'])).toBe('port');
    expect(suggestKey('healthh', ['health'])).toBe('health');
    expect(suggestKey('h', ['health'])).toBeUndefined();
    expect(suggestKey('abc', ['xyz'])).toBeUndefined();
    expect(suggestKey('', ['ab'])).toBe('ab');
    expect(suggestKey('', ['abc'])).toBeUndefined();
  });
});

describe('environment decoders', () => {
  it('numbers: signed and decimal, surrounding spaces dropped; anything else stays text for the parser to refuse', () => {
    expect(['5', ' 5 ', '+5', '-3', '1.5'].map((raw) => fromEnv('logs.maxFiles', raw))).toEqual([5, 5, 5, -3, 1.5].map((value) => ({ ok: true, value })));
    for (const raw of ['5x', 'x5', '1.', '.5', '1.5.5', '--5']) expect(fromEnv('logs.maxFiles', raw)).toEqual({ ok: true, value: raw });
  });

  it('booleans in any case, with spaces', () => {
    expect(fromEnv('restart.standby', ' YES ')).toEqual({ ok: true, value: true });
    expect(fromEnv('restart.standby', 'No')).toEqual({ ok: true, value: false });
    expect(message(fromEnv('restart.standby', 'maybe'))).toBe('expected true/false, 1/0 or yes/no, got "maybe"');
  });

  it('durations: digits alone are milliseconds; anything else is parsed as a duration', () => {
    expect(fromEnv('health.timeout', ' 250 ')).toEqual({ ok: true, value: 250 });
    expect(fromEnv('health.timeout', '2.5')).toEqual({ ok: true, value: '2.5' });
    expect(fromEnv('health.timeout', 'x250')).toEqual({ ok: true, value: 'x250' });
    expect(fromEnv('health.timeout', '250x')).toEqual({ ok: true, value: '250x' });
  });

  it('sizes: digits alone are bytes', () => {
    expect(fromEnv('logs.maxSize', ' 1024 ')).toEqual({ ok: true, value: 1024 });
    expect(fromEnv('logs.maxSize', 'x1024')).toEqual({ ok: true, value: 'x1024' });
    expect(fromEnv('logs.maxSize', '1024x')).toEqual({ ok: true, value: '1024x' });
  });

  it('the seconds of GRACEFUL_TIMEOUT and friends: decimals rounded to milliseconds, durations kept, the rest refused', () => {
    const seconds = leafAt('shutdown.timeout').legacyEnv[0];
    expect(seconds?.name).toBe('GRACEFUL_TIMEOUT');
    expect(seconds?.note).toBe('seconds');
    expect(seconds?.decode?.(' 1.5 ')).toEqual({ ok: true, value: 1500 });
    expect(seconds?.decode?.('1.25')).toEqual({ ok: true, value: 1250 });
    expect(seconds?.decode?.('30s')).toEqual({ ok: true, value: '30s' });
    expect(message(seconds?.decode?.('x1') ?? { ok: true })).toBe('expected seconds like "30" or a duration like "30s", got "x1"');
    expect(message(seconds?.decode?.('1x') ?? { ok: true })).toBe('expected seconds like "30" or a duration like "30s", got "1x"');
  });

  it('restart.maxRestarts: "none" or "null" in any case and with spaces is null; a word around them is not', () => {
    for (const raw of ['none', ' NULL ', 'None']) expect(fromEnv('restart.maxRestarts', raw)).toEqual({ ok: true, value: null });
    for (const raw of ['xnone', 'nonex', 'none x']) expect(fromEnv('restart.maxRestarts', raw)).toEqual({ ok: true, value: raw });
  });
});

describe('leaves: near misses and bounds', () => {
  it('a duration without a unit says which units to add, without the spaces', () => {
    expect(message(parse('health.timeout', ' 500 '))).toBe('expected a duration like "5s", got " 500 " (add a unit: "500ms" or "500s")');
    expect(message(parse('health.timeout', '1.5'))).toBe('expected a duration like "5s", got "1.5" (add a unit: "1.5ms" or "1.5s")');
    expect(message(parse('health.timeout', 'x1'))).toBe('expected a duration like "5s", got "x1"');
    expect(message(parse('health.timeout', '1.x'))).toBe('expected a duration like "5s", got "1.x"');
    expect(message(parse('health.timeout', '1 x'))).toBe('expected a duration like "5s", got "1 x"');
  });

  it('a duration may be up to MAX_DURATION_MS, a timer\'s limit', () => {
    expect(parse('health.timeout', MAX_DURATION_MS)).toEqual({ ok: true, value: MAX_DURATION_MS });
    expect(message(parse('health.timeout', MAX_DURATION_MS + 1))).toBe(`expected a duration of at most ${MAX_DURATION_MS}ms, got ${MAX_DURATION_MS + 1}`);
  });

  it('a size without a unit says which units to add, without the spaces', () => {
    expect(message(parse('logs.maxSize', ' 10 '))).toBe('expected a size like "10MB", got " 10 " (add a unit: "10B", "10KB" or "10MB")');
    expect(message(parse('logs.maxSize', '1.5'))).toBe('expected a size like "10MB", got "1.5" (add a unit: "1.5B", "1.5KB" or "1.5MB")');
    const generic = 'expected a size above 0 like "10MB", "512KB" or integer bytes, got';
    expect(message(parse('logs.maxSize', 'x1'))).toBe(`${generic} "x1"`);
    expect(message(parse('logs.maxSize', '1.x'))).toBe(`${generic} "1.x"`);
    expect(message(parse('logs.maxSize', '1 x'))).toBe(`${generic} "1 x"`);
  });

  it('integers at their minimum', () => {
    expect(parse('logs.maxFiles', 1)).toEqual({ ok: true, value: 1 });
    expect(message(parse('logs.maxFiles', 0))).toBe('expected an integer ≥ 1, got 0');
    expect(message(parse('logs.maxFiles', 1.5))).toBe('expected an integer ≥ 1, got 1.5');
    expect(message(parse('logs.maxFiles', '2'))).toBe('expected an integer ≥ 1, got "2"');
    expect(parse('restart.maxRestarts', 0)).toEqual({ ok: true, value: 0 });
    expect(parse('restart.maxRestarts', null)).toEqual({ ok: true, value: null });
    for (const raw of [-1, 1.5, '3']) expect(parse('restart.maxRestarts', raw).ok).toBe(false);
  });

  it('ports are whole numbers 1–65535', () => {
    for (const raw of [1, 65535]) expect(parse('port', raw)).toEqual({ ok: true, value: raw });
    for (const raw of [0, 65536, 80.5, '80']) expect(parse('port', raw).ok).toBe(false);
  });

  it('an HTTP path starts with "/" and has no spaces', () => {
    expect(parse('health.path', '/')).toEqual({ ok: true, value: '/' });
    for (const raw of ['health', '/a b', 5, '']) expect(parse('health.path', raw).ok).toBe(false);
  });

  it('numbers that must be finite and positive', () => {
    expect(parse('restart.factor', 1)).toEqual({ ok: true, value: 1 });
    for (const raw of [0.5, Infinity, '2', Number.NaN]) expect(parse('restart.factor', raw).ok).toBe(false);
    expect(parse('alerts.crashRate', 0.1)).toEqual({ ok: true, value: 0.1 });
    expect(parse('alerts.crashRate', null)).toEqual({ ok: true, value: null });
    for (const raw of [0, Infinity, '1', -1]) expect(parse('alerts.crashRate', raw).ok).toBe(false);
  });

  it('a size must be more than 0 bytes', () => {
    expect(parse('logs.maxSize', 1)).toEqual({ ok: true, value: 1 });
    expect(parse('logs.maxSize', 0).ok).toBe(false);
  });
});

describe('process keys', () => {
  it('command: an argument with a NUL byte is refused where it is', () => {
    expect(parse('command', ['node', 'a\0b'])).toEqual({
      ok: false,
      problems: [{ at: '[1]', message: 'expected an argument without NUL bytes (no program can receive one), got one with a NUL byte' }],
    });
    expect(message(parse('command', 'node "unclosed'))).toMatch(/^expected a command line, got "node \\"unclosed"/);
    expect(parse('command', '""').ok).toBe(false);
  });

  it('env: names with "=" or NUL, values with NUL, and numbers that are not finite are refused', () => {
    const result = parse('env', { 'A=B': 'x', 'C\0': 'y', D: 'z\0', E: Number.NaN, F: Infinity, G: 1.5, H: false });
    expect(result.ok).toBe(false);
    expect(message(result)).toBe([
      'expected a variable name without "=", got this name',
      'expected a variable name without "=", got this name',
      'expected a value without NUL bytes (no process environment can hold one), got a value with one',
      'expected a string, number or boolean, got null',
      'expected a string, number or boolean, got null',
    ].join('; '));
    expect(parse('env', { '': 'x' }).ok).toBe(false);
    expect(parse('env', { G: 1.5, H: false })).toEqual({ ok: true, value: { G: '1.5', H: 'false' } });
  });

  it('cwd: relative to the config file\'s folder in a file, to the current directory elsewhere', () => {
    expect(parse('cwd', 'api')).toEqual({ ok: true, value: '/srv/app/api' });
    expect(parse('cwd', 'api', { ...ctx, configDir: null })).toEqual({ ok: true, value: '/home/me/api' });
    expect(parse('cwd', 'api', { ...ctx, layer: 'env' })).toEqual({ ok: true, value: '/home/me/api' });
    expect(parse('cwd', 'api', { ...ctx, layer: 'flag' })).toEqual({ ok: true, value: '/home/me/api' });
    expect(parse('cwd', ' ').ok).toBe(false);
  });

  it('pidFile: a path or null, never blank', () => {
    expect(parse('pidFile', ' ').ok).toBe(false);
    expect(parse('pidFile', null)).toEqual({ ok: true, value: null });
  });
});

describe('dependencies', () => {
  it('an http URL: no spaces, a scheme, and http or https', () => {
    expect(parse('dependsOn', [{ name: 'es', http: 'http://es:9200/' }]).ok).toBe(true);
    for (const http of ['', ' http://es:9200/', 'http://es:9200/ x', 'x http://es/']) {
      expect(parse('dependsOn', [{ name: 'es', http }]).ok, JSON.stringify(http)).toBe(false);
    }
    expect(message(parse('dependsOn', [{ name: 'es', http: 'es:9200' }]))).toContain('(add the scheme: "http://es:9200")');
  });

  it('host:port near misses are named', () => {
    const note = (tcp: string) => message(parse('dependsOn', [{ name: 'db', tcp }]));
    expect(note('[::1]x')).not.toContain('(');
    expect(note('[::1]:')).toContain('(the port is missing)');
    expect(note('[::1]:99999')).toContain('(the port must be 1–65535)');
    expect(note('db:99999')).toContain('(the port must be 1–65535)');
    expect(note('db:5x')).not.toContain('(the port');
    expect(note('db:x5')).not.toContain('(the port');
  });
});

describe('health.liveness: its file form', () => {
  it('prints durations the way a file writes them, and null as null', () => {
    const node = leafAt('health.liveness');
    expect(node.toInput(null)).toBeNull();
    expect(node.toInput({ type: 'http', path: '/live', interval: 5000, timeout: 1500, failureThreshold: 3 })).toEqual({
      type: 'http', path: '/live', interval: '5s', timeout: '1.5s', failureThreshold: 3,
    });
  });
});

describe('cleanup.match patterns and URL redaction', () => {
  it('only a whole "/source/flags" is a regular expression', () => {
    expect(compileMatchPattern('/uvicorn .*:app/i')('UVICORN main:app')).toBe(true);
    expect(compileMatchPattern('x/uvicorn/')('x/uvicorn/')).toBe(true);
    expect(compileMatchPattern('x/uvicorn/')('uvicorn')).toBe(false);
    expect(compileMatchPattern('/uvicorn/x')('/uvicorn/x')).toBe(true);
    expect(compileMatchPattern('/uvicorn/x')('uvicorn')).toBe(false);
  });

  it('redacts the whole userinfo of a URL (a user name can be a token), wherever the URL is in the text', () => {
    expect(redactUrl('http://user:secret@db:5984/')).toBe('http://[redacted]@db:5984/');
    expect(redactUrl('see http://user:secret@db/')).toBe('see http://[redacted]@db/');
    expect(redactUrl('no url here: user:secret@db')).toBe('no url here: user:secret@db');
  });
});

describe('more edges', () => {
  it('decimals with more than one digit, from the environment and in files', () => {
    expect(fromEnv('restart.factor', '1.25')).toEqual({ ok: true, value: 1.25 });
    expect(message(parse('health.timeout', '1.25'))).toBe('expected a duration like "5s", got "1.25" (add a unit: "1.25ms" or "1.25s")');
    expect(message(parse('logs.maxSize', '1.25'))).toBe('expected a size like "10MB", got "1.25" (add a unit: "1.25B", "1.25KB" or "1.25MB")');
    // Only a number is "too long"; a string that reads as a big number is just not a duration.
    expect(message(parse('health.timeout', '1e10'))).toBe('expected a duration like "5s", got "1e10"');
  });

  it('health.type defaults to "http" when health.path is set, else "auto"', () => {
    const node = leafAt('health.type');
    if (node.default.kind !== 'computed') throw new Error('health.type has a computed default');
    expect(node.default.compute({ ...ctx, isSet: (key) => key === 'health.path' })).toBe('http');
    expect(node.default.compute({ ...ctx, isSet: () => false })).toBe('auto');
  });

  it('NAIJA_SUP_HEALTH_READINESS takes a switch word with spaces, else JSON', () => {
    expect(fromEnv('health.readiness', ' Yes ')).toEqual({ ok: true, value: true });
    expect(fromEnv('health.readiness', '{"interval": "1s"}')).toEqual({ ok: true, value: { interval: '1s' } });
  });

  it('dependsOn in file form: each dependency with its one address', () => {
    expect(leafAt('dependsOn').toInput([{ name: 'db', tcp: 'db:5432', http: null }, { name: 'es', tcp: null, http: 'http://es/' }])).toEqual([
      { name: 'db', tcp: 'db:5432' }, { name: 'es', http: 'http://es/' },
    ]);
  });

  it('an http URL that is empty, not text, or has its scheme late gets the message that fits', () => {
    const expected = 'expected an http:// or https:// URL like "http://localhost:9200/", got';
    const http = (value: unknown) => message(parse('dependsOn', [{ name: 'es', http: value }]));
    expect(http('')).toBe(`${expected} ""`);
    expect(http(5)).toBe(`${expected} 5`);
    expect(http('1http://es/')).toBe(`${expected} "1http://es/" (add the scheme: "http://1http://es/")`);
    expect(http('http://es/ x')).toBe(`${expected} "http://es/ x"`);
  });

  it('names: runs of odd characters become one dash; the folder names an app without a package name', () => {
    expect(sanitizeName('My  Cool--App!')).toBe('my-cool--app');
    const node = leafAt('name');
    if (node.default.kind !== 'computed') throw new Error('name has a computed default');
    expect(node.default.compute({ ...ctx, appCwd: '/srv/Billing API', packageNameOf: () => null })).toBe('billing-api');
    expect(node.default.compute({ ...ctx, appCwd: '/srv/x', packageNameOf: () => '@acme/orders' })).toBe('acme-orders');
  });
});
