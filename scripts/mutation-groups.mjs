// The modules that mutation testing covers (the pure core), in groups, each with the unit tests
// that test it. Stryker runs every test of a group's list for each "static" mutant (one in code
// that runs at import, such as the schema tables), so a group brings only its own tests: this
// keeps a full run within tens of minutes on two shared cores. Used by stryker.config.mjs,
// vitest.stryker.config.ts and scripts/mutation.mjs.
export const mutationGroups = {
  supervisor: {
    mutate: [
      'src/supervisor/machine.ts',
      'src/supervisor/backoff.ts',
      'src/supervisor/classify.ts',
      'src/supervisor/wrapper-exit.ts',
      'src/supervisor/startup-answers.ts',
      'src/supervisor/bind-check.ts',
      'src/failures.ts',
    ],
    tests: [
      'test/supervisor/machine.test.ts',
      'test/supervisor/machine-transitions.test.ts',
      'test/supervisor/backoff.test.ts',
      'test/supervisor/classify.test.ts',
      'test/supervisor/startup-answers.test.ts',
      'test/supervisor/bind-check.test.ts',
      'test/supervisor/exit-details.test.ts',
    ],
  },
  config: {
    mutate: ['src/config/schema/*.ts', 'src/config/redact.ts'],
    tests: [
      'test/config/schema.test.ts',
      'test/config/resolve.test.ts',
      'test/config/json-schema.test.ts',
      'test/config/redact.test.ts',
      'test/config/reference.test.ts', // the README's reference: every key's type, default and env twin
      'test/config/schema-edges.test.ts',
    ],
  },
  proc: {
    mutate: ['src/process/proc-read.ts', 'src/process/proc-io.ts', 'src/ports/proc-net.ts', 'src/process/identity.ts'],
    tests: [
      'test/process/proc-read.test.ts',
      'test/process/identity.test.ts',
      'test/ports/proc-net.test.ts',
      'test/ports/owners-fake-proc.test.ts',
    ],
  },
};

/** The group named by MUTATION_GROUP, or all of them merged when it is unset. */
export function selectedGroup(name = process.env.MUTATION_GROUP) {
  if (name) {
    const group = mutationGroups[name];
    if (!group) throw new Error(`MUTATION_GROUP=${name} is not one of: ${Object.keys(mutationGroups).join(', ')}`);
    return group;
  }
  const all = Object.values(mutationGroups);
  return { mutate: all.flatMap((g) => g.mutate), tests: all.flatMap((g) => g.tests) };
}
