// The CLI's bundle (issue 19): `bin/naija-sup.js` runs dist/bundle/main.js, built here by esbuild
// from src/cli/main.ts. `npm run build` runs it after tsc, whose dist/ stays what the library
// exports ("." and "./node") and what tests load module by module.
//
// Why: Node 20's ESM loader resolves, reads, compiles and links every module on its own. A
// foreground `start` loads about a hundred of ours before its instance is spawned, and that was
// most of the time between `node` being ready and the spawn. Bundled, each command is one chunk
// with what only it needs (esbuild's splitting keeps every lazy `import()` of main.ts lazy: `status`
// loads no supervisor, the resident no commander). One file without splitting was slower than
// tsc's dist (V8 pre-parses all of it for every command). Whitespace and comments go (the sources
// stay in V8's heap for as long as the resident runs); names and the code's shape stay, so stack
// traces keep their names and coverage of the bundle lines up with coverage of src/ (a syntax
// minifier turns `if`s into `&&`s). Non-ASCII is escaped, so the kept source strings take one
// byte per character instead of two.
// Measured with bench/vs-pm2.mjs, the figures are in docs/benchmarks.md ("Against PM2").
//
// npm packages stay outside the bundle (`packages: 'external'`): the start path and the resident
// load none of them, and left as they are, their own files, paths and CommonJS keep working
// unchanged. Source maps point at src/, so scripts/coverage.mjs maps what spawned CLIs ran back
// to src/ as it does for tsc's dist/.
//
// Usage: node scripts/bundle.mjs   (npm run build runs it)
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'bundle');

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  minifyWhitespace: true,
  legalComments: 'none',
  charset: 'ascii',
  sourcemap: true,
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(`bundle: ${outputs.length} chunks, ${(bytes / 1024).toFixed(0)} KiB in dist/bundle`);
