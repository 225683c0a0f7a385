/**
 * `naija-sup import pm2 <ecosystem.config.js|json> [--app NAME] [-o FILE]`: writes a naija-sup config
 * (JSON) from a PM2 ecosystem file, and lists on stderr what could not be carried over and why.
 * The conversion is src/import/pm2.ts; this loads the file the way PM2 does: JSON, a CommonJS
 * `module.exports = { apps: [...] }` (whatever the package's "type"), or an ES module's default export.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NaijaSupError } from '../../errors.js';
import { importPm2App, type Pm2App } from '../../import/pm2.js';
import type { CliIO } from '../context.js';
import { importModule } from '../../import-module.js';

async function loadEcosystem(file: string): Promise<unknown> {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text) as unknown;
  if (/^\s*export\s+default\b/m.test(text)) return (await importModule<{ default: unknown }>(pathToFileURL(file).href)).default;
  // CommonJS, as PM2 loads it, even in a "type": "module" package (where import() would refuse it).
  const module = { exports: {} as unknown };
  const run = new Function('module', 'exports', 'require', '__filename', '__dirname', text) as (...a: unknown[]) => void;
  run(module, module.exports, createRequire(file), file, dirname(file));
  return module.exports;
}

function appsOf(content: unknown, file: string): Pm2App[] {
  const apps = Array.isArray(content) ? content : (content as { apps?: unknown } | null)?.apps;
  const list = Array.isArray(apps) ? apps : content !== null && typeof content === 'object' && 'script' in content ? [content] : null;
  if (list === null || list.length === 0 || !list.every((a) => a !== null && typeof a === 'object')) {
    throw new NaijaSupError('E_CONFIG_INVALID', `${file} has no PM2 apps`, { fix: 'an ecosystem file exports { apps: [{ name, script, … }] }' });
  }
  return list as Pm2App[];
}

export async function importCommand(io: CliIO, tool: string, file: string, opts: { output?: string; app?: string }): Promise<number> {
  if (tool !== 'pm2') throw new NaijaSupError('E_USAGE', `cannot import from "${tool}"`, { fix: 'naija-sup import pm2 ecosystem.config.js' });
  const path = resolve(io.cwd, file);
  if (!existsSync(path)) throw new NaijaSupError('E_CONFIG_NOT_FOUND', `${file} does not exist`, { fix: 'pass the path of the PM2 ecosystem file (ecosystem.config.js or .json)' });
  let content: unknown;
  try {
    content = await loadEcosystem(path);
  } catch (error) {
    throw new NaijaSupError('E_CONFIG_SYNTAX', `${file} does not load: ${error instanceof Error ? error.message : String(error)}`, { fix: `fix ${file} so that \`pm2 start ${file}\` would accept it` });
  }
  const apps = appsOf(content, file);
  const names = apps.map((a, i) => (typeof a['name'] === 'string' ? a['name'] : `#${i + 1}`));
  let app = apps[0] as Pm2App;
  if (opts.app !== undefined) {
    const i = names.indexOf(opts.app);
    if (i < 0) throw new NaijaSupError('E_USAGE', `${file} has no app named "${opts.app}"`, { fix: `use one of: ${names.join(', ')}` });
    app = apps[i] as Pm2App;
  } else if (apps.length > 1) {
    throw new NaijaSupError('E_USAGE', `${file} has ${apps.length} apps (${names.join(', ')}); a naija-sup config is one server`, {
      fix: `import them one at a time: naija-sup import pm2 ${file} --app ${names[0] ?? ''} -o naija-sup.config.json`,
    });
  }
  const result = importPm2App(app);
  const text = `${JSON.stringify(result.config, null, 2)}\n`;
  if (opts.output === undefined) io.stdout(text);
  else writeFileSync(resolve(io.cwd, opts.output), text);
  const lines = [
    ...(opts.output === undefined ? [] : [`wrote ${opts.output} from ${file}${apps.length > 1 ? ` (app ${opts.app ?? ''})` : ''}`]),
    ...(result.notCarried.length > 0 ? ['not carried over:', ...result.notCarried.map((l) => `  ${l}`)] : []),
    ...(result.notes.length > 0 ? ['carried over with a different meaning:', ...result.notes.map((l) => `  ${l}`)] : []),
  ];
  if (lines.length > 0) io.stderr(lines.map((l) => `naija-sup: ${l}\n`).join(''));
  return 0;
}
