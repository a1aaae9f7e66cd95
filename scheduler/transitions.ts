/**
 * Every move a task may make on the scheduler, in one table: the (start, finish) pairs of Dask's
 * `_TRANSITIONS_TABLE`, each with why it happens ({@link TRANSITIONS}) and, in the state machine,
 * the function that performs it ({@link TransitionPerformers}: the compiler checks that every
 * pair listed here has exactly one). A move asked for is looked up by its pair
 * ({@link transitionDispatch}); a pair the table does not list goes through `released` when
 * neither end is `released` (as Dask's composite moves do: `memory → waiting` is
 * `memory → released → waiting`), and is a bug otherwise. Each performed move is recorded in the
 * key's story (task_story.ts) with the stimulus that caused it, after one more check of the pair
 * ({@link transitionIndex}), so a move can never bypass the table.
 *
 * A new task starts `released` (it is not a transition); `forgotten` is final.
 *
 * @module
 */

import { SCHEDULER_TASK_STATES, type SchedulerTaskState } from "./task_prefix_stats.ts";

/** Why each allowed transition happens, by start state and then finish state. */
export const TRANSITIONS = {
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
} as const satisfies {
  readonly [S in SchedulerTaskState]: { readonly [F in SchedulerTaskState]?: string };
};

/** A function of the state machine `M` that performs one move on `task` (`detail`: its input). */
export type Perform<M, T, D> = (machine: M, task: T, detail: D) => void;

/** One performing function for each pair of {@link TRANSITIONS}, no more, no fewer. */
export type TransitionPerformers<M, T, D> = {
  readonly [S in SchedulerTaskState]: {
    readonly [F in keyof (typeof TRANSITIONS)[S]]-?: Perform<M, T, D>;
  };
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
 * Turns a table of performers into a lookup by pair: the function that performs (start, finish),
 * or undefined for a pair the table does not list.
 */
export function transitionDispatch<M, T, D>(
  performers: TransitionPerformers<M, T, D>,
): (start: SchedulerTaskState, finish: SchedulerTaskState) => Perform<M, T, D> | undefined {
  const byIndex: (Perform<M, T, D> | undefined)[] = new Array(N * N).fill(undefined);
  for (const start of SCHEDULER_TASK_STATES) {
    const row = performers[start] as Partial<Record<SchedulerTaskState, Perform<M, T, D>>>;
    for (const finish of SCHEDULER_TASK_STATES) {
      byIndex[STATE_INDEX[start] * N + STATE_INDEX[finish]] = row[finish];
    }
  }
  return (start, finish) => byIndex[STATE_INDEX[start] * N + STATE_INDEX[finish]];
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
