/**
 * Task graphs: validation and static ordering.
 *
 * Graphs reach a million tasks and chains a hundred thousand deep, so every walk here is
 * iterative and works on an integer form of the graph (tasks numbered in insertion order,
 * dependencies in one flat array), never on recursion or per-task objects.
 *
 * @module
 */

import { GraphError } from "./errors.ts";
import type { Key, Task } from "./task.ts";

/** A task graph: each task under its own key. */
export type Graph = Map<Key, Task>;

/** The integer form of a graph: task `i` depends on `deps[depStart[i] .. depStart[i + 1])`. */
export interface IndexedGraph {
  readonly keys: Key[];
  readonly index: Map<Key, number>;
  readonly depStart: Int32Array;
  readonly deps: Int32Array;
  /** Every task comes after its dependencies in insertion order (so there is no cycle). */
  readonly topological: boolean;
  /**
   * Every task comes before its dependencies (so there is no cycle): the order a graph
   * collected from its outputs has (collections/collection.ts `collectGraph`).
   */
  readonly reversed?: boolean;
}

/**
 * An {@link IndexedGraph} with the tasks by index, as the graph optimization pass builds it
 * (core/optimize.ts). A dependency missing from the graph is `-1` there.
 */
export interface TaskIndex extends IndexedGraph {
  readonly tasks: Task[];
  /**
   * Every dependency is in the graph and every task is under its own key: the index is the one
   * {@link indexGraph} would build.
   */
  readonly complete: boolean;
}

/**
 * Numbers the tasks of a graph in insertion order and lists dependencies as integers. A graph
 * the optimization pass just indexed ({@link handOverIndex}) is not indexed again.
 *
 * @throws {GraphError} naming a missing dependency and the task that needs it.
 */
export function indexGraph(graph: Graph): TaskIndex {
  return takeHandedOver(graph) ?? buildIndex(graph, true);
}

/**
 * The {@link TaskIndex} of a graph. With `strict`, a missing dependency or a task under another
 * key throws a {@link GraphError} naming it; otherwise it makes the index incomplete.
 */
export function buildIndex(graph: Graph, strict: boolean): TaskIndex {
  const n = graph.size;
  const keys = new Array<Key>(n);
  const tasks = new Array<Task>(n);
  const index = new Map<Key, number>();
  let complete = true;
  let misplaced = -1;
  let edges = 0;
  let i = 0;
  // one pass over the entries (a Map iterator per pass costs more than the work, cold)
  graph.forEach((task, key) => {
    keys[i] = key;
    tasks[i] = task;
    index.set(key, i++);
    if (task.key !== key && misplaced < 0) misplaced = i - 1;
    edges += task.deps.length;
  });
  if (misplaced >= 0) {
    if (strict) {
      const { key } = tasks[misplaced];
      throw new GraphError(
        `The graph holds task '${key}' under the key '${keys[misplaced]}'. A graph maps each ` +
          `task's own key to the task; put it under '${key}'.`,
      );
    }
    complete = false;
  }
  const depStart = new Int32Array(n + 1);
  const deps = new Int32Array(edges);
  let edge = 0;
  let topological = true;
  let reversed = true;
  for (i = 0; i < n; i++) {
    const task = tasks[i];
    depStart[i] = edge;
    const taskDeps = task.deps;
    for (let d = 0; d < taskDeps.length; d++) {
      const target = index.get(taskDeps[d]);
      if (target === undefined) {
        if (strict) {
          throw new GraphError(
            `Task '${task.key}' depends on '${taskDeps[d]}', which is not in the graph. Add a ` +
              `task for '${taskDeps[d]}' to the graph, or pass its value instead of a reference ` +
              `to it.`,
          );
        }
        complete = false;
        deps[edge++] = -1;
        continue;
      }
      if (target >= i) topological = false;
      if (target <= i) reversed = false;
      deps[edge++] = target;
    }
  }
  depStart[n] = edge;
  return { keys, index, depStart, deps, topological, reversed, tasks, complete };
}

/**
 * Indices the optimization pass built for the graph it hands to an executor, kept for that
 * executor's {@link indexGraph} (taken once: the taker may sort `deps` and reuse `index`).
 */
const handedOver = new WeakMap<Graph, TaskIndex>();

/**
 * Lets the next {@link indexGraph} of `graph` use `index` (built for it by the optimization pass)
 * instead of building the same again: a million-task graph saves a map of its keys. An
 * incomplete index is not kept (indexGraph must name what is missing).
 */
export function handOverIndex(graph: Graph, index: TaskIndex): void {
  if (index.complete) handedOver.set(graph, index);
}

/**
 * The index handed over for `graph`, if the graph still holds exactly the tasks it was built
 * for, under the same keys, in the same order (checked by identity: no key is looked up).
 */
function takeHandedOver(graph: Graph): TaskIndex | undefined {
  const index = handedOver.get(graph);
  if (index === undefined) return undefined;
  handedOver.delete(graph);
  const { keys, tasks } = index;
  if (graph.size !== tasks.length) return undefined;
  let i = 0;
  let same = true;
  graph.forEach((task, key) => {
    if (task !== tasks[i] || key !== keys[i]) same = false;
    i++;
  });
  return same ? index : undefined;
}

/** The indices of output keys. @throws {GraphError} for a key not in the graph. */
export function outputIndices(g: IndexedGraph, outputs: readonly Key[]): number[] {
  return outputs.map((key) => {
    const i = g.index.get(key);
    if (i === undefined) {
      throw new GraphError(
        `Output '${key}' is not in the graph (${g.keys.length} tasks). Ask only for keys of ` +
          `tasks in the graph.`,
      );
    }
    return i;
  });
}

const ON_STACK = 1;
const DONE = 2;

/**
 * Depth-first search along dependencies from each root in turn (`null`: from every task, in
 * insertion order), visiting dependencies in their stored order. Returns the tasks in the order
 * they finish (each after all its dependencies). Throws a {@link GraphError} naming the cycle
 * if it finds one.
 */
function postOrder(
  g: IndexedGraph,
  roots: readonly number[] | null,
  counted?: { roots: number; finished: number },
): Int32Array {
  const n = g.keys.length;
  const { depStart, deps } = g;
  const state = new Uint8Array(n);
  const stack = new Int32Array(n);
  const cursor = new Int32Array(n);
  const finished = new Int32Array(n);
  let count = 0;
  const rootCount = roots === null ? n : roots.length;
  for (let r = 0; r < rootCount; r++) {
    if (counted !== undefined && r === counted.roots) counted.finished = count;
    const root = roots === null ? r : roots[r];
    if (state[root] !== 0) continue;
    state[root] = ON_STACK;
    cursor[root] = depStart[root];
    stack[0] = root;
    let top = 1;
    while (top > 0) {
      const task = stack[top - 1];
      const position = cursor[task];
      if (position < depStart[task + 1]) {
        cursor[task] = position + 1;
        const dep = deps[position];
        if (state[dep] === 0) {
          state[dep] = ON_STACK;
          cursor[dep] = depStart[dep];
          stack[top++] = dep;
        } else if (state[dep] === ON_STACK) {
          throw cycleError(g, stack.subarray(0, top), dep);
        }
      } else {
        state[task] = DONE;
        finished[count++] = task;
        top--;
      }
    }
  }
  if (counted !== undefined && rootCount === counted.roots) counted.finished = count;
  return count === n ? finished : finished.subarray(0, count);
}

const CYCLE_KEYS_SHOWN = 12;

function cycleError(g: IndexedGraph, stack: Int32Array, repeated: number): GraphError {
  const cycle = Array.from(stack.subarray(stack.lastIndexOf(repeated)), (i) => g.keys[i]);
  return new GraphError(cycleMessage(cycle));
}

/**
 * What to tell of a cycle, `cycle` being its keys in order (each depends on the next, the last
 * on the first): shown as "a -> b -> a", long ones shortened in the middle. The local schedulers
 * and the scheduler's graph intake say it the same way.
 */
export function cycleMessage(cycle: readonly Key[]): string {
  const closed = [...cycle, cycle[0]];
  const shown = closed.length <= CYCLE_KEYS_SHOWN ? closed : [
    ...closed.slice(0, CYCLE_KEYS_SHOWN / 2),
    `... (${closed.length - CYCLE_KEYS_SHOWN} more)`,
    ...closed.slice(-CYCLE_KEYS_SHOWN / 2),
  ];
  return `The graph has a cycle: ${shown.join(" -> ")} (each task depends on the next). ` +
    `A task graph must be acyclic: a task cannot need its own result.`;
}

/**
 * Checks that every dependency is in the graph, that every output is, and that there is no
 * cycle. O(tasks + dependencies).
 *
 * @throws {GraphError} naming the missing key and the task that needs it, the unknown output,
 *   or the keys on the cycle in order ("a -> b -> c -> a").
 */
export function validateGraph(graph: Graph, outputs: readonly Key[]): void {
  const g = indexGraph(graph);
  outputIndices(g, outputs);
  if (!g.topological && !g.reversed) postOrder(g, null);
}

/** For each task, the tasks that depend on it (dependencies missing from the graph are skipped). */
export function dependents(graph: Graph): Map<Key, Key[]> {
  const result = new Map<Key, Key[]>();
  for (const key of graph.keys()) result.set(key, []);
  for (const [key, task] of graph) {
    for (const dep of task.deps) result.get(dep)?.push(key);
  }
  return result;
}

/**
 * A static priority for every task (lower runs first) that keeps memory low, as `dask.order`
 * does: each task gets a number greater than its dependencies'; a chain finishes before the
 * next starts; the dependencies of a task run close together, smallest branch first, so
 * intermediate results are consumed soon after they are made.
 *
 * How: a depth-first walk from the outputs (then from tasks nobody depends on), numbering tasks
 * as they finish, and entering each task's dependencies in order of fewest total dependencies
 * (ties keep argument order). Deterministic; O(n log n) at worst, linear for bounded fan-in.
 *
 * @throws {GraphError} as {@link validateGraph} does.
 */
export function order(graph: Graph, outputs: readonly Key[]): Map<Key, number> {
  const g = indexGraph(graph);
  const finished = orderIndexed(g, outputs);
  // The index map already holds every key: overwriting its values is cheaper than a new map.
  const priorities = g.index;
  for (let i = 0; i < finished.length; i++) priorities.set(g.keys[finished[i]], i);
  return priorities;
}

/**
 * {@link order} on the integer form: the task indices in the order they should run. Validates
 * outputs and acyclicity on the way. Sorts each task's `deps` slice in place.
 */
export function orderIndexed(g: IndexedGraph, outputs: readonly Key[]): Int32Array {
  return orderAndNeeded(g, outputIndices(g, outputs)).order;
}

/**
 * {@link orderIndexed} from the outputs' indices (`roots`, which it extends), and how many tasks
 * the outputs need: those are the first `needed` of the order (the walk starts from the
 * outputs), so the callers that run only those need no walk of their own.
 */
export function orderAndNeeded(
  g: IndexedGraph,
  roots: number[],
): { order: Int32Array; needed: number } {
  const n = g.keys.length;
  const outputCount = roots.length;

  // Total dependencies, counted along every path (a shared dependency counts once for each
  // path to it): a linear-time measure of how much work, and memory, a branch holds.
  const totals = new Float64Array(n);
  // insertion order, or its reverse, is an order with dependencies first: no walk for one
  const sequence = g.topological || g.reversed ? null : postOrder(g, null);
  for (let k = 0; k < n; k++) {
    const task = sequence !== null ? sequence[k] : g.topological ? k : n - 1 - k;
    let total = 1;
    for (let p = g.depStart[task]; p < g.depStart[task + 1]; p++) total += totals[g.deps[p]];
    totals[task] = total;
  }
  sortDependencies(g, totals);

  const hasDependents = new Uint8Array(n);
  for (let p = 0; p < g.deps.length; p++) hasDependents[g.deps[p]] = 1;
  for (let i = 0; i < n; i++) if (hasDependents[i] === 0) roots.push(i);

  const counted = { roots: outputCount, finished: 0 };
  const order = postOrder(g, roots, counted);
  return { order, needed: counted.finished };
}

/** Sorts each task's dependencies by ascending total, stably, in place. */
function sortDependencies(g: IndexedGraph, totals: Float64Array): void {
  const { depStart, deps } = g;
  for (let task = 0; task < g.keys.length; task++) {
    const start = depStart[task];
    const end = depStart[task + 1];
    if (end - start <= 16) {
      for (let i = start + 1; i < end; i++) {
        const dep = deps[i];
        const total = totals[dep];
        let j = i - 1;
        while (j >= start && totals[deps[j]] > total) {
          deps[j + 1] = deps[j];
          j--;
        }
        deps[j + 1] = dep;
      }
    } else {
      const sorted = Array.from(deps.subarray(start, end)).sort((a, b) =>
        totals[a] < totals[b] ? -1 : totals[a] > totals[b] ? 1 : 0
      );
      deps.set(sorted, start);
    }
  }
}
