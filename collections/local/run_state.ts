/**
 * The bookkeeping of one local computation, shared by the `sync`, `threads` and `processes`
 * schedulers: which tasks are ready, in what order to run them, and when a result may be dropped.
 *
 * Pure (no I/O). Tasks are numbered once; after that every step is O(1) amortised on typed
 * arrays, so per-task overhead stays in the low microseconds even for million-task graphs.
 *
 * @module
 */

import { type Graph, indexGraph, orderAndNeeded, outputIndices } from "../../core/graph.ts";
import type { Key, Task } from "../../core/task.ts";

/** Tasks with up to this many dependencies find a reference's among them by a scan. */
const SCANNED_DEPENDENCIES = 8;

/** A min-heap of task indices keyed by a static priority. */
class PriorityQueue {
  #heap: Int32Array;
  #size = 0;
  constructor(capacity: number, private readonly priority: Float64Array) {
    this.#heap = new Int32Array(Math.max(capacity, 1));
  }
  get size(): number {
    return this.#size;
  }
  push(index: number): void {
    const heap = this.#heap, prio = this.priority;
    let i = this.#size++;
    const p = prio[index];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (prio[heap[parent]] <= p) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = index;
  }
  pop(): number {
    const heap = this.#heap, prio = this.priority;
    const top = heap[0];
    const last = heap[--this.#size];
    const n = this.#size;
    if (n > 0) {
      const p = prio[last];
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && prio[heap[child + 1]] < prio[heap[child]]) child++;
        if (prio[heap[child]] >= p) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

/** Tracks one computation: ready tasks by priority, results, and their release. */
export class RunState {
  /** Tasks by index. */
  readonly tasks: Task[];
  readonly #index: Map<Key, number>;
  /** Dependencies of task i: deps[depStart[i] .. depStart[i + 1]). */
  readonly #deps: Int32Array;
  readonly #depStart: Int32Array;
  /** Dependents of task i, laid out the same way. */
  readonly #dependents: Int32Array;
  readonly #dependentsStart: Int32Array;
  /** Dependencies not yet in memory, per task. */
  readonly #waitingOn: Int32Array;
  /** Dependents not yet finished, per task: at zero the result may be released. */
  readonly #pendingDependents: Int32Array;
  readonly #isOutput: Uint8Array;
  /** Finished (its value recorded). */
  readonly #done: Uint8Array;
  /** Handed out before its inputs finished, in the same batch as the last of them. */
  readonly #early: Uint8Array;
  readonly #ready: PriorityQueue;
  readonly #values: unknown[];
  #remaining: number;
  /** Number of tasks this computation runs (those the outputs need). */
  readonly total: number;

  /** @throws {GraphError} for a missing dependency, an unknown output or a cycle. */
  constructor(graph: Graph, readonly outputs: readonly Key[]) {
    const g = indexGraph(graph);
    const n = g.keys.length;
    const outputIndex = outputIndices(g, outputs);
    const isOutput = new Uint8Array(n);
    for (let o = 0; o < outputIndex.length; o++) isOutput[outputIndex[o]] = 1;
    // each task's dependencies in the order of its `deps` (the ordering sorts g.deps in place)
    const deps = g.deps.slice();
    // validates acyclicity; the tasks the outputs need come first in the order
    const { order, needed: neededCount } = orderAndNeeded(g, outputIndex);
    const depStart = g.depStart;
    this.#index = g.index;
    this.#deps = deps;
    this.#depStart = depStart;
    this.tasks = g.tasks;
    const priority = new Float64Array(n);
    for (let r = 0; r < order.length; r++) priority[order[r]] = r;
    const needed = new Uint8Array(n);
    for (let r = 0; r < neededCount; r++) needed[order[r]] = 1;

    const waitingOn = new Int32Array(n);
    const pendingDependents = new Int32Array(n);
    for (let t = 0; t < n; t++) {
      if (!needed[t]) continue;
      const start = depStart[t], end = depStart[t + 1];
      waitingOn[t] = end - start;
      for (let p = start; p < end; p++) pendingDependents[deps[p]]++;
    }
    const dependentsStart = new Int32Array(n + 1);
    for (let t = 0; t < n; t++) dependentsStart[t + 1] = dependentsStart[t] + pendingDependents[t];
    const dependents = new Int32Array(dependentsStart[n]);
    const fill = dependentsStart.slice(0, n);
    for (let t = 0; t < n; t++) {
      if (!needed[t]) continue;
      for (let p = depStart[t], end = depStart[t + 1]; p < end; p++) {
        dependents[fill[deps[p]]++] = t;
      }
    }
    // in priority order, so that each push lands at the end of the heap without moving
    const ready = new PriorityQueue(n, priority);
    for (let r = 0; r < neededCount; r++) {
      const t = order[r];
      if (depStart[t] === depStart[t + 1]) ready.push(t);
    }
    this.#waitingOn = waitingOn;
    this.#pendingDependents = pendingDependents;
    this.#dependentsStart = dependentsStart;
    this.#dependents = dependents;
    this.#isOutput = isOutput;
    this.#values = new Array(n);
    this.#done = new Uint8Array(n);
    this.#early = new Uint8Array(n);
    this.#ready = ready;
    this.#remaining = neededCount;
    this.total = neededCount;
  }

  /** Tasks not yet finished. */
  get remaining(): number {
    return this.#remaining;
  }

  /** Tasks ready to run, not yet handed out. */
  get readyCount(): number {
    return this.#ready.size;
  }

  /** The ready task with the best priority, or -1. */
  popReady(): number {
    return this.#ready.size > 0 ? this.#ready.pop() : -1;
  }

  /**
   * Puts a task that was handed out back among the ready ones (its runner was lost); one handed
   * out early goes back to waiting when some of its inputs are lost with it.
   */
  requeue(t: number): void {
    this.#early[t] = 0;
    if (this.#waitingOn[t] === 0) this.#ready.push(t);
  }

  /**
   * Calls `visit` with each dependent of `t` that is not handed out yet and waits only on
   * finished tasks and tasks for which `handedOut` holds — those a batch may carry after `t`.
   */
  forEachChainable(t: number, handedOut: (j: number) => boolean, visit: (d: number) => void): void {
    const deps = this.#deps, depStart = this.#depStart;
    for (let p = this.#dependentsStart[t], end = this.#dependentsStart[t + 1]; p < end; p++) {
      const d = this.#dependents[p];
      if (this.#early[d] || this.#waitingOn[d] === 0) continue;
      let chainable = true;
      for (let q = depStart[d], stop = depStart[d + 1]; q < stop && chainable; q++) {
        const j = deps[q];
        chainable = this.#done[j] === 1 || handedOut(j);
      }
      if (chainable) visit(d);
    }
  }

  /**
   * How many tasks read `t`'s result when all of them satisfy `inBatch` and it is not an
   * output — its runner may keep the value to itself; otherwise 0.
   */
  localReaders(t: number, inBatch: (j: number) => boolean): number {
    if (this.#isOutput[t]) return 0;
    const start = this.#dependentsStart[t], end = this.#dependentsStart[t + 1];
    for (let p = start; p < end; p++) if (!inBatch(this.#dependents[p])) return 0;
    return end - start;
  }

  /** Hands out `t` ahead of its inputs: it will not become ready when they finish. */
  handOutEarly(t: number): void {
    this.#early[t] = 1;
  }

  /** True once `t` has finished. */
  isDone(t: number): boolean {
    return this.#done[t] === 1;
  }

  /** The value of a finished task that has not been released. */
  value(key: Key): unknown {
    return this.#values[this.#index.get(key)!];
  }

  /**
   * The index of the dependency `key` of task `t`: found by a scan of the task's `deps` when it
   * has few (a reference's key is usually the very string there), else by a lookup.
   */
  dependencyIndex(t: number, key: Key): number {
    const deps = this.tasks[t].deps;
    const n = deps.length;
    if (n <= SCANNED_DEPENDENCIES) {
      for (let k = 0; k < n; k++) if (deps[k] === key) return this.#deps[this.#depStart[t] + k];
    }
    return this.#index.get(key)!;
  }

  /** The value of a finished task by index. */
  valueAt(t: number): unknown {
    return this.#values[t];
  }

  /** Replaces the recorded value of a finished task that has not been released. */
  replaceValue(t: number, value: unknown): void {
    this.#values[t] = value;
  }

  /** Calls `visit` with the index of each dependency of `t`. */
  forEachDependency(t: number, visit: (j: number) => void): void {
    const deps = this.#deps;
    for (let p = this.#depStart[t], end = this.#depStart[t + 1]; p < end; p++) visit(deps[p]);
  }

  /** Index of a key. */
  indexOf(key: Key): number {
    return this.#index.get(key)!;
  }

  /**
   * True when task `d`'s result is read by no task other than the one about to run — the
   * caller may hand its buffers over instead of copying them.
   */
  isLastReader(d: number): boolean {
    return this.#pendingDependents[d] === 1 && !this.#isOutput[d];
  }

  /**
   * Records a result; releases inputs no remaining task needs; makes dependents ready.
   * Returns how many tasks became ready.
   */
  finish(t: number, value: unknown): number {
    this.#values[t] = value;
    this.#done[t] = 1;
    this.#remaining--;
    const deps = this.#deps;
    for (let p = this.#depStart[t], end = this.#depStart[t + 1]; p < end; p++) {
      const j = deps[p];
      if (--this.#pendingDependents[j] === 0 && !this.#isOutput[j]) this.#values[j] = undefined;
    }
    let readied = 0;
    const end = this.#dependentsStart[t + 1];
    for (let p = this.#dependentsStart[t]; p < end; p++) {
      const dependent = this.#dependents[p];
      if (--this.#waitingOn[dependent] === 0 && !this.#early[dependent]) {
        this.#ready.push(dependent);
        readied++;
      }
    }
    if (this.#pendingDependents[t] === 0 && !this.#isOutput[t]) this.#values[t] = undefined;
    return readied;
  }

  /** The outputs' values, in `outputs` order. */
  outputValues(): unknown[] {
    return this.outputs.map((key) => this.#values[this.#index.get(key)!]);
  }
}
