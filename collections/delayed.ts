/**
 * `delayed`: lazy function calls that build a task graph, as in `dask.delayed`.
 *
 * @module
 */

import { typeNameOf } from "../core/type_name.ts";
import { MAX_NESTING_DEPTH } from "../core/codec_kinds.ts";
import { endlessValueError, TooDeep } from "../core/value_path.ts";
import { functionName } from "../core/function_tags.ts";
import { buildContainer, buildSet, callMethod, getField } from "./delayed_tasks.ts";
import type { Graph } from "../core/graph.ts";
import { tokenize, tokenizeSymbol, uniqueToken } from "../core/tokenize.ts";
import {
  type Key,
  makeLiteral,
  makeTask,
  type Task,
  type TaskFunction,
  TaskRef,
} from "../core/task.ts";
import {
  collectGraph,
  type Collection,
  type CollectionSpec,
  collectionSymbol,
  isCollection,
  type Layer,
  layerTask,
  type LazyValue,
} from "./collection.ts";
import { computeCollections, type ComputeOptions, persistCollection } from "./compute.ts";
import { type GraphPicture, visualizeGraph, type VisualizeOptions } from "./visualize.ts";
import { delayedRepr, inspectSymbol } from "./display/repr.ts";
import { graphDisplay, jupyterDisplay, type MimeBundle } from "./display/notebook.ts";

/** Reads the Delayed behind a lazy attribute's callable Proxy (module-private). */
const UNPROXIED: unique symbol = Symbol("Delayed itself");

/**
 * A lazy value: the result of a task that has not run yet.
 *
 * As Dask's `Delayed.__getattr__`, a member a Delayed does not have itself is a lazy attribute
 * of its value: `d.length` is a Delayed of `value.length`, and `d.split(",")` a Delayed of
 * `value.split(",")` (see {@link DelayedMembers} for the types). Methods are the class's own, as
 * for any class: call them on the Delayed (`d.compute()`), not detached from it.
 */
export class Delayed<T = unknown> implements Collection<T>, Layer {
  readonly #task: Task | null;

  /**
   * @internal The Delayed itself, also when read through a lazy attribute's callable Proxy
   * (`d.name` stands for a Delayed and can be called): graphs keep the Delayed in their layers.
   */
  get [UNPROXIED](): Delayed<T> {
    return this;
  }

  /** The layers this value's task reads from. */
  readonly dependencies: readonly Layer[];

  /**
   * @internal Use {@link delayed} to make Delayed values.
   * @param nout With a count, the value is a tuple of that length and the Delayed can be
   * unpacked: `const [q, r] = delayed(divmod, { nout: 2 })(7, 2)`.
   */
  constructor(
    readonly key: Key,
    task: Task | null,
    dependencies: readonly Layer[],
    nout?: number,
  ) {
    // graphs reach millions of Delayed values: hold the task itself, not an array of one
    this.#task = task;
    // kept as given: every caller makes an array of the exact length for it (a grown array
    // keeps spare room, and a million-task graph keeps one per task)
    this.dependencies = dependencies.length === 0 ? NO_LAYERS : dependencies;
    if (nout !== undefined) {
      Object.defineProperty(this, Symbol.iterator, {
        value: () => unpackTuple(this, nout),
        configurable: true,
      });
    }
  }

  /** The one task of this layer (none when it stands for a persisted result). */
  get tasks(): readonly Task[] {
    return this.#task === null ? NO_LAYERS as readonly never[] : [this.#task];
  }

  /** Its task, for collecting a graph without an array per Delayed. */
  get [layerTask](): Task | null {
    return this.#task;
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
   * The task graph as a picture: Graphviz DOT (default) or SVG text, coloured by function, drawn
   * as SVG in a notebook; with `filename`, also written to that file (`.svg` or `.dot`).
   */
  visualize(options: VisualizeOptions = {}): Promise<GraphPicture> {
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
    return delayedRepr(this);
  }

  /** How `console.log` shows a Delayed: its key, not its task. */
  [inspectSymbol](): string {
    return delayedRepr(this);
  }

  /** How a notebook shows a Delayed: its tasks and layers. */
  [jupyterDisplay](): MimeBundle {
    return graphDisplay(delayedRepr(this), this, delayedRepr(this));
  }
}

const NO_LAYERS: readonly Layer[] = Object.freeze([]);

function* unpackTuple<T>(d: Delayed<T>, nout: number): Generator<Delayed> {
  for (let i = 0; i < nout; i++) yield d.get(i as keyof T);
}

/**
 * Names never read as lazy attributes: `then` (a Delayed must not look like a promise to
 * `await`), and names that inspection and serialisation probe.
 */
const NOT_ATTRIBUTES = new Set([
  "then",
  "toJSON",
  "constructor",
  "prototype",
  "inspect",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
]);

/**
 * Lazy attributes come from the prototype after `Delayed.prototype`: a Proxy whose trap is
 * reached only by names neither a Delayed nor its class has. One Proxy serves every Delayed (a
 * Proxy around each one cost its making and a trap on every read: a tenth of the time to build
 * a million-task graph).
 */
Object.setPrototypeOf(
  Delayed.prototype,
  // its target inherits from Object.prototype, so a Delayed is still `instanceof Object`
  new Proxy(Object.create(Object.prototype), {
    get(base, prop, receiver) {
      if (
        prop in base || typeof prop === "symbol" || NOT_ATTRIBUTES.has(prop) ||
        !(receiver instanceof Delayed) || receiver === Delayed.prototype
      ) return Reflect.get(base, prop, receiver);
      return lazyAttribute(receiver, prop);
    },
  }),
);

/**
 * `d.name`: a Delayed of `value.name` that can also be called, `d.name(...args)` giving a
 * Delayed of `value.name(...args)` (one task; the method runs with the value as `this`).
 */
function lazyAttribute(owner: Delayed, name: string): Delayed {
  const attribute = delayed(getField, { name: "getattr", pure: true })(owner, name);
  const call = (...args: unknown[]) =>
    delayed(callMethod, { name, pure: false })(owner, name, ...args);
  return new Proxy(call, {
    get: (_fn, prop) => {
      const value = Reflect.get(attribute, prop);
      // the Delayed's own methods run on it (the Proxy is a function, not a collection)
      return typeof value === "function" && prop in attribute ? value.bind(attribute) : value;
    },
    has: (_fn, prop) => Reflect.has(attribute, prop),
    getPrototypeOf: () => Delayed.prototype,
  }) as unknown as Delayed;
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
  /**
   * The exact key of the task (Dask's `dask_key_name`); a wrapped function then makes one
   * task, whatever the arguments, so give each call its own key.
   */
  key?: Key;
  /**
   * Look for lazy values inside arrays, plain objects and Sets among the arguments (default
   * true, as Dask). With false, only arguments that are themselves lazy are replaced: large
   * containers are passed as they are, without a walk.
   */
  traverse?: boolean;
  /**
   * The result is a tuple of `nout` values: the Delayed then unpacks into `nout` Delayed
   * values, `const [q, r] = delayed(divmod, { nout: 2 })(7, 2)` (Dask's `nout`).
   */
  nout?: number;
}

/**
 * Where a value given to `delayed` sits, for errors: argument `index` of a call of the function
 * named `prefix`, or (index -1) the value wrapped by `delayed(value)`. Its text is made only for
 * an error: a million-task graph makes no strings for it.
 */
interface Place {
  readonly prefix: string;
  index: number;
}

function placeName(where: Place): string {
  return where.index < 0
    ? "the value given to delayed"
    : `argument ${where.index} of ${where.prefix}`;
}

/**
 * Lazy values in `value` replaced by task references, their layers added to `layers` (see
 * {@link unpackArgument}); with `traverse` false only a value that is itself lazy is replaced.
 */
function unpackValue(value: unknown, layers: Layer[], traverse: boolean, where: Place): unknown {
  if (value instanceof Delayed) {
    const delayed = value[UNPROXIED];
    layers.push(delayed);
    return new TaskRef(delayed.key);
  }
  if (value === null || typeof value !== "object") return value;
  if (!traverse && !isCollection(value)) return value;
  try {
    return unpackArgument(value, layers, where);
  } catch (error) {
    if (!(error instanceof TooDeep)) throw error;
    throw endlessValueError(value, where.index < 0 ? "value" : `args[${where.index}]`);
  }
}

/**
 * Replaces lazy values in a call's argument by task references and collects the layers they
 * come from: Delayed values, other collections (Bag, DArray: their result made by a finalize
 * task, as Dask computes collections nested in arguments first), also inside arrays, plain
 * objects and Sets. One-pass iterators are refused (they would be drained or could not travel).
 * Containers without lazy values are kept as they are (no copy).
 */
function unpackArgument(value: unknown, layers: Layer[], where: Place, depth = 0): unknown {
  if (depth > MAX_NESTING_DEPTH) throw new TooDeep(); // a cycle: named by the caller
  if (value instanceof Delayed) {
    const delayed = value[UNPROXIED];
    layers.push(delayed);
    return new TaskRef(delayed.key);
  }
  if (value === null || typeof value !== "object") return value;
  if (isCollection(value)) return finalizedRef(value, layers, where);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const r = unpackArgument(value[i], layers, where, depth + 1);
      if (r !== value[i] && out === undefined) out = value.slice(0, i);
      if (out !== undefined) out.push(r);
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const record = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const k in record) {
      const r = unpackArgument(record[k], layers, where, depth + 1);
      if (r !== record[k] && out === undefined) out = { ...record };
      if (out !== undefined) out[k] = r;
    }
    return out ?? value;
  }
  if (value instanceof Set) {
    const items = [...value];
    const unpacked = unpackArgument(items, layers, where, depth + 1);
    if (unpacked === items) return value;
    // the Set is built inside a task, from its items' values
    const key = `set-${tokenize(unpacked)}`;
    layers.push({ id: key, tasks: [makeTask(key, buildSet, [unpacked])], dependencies: [] });
    return new TaskRef(key);
  }
  if (isOnePassIterator(value)) {
    const place = placeName(where);
    throw new TypeError(
      `${place} is a one-pass iterator (a generator or an iterator object): it would be ` +
        `drained by its first reader and cannot travel to another thread. Pass an array ` +
        `instead: Array.from(iterator).`,
    );
  }
  return value;
}

function isOnePassIterator(value: object): boolean {
  return typeof (value as Iterator<unknown>).next === "function" &&
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

/** A reference to a task that computes a collection's whole result. */
function finalizedRef(collection: Collection, layers: Layer[], where: Place): TaskRef {
  const spec = collection[collectionSymbol];
  const finalize = spec.finalizeTask?.();
  if (finalize === undefined) {
    throw new TypeError(
      `${
        placeName(where)
      } is a collection that cannot be finalized inside a task; compute it first and ` +
        `pass its value.`,
    );
  }
  const layer = spec.layer();
  const keys = spec.keys();
  const key = `finalize-${tokenize(layer.id, ...keys)}`;
  const args = [...finalize.args, ...keys.map((k) => new TaskRef(k))];
  layers.push({ id: key, tasks: [makeTask(key, finalize.fn, args)], dependencies: [layer] });
  return new TaskRef(key);
}

/**
 * A value, a Delayed of it or another collection that computes to it (`x.sum()` for a number), or
 * (for arrays and plain objects) the same with those inside.
 */
export type MaybeDelayed<T> =
  | T
  | Delayed<T>
  | LazyValue<T>
  | (T extends readonly (infer E)[] ? readonly MaybeDelayed<E>[]
    : T extends Record<string, unknown> ? { [K in keyof T]: MaybeDelayed<T[K]> }
    : never);

/**
 * The lazy attributes of a Delayed of `T` (those a Delayed does not have itself): each is a
 * Delayed of the value's attribute, and a method is also callable, giving a Delayed of its
 * result (Dask's `Delayed.__getattr__`).
 */
export type DelayedMembers<T> = {
  readonly [K in Exclude<keyof T, keyof Delayed<T> | symbol>]: T[K] extends
    (...args: infer A) => infer R
    // overloaded methods (`split`) type as their last overload: arguments are left open
    ? Delayed<T[K]> & ((...args: MaybeDelayed<A[number]>[] | unknown[]) => LazyDelayed<R>)
    : LazyDelayed<T[K]>;
};

/** A Delayed with its value's attributes as lazy attributes (see {@link DelayedMembers}). */
export type LazyDelayed<T> = Delayed<T> & DelayedMembers<T>;

/** A function that, called, returns a Delayed for its result instead of running. */
export type DelayedFunction<A extends unknown[], R> = (
  ...args: { [I in keyof A]: MaybeDelayed<A[I]> }
) => LazyDelayed<Awaited<R>>;

/**
 * Wraps a function whose result is a tuple of `nout` values: each call's Delayed unpacks into
 * `nout` Delayed values (Dask's `nout`). Lazy attributes and methods of the value work too.
 *
 * @example
 * ```ts
 * import { compute, delayed } from "./mod.ts";
 * const divmod = (a: number, b: number): [number, number] => [Math.floor(a / b), a % b];
 * const [q, r] = delayed(divmod, { nout: 2 })(7, 2);
 * await compute(q, r); // [3, 1]
 * const words = delayed((s: string) => s.trim())(" a,b ").split(",");
 * await words.compute(); // ["a", "b"]
 * ```
 */
export function delayed<A extends unknown[], R extends readonly unknown[]>(
  fn: (...args: A) => R,
  options: DelayedOptions & { nout: number },
): (
  ...args: { [I in keyof A]: MaybeDelayed<A[I]> }
) => LazyDelayed<R> & Iterable<LazyDelayed<R[number]>>;
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
export function delayed<T>(value: T | Delayed<T>, options?: DelayedOptions): LazyDelayed<T>;
export function delayed(
  target: unknown,
  options: DelayedOptions = NO_OPTIONS,
): Delayed | DelayedFunction<unknown[], unknown> {
  if (target instanceof Delayed) return target;
  const { nout } = options;
  if (nout !== undefined && !(Number.isInteger(nout) && nout >= 0)) {
    throw new RangeError(`delayed: nout must be an integer >= 0; got ${nout}.`);
  }
  const traverse = options.traverse ?? true;
  if (typeof target === "function") {
    const fn = target as TaskFunction;
    const prefix = options.name ?? functionName(fn);
    const pure = options.pure ?? false;
    return (...args: unknown[]) => {
      const n = args.length;
      const taskArgs = new Array(n);
      // the common arguments (plain values, Delayed values) without a walk, a Place or a
      // growing array (a graph makes one of these per task, and keeps it)
      let direct = 0;
      let i = 0;
      for (; i < n; i++) {
        const arg = args[i];
        if (arg === null || (typeof arg !== "object" && typeof arg !== "function")) {
          taskArgs[i] = arg;
        } else if (arg instanceof Delayed) {
          taskArgs[i] = new TaskRef(arg[UNPROXIED].key);
          direct++;
        } else break;
      }
      let layers: Layer[];
      if (i === n) {
        layers = new Array(direct);
        for (let j = 0, d = 0; d < direct; j++) {
          if (args[j] instanceof Delayed) layers[d++] = (args[j] as Delayed)[UNPROXIED];
        }
      } else {
        layers = [];
        for (let j = 0; j < i; j++) {
          if (args[j] instanceof Delayed) layers.push((args[j] as Delayed)[UNPROXIED]);
        }
        for (; i < n; i++) {
          taskArgs[i] = unpackValue(args[i], layers, traverse, { prefix, index: i });
        }
        layers = layers.slice(); // an exact copy: a grown array keeps spare room
      }
      const key = options.key ??
        `${prefix}-${pure ? tokenize(fn, ...taskArgs) : uniqueToken()}`;
      return new Delayed(key, makeTask(key, fn, taskArgs), layers, nout);
    };
  }
  const layers: Layer[] = [];
  const value = unpackValue(target, layers, traverse, { prefix: "", index: -1 });
  const name = options.name ?? literalTypeName(target);
  const token = options.pure === false ? uniqueToken() : tokenize(value);
  const key = options.key ?? `${name}-${token}`;
  const task = layers.length > 0 ? makeTask(key, buildContainer, [value]) : makeLiteral(key, value);
  return new Delayed(key, task, layers.slice(), nout);
}

const NO_OPTIONS: DelayedOptions = Object.freeze({});

/** A literal's name for its key: `array`, `object`, or the type name (`number`, `Map`). */
function literalTypeName(value: unknown): string {
  if (Array.isArray(value)) return "array";
  const name = typeNameOf(value);
  return name && name !== "Object" ? name : "object";
}
