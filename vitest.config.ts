import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.{ts,js,mjs}'],
    // Integration tests start real processes and bind real ports; two cores are shared with
    // everything else on the machine, so keep parallelism modest and deadlines generous.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 3,
    reporters: ['default'],
  },
});
