/**
 * Data a holder did not give (`missing-data`): a worker fetching a task's inputs, or a client
 * fetching results, found that a worker the books name as holding a key did not have it or
 * could not be reached — it died or restarted and the scheduler has not heard yet, or it dropped
 * the key. One rule for both reporters (worker_intake.ts, client_intake.ts): the copy leaves
 * the books, and the worker is told to drop it, so books and stores agree either way; a key in
 * memory left without a copy is lost (state.ts `#dataLost`): computed again, its holders told
 * `lost` (their futures pending again) and its readers waiting for it again — or, when it cannot
 * be recomputed (scattered data, lost lineage), cancelled or erred saying why. Keys and workers
 * the books do not know, and copies the books no longer list there, are ignored.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";
import type { Replicas } from "./replicas.ts";
import type { TaskMoves } from "./task_moves.ts";

/** What a `missing-data` report changed. */
export interface MissingDataOutcome {
  /** Copies taken off the books. */
  dropped: number;
  /** Keys left without a copy: lost (recomputed, or cancelled or erred when they cannot be). */
  lost: number;
  /** Keys still in memory elsewhere: a worker reporter is told where (`refresh-who-has`). */
  remaining: TaskRecord[];
}

/**
 * `errant` (undefined: a worker the books do not know) did not give `keys`. `mayReport` says
 * which keys the reporter may speak of: a client only of the keys it holds, so its word never
 * moves anyone else's data (docs/security.md, tenancy).
 */
export function missingData(
  moves: TaskMoves,
  replicas: Replicas,
  errant: WorkerRecord | undefined,
  keys: readonly Key[],
  mayReport: (task: TaskRecord) => boolean = () => true,
): MissingDataOutcome {
  const outcome: MissingDataOutcome = { dropped: 0, lost: 0, remaining: [] };
  for (const key of keys) {
    const task = moves.tasks.get(key);
    if (task === undefined || !mayReport(task)) continue;
    if (errant !== undefined && task.whoHas.has(errant)) {
      replicas.distrust(task, errant);
      outcome.dropped++;
    }
    if (task.state !== "memory") continue;
    if (task.whoHas.size > 0) outcome.remaining.push(task);
    else {
      outcome.lost++;
      moves.dataLost(task);
    }
  }
  return outcome;
}
