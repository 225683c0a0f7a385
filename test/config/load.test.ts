/**
 * Finding and reading config files for real, in temporary directories: each supported kind, the
 * search order and its limits, --config, syntax errors with file and line, and re-reading a
 * changed file (SIGHUP reload).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, readPackageName } from '../../src/config/load.js';
import { NaijaSupError } from '../../src/errors.js';
import { httpsReceiver } from '../helpers/https-receiver.js';
import { fixture } from '../helpers/processes.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'naija-sup-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

async function loadError(options: Partial<Parameters<typeof loadConfig>[0]> = {}): Promise<NaijaSupError> {
  try {
    await loadConfig({ cwd: dir, requireCommand: false, ...options });
  } catch (error) {
    if (error instanceof NaijaSupError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a NaijaSupError');
}

describe('discovery', () => {
  const KINDS: Array<[string, (port: number) => string]> = [
    ['.naija-suprc', (port) => `{"port": ${port}, "command": "node a.js"}`],
    ['.naija-suprc.json', (port) => `{"port": ${port}, "command": "node a.js"}`],
    ['.naija-suprc.yaml', (port) => `port: ${port}\ncommand: node a.js\n`],
    ['.naija-suprc.yml', (port) => `port: ${port}\ncommand: [node, a.js]\n`],
    ['.naija-suprc.js', (port) => `module.exports = { port: ${port}, command: 'node a.js' };\n`],
    ['.naija-suprc.mjs', (port) => `export default { port: ${port}, command: 'node a.js' };\n`],
    ['.naija-suprc.cjs', (port) => `module.exports = { port: ${port}, command: 'node a.js' };\n`],
    ['naija-sup.config.js', (port) => `module.exports = { port: ${port}, command: 'node a.js' };\n`],
    ['naija-sup.config.mjs', (port) => `const port = ${port};\nexport default { port, command: ['node', 'a.js'] };\n`],
    ['naija-sup.config.cjs', (port) => `module.exports = { port: ${port}, command: 'node a.js' };\n`],
    ['naija-sup.config.ts', (port) => `const port: number = ${port};\ninterface C { port: number; command: string }\nconst config: C = { port, command: 'node a.js' };\nexport default config;\n`],
    ['naija-sup.config.json', (port) => `{"port": ${port}, "command": "node a.js"}`],
    ['naija-sup.config.yaml', (port) => `port: ${port}\ncommand: node a.js\n`],
  ];

  it.each(KINDS)('finds %s', async (name, content) => {
    const file = await write(name, content(4321));
    const loaded = await loadConfig({ cwd: dir, env: {}, requireCommand: true });
    expect(loaded.filepath).toBe(file);
    expect(loaded.config.port).toBe(4321);
    expect(loaded.config.command).toEqual(['node', 'a.js']);
    expect(loaded.config.cwd).toBe(dir);
    expect(loaded.sources['port']).toEqual({ kind: 'file', file });
  });

  it('loads an ES module .js config in a "type": "module" package', async () => {
    await write('package.json', JSON.stringify({ name: 'esm-app', type: 'module' }));
    const file = await write('naija-sup.config.js', "export default { port: 4400, command: 'node a.js' };\n");
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.filepath).toBe(file);
    expect(loaded.config.port).toBe(4400);
    expect(loaded.config.name).toBe('esm-app');
  });

  it('loads what a JS config imports, relative to it', async () => {
    await write('ports.mjs', 'export const port = 4500;\n');
    await write('naija-sup.config.mjs', "import { port } from './ports.mjs';\nexport default { port };\n");
    expect((await loadConfig({ cwd: dir, requireCommand: false })).config.port).toBe(4500);
  });

  it('finds the "naija-sup" key in package.json, and takes the default name from it', async () => {
    const file = await write('package.json', JSON.stringify({ name: '@acme/Orders-API', 'naija-sup': { port: 4000, command: 'node server.js' } }));
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.filepath).toBe(file);
    expect(loaded.config.port).toBe(4000);
    expect(loaded.config.name).toBe('acme-orders-api');
  });

  it('skips a package.json without the key and goes on searching', async () => {
    await write('package.json', JSON.stringify({ name: 'shop' }));
    const file = await write('naija-sup.config.json', '{"command": "node a.js"}');
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.filepath).toBe(file);
    expect(loaded.config.name).toBe('shop');
  });

  it('takes the first file in search order', async () => {
    await write('naija-sup.config.json', '{"port": 2}');
    const rc = await write('.naija-suprc.json', '{"port": 1}');
    const loaded = await loadConfig({ cwd: dir, requireCommand: false });
    expect(loaded.filepath).toBe(rc);
    expect(loaded.config.port).toBe(1);
  });

  it('skips an empty file', async () => {
    await write('.naija-suprc.json', '  \n');
    const file = await write('naija-sup.config.yaml', 'port: 7\n');
    expect((await loadConfig({ cwd: dir, requireCommand: false })).filepath).toBe(file);
  });

  it('searches only the directory it runs in, never its parents', async () => {
    await write('.naija-suprc.json', '{"port": 1}');
    const child = path.join(dir, 'child');
    await mkdir(child);
    const loaded = await loadConfig({ cwd: child, requireCommand: false });
    expect(loaded.filepath).toBeNull();
    expect(loaded.config.port).toBe(8000);
    expect(loaded.config.name).toBe('child');
  });

  it('needs no file when a command is given', async () => {
    const loaded = await loadConfig({ cwd: dir, flags: { command: ['node', 'server.js'] }, env: { PORT: '3100' } });
    expect(loaded.filepath).toBeNull();
    expect(loaded.config.command).toEqual(['node', 'server.js']);
    expect(loaded.config.port).toBe(3100);
    expect(loaded.config.name).toBe(path.basename(dir).toLowerCase());
  });

  it('is E_NO_COMMAND with no file and no command', async () => {
    const error = await loadError({ requireCommand: true });
    expect(error.code).toBe('E_NO_COMMAND');
    expect(error.fix).toContain('naija-sup start -- node server.js');
    expect(error.fix).toContain('.naija-suprc.json');
  });

  it('is E_CONFIG_INVALID, listing every problem, for a found file with bad values', async () => {
    await write('.naija-suprc.yaml', 'port: 0\nhealth:\n  timeout: fast\n  timout: 1s\n');
    const error = await loadError();
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.message).toBe('invalid configuration (.naija-suprc.yaml): 3 problems');
    expect(error.details).toEqual([
      'health.timout: unknown key; did you mean "health.timeout"?',
      'port: expected a port 1–65535, got 0',
      'health.timeout: expected a duration like "5s", got "fast"',
    ]);
  });
});

describe('--config', () => {
  it('loads the named file, relative to cwd, instead of searching', async () => {
    await write('.naija-suprc.json', '{"port": 1}');
    const file = await write('config/staging.yaml', 'port: 2\ncwd: ../app\npidFile: run/api.pid\n');
    const loaded = await loadConfig({ cwd: dir, configPath: 'config/staging.yaml', requireCommand: false });
    expect(loaded.filepath).toBe(file);
    expect(loaded.config.port).toBe(2);
    // cwd is relative to the file's folder; pidFile to cwd.
    expect(loaded.config.cwd).toBe(path.join(dir, 'app'));
    expect(loaded.config.pidFile).toBe(path.join(dir, 'app', 'run', 'api.pid'));
  });

  it('reads the "naija-sup" key of a package.json it names', async () => {
    await write('sub/package.json', JSON.stringify({ name: 'sub', 'naija-sup': { port: 3 } }));
    expect((await loadConfig({ cwd: dir, configPath: 'sub/package.json', requireCommand: false })).config.port).toBe(3);
  });

  it('is E_CONFIG_NOT_FOUND with a fix when the file is missing', async () => {
    const error = await loadError({ configPath: 'nope.json' });
    expect(error.code).toBe('E_CONFIG_NOT_FOUND');
    expect(error.exitStatus).toBe(2);
    expect(error.message).toBe('config file nope.json does not exist');
    expect(error.fix).toContain('--config');
    expect(error.fix).toContain('.naija-suprc.json');
  });

  it('is E_CONFIG_NOT_FOUND for a directory, and for a package.json without the key', async () => {
    await mkdir(path.join(dir, 'conf'));
    expect((await loadError({ configPath: 'conf' })).message).toBe('config file conf is not a file');
    await write('package.json', '{"name": "x"}');
    const error = await loadError({ configPath: 'package.json' });
    expect(error.code).toBe('E_CONFIG_NOT_FOUND');
    expect(error.message).toBe('config file package.json has no "naija-sup" key');
  });

  it('refuses a file type it cannot read', async () => {
    await write('naija-sup.toml', 'port = 1');
    const error = await loadError({ configPath: 'naija-sup.toml' });
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.message).toContain('".toml" is not a config file type');
  });
});

describe('syntax errors name the file and the line', () => {
  it.each([
    ['.naija-suprc.json', '{\n  "port": 8000,\n  "host": "x"\n  "command": "node a.js"\n}\n', 4],
    ['naija-sup.config.json', '{\n  "port": 8000,\n}\n', 3],
    ['.naija-suprc.json', '{\n  "port": 8000,\n  "host": tru\n}\n', 3],
    ['.naija-suprc.json', '{\n  "port": 8000,\n  "host": "x"', 3],
    ['.naija-suprc.yaml', 'port: 8000\nhealth:\n  path: /x\n   bad: : 1\n', 3],
    ['.naija-suprc.yml', 'port: 1\nport: 2\n', 2],
    ['.naija-suprc', 'port: [1, 2\nhost: x\n', 2],
    ['.naija-suprc.mjs', 'export default {\n  port: 8000,\n  host: \n};\n', 4],
    ['naija-sup.config.cjs', 'module.exports = {\n  port: 8000,\n  host: \n};\n', 4],
    ['naija-sup.config.js', 'const a = 1;\nexport default {\n  port: 8000 8001,\n};\n', 3],
    ['naija-sup.config.ts', 'const port: number = 8000;\nexport default {\n  port,\n  host: ,\n};\n', 4],
  ])('%s', async (name, content, line) => {
    await write(name, content);
    const error = await loadError();
    expect(error.code).toBe('E_CONFIG_SYNTAX');
    expect(error.exitStatus).toBe(2);
    expect(error.message).toMatch(new RegExp(`^syntax error in ${name.replaceAll('.', '\\.')} at line ${line}: .+`));
    expect(error.fix).toContain(`${name} at line ${line}`);
    expect(error.details[0]).toMatch(new RegExp(`^${name.replaceAll('.', '\\.')}:${line}: `));
  });

  it('reports an error thrown while a JS config runs, with its line', async () => {
    await write('naija-sup.config.mjs', 'const port = 8000;\nexport default {\n  port: missingVariable,\n};\n');
    const error = await loadError();
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.message).toBe('could not load naija-sup.config.mjs at line 3: ReferenceError: missingVariable is not defined');
  });

  it('reports a JS config whose default export is not plain data', async () => {
    await write('naija-sup.config.mjs', 'export default { port: 1, onStart() {} };\n');
    const error = await loadError();
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.message).toMatch(/^could not load naija-sup\.config\.mjs: its default export is not plain data/);
  });

  it('reports a JS config that exits while loading, and carries on', async () => {
    await write('naija-sup.config.mjs', 'process.exit(3);\n');
    const error = await loadError();
    expect(error.message).toBe('could not load naija-sup.config.mjs: it ended the loading thread (exit code 3)');
  });

  it('reports a JS config without a default export', async () => {
    await write('naija-sup.config.mjs', 'export const port = 8000;\n');
    const error = await loadError();
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.message).toBe('could not load naija-sup.config.mjs: it has no default export');
    expect(error.fix).toContain('export default');
  });
});

describe('re-reading', () => {
  it.each(['naija-sup.config.mjs', 'naija-sup.config.cjs', '.naija-suprc.json', 'naija-sup.config.ts'])('sees the new content of %s on the next load', async (name) => {
    const body = (port: number) => (name.endsWith('json') ? `{"port": ${port}}` : name.endsWith('cjs') ? `module.exports = { port: ${port} };` : `export default { port: ${port} };`);
    await write(name, body(1111));
    expect((await loadConfig({ cwd: dir, requireCommand: false })).config.port).toBe(1111);
    await write(name, body(2222));
    expect((await loadConfig({ cwd: dir, requireCommand: false })).config.port).toBe(2222);
  });

  it('sees a changed module that the config imports', async () => {
    await write('ports.mjs', 'export const port = 1;\n');
    await write('naija-sup.config.mjs', "import { port } from './ports.mjs';\nexport default { port };\n");
    expect((await loadConfig({ cwd: dir, requireCommand: false })).config.port).toBe(1);
    await write('ports.mjs', 'export const port = 2;\n');
    expect((await loadConfig({ cwd: dir, requireCommand: false })).config.port).toBe(2);
  });

  it('leaves no compiled file behind after loading a .ts config', async () => {
    await write('naija-sup.config.ts', 'export default { port: 1 as number };\n');
    await loadConfig({ cwd: dir, requireCommand: false });
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['naija-sup.config.ts']);
  });
});

describe('a config that is code', () => {
  it('may come through a data file that $imports it', async () => {
    await write('base.mjs', 'export default { port: 4321 };\n');
    await write('.naija-suprc.json', '{"$import": "./base.mjs", "command": "node a.js"}');
    expect((await loadConfig({ cwd: dir })).config.port).toBe(4321);
  });

  /** Runs `body` with this process as a supervisor that holds NODE_EXTRA_CA_CERTS (`held`) for its server. */
  async function holding<T>(held: string, body: () => Promise<T>): Promise<T> {
    const saved = { held: process.env['NAIJA_SUP_EXTRA_CA_CERTS'], extra: process.env['NODE_EXTRA_CA_CERTS'] };
    try {
      delete process.env['NODE_EXTRA_CA_CERTS'];
      process.env['NAIJA_SUP_EXTRA_CA_CERTS'] = held;
      return await body();
    } finally {
      for (const [name, value] of [['NAIJA_SUP_EXTRA_CA_CERTS', saved.held], ['NODE_EXTRA_CA_CERTS', saved.extra]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  it('reads NODE_EXTRA_CA_CERTS even where a supervisor holds it for its server', async () => {
    await write('naija-sup.config.mjs', "export default { name: process.env.NODE_EXTRA_CA_CERTS === '/etc/held.pem' && process.env.NAIJA_SUP_EXTRA_CA_CERTS === undefined ? 'seen' : 'unseen' };\n");
    expect(await holding('/etc/held.pem', async () => (await loadConfig({ cwd: dir, requireCommand: false })).config.name)).toBe('seen');
  });

  it('trusts the held file for https and fetch as it loads, as a process that read it would', async () => {
    const receiver = await httpsReceiver();
    try {
      // Only test/fixtures/tls/cert.pem makes the receiver trusted; the answer is the status or the error's code.
      await write('naija-sup.config.mjs', `import { get } from 'node:https';
const url = ${JSON.stringify(receiver.url)};
const request = (options) => new Promise((resolve) => get(url, options, (r) => { r.resume(); resolve(String(r.statusCode)); }).on('error', (e) => resolve(e.code)));
// ca: null is no ca to node: the default store, with the file.
const [viaHttps, caNull] = [await request({}), await request({ ca: null, agent: false })];
let viaFetch;
try { viaFetch = String((await fetch(url)).status); } catch (e) { viaFetch = e.cause?.code ?? e.message; }
export default { name: 'tls', env: { VIA_HTTPS: viaHttps, CA_NULL: caNull, VIA_FETCH: viaFetch } };
`);
      const load = async (): Promise<Record<string, string>> => (await loadConfig({ cwd: dir, requireCommand: false })).config.env;
      expect(await holding(fixture('tls/cert.pem'), load)).toMatchObject({ VIA_HTTPS: '200', CA_NULL: '200', VIA_FETCH: '200' });
      // A file that cannot be read adds nothing, as node goes on without it.
      const untrusted = 'DEPTH_ZERO_SELF_SIGNED_CERT';
      expect(await holding(path.join(dir, 'missing.pem'), load)).toMatchObject({ VIA_HTTPS: untrusted, CA_NULL: untrusted, VIA_FETCH: untrusted });
    } finally {
      await receiver.close();
    }
  });
});

describe('readPackageName', () => {
  it('reads name, or null when there is no usable package.json', async () => {
    expect(readPackageName(dir)).toBeNull();
    await write('package.json', '{"name": 5}');
    expect(readPackageName(dir)).toBeNull();
    await write('package.json', '{broken');
    expect(readPackageName(dir)).toBeNull();
    await write('package.json', '{"name": "api"}');
    expect(readPackageName(dir)).toBe('api');
  });
});
