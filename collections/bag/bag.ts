/**
 * `Bag`: a lazy, partitioned sequence of JavaScript values, as `dask.bag` — the collection for
 * semi-structured data such as JSON records and lines of text.
 *
 * Element-wise operations (map, filter, pluck, ...) do not make tasks of their own: they are
 * fused into one task per partition together with the partition's source and, for a
 * reduction, its first step (see plan.ts). Persist a bag that several computations read, so it
 * is computed once.
 *
 * @module
 */

import { tokenize, tokenizeSymbol } from "../../core/tokenize.ts";
import { chunkKey, type Key, makeLiteral, TaskRef } from "../../core/task.ts";
import {
  collectGraph,
  type Collection,
  type CollectionSpec,
  collectionSymbol,
  type Layer,
  leafLayer,
} from "../collection.ts";
import { computeCollections, type ComputeOptions, persistCollection } from "../compute.ts";
import { Delayed } from "../delayed.ts";
import { type GraphPicture, visualizeGraph, type VisualizeOptions } from "../visualize.ts";
import {
  argumentLayers,
  argumentValues,
  extraArguments,
  type KeyArgument,
  keyFunctions,
  keySpec,
  requireFunction,
} from "./arguments.ts";
import { concatPartitions, type Field } from "./partition_ops.ts";
import { accumulate } from "./accumulate.ts";
import { StringAccessor } from "./string_methods.ts";
import {
  COLLECT,
  isMaterialized,
  pipelineTasks,
  type Plan,
  planLayers,
  type StageDef,
  upTo,
} from "./plan.ts";
import * as reductions from "./reductions.ts";
import { groupby } from "./groupby.ts";
import { product, repartition, take, type TakeOptions } from "./reshape.ts";
import { toTextFiles, type ToTextFilesOptions } from "./text_io.ts";
import { bagRepr, inspectSymbol } from "../display/repr.ts";
import { graphDisplay, jupyterDisplay, type MimeBundle } from "../display/notebook.ts";

/** The value an extra argument of `map` gives each call: a bag's element, a Delayed's value. */
export type ArgumentValue<A> = A extends Bag<infer E> ? E : A extends Delayed<infer V> ? V : A;

/** Options of tree reductions. */
export interface ReductionOptions {
  /** How many partial results one task combines (the tree's fan-in). Default 8, as in Dask. */
  splitEvery?: number;
}

/** A lazy, partitioned collection of values. Make one with `fromSequence`, `readText`, ... */
export class Bag<T = unknown> implements Collection<T[]> {
  #materialized: { layer: Layer; keys: readonly Key[] } | undefined;

  /**
   * @internal Use the creation functions (`fromSequence`, `range`, `readText`, ...).
   * @param name `op-token`: a content address of how the bag is made.
   */
  constructor(
    readonly name: string,
    readonly npartitions: number,
    /** @internal Where the partitions come from and the fused stages applied to them. */
    readonly plan: Plan,
  ) {}

  /** The keys of the partitions' tasks, in order. */
  partitionKeys(): readonly Key[] {
    return this.#materialize().keys;
  }

  /** The layer whose tasks produce the partitions (a bag speaks the collection protocol). */
  layer(): Layer {
    return this.#materialize().layer;
  }

  #materialize(): { layer: Layer; keys: readonly Key[] } {
    if (this.#materialized !== undefined) return this.#materialized;
    const { plan, name } = this;
    if (isMaterialized(plan) && plan.source.kind === "partitions") {
      const layers = plan.source.layers;
      const layer = layers.length === 1 ? layers[0] : { id: name, tasks: [], dependencies: layers };
      this.#materialized = { layer, keys: plan.source.keys };
    } else {
      const keyOf = (i: number) => chunkKey(name, i);
      const tasks = pipelineTasks(plan, keyOf, COLLECT, upTo(this.npartitions));
      const layer = { id: name, tasks, dependencies: planLayers(plan) };
      this.#materialized = { layer, keys: tasks.map((t) => t.key) };
    }
    return this.#materialized;
  }

  /** A bag that applies one more element-wise stage to this bag's partitions. */
  #then<U>(op: string, token: readonly unknown[], stage: StageDef): Bag<U> {
    const { source, stages } = this.plan;
    return new Bag<U>(`${op}-${tokenize(this.name, ...token)}`, this.npartitions, {
      source,
      stages: [...stages, stage],
    });
  }

  // -------------------------------------------------------------------------------------------
  // Element-wise

  /**
   * `f(element, ...args)` for each element. An argument that is a Bag (with as many partitions)
   * gives its elements one by one, in step with this bag's; a Delayed gives its value; any
   * other value is passed as it is.
   */
  map<U, A extends unknown[]>(
    f: (element: T, ...args: { [I in keyof A]: ArgumentValue<A[I]> }) => U,
    ...args: A
  ): Bag<U> {
    return this.#mapStage("map", requireFunction(f, "map's argument"), args, false, 0);
  }

  /**
   * @internal `f(...args)` with this bag's element inserted at position `at` of the call's
   * arguments (module-level `bag.map(f, ...args)`, whose first bag may come after others).
   */
  mapAt<U>(f: (...args: never[]) => U, args: readonly unknown[], at: number): Bag<U> {
    return this.#mapStage("map", requireFunction(f, "map's argument"), args, false, at);
  }

  /** `f(...element, ...args)` for each element (an array): `map` with the element spread. */
  starmap<U>(f: (...args: never[]) => U, ...args: unknown[]): Bag<U> {
    return this.#mapStage("starmap", requireFunction(f, "starmap's argument"), args, true, 0);
  }

  #mapStage<U>(
    op: string,
    f: (...args: never[]) => unknown,
    args: readonly unknown[],
    spread: boolean,
    at: number,
  ): Bag<U> {
    const extras = extraArguments(op, args, this.npartitions, isBag);
    const zipped = extras.map((a) => a.kind === "partitions");
    return this.#then<U>(op, [f, at, ...args], {
      fns: [f],
      layers: argumentLayers(extras),
      spec: (i, slot) => ({
        op: "map",
        fn: slot(f),
        spread,
        extras: argumentValues(extras, i),
        zipped,
        at,
      }),
    });
  }

  /** The elements for which `predicate` is truthy. */
  filter(predicate: (element: T) => unknown): Bag<T> {
    const f = requireFunction(predicate, "filter's predicate");
    return this.#then<T>("filter", [f], {
      fns: [f],
      layers: [],
      spec: (_i, slot) => ({ op: "filter", fn: slot(f), keep: true }),
    });
  }

  /** The elements for which `predicate` is falsy. */
  remove(predicate: (element: T) => unknown): Bag<T> {
    const f = requireFunction(predicate, "remove's predicate");
    return this.#then<T>("remove", [f], {
      fns: [f],
      layers: [],
      spec: (_i, slot) => ({ op: "filter", fn: slot(f), keep: false }),
    });
  }

  /**
   * `element[key]` for each element, or a tuple of fields for a list of keys. An element without
   * the field is an error unless a default is given.
   */
  pluck<K extends keyof T & Field>(key: K, ...fallback: [T[K]?]): Bag<T[K]>;
  /** For a list of keys: a tuple of those fields for each element. */
  pluck<K extends keyof T & Field>(keys: readonly K[], ...fallback: [unknown?]): Bag<T[K][]>;
  pluck(key: Field | readonly Field[], ...fallback: unknown[]): Bag<unknown> {
    if (Array.isArray(key)) {
      if (!key.every(isField)) throw new TypeError("pluck: every key must be a string or number.");
    } else if (!isField(key)) {
      throw new TypeError(`pluck: a key must be a string, a number, or a list of them.`);
    }
    const keyData = Array.isArray(key) ? [...key] : key as Field;
    const given = fallback.length > 0 ? { value: fallback[0] } : null;
    return this.#then("pluck", [keyData, given], {
      fns: [],
      layers: [],
      spec: () => ({ op: "pluck", key: keyData, fallback: given }),
    });
  }

  /** Each element's items as elements of their own (elements must be iterable). */
  flatten(): Bag<T extends Iterable<infer E> ? E : unknown> {
    return this.#then("flatten", [], { fns: [], layers: [], spec: () => ({ op: "flatten" }) });
  }

  /**
   * `f(partition, ...args)` for each partition (an array); `f` returns the new partition (any
   * iterable). A Bag argument gives its matching partition, a Delayed its value.
   */
  mapPartitions<U>(
    f: (partition: T[], ...args: never[]) => Iterable<U>,
    ...args: unknown[]
  ): Bag<U> {
    return this.mapPartitionsAt(f as (...args: never[]) => Iterable<U>, args, 0);
  }

  /** @internal `mapPartitions` with this bag's partition at position `at` of the arguments. */
  mapPartitionsAt<U>(
    f: (...args: never[]) => Iterable<U>,
    args: readonly unknown[],
    at: number,
  ): Bag<U> {
    const fn = requireFunction(f, "mapPartitions' argument");
    const extras = extraArguments("mapPartitions", args, this.npartitions, isBag);
    return this.#then<U>("mapPartitions", [fn, at, ...args], {
      fns: [fn],
      layers: argumentLayers(extras),
      spec: (i, slot) => ({
        op: "mapPartitions",
        fn: slot(fn),
        extras: argumentValues(extras, i),
        at,
      }),
    });
  }

  /** `n` bags, the i-th of each element's item `i` (Dask's `unzip`; elements are tuples). */
  unzip(n: number): Bag<unknown>[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`unzip: n must be a non-negative integer; got ${n}.`);
    }
    return Array.from({ length: n }, (_, i) => this.pluck(i as keyof T & Field));
  }

  /**
   * Running values `binop(accumulator, element)` over the elements in order, starting from
   * `initial` when given (which is then the first element of the result, as Dask's
   * `accumulate`), else from the first element.
   */
  accumulate<A>(binop: (accumulator: A, element: T) => A, ...initial: [A?]): Bag<A> {
    return accumulate(this, binop, initial.length > 0 ? { value: initial[0] as A } : undefined);
  }

  /** String methods of the elements, as Dask's `Bag.str`: `b.str.lower()`, `b.str.split(",")`. */
  get str(): StringAccessor {
    return new StringAccessor(this as unknown as Bag<string>);
  }

  /** Tuples `[a, b, ...]` of this bag's elements with the matching elements of `others`. */
  zip<U extends unknown[]>(...others: { [I in keyof U]: Bag<U[I]> }): Bag<[T, ...U]> {
    const extras = extraArguments("zip", others, this.npartitions, isBag);
    return this.#then("zip", others, {
      fns: [],
      layers: argumentLayers(extras),
      spec: (i) => ({ op: "zip", others: argumentValues(extras, i) }),
    });
  }

  /**
   * Pairs `[match, element]` for each element and each element of `other` with an equal key
   * (Dask's order). `other` is held whole by every task: an array, a Delayed, or a bag of one
   * partition. `onOther` defaults to `onSelf`.
   */
  join<U>(
    other: Iterable<U> | Bag<U> | Delayed<Iterable<U>>,
    onSelf: KeyArgument<T>,
    onOther?: KeyArgument<U>,
  ): Bag<[U, T]> {
    const selfKey = onSelf as KeyArgument<never>;
    const otherKey = (onOther ?? onSelf) as KeyArgument<never>;
    let ref: unknown;
    const layers: Layer[] = [];
    if (isBag(other)) {
      if (other.npartitions !== 1) {
        throw new RangeError(
          `join: the other bag has ${other.npartitions} partitions; join reads it whole in ` +
            `every task, so it must have one: use other.repartition(1).`,
        );
      }
      ref = new TaskRef(other.partitionKeys()[0]);
      layers.push(other.layer());
    } else if (other instanceof Delayed) {
      ref = new TaskRef(other.key);
      layers.push(other);
    } else {
      // one literal task holds the data, so each partition's task refers to it, not copies it
      const data = [...other];
      const key = `join-other-${tokenize(data)}`;
      ref = new TaskRef(key);
      layers.push(leafLayer(key, [makeLiteral(key, data)]));
    }
    return this.#then("join", [ref, selfKey, otherKey], {
      fns: [...keyFunctions(selfKey), ...keyFunctions(otherKey)],
      layers,
      spec: (_i, slot) => ({
        op: "join",
        other: ref,
        onSelf: keySpec(selfKey, slot),
        onOther: keySpec(otherKey, slot),
      }),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Reshaping

  /** Every pair `[a, b]` of an element of this bag and one of `other` (n × m partitions). */
  product<U>(other: Bag<U>): Bag<[T, U]> {
    return product(this, other);
  }

  /**
   * Groups elements by key: a bag of `[key, elements]` pairs, each key in one pair. A shuffle in
   * tasks (split each partition by key hash, then gather each hash bucket), so no task ever
   * holds all the data. `npartitions` of the result defaults to this bag's.
   */
  groupby<K>(
    key: ((element: T) => K) | Field | readonly Field[],
    options: { npartitions?: number } = {},
  ): Bag<[K, T[]]> {
    return groupby(this, key as KeyArgument<T>, options.npartitions ?? this.npartitions);
  }

  /** The same elements, in order, in `n` partitions (neighbouring partitions joined or split). */
  repartition(n: number): Bag<T> {
    return repartition(this, n);
  }

  /**
   * The first `k` elements, computed now, reading only the first `npartitions` partitions
   * (default 1; -1 for all). Warns when those partitions hold fewer than `k` elements.
   */
  take(k: number, options: TakeOptions = {}): Promise<T[]> {
    return take(this, k, options);
  }

  // -------------------------------------------------------------------------------------------
  // Reductions: tree reductions whose first step runs inside each partition's task.

  /** The number of elements. */
  count(options: ReductionOptions = {}): Delayed<number> {
    return reductions.simple(this, "count", options);
  }

  /** The sum of the elements (0 for an empty bag). */
  sum(options: ReductionOptions = {}): Delayed<number> {
    return reductions.simple(this, "sum", options);
  }

  /** The smallest element (by `<`). An empty bag is an error. */
  min(options: ReductionOptions = {}): Delayed<T> {
    return reductions.simple(this, "min", options);
  }

  /** The largest element (by `>`). An empty bag is an error. */
  max(options: ReductionOptions = {}): Delayed<T> {
    return reductions.simple(this, "max", options);
  }

  /** The arithmetic mean (NaN for an empty bag). */
  mean(options: ReductionOptions = {}): Delayed<number> {
    return reductions.simple(this, "mean", options);
  }

  /** The variance, divided by `n - ddof` (default 0), computed stably in one pass. */
  var(options: ReductionOptions & { ddof?: number } = {}): Delayed<number> {
    return reductions.variance(this, false, options);
  }

  /** The standard deviation (see {@link Bag.var}). */
  std(options: ReductionOptions & { ddof?: number } = {}): Delayed<number> {
    return reductions.variance(this, true, options);
  }

  /** True when some element is truthy. */
  any(options: ReductionOptions = {}): Delayed<boolean> {
    return reductions.simple(this, "any", options);
  }

  /** True when every element is truthy (true for an empty bag). */
  all(options: ReductionOptions = {}): Delayed<boolean> {
    return reductions.simple(this, "all", options);
  }

  /**
   * `[value, count]` pairs, one per distinct value, as a bag of one partition; `sort: true`
   * orders them by count, largest first.
   */
  frequencies(options: ReductionOptions & { sort?: boolean } = {}): Bag<[T, number]> {
    return reductions.frequencies(this, options);
  }

  /**
   * The `k` largest elements by `key`, largest first, as a bag. The key is the element itself
   * (default), a function of one element, a field name or index (`x[key]`), or a list of them
   * (compared item by item, as Python's tuples). Ties keep the order the elements came in.
   */
  topk(k: number, key?: KeyArgument<T>, options: ReductionOptions = {}): Bag<T> {
    return reductions.topk(this, k, key, options);
  }

  /** The distinct elements (by `key` when given; the first of each kept), as a bag. */
  distinct(key?: KeyArgument<T>, options: ReductionOptions = {}): Bag<T> {
    return reductions.distinct(this, key, options);
  }

  /**
   * A custom reduction: `perPartition(partition)` on each partition, then `aggregate(partials)`
   * up the tree (so its result must be a valid partial too, as in Dask), or `combine` on inner
   * nodes when given. Empty partitions are skipped, except the last.
   */
  reduction<P, R>(
    perPartition: (partition: T[]) => P,
    aggregate: (partials: P[]) => R,
    options: ReductionOptions & { combine?: (partials: P[]) => P } = {},
  ): Delayed<R> {
    return reductions.reduction(this, perPartition, aggregate, options);
  }

  /**
   * Grouped reduction without a shuffle: per key, `binop(accumulator, element)` inside each
   * partition (starting from `initial`, or the first element), then `combine` (default `binop`)
   * across partitions (starting from `combineInitial` when given). A bag of `[key, value]`.
   * `undefined` means "not given". Initial objects are copied per key.
   */
  foldby<K, A>(
    key: ((element: T) => K) | Field | readonly Field[],
    binop: (accumulator: A, element: T) => A,
    initial?: A,
    combine?: (a: A, b: A) => A,
    combineInitial?: A,
    options: ReductionOptions = {},
  ): Bag<[K, A]> {
    return reductions.foldby(this, key as KeyArgument<T>, binop, {
      initial,
      combine,
      combineInitial,
      splitEvery: options.splitEvery,
    });
  }

  /**
   * `binop(accumulator, element)` over each partition (from `initial`, or the first element),
   * then `combine` (default `binop`) over the partials.
   */
  fold<A>(
    binop: (accumulator: A, element: T) => A,
    combine?: (a: A, b: A) => A,
    options: ReductionOptions & { initial?: A } = {},
  ): Delayed<A> {
    return reductions.fold(this, binop, combine, options);
  }

  // -------------------------------------------------------------------------------------------
  // Output and the collection protocol

  /**
   * Writes each partition to a text file, one element (a string) per line, and resolves to the
   * paths written. `pattern` holds a `*` that becomes the partition number (or
   * `nameFunction(i)`); a pattern without `*` is a directory that receives `i.part` files.
   * Gzip when `compression` says so or the names end in `.gz` (the default `"infer"`).
   */
  toTextFiles(
    pattern: string | readonly string[],
    options: ToTextFilesOptions = {},
  ): Promise<string[]> {
    return toTextFiles(this, pattern, options);
  }

  /**
   * A dataframe of this bag's plain objects (one partition per bag partition). `meta` gives the
   * columns' types (`{ name: "string", n: "int64" }`); without it the first partition's first
   * records are computed now to learn them, as Dask does. Loads Polars (`--allow-ffi`) on first
   * use, so bags alone never need it.
   */
  async toDataframe(
    options: import("../dataframe/from_bag.ts").ToDataframeOptions = {},
  ): Promise<import("../dataframe/frame.ts").DataFrame> {
    const { bagToDataframe } = await import("../dataframe/from_bag.ts");
    return await bagToDataframe(this as Bag<Record<string, unknown>>, options);
  }

  /** One Delayed per partition (each computes to that partition's array). */
  toDelayed(): Delayed<T[]>[] {
    const layer = this.layer();
    return this.partitionKeys().map((key) => new Delayed<T[]>(key, null, [layer]));
  }

  /** Computes the bag: all elements, in partition order. */
  async compute(options: ComputeOptions = {}): Promise<T[]> {
    const [value] = await computeCollections([this], options);
    return value as T[];
  }

  /** Computes the partitions and keeps them; returns a bag that reads the kept partitions. */
  persist(options: ComputeOptions = {}): Promise<Bag<T>> {
    return persistCollection(this, options);
  }

  /**
   * The task graph as a picture: Graphviz DOT (default) or SVG text, coloured by function, drawn
   * as SVG in a notebook; with `filename`, also written to that file (`.svg` or `.dot`).
   */
  visualize(options: VisualizeOptions = {}): Promise<GraphPicture> {
    return visualizeGraph(collectGraph([this.layer()]), { name: this.name, ...options });
  }

  /** A bag's token is its name, a content address of how it is made. */
  [tokenizeSymbol](): string {
    return this.name;
  }

  /** How compute and persist see a Bag: one key per partition, concatenated at the end. */
  get [collectionSymbol](): CollectionSpec<T[]> {
    return {
      layer: () => this.layer(),
      keys: () => this.partitionKeys(),
      finalize: (values) => concatArrays(values as T[][]),
      finalizeTask: () => ({ fn: concatPartitions, args: [Number.MAX_SAFE_INTEGER] }),
      rebuild: (layer) =>
        new Bag<T>(this.name, this.npartitions, {
          source: { kind: "partitions", keys: this.partitionKeys(), layers: [layer], arrays: true },
          stages: [],
        }),
    };
  }

  /** `Bag<name, npartitions=n>`. */
  toString(): string {
    return `Bag<${this.name}, npartitions=${this.npartitions}>`;
  }

  /** How `console.log` shows a bag: Dask's one-line repr, not its plan. */
  [inspectSymbol](): string {
    return bagRepr(this);
  }

  /** How a notebook shows a bag: its tasks and layers. */
  [jupyterDisplay](): MimeBundle {
    return graphDisplay(bagRepr(this), this.layer(), bagRepr(this));
  }
}

/** True for bags. */
export function isBag(value: unknown): value is Bag {
  return value instanceof Bag;
}

function isField(value: unknown): value is Field {
  return typeof value === "string" || typeof value === "number";
}

/** Partitions joined into one array, sized once. */
function concatArrays<T>(parts: readonly T[][]): T[] {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Array<T>(total);
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[k++] = p[i];
  return out;
}
