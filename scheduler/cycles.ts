/**
 * Cycles in a submitted graph. A client's graph (any client: also one speaking the wire protocol
 * directly) may name dependencies in a loop; such tasks could never run, so the scheduler errs
 * them at intake with a `GraphError` naming the cycle instead of leaving them waiting for ever.
 *
 * Only tasks linked by this `update-graph` can close a cycle: tasks known before keep the
 * dependencies they were linked with, which are all known before too. The search is an iterative
 * depth-first search over those tasks, O(tasks + dependencies), marking them in place
 * (`TaskRecord.cycleMark`) so it allocates nothing per task.
 *
 * @module
 */

import type { TaskRecord } from "./records.ts";

/**
 * The cycles among `linked` (each as its tasks in order, each depending on the next), at most
 * one per strongly connected tangle; `round` must grow with every call.
 */
export function findCycles(linked: readonly TaskRecord[], round: number): TaskRecord[][] {
  const unvisited = 3 * round;
  const onStack = unvisited + 1;
  const done = unvisited + 2;
  for (let i = 0; i < linked.length; i++) linked[i].cycleMark = unvisited;
  const cycles: TaskRecord[][] = [];
  const stack: TaskRecord[] = [];
  const cursor: number[] = [];
  for (let r = 0; r < linked.length; r++) {
    const root = linked[r];
    if (root.cycleMark !== unvisited) continue;
    root.cycleMark = onStack;
    stack.push(root);
    cursor.push(0);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const task = stack[top];
      const deps = task.dependencies;
      const position = cursor[top];
      if (position >= deps.length) {
        task.cycleMark = done;
        stack.pop();
        cursor.pop();
        continue;
      }
      cursor[top] = position + 1;
      const dep = deps[position];
      const mark = dep.cycleMark;
      if (mark === unvisited) {
        dep.cycleMark = onStack;
        stack.push(dep);
        cursor.push(0);
      } else if (mark === onStack) {
        // The stack from `dep` up is the cycle; everything on the stack depends on it and errs
        // with it, so the search goes on from the other roots.
        cycles.push(stack.slice(stack.lastIndexOf(dep)));
        for (const t of stack) t.cycleMark = done;
        stack.length = 0;
        cursor.length = 0;
      }
    }
  }
  return cycles;
}
