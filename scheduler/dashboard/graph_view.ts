/**
 * The Graph page's data: the tasks the scheduler knows now, their dependencies and their states,
 * kept up to date by diffs. The page draws up to {@link GraphTracker.maxNodes} tasks; beyond that
 * it says how many there are instead (walking a larger graph every push interval would cost the
 * scheduler more than the picture is worth).
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";
import { SCHEDULER_TASK_STATES, type SchedulerTaskState } from "../task_prefix_stats.ts";

/** The graph's shape: nodes `[key, prefixIndex]`, edges `[dependencyIndex, dependentIndex]`. */
export interface GraphStructure {
  kind: "structure";
  version: number;
  /** The state names that `states` entries index. */
  stateNames: readonly SchedulerTaskState[];
  prefixes: string[];
  nodes: [string, number][];
  edges: [number, number][];
  /** Index into `stateNames` per node. */
  states: number[];
}

/** State changes since the last update: `[nodeIndex, stateIndex]` pairs. */
export interface GraphStates {
  kind: "states";
  version: number;
  changes: [number, number][];
}

/** The scheduler holds more tasks than the page draws. */
export interface GraphTooLarge {
  kind: "too-large";
  version: number;
  tasks: number;
  limit: number;
}

export type GraphUpdate = GraphStructure | GraphStates | GraphTooLarge;

const STATE_INDEX = new Map<SchedulerTaskState, number>(
  SCHEDULER_TASK_STATES.map((name, i) => [name, i]),
);

export class GraphTracker {
  #keys: string[] = [];
  #states = new Uint8Array(0);
  #version = 0;
  #tooLarge = -1;
  #last: GraphStructure | GraphTooLarge | null = null;

  constructor(readonly maxNodes = 5000) {}

  /**
   * Compares the state with the last look: a full structure when tasks came or went, the state
   * changes otherwise, null when nothing changed. O(tasks) up to `maxNodes`, O(1) beyond.
   */
  update(state: SchedulerState): GraphUpdate | null {
    const tasks = state.tasks;
    if (tasks.size > this.maxNodes) {
      if (this.#tooLarge === tasks.size) return null;
      this.#tooLarge = tasks.size;
      this.#keys = [];
      this.#last = {
        kind: "too-large",
        version: ++this.#version,
        tasks: tasks.size,
        limit: this.maxNodes,
      };
      return this.#last;
    }
    this.#tooLarge = -1;
    const keys = this.#keys;
    let same = keys.length === tasks.size;
    const changes: [number, number][] = [];
    if (same) {
      let i = 0;
      for (const task of tasks.values()) {
        // Map order is insertion order and survives deletions: equal sequences, equal sets.
        if (keys[i] !== task.key) {
          same = false;
          break;
        }
        const code = STATE_INDEX.get(task.state)!;
        if (this.#states[i] !== code) {
          this.#states[i] = code;
          changes.push([i, code]);
        }
        i++;
      }
    }
    if (!same) return this.#rebuild(state);
    if (changes.length === 0) return null;
    return { kind: "states", version: this.#version, changes };
  }

  /** The full picture as of the last update (for a page that just connected). */
  snapshot(state: SchedulerState): GraphStructure | GraphTooLarge {
    const last = this.#last ?? this.update(state) ?? this.#rebuild(state);
    if (last.kind !== "structure") return last.kind === "too-large" ? last : this.#rebuild(state);
    return { ...last, states: Array.from(this.#states) };
  }

  #rebuild(state: SchedulerState): GraphStructure {
    const n = state.tasks.size;
    const keys: string[] = new Array(n);
    const states = new Uint8Array(n);
    const index = new Map<string, number>();
    const prefixIndex = new Map<string, number>();
    const prefixes: string[] = [];
    const nodes: [string, number][] = new Array(n);
    let i = 0;
    for (const task of state.tasks.values()) {
      keys[i] = task.key;
      states[i] = STATE_INDEX.get(task.state)!;
      index.set(task.key, i);
      let p = prefixIndex.get(task.prefix.name);
      if (p === undefined) {
        p = prefixes.length;
        prefixes.push(task.prefix.name);
        prefixIndex.set(task.prefix.name, p);
      }
      nodes[i] = [task.key, p];
      i++;
    }
    const edges: [number, number][] = [];
    i = 0;
    for (const task of state.tasks.values()) {
      for (const dep of task.dependencies) {
        const from = index.get(dep.key);
        if (from !== undefined) edges.push([from, i]);
      }
      i++;
    }
    this.#keys = keys;
    this.#states = states;
    const structure: GraphStructure = {
      kind: "structure",
      version: ++this.#version,
      stateNames: SCHEDULER_TASK_STATES,
      prefixes,
      nodes,
      edges,
      states: Array.from(states),
    };
    this.#last = structure;
    return structure;
  }
}
