/**
 * `delayed`: lazy function calls that build a task graph, as in `dask.delayed`.
 *
 * @module
 */

import { typeNameOf } from "../core/type_name.ts";
import { functionName } from "../core/function_codec.ts";
import type { Graph } from "../core/graph.ts";
import { tokenize, tokenizeSymbol, uniqueToken } from "../core/tokenize.ts";
import {
  DESCEND,
  type Key,
  makeLiteral,
  makeTask,
  rewriteData,
  type Task,
  type TaskFunction,
  TaskRef,
} from "../core/task.ts";
import {
  collectGraph,
  type Collection,
  type CollectionSpec,
  collectionSymbol,
  type Layer,
} from "./collection.ts";
import { computeCollections, type ComputeOptions, persistCollection } from "./compute.ts";
import { visualizeGraph, type VisualizeOptions } from "./visualize.ts";

/** A lazy value: the result of a task that has not run yet. */
export class Delayed<T = unknown> implements Collection<T>, Layer {
  readonly #task: Task | null;
  /** The layers this value's task reads from. */
  readonly dependencies: readonly Layer[];

  /** @internal Use {@link delayed} to make Delayed values. */
  constructor(readonly key: Key, task: Task | null, dependencies: readonly Layer[]) {
    // graphs reach millions of Delayed values: hold the task itself, not an array of one
    this.#task = task;
    this.dependencies = dependencies.length === 0 ? NO_LAYERS : dependencies.slice();
  }

  /** The one task of this layer (none when it stands for a persisted result). */
  get tasks(): readonly Task[] {
    return this.#task === null ? NO_LAYERS as readonly never[] : [this.#task];
  }

  /** The layer id (a Delayed is its own one-task layer). */
  get id(): string {
    return this.key;
  }

  /** The whole task graph behind this value, keyed by task key. */
  get graph(): Graph {
    return collectGraph([this]);
  }

  /** Computes the value (see {@link ComputeOptions} for where it runs). */
  async compute(options: ComputeOptions = {}): Promise<T> {
    const [value] = await computeCollections([this], options);
    return value as T;
  }

  /** Computes the value and keeps it; returns a Delayed that holds it. */
  persist(options: ComputeOptions = {}): Promise<Delayed<T>> {
    return persistCollection(this, options);
  }

  /** A Delayed for `value[field]` (property or index access). */
  get<K extends keyof T>(field: K): Delayed<T[K]> {
    return delayed(getField, { name: "getitem", pure: true })(this, field) as Delayed<T[K]>;
  }

  /**
   * The task graph as Graphviz DOT (default) or SVG text, coloured by function; with
   * `filename`, also written to that file (`.svg` or `.dot`).
   */
  visualize(options: VisualizeOptions = {}): Promise<string> {
    return visualizeGraph(this.graph, { name: this.key, ...options });
  }

  /** A Delayed's token is its key: equal keys name equal computations. */
  [tokenizeSymbol](): string {
    return this.key;
  }

  /** How compute and persist see a Delayed: one key, its own layer. */
  get [collectionSymbol](): CollectionSpec<T> {
    return {
      layer: () => this,
      keys: () => [this.key],
      finalize: (values) => values[0] as T,
      rebuild: (layer) => new Delayed<T>(this.key, null, [layer]),
    };
  }

  /** `Delayed("key")`. */
  toString(): string {
    return `Delayed(${JSON.stringify(this.key)})`;
  }
}

const NO_LAYERS: readonly Layer[] = Object.freeze([]);

function getField(value: unknown, field: PropertyKey): unknown {
  return (value as Record<PropertyKey, unknown>)[field];
}

function buildContainer(value: unknown): unknown {
  return value;
}

/** Options of {@link delayed}. */
export interface DelayedOptions {
  /**
   * True when the function always gives the same result for the same arguments: equal calls
   * then share one key and run once. Default false (each call is a new task), as in Dask.
   */
  pure?: boolean;
  /** The key prefix; default: the function's name. */
  name?: string;
}

/**
 * Replaces Delayed values found in arrays and plain objects by task references and collects
 * the layers they come from. Other values are kept as they are.
 */
function unpacker(layers: Layer[]): (value: unknown, index?: number) => unknown {
  const replace = (v: object) => {
    if (!(v instanceof Delayed)) return DESCEND;
    layers.push(v);
    return new TaskRef(v.key);
  };
  return (value, index) =>
    value === null || typeof value !== "object"
      ? value
      : rewriteData(value, replace, index === undefined ? "value" : `args[${index}]`);
}

/** A value, a Delayed of it, or (for arrays and plain objects) the same with Delayed inside. */
export type MaybeDelayed<T> =
  | T
  | Delayed<T>
  | (T extends readonly (infer E)[] ? readonly MaybeDelayed<E>[]
    : T extends Record<string, unknown> ? { [K in keyof T]: MaybeDelayed<T[K]> }
    : never);

/** A function that, called, returns a Delayed for its result instead of running. */
export type DelayedFunction<A extends unknown[], R> = (
  ...args: { [I in keyof A]: MaybeDelayed<A[I]> }
) => Delayed<Awaited<R>>;

/**
 * Wraps a function so calls build tasks, or wraps a value as a Delayed.
 *
 * `delayed(fn)(...args)` makes a task; arguments may be Delayed values, also inside arrays and
 * plain objects. `delayed(value)` makes a Delayed of a value (and of any Delayed inside it).
 *
 * @example
 * ```ts
 * import { delayed } from "./mod.ts";
 * const inc = (x: number) => x + 1;
 * const add = (x: number, y: number) => x + y;
 * const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
 * await total.compute(); // 5
 * await total.compute({ scheduler: "sync" }); // 5, in this thread
 * ```
 */
export function delayed<A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: DelayedOptions,
): DelayedFunction<A, R>;
/**
 * Wraps a value (and any Delayed inside arrays or plain objects) as a Delayed.
 *
 * @example
 * ```ts
 * import { delayed } from "./mod.ts";
 * const data = delayed([1, 2, 3]);
 * const total = delayed((xs: number[]) => xs.reduce((a, b) => a + b, 0))(data);
 * await total.compute(); // 6
 * ```
 */
export function delayed<T>(value: T | Delayed<T>, options?: DelayedOptions): Delayed<T>;
export function delayed(
  target: unknown,
  options: DelayedOptions = {},
): Delayed | DelayedFunction<unknown[], unknown> {
  if (target instanceof Delayed) return target;
  if (typeof target === "function") {
    const fn = target as TaskFunction;
    const prefix = options.name ?? functionName(fn);
    const pure = options.pure ?? false;
    return (...args: unknown[]) => {
      const layers: Layer[] = [];
      const taskArgs = args.map(unpacker(layers));
      const key = `${prefix}-${pure ? tokenize(fn, ...taskArgs) : uniqueToken()}`;
      return new Delayed(key, makeTask(key, fn, taskArgs), layers);
    };
  }
  const layers: Layer[] = [];
  const value = unpacker(layers)(target);
  const name = options.name ?? literalTypeName(target);
  const token = options.pure === false ? uniqueToken() : tokenize(value);
  const key = `${name}-${token}`;
  const task = layers.length > 0 ? makeTask(key, buildContainer, [value]) : makeLiteral(key, value);
  return new Delayed(key, task, layers);
}

/** A literal's name for its key: `array`, `object`, or the type name (`number`, `Map`). */
function literalTypeName(value: unknown): string {
  if (Array.isArray(value)) return "array";
  const name = typeNameOf(value);
  return name && name !== "Object" ? name : "object";
}
