#!/usr/bin/env node
/**
 * `npm run test:mutation`: Stryker over the pure core, one group of scripts/mutation-groups.mjs at
 * a time (each with only its own unit tests), then one table of scores per file from the groups'
 * JSON reports. Arguments name the groups to run (default: all); `--report` only prints the table
 * from the reports already in reports/mutation/; `--full` re-tests every mutant instead of reusing
 * the results of the last run (Stryker's incremental mode).
 *
 * Incremental mode re-tests a mutant when its code or a test that covers it changed. A "static"
 * mutant (in code that runs at import: the failure table, the schema's leaves) is covered by every
 * test, but a NEW test file is not among the tests it was recorded with, so a surviving static
 * mutant keeps its old result until a `--full` run. The scores in docs/mutation.md come from one.
 *
 * Score = (killed + timed out) / (killed + timed out + survived + no coverage), Stryker's own
 * definition; mutants that do not compile or are ignored do not count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mutationGroups } from './mutation-groups.mjs';

const args = process.argv.slice(2);
const reportOnly = args.includes('--report');
const full = args.includes('--full');
const names = args.filter((a) => !a.startsWith('--'));
const groups = names.length > 0 ? names : Object.keys(mutationGroups);
for (const name of groups) {
  if (!(name in mutationGroups)) {
    console.error(`Unknown group "${name}". Groups: ${Object.keys(mutationGroups).join(', ')}.`);
    process.exit(2);
  }
}

if (!reportOnly) {
  for (const name of groups) {
    console.log(`\n=== mutation group ${name} ===`);
    const run = spawnSync('npx', ['stryker', 'run', ...(full ? ['--force'] : [])], { stdio: 'inherit', env: { ...process.env, MUTATION_GROUP: name } });
    if (run.status !== 0) {
      console.error(`Stryker failed for group ${name} (exit ${run.status ?? run.signal}).`);
      process.exit(1);
    }
  }
}

const KILLED = new Set(['Killed', 'Timeout']);
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);
const rows = [];
const total = { killed: 0, survived: 0, noCoverage: 0, counted: 0 };
for (const name of Object.keys(mutationGroups)) {
  const file = `reports/mutation/${name}.json`;
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const [path, { mutants }] of Object.entries(report.files)) {
    const counted = mutants.filter((m) => COUNTED.has(m.status));
    const killed = counted.filter((m) => KILLED.has(m.status)).length;
    const survived = counted.filter((m) => m.status === 'Survived').length;
    const noCoverage = counted.filter((m) => m.status === 'NoCoverage').length;
    rows.push({ path, killed, survived, noCoverage, counted: counted.length });
    total.killed += killed; total.survived += survived; total.noCoverage += noCoverage; total.counted += counted.length;
  }
}
if (rows.length === 0) {
  console.error('No reports in reports/mutation/: run `npm run test:mutation` first.');
  process.exit(1);
}
const pct = (k, n) => (n === 0 ? 'n/a' : `${((100 * k) / n).toFixed(1)}%`);
console.log('\n| file | mutants | killed or timed out | survived | no coverage | score |\n|---|---:|---:|---:|---:|---:|');
for (const r of rows.sort((a, b) => a.path.localeCompare(b.path))) {
  console.log(`| ${r.path} | ${r.counted} | ${r.killed} | ${r.survived} | ${r.noCoverage} | ${pct(r.killed, r.counted)} |`);
}
console.log(`| **all** | ${total.counted} | ${total.killed} | ${total.survived} | ${total.noCoverage} | **${pct(total.killed, total.counted)}** |`);
