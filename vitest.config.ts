import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// `vitest run --coverage` (npm test): the test workers report their own coverage of src/, and every
// process they spawn writes raw V8 coverage here (test/helpers/coverage-env.ts), which
// scripts/coverage.mjs merges in. Set before the workers start, so they inherit it.
const coverageOn = process.argv.includes('--coverage') || process.argv.some((a) => a.startsWith('--coverage.'));
if (coverageOn && !process.env['NAIJA_SUP_COVERAGE_DIR']) {
  const dir = join(import.meta.dirname, 'coverage', 'processes');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.env['NAIJA_SUP_COVERAGE_DIR'] = dir;
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.{ts,js,mjs}'],
    setupFiles: ['test/helpers/coverage-env.ts', 'test/helpers/watchdog.ts'],
    globalSetup: ['test/helpers/prune-registrations.ts'],
    // Integration tests start real processes and bind real ports; two cores are shared with
    // everything else on the machine, so keep parallelism modest and deadlines generous.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 3,
    reporters: ['default'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // The thresholds are checked by scripts/coverage.mjs on the merged report, not here.
      reporter: ['json'],
      reportsDirectory: 'coverage',
      clean: false,
      // A subset run (one flaky test) still writes its report, for measuring a module's coverage.
      reportOnFailure: true,
    },
  },
});
