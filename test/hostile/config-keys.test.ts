/**
 * Issue 15, "config keys cannot crash the loader": keys named like Object.prototype members, at
 * any depth, in JSON, YAML and JS configs, are E_CONFIG_INVALID naming the path (exit 2), never an
 * internal error (exit 70); a huge or deep config is an error, not a stack overflow; nothing is
 * polluted. Through run(argv, io), the CLI's own entry point, with the real loaders.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/context.js';
import { ERROR_CODES } from '../../src/errors.js';

let dir: string;

async function configCommand(file: string, content: string, env: NodeJS.ProcessEnv = {}): Promise<{ status: number; err: string }> {
  await writeFile(path.join(dir, file), content);
  let err = '';
  const io: CliIO = { stdout: () => {}, stderr: (t) => { err += t; }, env, cwd: dir, isTTY: false };
  const status = await run(['config', '--config', file], io);
  return { status, err };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'naija-sup-hostile-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => {
  // The point of the whole file: no test above reached Object.prototype.
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
});

const KEYS = ['__proto__', 'toString', 'constructor', 'hasOwnProperty'];
/** Where the hostile key is put, and how the message names that place. */
const PLACES: Array<{ where: string; wrap: (key: string) => string; shown: (key: string) => string }> = [
  { where: 'top level', wrap: (k) => `{"command": "node s.js", ${JSON.stringify(k)}: {"polluted": "yes"}}`, shown: (k) => k },
  { where: 'a section', wrap: (k) => `{"command": "node s.js", "health": {${JSON.stringify(k)}: {"polluted": "yes"}}}`, shown: (k) => `health.${k}` },
  { where: 'a nested section', wrap: (k) => `{"command": "node s.js", "health": {"liveness": {${JSON.stringify(k)}: {"polluted": "yes"}}}}`, shown: (k) => `health.liveness.${k}` },
  { where: 'env', wrap: (k) => `{"command": "node s.js", "env": {${JSON.stringify(k)}: {"polluted": "yes"}}}`, shown: (k) => `env.${k}` },
  { where: 'a dependency', wrap: (k) => `{"command": "node s.js", "dependsOn": [{"name": "db", "tcp": "127.0.0.1:5432", ${JSON.stringify(k)}: {"polluted": "yes"}}]}`, shown: (k) => `dependsOn[0].${k}` },
];

/** The same object as JSON (a .json file), as YAML flow style (YAML reads JSON), and as a JS module. */
const FORMATS: Array<{ ext: string; render: (json: string) => string }> = [
  { ext: 'json', render: (json) => json },
  { ext: 'yaml', render: (json) => `# hostile\n${json}\n` },
  // JSON.parse makes "__proto__" an own key; computed keys do the same in JS (a literal
  // `__proto__:` would set the prototype instead, which structured cloning drops).
  { ext: 'mjs', render: (json) => `const c = JSON.parse(${JSON.stringify(json)});\nexport default c;\n` },
];

describe.each(FORMATS)('a .$ext config', ({ ext, render }) => {
  for (const place of PLACES) {
    it.each(KEYS)(`with %s in ${place.where} is E_CONFIG_INVALID naming its path`, async (key) => {
      const { status, err } = await configCommand(`naija-sup.config.${ext}`, render(place.wrap(key)));
      expect(err).toContain('(E_CONFIG_INVALID)');
      expect(err).toContain(`- ${place.shown(key)}: `);
      expect(err).not.toContain('E_INTERNAL');
      expect(status).toBe(ERROR_CODES.E_CONFIG_INVALID);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  }
});

describe('size and depth', () => {
  it('a config with 200,000 env keys is an error, not a stack overflow', async () => {
    const env: Record<string, string> = {};
    for (let i = 0; i < 200_000; i += 1) env[`K${i}`] = 'v';
    const { status, err } = await configCommand('big.json', JSON.stringify({ command: 'node s.js', env }));
    expect(err).toContain('more than 10000 keys and items');
    expect(status).toBe(ERROR_CODES.E_CONFIG_INVALID);
  });

  it('a config nested 100,000 levels deep is an error naming where', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const { status, err } = await configCommand('deep.json', `{"command": "node s.js", "env": ${deep}}`);
    expect(err).toMatch(/- env(\[0\])+: nested more than 32 levels deep/);
    expect(status).toBe(ERROR_CODES.E_CONFIG_INVALID);
  });

  it('a deep YAML file is a syntax error with its line clipped, not a crash', async () => {
    const { status, err } = await configCommand('deep.yaml', `command: node s.js\nenv: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    expect(err).not.toContain('E_INTERNAL');
    expect(err.length).toBeLessThan(2000);
    expect([ERROR_CODES.E_CONFIG_SYNTAX, ERROR_CODES.E_CONFIG_INVALID]).toContain(status);
  });
});

describe('from the environment', () => {
  it('NAIJA_SUP_ENV with a "__proto__" key is E_CONFIG_INVALID naming env.__proto__', async () => {
    const { status, err } = await configCommand('ok.json', '{"command": "node s.js"}', { NAIJA_SUP_ENV: '{"__proto__": "x", "toString": "fine"}' });
    expect(err).toContain('NAIJA_SUP_ENV (environment): env.__proto__: unknown key');
    expect(status).toBe(ERROR_CODES.E_CONFIG_INVALID);
  });
});
