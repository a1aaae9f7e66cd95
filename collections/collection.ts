/**
 * The protocol every lazy collection (`Delayed`, `Bag`, `DArray`) speaks, so that compute,
 * persist and the schedulers treat them alike without knowing what they are.
 *
 * A collection is a {@link Layer} of tasks that depends on other layers (a high-level graph),
 * a list of output keys, and a function that turns the outputs' values into the user's result.
 *
 * @module
 */

import type { Graph } from "../core/graph.ts";
import type { Key, Task, TaskFunction } from "../core/task.ts";

/** Tasks made by one operation, plus the layers they read from. Layers are shared, never copied. */
export interface Layer {
  /** Unique per distinct set of tasks (a content token), so shared layers merge once. */
  readonly id: string;
  /** The tasks this layer adds to a graph. */
  readonly tasks: readonly Task[];
  /** The layers whose tasks these tasks read. */
  readonly dependencies: readonly Layer[];
}

/** The key of {@link OneTaskLayer}'s task (a symbol: no name a lazy attribute could use). */
export const layerTask: unique symbol = Symbol("the one task of a layer") as never;

/**
 * A layer of one task (every `Delayed`) may give it under {@link layerTask}, so that collecting a
 * graph of a million of them makes no array per layer (`null`: the layer has no task). Internal:
 * not part of the public `Layer` type.
 */
export interface OneTaskLayer extends Layer {
  readonly [layerTask]?: Task | null;
}

/** Marks an object as a lazy collection. */
export const collectionSymbol: unique symbol = Symbol.for("dask.collection") as never;

/** What a collection tells the machinery that computes it. */
export interface CollectionSpec<T> {
  /** The layer holding the tasks of the outputs; its dependencies hold the rest. */
  layer(): Layer;
  /** The keys whose values make up the result, in the order `finalize` expects. */
  keys(): readonly Key[];
  /** Turns the outputs' values (in `keys()` order) into the result. */
  finalize(values: unknown[]): T;
  /** The same collection over a layer that already holds the outputs (for persist). */
  rebuild(layer: Layer): Collection<T>;
  /**
   * `finalize` as a travelling task: `fn(...args, ...values)` gives the result inside a task,
   * so that a collection can be an argument of a delayed call (Dask's `finalize` task).
   */
  finalizeTask?(): { fn: TaskFunction; args: readonly unknown[] };
}

/** A lazy collection whose result is `T`. */
export interface Collection<T = unknown> {
  /** How compute and persist see this collection. */
  readonly [collectionSymbol]: CollectionSpec<T>;
}

/**
 * Types only: a collection whose result is narrower than its spec says (an array of shape ()
 * computes to a number, not an NDArray) declares it under this key (`declare readonly
 * [resultType]: number`), which holds no value at run time.
 */
export const resultType: unique symbol = Symbol.for("dask.resultType") as never;

/** The result type of a collection: the one it declares under {@link resultType}, else its spec's. */
export type ResultOf<C> = C extends { readonly [resultType]: infer R } ? R
  : C extends Collection<infer T> ? T
  : never;

/** A lazy collection whose result (as {@link ResultOf} reads it) is `T`. */
export type LazyValue<T> = Collection<T> | (Collection & { readonly [resultType]: T });

/** True for values that are lazy collections. */
export function isCollection(value: unknown): value is Collection {
  return typeof value === "object" && value !== null && collectionSymbol in value;
}

/** Flattens layers (deduplicated by id) into one graph. Iterative: chains may be very deep. */
export function collectGraph(layers: readonly Layer[]): Graph {
  const graph: Graph = new Map();
  // one-task layers (every Delayed) are recognised by their key in the graph; only the rest
  // need a set of seen ids, which keeps million-task delayed graphs lean
  const seen = new Set<string>();
  const stack: Layer[] = [];
  for (const layer of layers) stack.push(layer);
  while (stack.length > 0) {
    const layer = stack.pop()!;
    let task = (layer as OneTaskLayer)[layerTask];
    if (task === undefined && layer.tasks.length === 1) task = layer.tasks[0];
    if (task != null) {
      if (graph.has(task.key)) continue;
      graph.set(task.key, task);
    } else {
      const tasks = layer.tasks;
      if (seen.has(layer.id)) continue;
      seen.add(layer.id);
      for (let i = 0; i < tasks.length; i++) {
        const task = tasks[i];
        // equal keys name equal computations (content addressing): the first one seen serves
        if (!graph.has(task.key)) graph.set(task.key, task);
      }
    }
    const deps = layer.dependencies;
    for (let i = 0; i < deps.length; i++) stack.push(deps[i]);
  }
  return graph;
}

/** A layer with no dependencies holding the given tasks. */
export function leafLayer(id: string, tasks: readonly Task[]): Layer {
  return { id, tasks, dependencies: [] };
}
