/**
 * The Graph page's data: the tasks the scheduler knows now, their dependencies and their states,
 * kept up to date by diffs. Above {@link GraphTracker.groupAbove} tasks (where single tasks blur
 * into a line) it sends task groups instead — tasks grouped by key prefix, with per-group progress
 * and the dependencies between groups — as Dask's graph collapses to task groups; above
 * {@link GraphTracker.maxNodes} it says how many tasks there are instead (walking a larger graph
 * every push interval would cost the scheduler more than the picture is worth).
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

/** One task group (tasks of one key prefix): counts of its tasks by state. */
export interface TaskGroupNode {
  name: string;
  total: number;
  /** Done: in memory or released after running. */
  done: number;
  processing: number;
  waiting: number;
  erred: number;
}

/** The graph as task groups: groups and the `[dependencyGroup, dependentGroup]` edges. */
export interface GraphGroups {
  kind: "groups";
  version: number;
  tasks: number;
  groups: TaskGroupNode[];
  edges: [number, number][];
}

export type GraphUpdate = GraphStructure | GraphStates | GraphGroups | GraphTooLarge;

const STATE_INDEX = new Map<SchedulerTaskState, number>(
  SCHEDULER_TASK_STATES.map((name, i) => [name, i]),
);

export class GraphTracker {
  #keys: string[] = [];
  #states = new Uint8Array(0);
  #version = 0;
  #tooLarge = -1;
  #last: GraphStructure | GraphGroups | GraphTooLarge | null = null;
  #lastGroups = "";

  constructor(readonly maxNodes = 5000, readonly groupAbove = 300) {}

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
    if (tasks.size > this.groupAbove) return this.#groups(state);
    this.#lastGroups = "";
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
  snapshot(state: SchedulerState): GraphStructure | GraphGroups | GraphTooLarge {
    const last = this.#last ?? this.update(state) ?? this.#rebuild(state);
    if (last.kind === "states") return this.#rebuild(state);
    if (last.kind !== "structure") return last;
    return { ...last, states: Array.from(this.#states) };
  }

  /** Task groups and their edges, or null when they did not change. O(tasks + dependencies). */
  #groups(state: SchedulerState): GraphGroups | null {
    const index = new Map<string, number>();
    const groups: TaskGroupNode[] = [];
    const edgeSet = new Set<number>();
    const groupOf = (name: string): number => {
      let g = index.get(name);
      if (g === undefined) {
        g = groups.length;
        index.set(name, g);
        groups.push({ name, total: 0, done: 0, processing: 0, waiting: 0, erred: 0 });
      }
      return g;
    };
    for (const task of state.tasks.values()) {
      const group = groups[groupOf(task.prefix.name)];
      group.total++;
      const s = task.state;
      if (s === "memory" || s === "released" || s === "forgotten") group.done++;
      else if (s === "processing") group.processing++;
      else if (s === "erred") group.erred++;
      else group.waiting++;
    }
    const n = groups.length;
    for (const task of state.tasks.values()) {
      const to = index.get(task.prefix.name)!;
      for (const dep of task.dependencies) {
        const from = index.get(dep.prefix.name);
        if (from !== undefined && from !== to) edgeSet.add(from * n + to);
      }
    }
    const edges = [...edgeSet].map((e): [number, number] => [Math.floor(e / n), e % n]);
    const json = JSON.stringify([groups, edges]);
    if (json === this.#lastGroups) return null;
    this.#lastGroups = json;
    this.#keys = [];
    this.#last = {
      kind: "groups",
      version: ++this.#version,
      tasks: state.tasks.size,
      groups,
      edges,
    };
    return this.#last;
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
