import { defineConfig } from 'vitest/config';
import { selectedGroup } from './scripts/mutation-groups.mjs';

// Only the unit tests of the modules under mutation (scripts/mutation-groups.mjs), never an integration
// test: Stryker runs these once per mutant, so every second here is multiplied by thousands.
const tests: string[] = selectedGroup().tests;

export default defineConfig({
  test: {
    include: tests,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
