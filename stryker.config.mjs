// @ts-check
// Mutation testing of the pure core. `npm run test:mutation` runs every group of
// scripts/mutation-groups.mjs in turn (scripts/mutation.mjs); one group alone:
// `MUTATION_GROUP=config npx stryker run`. Slow, so not part of `npm test`.
// Results and the list of equivalent mutants: docs/mutation.md.
import { selectedGroup } from './scripts/mutation-groups.mjs';

const name = process.env.MUTATION_GROUP ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Two cores, shared with other work.
  concurrency: 1,
  coverageAnalysis: 'perTest',
  mutate: selectedGroup().mutate,
  // Re-test only the mutants whose code or covering tests changed since the last run of the same
  // group; reports/ is not committed, so a fresh checkout runs everything.
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 85, break: null },
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
