/**
 * The task shuffle dataframes share (hash joins, sorts, repartitioning by key): each input
 * partition's task ends by splitting its rows into `n` pieces (by a hash of key columns or by
 * value ranges); one small task per (input, output) picks a piece, so on a cluster each output
 * fetches only its own pieces, worker to worker; no task ever holds all the data.
 *
 * @module
 */

import { chunkKey, type Key, makeTask, type Task, TaskRef } from "../../core/task.ts";
import type { DataFrame } from "./frame.ts";
import { pickPiece, type Terminal } from "./partition_tasks.ts";
import { partitionTasks } from "./plan.ts";

/** The tasks of a split and the keys of its pieces: `pieces[j]` lists output j's pieces. */
export interface Split {
  tasks: Task[];
  pieces: Key[][];
}

/** Splits every partition of `frame` into `n` pieces with `terminal` (a splitting terminal). */
export function splitPartitions(
  frame: DataFrame,
  name: string,
  terminal: Terminal,
  n: number,
): Split {
  const tasks = partitionTasks(frame.plan, `${name}-split`, () => terminal);
  const inputs = tasks.map((t) => t.key);
  const pieces: Key[][] = Array.from({ length: n }, () => []);
  inputs.forEach((key, i) => {
    for (let j = 0; j < n; j++) {
      const piece = makeTask(chunkKey(`${name}-piece`, [i, j]), pickPiece, [new TaskRef(key), j]);
      tasks.push(piece);
      pieces[j].push(piece.key);
    }
  });
  return { tasks, pieces };
}

/** References to keys, for task arguments. */
export function refs(keys: readonly Key[]): TaskRef[] {
  return keys.map((k) => new TaskRef(k));
}
