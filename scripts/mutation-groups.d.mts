/** Types for scripts/mutation-groups.mjs, so vitest.stryker.config.ts is typed. */
export interface MutationGroup { mutate: string[]; tests: string[] }
export const mutationGroups: Record<'supervisor' | 'config' | 'proc', MutationGroup>;
export function selectedGroup(name?: string): MutationGroup;
