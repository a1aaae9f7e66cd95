/**
 * The bookkeeping of one local computation, shared by the `sync`, `threads` and `processes`
 * schedulers: which tasks are ready, in what order to run them, and when a result may be dropped.
 *
 * Pure (no I/O). Tasks are numbered once; after that every step is O(1) amortised on typed
 * arrays, so per-task overhead stays in the low microseconds even for million-task graphs.
 *
 * @module
 */

import { type Graph, indexGraph, orderIndexed, outputIndices } from "../../core/graph.ts";
import type { Key, Task } from "../../core/task.ts";

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
    const runOrder = orderIndexed(g, outputs); // validates outputs and acyclicity
    const n = g.keys.length;
    this.#index = g.index;
    this.#deps = g.deps;
    this.#depStart = g.depStart;
    this.tasks = new Array(n);
    let i = 0;
    for (const task of graph.values()) this.tasks[i++] = task;
    const priority = new Float64Array(n);
    for (let r = 0; r < runOrder.length; r++) priority[runOrder[r]] = r;

    // keep only what the outputs need
    const needed = new Uint8Array(n);
    const stack: number[] = [];
    for (const o of outputIndices(g, outputs)) {
      if (!needed[o]) {
        needed[o] = 1;
        stack.push(o);
      }
    }
    while (stack.length > 0) {
      const t = stack.pop()!;
      for (let p = g.depStart[t]; p < g.depStart[t + 1]; p++) {
        const d = g.deps[p];
        if (!needed[d]) {
          needed[d] = 1;
          stack.push(d);
        }
      }
    }
    this.#waitingOn = new Int32Array(n);
    this.#pendingDependents = new Int32Array(n);
    for (let t = 0; t < n; t++) {
      if (!needed[t]) continue;
      this.#waitingOn[t] = g.depStart[t + 1] - g.depStart[t];
      for (let p = g.depStart[t]; p < g.depStart[t + 1]; p++) this.#pendingDependents[g.deps[p]]++;
    }
    this.#dependentsStart = new Int32Array(n + 1);
    for (let t = 0; t < n; t++) {
      this.#dependentsStart[t + 1] = this.#dependentsStart[t] + this.#pendingDependents[t];
    }
    this.#dependents = new Int32Array(this.#dependentsStart[n]);
    const fill = this.#dependentsStart.slice(0, n);
    for (let t = 0; t < n; t++) {
      if (!needed[t]) continue;
      for (let p = g.depStart[t]; p < g.depStart[t + 1]; p++) {
        this.#dependents[fill[g.deps[p]]++] = t;
      }
    }
    this.#isOutput = new Uint8Array(n);
    for (const o of outputIndices(g, outputs)) this.#isOutput[o] = 1;
    this.#values = new Array(n);
    this.#done = new Uint8Array(n);
    this.#early = new Uint8Array(n);
    this.#ready = new PriorityQueue(n, priority);
    let remaining = 0;
    for (let t = 0; t < n; t++) {
      if (!needed[t]) continue;
      remaining++;
      if (this.#waitingOn[t] === 0) this.#ready.push(t);
    }
    this.#remaining = remaining;
    this.total = remaining;
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
