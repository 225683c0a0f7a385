/**
 * naija-sup.schema.json is generated from the schema and must stay in step with it. To regenerate:
 *   UPDATE_SCHEMA=1 npx vitest run test/config/json-schema.test.ts
 * (or, after `npm run build`: node bin/naija-sup.js config --json-schema > naija-sup.schema.json)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildJsonSchema, renderJsonSchema, SCHEMA_ID } from '../../src/config/json-schema.js';
import { configLeaves, type JsonSchema, type ParseContext } from '../../src/config/schema.js';
import { errorOf, resolveWith } from './helpers.js';

const SCHEMA_FILE = fileURLToPath(new URL('../../naija-sup.schema.json', import.meta.url));

describe('naija-sup.schema.json', () => {
  it('is in step with the schema', async () => {
    const expected = renderJsonSchema();
    if (process.env['UPDATE_SCHEMA'] === '1') await writeFile(SCHEMA_FILE, expected);
    const actual = await readFile(SCHEMA_FILE, 'utf8').catch(() => '(naija-sup.schema.json is missing)');
    expect(actual, 'regenerate with: UPDATE_SCHEMA=1 npx vitest run test/config/json-schema.test.ts').toBe(expected);
  });
});

/** A validator for the subset of JSON Schema the generator emits, to check the schema against the resolver. */
function validate(schema: JsonSchema, value: unknown, root: JsonSchema): boolean {
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const target = (root['$defs'] as Record<string, JsonSchema>)[ref.replace('#/$defs/', '')];
    if (target === undefined || !validate(target, value, root)) return false;
  }
  const anyOf = schema['anyOf'] as JsonSchema[] | undefined;
  if (anyOf !== undefined && !anyOf.some((s) => validate(s, value, root))) return false;
  const enumValues = schema['enum'] as unknown[] | undefined;
  if (enumValues !== undefined && !enumValues.includes(value)) return false;
  const type = schema['type'] as string | string[] | undefined;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const matches = types.some((t) => t === actual || (t === 'integer' && Number.isInteger(value)) || (t === 'number' && typeof value === 'number'));
    if (!matches) return false;
  }
  if (typeof value === 'number') {
    if (typeof schema['exclusiveMinimum'] === 'number' && value <= schema['exclusiveMinimum']) return false;
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) return false;
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) return false;
  }
  if (typeof value === 'string') {
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) return false;
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) return false;
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) return false;
    const items = schema['items'] as JsonSchema | undefined;
    if (items !== undefined && !value.every((v) => validate(items, v, root))) return false;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const required = (schema['required'] ?? []) as string[];
    if (required.some((key) => !(key in value))) return false;
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    for (const [key, v] of Object.entries(value)) {
      const sub = properties[key];
      if (sub !== undefined) {
        if (!validate(sub, v, root)) return false;
      } else if (schema['additionalProperties'] === false) {
        return false;
      } else if (typeof schema['additionalProperties'] === 'object' && !validate(schema['additionalProperties'] as JsonSchema, v, root)) {
        return false;
      }
    }
  }
  return true;
}

function accepts(file: unknown): boolean {
  const schema = buildJsonSchema();
  return validate(schema, file, schema);
}

describe('buildJsonSchema', () => {
  const schema = buildJsonSchema();

  it('is a draft 2020-12 schema with an id, a title and no unknown keys', () => {
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema['$id']).toBe(SCHEMA_ID);
    expect(schema['title']).toBe('naija-sup configuration');
    expect(schema['type']).toBe('object');
    expect(schema['additionalProperties']).toBe(false);
  });

  it('describes every key, closes every object, and gives value defaults', () => {
    for (const { path, node } of configLeaves) {
      let property: JsonSchema = schema;
      for (const part of path.split('.')) {
        expect(property['additionalProperties'], `${path}: parent object`).toBe(false);
        property = (property['properties'] as Record<string, JsonSchema>)[part] as JsonSchema;
      }
      expect(typeof property['description'], path).toBe('string');
      if (node.default.kind === 'value' && node.defaultLabel === undefined) expect(property['default'], path).toEqual(node.toInput(node.default.value));
      else expect(property, path).not.toHaveProperty('default');
      if (node.fields !== undefined) expect(property['additionalProperties']).toBe(false);
    }
  });

  // The documented defaults, written out by hand: a changed default must change here too, on
  // purpose. (The test above compares each default with the schema's own; this one does not trust it.)
  const DEFAULTS: Record<string, unknown> = {
    env: {}, redact: [], port: 8000, host: '127.0.0.1', pidFile: null, portFallback: false,
    'health.path': '/', 'health.timeout': '2s', 'health.interval': '250ms', 'health.startupTimeout': '30s',
    'health.log': null, 'health.liveness': null, 'health.readiness': null,
    'restart.policy': 'on-failure', 'restart.initialDelay': '100ms', 'restart.maxDelay': '5m', 'restart.factor': 2,
    'restart.startRetries': 2, 'restart.maxRestarts': null, 'restart.window': '1m', 'restart.minUptime': '10s',
    'restart.standby': false,
    'shutdown.signal': 'SIGTERM', 'shutdown.timeout': '30s',
    'cleanup.killExisting': false, 'cleanup.match': [], 'bcrypt.fallback': false,
    dependsOn: [], 'dependencies.timeout': '10s', 'dependencies.retries': 3,
    'status.port': null, 'status.host': '127.0.0.1', 'status.maxConnections': 64, 'status.token': null,
    'alerts.crashRate': null, 'alerts.notReadyFor': '2m',
    logFormat: null, 'logs.maxSize': '10MB', 'logs.maxFiles': 5, mode: 'direct', instances: 1,
    'proxy.protocol': 'http', 'proxy.queueTimeout': '10s', 'proxy.responseTimeout': '1m', 'proxy.forwardedHeaders': true,
  };
  const NO_DEFAULT = ['name', 'command', 'cwd', 'health.type', 'alerts.webhook'];

  it('gives the documented default of every key, and none where the default depends on the app', () => {
    const found: Record<string, unknown> = {};
    const without: string[] = [];
    for (const { path } of configLeaves) {
      let property: JsonSchema = schema;
      for (const part of path.split('.')) property = (property['properties'] as Record<string, JsonSchema>)[part] as JsonSchema;
      if ('default' in property) found[path] = property['default'];
      else without.push(path);
    }
    expect(found).toEqual(DEFAULTS);
    expect(without).toEqual(NO_DEFAULT);
  });

  it('has defaults that the resolver reads back to the same values', () => {
    const ctx: ParseContext = {
      layer: 'file', configDir: '/srv/app', invocationCwd: '/srv/app', appCwd: '/srv/app',
      packageNameOf: () => null, resolved: () => '/health', isSet: () => false,
    };
    for (const { path, node } of configLeaves) {
      if (node.default.kind !== 'value' || node.defaultLabel !== undefined) continue;
      const input = node.toInput(node.default.value);
      expect(node.parse(input, ctx), path).toEqual({ ok: true, value: node.default.value });
      expect(accepts(nestedFile(path, input)), path).toBe(true);
    }
  });

  const VALID: unknown[] = [
    {},
    { $schema: './naija-sup.schema.json', command: 'node server.js', port: 3000 },
    { command: ['node', 'a.js'], env: { A: 'x', N: 1, B: true }, pidFile: null, cwd: 'api' },
    { health: { type: 'log', log: 'ready', timeout: '5s', interval: 100, liveness: { type: 'tcp', interval: '1.5s', failureThreshold: 2 } } },
    { health: { liveness: null }, restart: { policy: 'never', factor: 1.5, maxRestarts: 0, window: '1h' } },
    { shutdown: { signal: 'TERM', timeout: '10s' }, cleanup: { killExisting: true, match: ['a', '/b/i'] }, bcrypt: { fallback: true } },
    { cleanup: { match: 'start_server.py' } },
    { health: { readiness: true } },
    { health: { readiness: false, startup: { type: 'tcp', startupTimeout: '1m' } } },
    { health: { log: 'ready', readiness: { type: 'log', interval: '1s', successThreshold: 2, failureThreshold: 5, timeout: 100 } } },
    { dependsOn: [{ name: 'db', tcp: 'localhost:5432' }, { name: 'v6', tcp: '[::1]:5432' }, { name: 'es', http: 'https://es:9200/' }, { name: 'r', tcp: 'r:6379', http: null }] },
    { dependencies: { timeout: '5s', retries: 0 }, status: { port: 9100, host: '0.0.0.0' }, alerts: { crashRate: 0.5 } },
    { status: { port: null }, alerts: { crashRate: null }, logFormat: null },
    { logFormat: 'json', logs: { maxSize: '10MB', maxFiles: 1 }, mode: 'handoff' },
    { logs: { maxSize: 1_048_576 } },
    { logs: { maxSize: '1.5gb' } },
  ];

  const INVALID: unknown[] = [
    { port: 0 },
    { port: '8000' },
    { prot: 8000 },
    { health: { timeout: 'fast' } },
    { health: { timeout: -5 } },
    { health: { path: 'health' } },
    { health: { liveness: { timout: '1s' } } },
    { health: { liveness: { failureThreshold: 0 } } },
    { restart: { policy: 'sometimes' } },
    { restart: { factor: 0.5 } },
    { shutdown: { signal: 'SIGKILL' } },
    { env: { A: { nested: true } } },
    { command: [] },
    { command: '' },
    { health: 5 },
    { cleanup: { match: [''] } },
    { health: { readiness: 'on' } },
    { health: { readiness: { successThreshold: 0 } } },
    { health: { readiness: { sucessThreshold: 1 } } },
    { health: { startup: { timout: '1s' } } },
    { health: { startup: { timeout: 'fast' } } },
    { health: { startup: 'tcp' } },
    { dependsOn: { name: 'db', tcp: 'db:5432' } },
    { dependsOn: [{ name: 'db' }] },
    { dependsOn: [{ tcp: 'db:5432' }] },
    { dependsOn: [{ name: 'db', tcp: 'db:5432', http: 'http://db/' }] },
    { dependsOn: [{ name: 'db', tcp: 'db' }] },
    { dependsOn: [{ name: 'db', tcp: '::1:5432' }] },
    { dependsOn: [{ name: 'db', http: 'ftp://db/' }] },
    { dependsOn: [{ name: 'db', tcp: 'db:1', port: 1 }] },
    { dependencies: { retries: -1 } },
    { status: { port: 0 } },
    { status: { port: '9100' } },
    { alerts: { crashRate: 0 } },
    { logFormat: 'text' },
    { logs: { maxSize: '10' } },
    { logs: { maxSize: '10 megabytes' } },
    { logs: { maxSize: 0 } },
    { logs: { maxFiles: 0 } },
    { mode: 'cluster' },
  ];

  it.each(VALID)('accepts what the resolver accepts: %j', (file) => {
    expect(accepts(file)).toBe(true);
    expect(() => resolveWith(file)).not.toThrow();
  });

  it.each(INVALID)('rejects what the resolver rejects: %j', (file) => {
    expect(accepts(file)).toBe(false);
    expect(errorOf(() => resolveWith(file)).code).toBe('E_CONFIG_INVALID');
  });
});

describe('buildJsonSchema: health.startup', () => {
  const health = ((buildJsonSchema()['properties'] as Record<string, JsonSchema>)['health'] as JsonSchema)['properties'] as Record<string, JsonSchema>;
  const startup = health['startup'] as JsonSchema;

  it('is a closed object whose fields are the sibling keys\' file forms, without defaults', () => {
    expect(startup['type']).toBe('object');
    expect(startup['additionalProperties']).toBe(false);
    expect(startup['description']).toMatch(/ARE the startup probe/);
    const fields = startup['properties'] as Record<string, JsonSchema>;
    expect(Object.keys(fields)).toEqual(['type', 'path', 'log', 'interval', 'timeout', 'startupTimeout']);
    for (const [key, field] of Object.entries(fields)) {
      const { description: _sibling, default: _default, ...siblingForm } = health[key] as JsonSchema;
      const { description, ...form } = field;
      expect(form, key).toEqual(siblingForm);
      expect(description).toBe(`Sets \`health.${key}\`, and wins over it.`);
      expect(field).not.toHaveProperty('default');
    }
    // …and those forms, written out (the loop above only compares two outputs of the generator).
    const forms = Object.fromEntries(Object.entries(fields).map(([key, { description: _d, ...form }]) => [key, form]));
    const duration = { $ref: '#/$defs/duration' };
    expect(forms).toEqual({
      type: { enum: ['auto', 'http', 'tcp', 'log'] },
      // A percent-encoded URL path, an optional query (issue 15: health.path accepts only a valid path).
      path: { type: 'string', pattern: "^\\/(?!\\/)(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*(?:\\?(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$" },
      log: { type: ['string', 'null'], minLength: 1 },
      interval: duration,
      timeout: duration,
      startupTimeout: duration,
    });
  });
});

function nestedFile(dotPath: string, value: unknown): unknown {
  return dotPath.split('.').reverse().reduce<unknown>((inner, key) => ({ [key]: inner }), value);
}
