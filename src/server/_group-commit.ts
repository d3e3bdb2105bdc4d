/**
 * Group commit, shared by the stores: transactions that arrive while one batch commits wait and
 * go together in the next, so one database commit (one flush) serves many requests. `commit`
 * runs a batch in one database transaction and returns each job's outcome, or throws when the
 * transaction failed as a whole; no job learns its outcome before the commit returned.
 */
import type { StoreTx } from './_store.ts';

export type JobFn = (tx: StoreTx) => Promise<unknown>;
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The most jobs in one database transaction. */
const MAX_BATCH = 256;

export function groupCommit(commit: (jobs: JobFn[]) => Promise<Outcome[]>): <T>(fn: (tx: StoreTx) => Promise<T>) => Promise<T> {
  const queue: { fn: JobFn; resolve(value: unknown): void; reject(error: unknown): void }[] = [];
  let flushing = false;
  const flush = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const outcomes = await commit(batch.map((job) => job.fn));
        outcomes.forEach((outcome, i) => (outcome.ok ? batch[i]!.resolve(outcome.value) : batch[i]!.reject(outcome.error)));
      } catch (error) {
        for (const job of batch) job.reject(error);
      }
    }
    flushing = false;
  };
  return <T>(fn: (tx: StoreTx) => Promise<T>) => new Promise<T>((resolve, reject) => {
    queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
    if (!flushing) {
      flushing = true;
      setImmediate(() => void flush());
    }
  });
}
