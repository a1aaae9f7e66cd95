/**
 * Every move a task may make on the scheduler, in one table: the (start, finish) pairs of Dask's
 * `_TRANSITIONS_TABLE`, each with why it happens. The state machine changes a task's state only
 * through one function that looks the pair up here ({@link transitionIndex}) and records it in
 * the key's story (task_story.ts) with the stimulus that caused it; a pair missing from the
 * table is a bug in the state machine and throws at once instead of corrupting the books.
 *
 * A new task starts `released` (it is not a transition); `forgotten` is final.
 *
 * @module
 */

import { SCHEDULER_TASK_STATES, type SchedulerTaskState } from "./task_prefix_stats.ts";

/** Why each allowed transition happens, by start state and then finish state. */
export const TRANSITIONS: {
  readonly [S in SchedulerTaskState]: { readonly [F in SchedulerTaskState]?: string };
} = {
  released: {
    waiting: "a client or a dependent needs it",
    memory: "a client scattered the data, or a reconnecting worker still held it",
    erred: "an input erred, or its lineage was lost",
    forgotten: "nothing refers to it any more",
  },
  waiting: {
    queued: "ready, held on the scheduler until a worker has a free slot or resources",
    "no-worker": "ready, but no running worker may run it",
    processing: "ready, sent to a worker",
    memory: "a reconnecting worker held its result, or a client scattered it",
    released: "nobody needs it any more",
    erred: "an input erred, or its lineage was lost",
  },
  queued: {
    processing: "a worker slot or the resources it needs became free",
    waiting: "its retry delay is over, or it is placed again",
    "no-worker": "no running worker may run it any more",
    memory: "a reconnecting worker held its result, or a client scattered it",
    released: "nobody needs it any more",
    erred: "an input erred",
  },
  "no-worker": {
    waiting: "a worker joined or resumed: placed again",
    memory: "a reconnecting worker held its result, or a client scattered it",
    released: "nobody needs it any more",
    erred: "an input erred",
  },
  processing: {
    memory: "its worker reported the result",
    waiting: "its worker left or died, it is retried, or a steal sent it back",
    queued: "it failed and waits out its retry delay",
    released: "nobody needs it any more (cancelled)",
    erred: "it failed, its worker died too often (KilledWorker), or an input erred",
  },
  memory: {
    released: "nobody needs it any more, or its last copy was lost (recomputed)",
    erred: "its last copy was lost and it cannot be recomputed",
    forgotten: "nothing refers to it any more",
  },
  erred: {
    released: "retried, resubmitted or scattered",
    forgotten: "nothing refers to it any more",
  },
  forgotten: {},
};

/** State ↔ small integer, for compact records (the story ring) and the lookup matrix. */
export const STATE_INDEX: { readonly [S in SchedulerTaskState]: number } = Object.fromEntries(
  SCHEDULER_TASK_STATES.map((state, i) => [state, i]),
) as { [S in SchedulerTaskState]: number };

const N = SCHEDULER_TASK_STATES.length;
/** `ALLOWED[start * N + finish]` is 1 for a pair of {@link TRANSITIONS}. */
const ALLOWED = new Uint8Array(N * N);
for (const start of SCHEDULER_TASK_STATES) {
  for (const finish of Object.keys(TRANSITIONS[start]) as SchedulerTaskState[]) {
    ALLOWED[STATE_INDEX[start] * N + STATE_INDEX[finish]] = 1;
  }
}

/**
 * The pair's index into {@link TRANSITIONS} order (start × states + finish); throws for a pair
 * the table does not allow.
 */
export function transitionIndex(start: SchedulerTaskState, finish: SchedulerTaskState): number {
  const index = STATE_INDEX[start] * N + STATE_INDEX[finish];
  if (ALLOWED[index] !== 1) {
    throw new Error(`impossible task transition ${start} → ${finish} (scheduler/transitions.ts)`);
  }
  return index;
}
