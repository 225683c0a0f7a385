/**
 * The batching of a rolling reload (issue 20, `naija-sup reload --parallel K`): the steps run K at
 * a time, a batch only once the one before it has fully succeeded. Each step is one instance's
 * blue/green swap (its new process passes its startup probe and takes traffic before its old one
 * is drained), so K at a time means K new processes start together and K old ones drain together,
 * while the other instances serve. A failed step stops the rollout after its batch: the caller
 * undoes every step that succeeded, those of the failed batch included.
 *
 * Pure of App and Instance so the batching is unit-tested on its own (test/app/rolling.test.ts).
 */

export interface RollOutcome<T, R> {
  /** The items whose step succeeded, in the order they were given. */
  done: T[];
  /** The failed steps of the batch that stopped the rollout, in order; empty when every step succeeded. */
  failed: Array<{ item: T; result: R }>;
}

/** A batch size from a user's K: a whole number of at least 1 (anything else means one at a time). */
export function batchSize(parallel: number | undefined): number {
  return parallel !== undefined && Number.isInteger(parallel) && parallel >= 1 ? parallel : 1;
}

/**
 * Runs `step` on `items` in batches of `parallel`, waiting for a whole batch before the next.
 * Stops after the first batch with a failed step. A step that throws has every other step of its
 * batch awaited before the error is passed on: nothing is left running unseen.
 */
export async function rollInBatches<T, R extends { ok: boolean }>(
  items: readonly T[],
  parallel: number | undefined,
  step: (item: T) => Promise<R>,
): Promise<RollOutcome<T, R>> {
  const size = batchSize(parallel);
  const done: T[] = [];
  for (let start = 0; start < items.length; start += size) {
    const batch = items.slice(start, start + size);
    const settled = await Promise.allSettled(batch.map((item) => step(item)));
    const failed: Array<{ item: T; result: R }> = [];
    for (const [k, outcome] of settled.entries()) {
      if (outcome.status === 'rejected') throw outcome.reason;
      const item = batch[k] as T;
      if (outcome.value.ok) done.push(item);
      else failed.push({ item, result: outcome.value });
    }
    if (failed.length > 0) return { done, failed };
  }
  return { done, failed: [] };
}
