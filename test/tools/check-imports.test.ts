/**
 * scripts/check-imports.mjs: the import-graph check `npm test` runs. The cycle finder and the rules
 * on tiny fake graphs, the scanner on sources that only look like imports, and the script itself on
 * a throwaway src/ tree (so its exit status and report are what CI sees).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildGraph, checkGraph, circlesIn, findImports, formatCircle, stronglyConnected,
} from '../../scripts/check-imports.mjs';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../scripts/check-imports.mjs');

/** { a: ['b'] } → the edges map the script builds (every edge a value import unless kinds says). */
function graphOf(adjacency: Record<string, string[]>, kinds: Record<string, string> = {}) {
  const edges = new Map<string, Map<string, string>>();
  for (const [from, tos] of Object.entries(adjacency)) {
    edges.set(from, new Map(tos.map((to) => [to, kinds[`${from}>${to}`] ?? 'static'])));
  }
  return { modules: Object.keys(adjacency), edges };
}
const successorsOf = (g: ReturnType<typeof graphOf>) => (n: string) => g.edges.get(n)?.keys() ?? [];

describe('stronglyConnected', () => {
  it('finds each circle once, a self-import, and nothing on an acyclic path', () => {
    const g = graphOf({ a: ['b'], b: ['c'], c: ['a', 'd'], d: ['d', 'e'], e: [], f: ['a'] });
    expect(stronglyConnected(g.modules, successorsOf(g))).toEqual([['d'], ['a', 'b', 'c']]);
  });

  it('finds nothing in a graph without circles (a diamond is not a circle)', () => {
    const g = graphOf({ top: ['left', 'right'], left: ['bottom'], right: ['bottom'], bottom: [] });
    expect(stronglyConnected(g.modules, successorsOf(g))).toEqual([]);
  });

  it('does not overflow the stack on a long chain', () => {
    const adjacency: Record<string, string[]> = {};
    for (let i = 0; i < 20_000; i++) adjacency[`m${i}`] = [`m${i + 1}`];
    adjacency.m20000 = ['m0'];
    const g = graphOf(adjacency);
    const [component, ...rest] = stronglyConnected(g.modules, successorsOf(g));
    expect(rest).toEqual([]);
    expect(component).toHaveLength(20_001);
  });
});

describe('circlesIn', () => {
  it('shows every edge of a component in a chain, each circle once, starting at its first module', () => {
    // Two circles through the hub: main ⇄ a and main → b → c → main.
    const g = graphOf({ main: ['a', 'b'], a: ['main'], b: ['c'], c: ['main'] });
    const chains = circlesIn(['a', 'b', 'c', 'main'], successorsOf(g));
    expect(chains).toEqual([['a', 'main', 'a'], ['b', 'c', 'main', 'b']]);
  });

  it('formats a chain with the kind of every arrow that is not a value import', () => {
    const g = graphOf({ x: ['y'], y: ['x'] }, { 'y>x': 'type' });
    expect(formatCircle(['x', 'y', 'x'], g.edges)).toBe('x → y → x (type)');
  });
});

describe('checkGraph', () => {
  it('reports a core module importing src/cli/, of any kind, and lets src/cli/ import the core', () => {
    const g = graphOf({
      'src/cli/main.ts': ['src/ports/a.ts'],
      'src/ports/a.ts': [],
      'src/ports/b.ts': ['src/cli/render.ts'],
      'src/cli/render.ts': [],
      'src/control/c.ts': ['src/cli/main.ts'],
    }, { 'src/control/c.ts>src/cli/main.ts': 'type' });
    expect(checkGraph(g)).toEqual({
      circles: [],
      coreToCli: ['src/ports/b.ts → src/cli/render.ts', 'src/control/c.ts → src/cli/main.ts (type)'],
    });
  });
});

describe('findImports', () => {
  it('finds every form of import and export-from, with its kind', () => {
    const src = [
      "import a from './a.js';",
      "import { b, type B } from './b.js';",
      "import * as c from './c.js';",
      "import d, { e as f } from './d.js';",
      "import type { G } from './g.js';",
      "import type H from './h.js';",
      "import './side-effect.js';",
      "export { i } from './i.js';",
      "export * from './j.js';",
      "export * as k from './k.js';",
      "export type { L } from './l.js';",
      'import {',
      '  m,',
      '  n,',
      "} from './multi-line.js'",
      "const lazy = await import('./lazy.js');",
      "type T = typeof import('./type-query.js');",
      "import { type } from './named-type.js';",
    ].join('\n');
    expect(findImports(src)).toEqual([
      { specifier: './a.js', kind: 'static' },
      { specifier: './b.js', kind: 'static' },
      { specifier: './c.js', kind: 'static' },
      { specifier: './d.js', kind: 'static' },
      { specifier: './g.js', kind: 'type' },
      { specifier: './h.js', kind: 'type' },
      { specifier: './side-effect.js', kind: 'static' },
      { specifier: './i.js', kind: 'static' },
      { specifier: './j.js', kind: 'static' },
      { specifier: './k.js', kind: 'static' },
      { specifier: './l.js', kind: 'type' },
      { specifier: './multi-line.js', kind: 'static' },
      { specifier: './lazy.js', kind: 'dynamic' },
      { specifier: './type-query.js', kind: 'type' },
      { specifier: './named-type.js', kind: 'static' },
    ]);
  });

  it('ignores text that only looks like an import: comments, strings, templates, regexes, exports', () => {
    const src = [
      "// import { x } from './comment.js';",
      "/** import { y } from './jsdoc.js'; */",
      "const s = \"import { z } from './string.js'\";",
      "const probe = `const fs = require('fs'); import('./template.js');`;",
      "const re = /from '\\.\\/regex.js'/;",
      'const url = import.meta.url;',
      'const dyn = await import(url);',
      "export const from = 'x'; export function f() { return 1; }",
      "export default { from: './object.js' };",
      "const after = `${await import('./in-substitution.js')}`;",
      // A quote inside a regex opens no string, and a division is not a regex.
      "const quote = /'/g; import { afterRegex } from './after-regex.js';",
      "const half = total / 2; import { afterDivision } from './after-division.js'; const r = (a) / b;",
    ].join('\n');
    expect(findImports(src)).toEqual([
      { specifier: './in-substitution.js', kind: 'dynamic' },
      { specifier: './after-regex.js', kind: 'static' },
      { specifier: './after-division.js', kind: 'static' },
    ]);
  });
});

describe('the script on a src/ tree', () => {
  let root = '';
  afterEach(() => { if (root !== '') rmSync(root, { recursive: true, force: true }); });

  function tree(files: Record<string, string>): string {
    root = mkdtempSync(join(tmpdir(), 'naija-sup-imports-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  /** Runs the script the way `npm run check:imports` does; the exit status and both streams. */
  function run(dir: string): { status: number; stdout: string; stderr: string } {
    try {
      const stdout = execFileSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8', stdio: 'pipe' });
      return { status: 0, stdout, stderr: '' };
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      return { status: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('resolves .js to .ts and folders to index.ts, and ignores packages and files outside src/', () => {
    const dir = tree({
      'src/a.ts': "import { b } from './b.js';\nimport { c } from './c';\nimport { x } from 'pkg';\n",
      'src/b.ts': "import { helper } from '../test/helper.js';\nexport const b = 1;\n",
      'src/c/index.ts': "import type { A } from '../a.js';\nexport const c = 1;\n",
      'test/helper.ts': "export const helper = 1;\n",
    });
    const graph = buildGraph(dir);
    expect(graph.modules).toEqual(['src/a.ts', 'src/b.ts', 'src/c/index.ts']);
    expect(graph.edges.get('src/a.ts')).toEqual(new Map([['src/b.ts', 'static'], ['src/c/index.ts', 'static']]));
    expect(graph.edges.get('src/b.ts')).toEqual(new Map());
    expect(graph.edges.get('src/c/index.ts')).toEqual(new Map([['src/a.ts', 'type']]));
    expect(graph.unresolved).toEqual([]);
  });

  it('exits 1 and prints the circle as a chain, and the core importing src/cli/', () => {
    const dir = tree({
      'src/cli/main.ts': "export type Options = { json: boolean };\nexport const run = () => import('./commands/ls.js');\n",
      'src/cli/commands/ls.ts': "import type { Options } from '../main.js';\nexport const ls = (o: Options) => o;\n",
      'src/core.ts': "import type { Options } from './cli/main.js';\nexport type O = Options;\n",
    });
    const result = run(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('src/cli/commands/ls.ts, src/cli/main.ts:\n'
      + '    src/cli/commands/ls.ts → src/cli/main.ts (type) → src/cli/commands/ls.ts (dynamic)\n');
    expect(result.stderr).toContain('  src/core.ts → src/cli/main.ts (type)\n');
    expect(result.stdout).toBe('');
  });

  it('exits 1 on a relative import that names no .ts file', () => {
    const dir = tree({ 'src/a.ts': "import { b } from './missing.js';\n" });
    const result = run(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("src/a.ts: './missing.js'");
  });

  it('exits 0 with a one-line summary when the graph is clean', () => {
    const dir = tree({
      'src/cli/options.ts': 'export type Options = { json: boolean };\n',
      'src/cli/main.ts': "import type { Options } from './options.js';\nexport const run = (o: Options) => import('./commands/ls.js').then((m) => m.ls(o));\n",
      'src/cli/commands/ls.ts': "import type { Options } from '../options.js';\nexport const ls = (o: Options) => o;\n",
    });
    expect(run(dir)).toEqual({
      status: 0,
      stdout: 'import graph: 3 modules, 3 imports, no circles, core never imports src/cli/\n',
      stderr: '',
    });
  });
});
