/**
 * doctor's `express` check on real folders: an app without express is skipped; an Express app
 * whose source never mentions expressServerOptions gets the warning and its fix; one that uses it
 * anywhere in its own source is ok; node_modules does not count; the nearest package.json above
 * the app's cwd is the app's; the bundled example passes through the whole doctor.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expressPackage, findOptionsUse } from '../../src/doctor/checks/express.js';
import { doctorOne, removeTemps, ROOT, tempDir, writeJson } from './helpers.js';

afterEach(() => {
  removeTemps();
});

const SERVER = "import http from 'node:http';\nimport { app } from './app.js';\nhttp.createServer(app).listen(Number(process.env.PORT));\n";

function expressApp(files: Record<string, string>, deps: Record<string, string> = { express: '^5.1.0' }): string {
  const dir = tempDir('naija-sup-doctor-express-');
  writeJson(join(dir, 'package.json'), { name: 'api', type: 'module', dependencies: deps });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  writeJson(join(dir, 'naija-sup.config.json'), { command: ['node', 'src/server.js'], port: 18999 });
  return dir;
}

describe('doctor: express', () => {
  it('skips an app whose package.json has no express, and a folder with none', async () => {
    const fastify = expressApp({ 'src/server.js': SERVER }, { fastify: '^5.0.0' });
    expect(await doctorOne(fastify, 'express')).toMatchObject({ status: 'skip', summary: 'not an Express app (no express in its package.json)' });
    expect(expressPackage(tempDir())).toBeNull();
  });

  it('warns about an Express server built without expressServerOptions, and says how to build it', async () => {
    const dir = expressApp({ 'src/server.js': SERVER, 'src/app.js': "import express from 'express';\nexport const app = express();\n" });
    const result = await doctorOne(dir, 'express');
    expect(result).toMatchObject({ status: 'warn', summary: expect.stringMatching(/^Express changes the prototype of every request/) });
    expect(result.fix).toContain('http.createServer(expressServerOptions(app), app)');
    expect(result.fix).toContain("from 'naija-sup/node'");
    expect(result.details[0]).toBe(`express ^5.1.0 in ${join(dir, 'package.json')}; no source file under ${dir} mentions expressServerOptions`);
  });

  it('is ok when any source file of the app uses it; node_modules does not count', async () => {
    const only = expressApp({ 'src/server.js': SERVER, 'node_modules/naija-sup/dist/node/express.js': 'export function expressServerOptions() {}\n' });
    expect((await doctorOne(only, 'express')).status).toBe('warn');
    const uses = expressApp({ 'src/server.js': SERVER, 'src/http/listen.ts': "import { expressServerOptions } from 'naija-sup/node';\n" });
    expect(await doctorOne(uses, 'express')).toMatchObject({ status: 'ok', summary: `the server is built with expressServerOptions (${join('src', 'http', 'listen.ts')})` });
  });

  it("takes the nearest package.json above the app's cwd, and stops at the first one it finds", () => {
    const dir = expressApp({ 'services/api/server.js': SERVER });
    expect(expressPackage(join(dir, 'services', 'api'))).toEqual({ file: join(dir, 'package.json'), version: '^5.1.0' });
    writeJson(join(dir, 'services', 'api', 'package.json'), { name: 'inner', dependencies: { koa: '^2.0.0' } });
    expect(expressPackage(join(dir, 'services', 'api'))).toBeNull();
  });

  it('looks at a bounded number of entries, of any kind, and says when it stopped there', () => {
    const dir = expressApp({});
    for (let i = 0; i < 50; i += 1) writeFileSync(join(dir, `f${String(i).padStart(4, '0')}.json`), '{}');
    writeFileSync(join(dir, 'zz-last.js'), 'expressServerOptions');
    expect(findOptionsUse(dir, 40)).toEqual({ file: null, truncated: true });
    expect(findOptionsUse(dir, 100)).toEqual({ file: join(dir, 'zz-last.js'), truncated: false });
  });

  it('skips an app that is not Node, and never takes a parent package.json over an unreadable nearest one', async () => {
    // A Python service inside a repository whose root package.json lists express.
    const root = expressApp({});
    const service = join(root, 'services', 'py');
    mkdirSync(service, { recursive: true });
    writeJson(join(service, 'naija-sup.config.json'), { command: ['/usr/bin/python3', 'app.py'], port: 18998 });
    expect(await doctorOne(service, 'express')).toMatchObject({ status: 'skip', summary: 'not a Node app' });
    // A Node service whose own package.json does not parse: its own, unreadable, not the root's.
    const node = join(root, 'services', 'js');
    mkdirSync(node, { recursive: true });
    writeFileSync(join(node, 'package.json'), '\uFEFF{ "dependencies": ');
    expect(expressPackage(node)).toBeNull();
  });

  it('passes on the bundled example, which builds its server with the options', async () => {
    const result = await doctorOne(join(ROOT, 'examples', 'express-api'), 'express');
    expect(result).toMatchObject({ status: 'ok', summary: `the server is built with expressServerOptions (${join('src', 'server.js')})` });
  });
});
