#!/usr/bin/env node
/**
 * The import-graph check behind `npm run check:imports` (part of `npm test`).
 *
 * Two rules from the project's standards, checked over every .ts file under src/:
 *   1. No import circles. A circle makes the code hard to walk (you cannot read one module "first"),
 *      and at runtime it makes evaluation order decide whether a binding exists yet.
 *   2. The core (everything under src/ except src/cli/) never imports from src/cli/: only the CLI
 *      prints, colours and exits, and the library must be usable without it.
 *
 * What counts as an edge — every way one module names another:
 *   - `import … from`, `import '…'`, `export … from`, `export * from`;
 *   - type-only imports (`import type`, `export type … from`, `typeof import('…')`). They are erased at
 *     runtime, so they cannot cause an evaluation-order bug, but the rule is about a house that is
 *     easy to walk: a type import still means "read that file to understand this one", and a circle
 *     of types is the usual first step to a circle of values. Shared types belong in a module both
 *     sides import.
 *   - dynamic `import('…')` with a literal specifier. Deferring the load hides a circle from the
 *     runtime, not from the reader; it is the usual way a circle gets papered over.
 *   Non-literal dynamic imports (`import(url)`) and bare/`node:` specifiers are not edges between
 *   our modules and are ignored.
 *
 * Dependency-free on purpose: it must run before `npm run build` and must not drift with a parser
 * package's version. The scanner below tokenizes just enough of TypeScript (comments, strings,
 * template literals, regular-expression literals) that text inside them — code samples in JSDoc, the
 * JavaScript a probe runs in a child process — is never mistaken for an import.
 *
 * Usage: node scripts/check-imports.mjs [root]   (root defaults to the repository; reads root/src)
 * Exit 0 with a one-line summary when clean; exit 1 listing every circle and every core→cli import.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------------
// Tokenizer

const IDENT_START = /[A-Za-z_$\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
/** After these keywords a `/` starts a regular expression, not a division. */
const REGEX_AFTER_KEYWORD = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else',
  'yield', 'await', 'extends',
]);

/**
 * Splits TypeScript source into tokens: { t: 'id' | 'str' | 'num' | 'punct', v }. Comments vanish; template
 * literals become one opaque 'template' punct token (their `${…}` parts are scanned recursively, so an
 * import() inside one is still found).
 * @param {string} src
 * @returns {{t: string, v: string}[]}
 */
export function tokenize(src) {
  /** @type {{t: string, v: string}[]} */
  const out = [];
  let i = 0;
  // `}` closes either a block or a template substitution; the stack says which.
  /** @type {('brace' | 'template')[]} */
  const braces = [];

  const regexAllowed = () => {
    const prev = out[out.length - 1];
    if (prev === undefined) return true;
    if (prev.t === 'id') return REGEX_AFTER_KEYWORD.has(prev.v);
    if (prev.t === 'str' || prev.t === 'num') return false;
    return ![')', ']', '}', 'template'].includes(prev.v);
  };

  /** Scans a template from just after a backtick or a substitution's `}`; true if a `${` opened. */
  const scanTemplate = () => {
    while (i < src.length) {
      const c = src[i];
      if (c === '\\') { i += 2; continue; }
      if (c === '`') { i++; out.push({ t: 'punct', v: 'template' }); return; }
      if (c === '$' && src[i + 1] === '{') { i += 2; braces.push('template'); out.push({ t: 'punct', v: '(' }); return; }
      i++;
    }
  };

  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') { const end = src.indexOf('\n', i); i = end === -1 ? src.length : end; continue; }
    if (c === '/' && next === '*') { const end = src.indexOf('*/', i + 2); i = end === -1 ? src.length : end + 2; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      while (j < src.length && src[j] !== c && src[j] !== '\n') {
        if (src[j] === '\\') { value += src[j + 1] ?? ''; j += 2; continue; }
        value += src[j++];
      }
      out.push({ t: 'str', v: value });
      i = j + 1;
      continue;
    }
    if (c === '`') { i++; scanTemplate(); continue; }
    if (c === '{') { braces.push('brace'); out.push({ t: 'punct', v: '{' }); i++; continue; }
    if (c === '}') {
      i++;
      if (braces.pop() === 'template') { out.push({ t: 'punct', v: ')' }); scanTemplate(); } else out.push({ t: 'punct', v: '}' });
      continue;
    }
    if (c === '/' && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n') {
        const d = src[j];
        if (d === '\\') { j += 2; continue; }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      j++;
      while (j < src.length && IDENT_PART.test(src[j])) j++;
      out.push({ t: 'punct', v: 'regex' });
      i = j;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < src.length && IDENT_PART.test(src[j])) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[0-9A-Za-z_.]/.test(src[j])) j++;
      out.push({ t: 'num', v: src.slice(i, j) });
      i = j;
      continue;
    }
    out.push({ t: 'punct', v: c });
    i++;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Import extraction

/**
 * Every module specifier the source names, with how it names it.
 * @param {string} src
 * @returns {{specifier: string, kind: 'static' | 'type' | 'dynamic'}[]}
 */
export function findImports(src) {
  const tokens = tokenize(src);
  /** @type {{specifier: string, kind: 'static' | 'type' | 'dynamic'}[]} */
  const found = [];
  const at = (k) => tokens[k] ?? { t: 'eof', v: '' };
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k];
    if (tok.t !== 'id' || (tok.v !== 'import' && tok.v !== 'export')) continue;
    const prev = at(k - 1);
    if (prev.v === '.' || prev.v === '?.') continue; // obj.import, not a keyword
    // import('x') — a dynamic import, or `typeof import('x')` in a type position.
    if (tok.v === 'import' && at(k + 1).v === '(') {
      if (at(k + 2).t === 'str' && at(k + 3).v === ')') {
        found.push({ specifier: at(k + 2).v, kind: prev.v === 'typeof' ? 'type' : 'dynamic' });
      }
      continue;
    }
    if (tok.v === 'import' && at(k + 1).v === '.') continue; // import.meta
    // import 'x' — for side effects.
    if (tok.v === 'import' && at(k + 1).t === 'str') { found.push({ specifier: at(k + 1).v, kind: 'static' }); continue; }
    // import [type] <clause> from 'x'   |   export [type] { … } | * [as n] from 'x'
    let m = k + 1;
    const typeOnly = at(m).v === 'type' && at(m + 1).v !== 'from' && at(m + 1).v !== ',' && at(m + 1).v !== '=';
    if (typeOnly) m++;
    if (tok.v === 'export' && at(m).v !== '{' && at(m).v !== '*') continue; // export const/function/default …
    // Walk the clause: names, commas, `as`, `*`, and one `{ … }`. Anything else ends it.
    let depth = 0;
    for (; m < tokens.length; m++) {
      const t = at(m);
      if (t.v === '{') depth++;
      else if (t.v === '}') depth--;
      else if (depth === 0 && t.v === 'from' && at(m + 1).t === 'str') break;
      else if (t.t === 'id' || t.v === ',' || t.v === '*') continue;
      else { m = -1; break; }
      if (depth < 0) { m = -1; break; }
    }
    if (m === -1 || m >= tokens.length) continue;
    found.push({ specifier: at(m + 1).v, kind: typeOnly ? 'type' : 'static' });
    k = m + 1;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Graph

/** @param {string} dir @returns {string[]} every .ts file under dir, as absolute paths, sorted */
function listTs(dir) {
  /** @type {string[]} */
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listTs(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files.sort();
}

/**
 * Resolves a relative specifier the way NodeNext does for our sources: `./x.js` is `./x.ts` on disk.
 * @returns {string | null} an absolute .ts path, or null when the specifier is not one of ours
 */
function resolveSpecifier(fromFile, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  for (const candidate of candidates) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/**
 * The import graph of root/src: module ids are paths relative to root, with forward slashes.
 * @param {string} root
 * @returns {{ modules: string[], edges: Map<string, Map<string, string>>, unresolved: string[] }}
 *   edges: from → (to → kind); unresolved: relative specifiers naming no .ts file (a typo, or a
 *   non-TypeScript file this check cannot see into).
 */
export function buildGraph(root) {
  const srcDir = join(root, 'src');
  const files = listTs(srcDir);
  const id = (file) => relative(root, file).split(sep).join('/');
  const modules = files.map(id);
  /** @type {Map<string, Map<string, string>>} */
  const edges = new Map(modules.map((m) => [m, new Map()]));
  /** @type {string[]} */
  const unresolved = [];
  for (const file of files) {
    for (const { specifier, kind } of findImports(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveSpecifier(file, specifier);
      if (target === null) { unresolved.push(`${id(file)}: '${specifier}'`); continue; }
      const to = id(target);
      if (!edges.has(to)) continue; // outside src/ (e.g. a test helper): not part of this graph
      const out = edges.get(id(file));
      // A value import outranks a type-only or dynamic one to the same module in the report.
      if (!out.has(to) || kind === 'static') out.set(to, kind);
    }
  }
  return { modules, edges, unresolved };
}

/**
 * Tarjan's strongly connected components. Iterative, so a deep chain cannot overflow the stack.
 * @param {string[]} nodes
 * @param {(node: string) => Iterable<string>} successors
 * @returns {string[][]} components with more than one node, or one node with an edge to itself
 */
export function stronglyConnected(nodes, successors) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  /** @type {string[]} */
  const stack = [];
  /** @type {string[][]} */
  const components = [];
  for (const start of nodes) {
    if (index.has(start)) continue;
    /** @type {{node: string, it: Iterator<string>}[]} */
    const work = [];
    const visit = (node) => {
      index.set(node, counter); low.set(node, counter); counter++;
      stack.push(node); onStack.add(node);
      work.push({ node, it: successors(node)[Symbol.iterator]() });
    };
    visit(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const step = frame.it.next();
      if (!step.done) {
        const next = step.value;
        if (!index.has(next)) visit(next);
        else if (onStack.has(next)) low.set(frame.node, Math.min(low.get(frame.node), index.get(next)));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node), low.get(frame.node)));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      /** @type {string[]} */
      const component = [];
      let member;
      do { member = stack.pop(); onStack.delete(member); component.push(member); } while (member !== frame.node);
      const selfLoop = component.length === 1 && [...successors(frame.node)].includes(frame.node);
      if (component.length > 1 || selfLoop) components.push(component.sort());
    }
  }
  return components;
}

/**
 * Chains that show a component's circles: for every edge u→v inside it, the shortest circle through
 * that edge (u → v → … → u). Every edge that must go to break the component appears in at least one
 * chain, and the count stays polynomial where listing every elementary circle would not.
 * @param {string[]} component
 * @param {(node: string) => Iterable<string>} successors
 * @returns {string[][]} each chain starts and ends at the same node
 */
export function circlesIn(component, successors) {
  const inside = new Set(component);
  const seen = new Set();
  /** @type {string[][]} */
  const circles = [];
  for (const u of component) {
    for (const v of successors(u)) {
      if (!inside.has(v)) continue;
      const back = shortestPath(v, u, (n) => [...successors(n)].filter((s) => inside.has(s)));
      if (back === null) continue;
      const loop = u === v ? [u] : [u, ...back.slice(0, -1)];
      // One key per circle regardless of where it starts.
      const rot = loop.indexOf([...loop].sort()[0]);
      const key = [...loop.slice(rot), ...loop.slice(0, rot)].join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      circles.push([...loop.slice(rot), ...loop.slice(0, rot), loop[rot]]);
    }
  }
  return circles;
}

/** Breadth-first: the shortest path from → … → to (inclusive), or null. */
function shortestPath(from, to, successors) {
  const parent = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift();
    if (node === to) {
      const path = [];
      for (let n = to; n !== null; n = parent.get(n)) path.unshift(n);
      return path;
    }
    for (const next of successors(node)) {
      if (!parent.has(next)) { parent.set(next, node); queue.push(next); }
    }
  }
  return null;
}

/**
 * Runs both rules over a graph.
 * @param {{ modules: string[], edges: Map<string, Map<string, string>> }} graph
 * @returns {{ circles: { modules: string[], chains: string[][] }[], coreToCli: string[] }}
 *   circles: one entry per set of modules that all reach each other, with the chains that show how
 */
export function checkGraph(graph) {
  const successors = (n) => graph.edges.get(n)?.keys() ?? [];
  const circles = stronglyConnected(graph.modules, successors)
    .map((modules) => ({ modules, chains: circlesIn(modules, successors) }));
  const isCli = (m) => m.startsWith('src/cli/');
  /** @type {string[]} */
  const coreToCli = [];
  for (const [from, out] of graph.edges) {
    if (isCli(from)) continue;
    for (const [to, kind] of out) if (isCli(to)) coreToCli.push(`${from} → ${to}${kind === 'static' ? '' : ` (${kind})`}`);
  }
  return { circles, coreToCli };
}

/** One circle as `a.ts → b.ts (type) → a.ts`, each arrow's kind shown when it is not a value import. */
export function formatCircle(chain, edges) {
  let line = chain[0];
  for (let k = 1; k < chain.length; k++) {
    const kind = edges.get(chain[k - 1])?.get(chain[k]);
    line += ` → ${chain[k]}${kind && kind !== 'static' ? ` (${kind})` : ''}`;
  }
  return line;
}

function main() {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const graph = buildGraph(root);
  const { circles, coreToCli } = checkGraph(graph);
  const problems = [];
  if (graph.unresolved.length > 0) {
    problems.push(`Relative imports that name no .ts file under ${root} (fix the path, or teach scripts/check-imports.mjs the file kind):`,
      ...graph.unresolved.map((u) => `  ${u}`));
  }
  if (circles.length > 0) {
    problems.push(`Import circles: ${circles.length} group(s) of modules that import each other. Break every chain below by`,
      'moving what its modules share into a module they all import (arrows are value imports unless marked):');
    for (const { modules, chains } of circles) {
      problems.push(`  ${modules.join(', ')}:`, ...chains.map((c) => `    ${formatCircle(c, graph.edges)}`));
    }
  }
  if (coreToCli.length > 0) {
    problems.push('The core imports from src/cli/ (only src/cli/ may depend on the CLI; move the shared code out of src/cli/):',
      ...coreToCli.map((e) => `  ${e}`));
  }
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exitCode = 1;
    return;
  }
  const edgeCount = [...graph.edges.values()].reduce((n, out) => n + out.size, 0);
  console.log(`import graph: ${graph.modules.length} modules, ${edgeCount} imports, no circles, core never imports src/cli/`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
