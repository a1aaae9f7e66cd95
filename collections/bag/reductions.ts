/**
 * Reductions of bags as task trees: each partition's task (its fused pipeline) ends in an
 * accumulator that yields a small partial; inner tasks combine `splitEvery` partials each; the
 * root finishes the answer. A scalar answer is a `Delayed` (Dask's `Item`); answers that are
 * sequences (frequencies, topk, distinct, foldby, samples) are bags of one partition, so they
 * chain (`frequencies().topk(10, 1)`).
 *
 * @module
 */

import { tokenize, uniqueToken } from "../../core/tokenize.ts";
import {
  chunkKey,
  type Key,
  makeTask,
  type Task,
  type TaskFunction,
  TaskRef,
} from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { Delayed } from "../delayed.ts";
import { type KeyArgument, keyFunctions, keySpec, requireFunction } from "./arguments.ts";
import { Bag, type ReductionOptions } from "./bag.ts";
import { combineFactory, plainCombine } from "./partition_ops.ts";
import { FunctionSlots, type SlotOf } from "../function_slots.ts";
import { pipelineTasks, planLayers, upTo } from "./plan.ts";
import type { Optional, ReducerSpec } from "./reducers.ts";
import { splitEveryOf, treeLevels } from "../tree_reduction.ts";

/** A reduction as the graph builder sees it: the functions it calls, its spec per slot map. */
interface ReducerDef {
  readonly fns: readonly TaskFunction[];
  spec(slot: SlotOf): ReducerSpec;
  /** False for random reductions: each call is a new computation with its own key. */
  readonly pure: boolean;
}

/**
 * The tasks of a tree reduction of `bag` whose root is `rootKey`: partial tasks, inner
 * combine tasks, and the root, in one layer (whose id is `${token}` based, distinct from the
 * root's).
 */
function reductionTree(
  bag: Bag<unknown>,
  op: string,
  token: string,
  reducer: ReducerDef,
  splitEvery: number,
  rootKey: Key,
): { tasks: Task[]; root: Task; layers: Layer[] } {
  const n = bag.npartitions;
  const partialName = `${op}-partial-${token}`;
  const tasks = pipelineTasks(bag.plan, (i) => chunkKey(partialName, i), {
    fns: reducer.fns,
    spec: (i, slot) => ({ op: "reduce", reducer: reducer.spec(slot), isLast: i === n - 1 }),
  }, upTo(n));
  const slots = new FunctionSlots(reducer.fns);
  const combine = slots.bind(combineFactory, plainCombine);
  const spec = reducer.spec(slots.slot);
  const combineName = `${op}-combine-${token}`;
  const level = treeLevels(
    tasks.map((t) => t.key),
    splitEvery,
    combineName,
    (key, refs) => makeTask(key, combine, [spec, refs, false]),
    tasks,
  );
  const root = makeTask(rootKey, combine, [spec, level.map((k) => new TaskRef(k)), true]);
  return { tasks, root, layers: planLayers(bag.plan) };
}

function tokenFor(bag: Bag<unknown>, reducer: ReducerDef, parts: readonly unknown[]): string {
  return reducer.pure ? tokenize(bag.name, ...parts) : uniqueToken();
}

/** A reduction whose answer is one value: a Delayed keyed `op-token`. */
function toValue<R>(
  bag: Bag<unknown>,
  op: string,
  reducer: ReducerDef,
  options: ReductionOptions,
  tokenParts: readonly unknown[],
): Delayed<R> {
  const splitEvery = splitEveryOf(options);
  const token = tokenFor(bag, reducer, [op, splitEvery, ...tokenParts]);
  const key = `${op}-${token}`;
  const { tasks, root, layers } = reductionTree(bag, op, token, reducer, splitEvery, key);
  const tree: Layer = { id: `${op}-tree-${token}`, tasks, dependencies: layers };
  return new Delayed<R>(key, root, [tree]);
}

/** A reduction whose answer is a sequence: a bag of one partition keyed `op-token[0]`. */
function toBag<R>(
  bag: Bag<unknown>,
  op: string,
  reducer: ReducerDef,
  options: ReductionOptions,
  tokenParts: readonly unknown[],
): Bag<R> {
  const splitEvery = splitEveryOf(options);
  const token = tokenFor(bag, reducer, [op, splitEvery, ...tokenParts]);
  const name = `${op}-${token}`;
  const rootKey = chunkKey(name, 0);
  const { tasks, root, layers } = reductionTree(bag, op, token, reducer, splitEvery, rootKey);
  tasks.push(root);
  const layer: Layer = { id: name, tasks, dependencies: layers };
  return new Bag<R>(name, 1, {
    source: { kind: "partitions", keys: [rootKey], layers: [layer], arrays: true },
    stages: [],
  });
}

const plain = (spec: ReducerSpec): ReducerDef => ({ fns: [], spec: () => spec, pure: true });

/** count, sum, min, max, mean, any, all. */
export function simple<R>(
  bag: Bag<unknown>,
  kind: "count" | "sum" | "min" | "max" | "mean" | "any" | "all",
  options: ReductionOptions,
): Delayed<R> {
  return toValue<R>(bag, kind, plain({ kind }), options, []);
}

/** var and std. */
export function variance(
  bag: Bag<unknown>,
  sqrt: boolean,
  options: ReductionOptions & { ddof?: number },
): Delayed<number> {
  const ddof = options.ddof ?? 0;
  return toValue(bag, sqrt ? "std" : "var", plain({ kind: "var", ddof, sqrt }), options, [ddof]);
}

export function frequencies<T>(
  bag: Bag<T>,
  options: ReductionOptions & { sort?: boolean },
): Bag<[T, number]> {
  const sort = options.sort ?? false;
  return toBag(bag, "frequencies", plain({ kind: "frequencies", sort }), options, [sort]);
}

export function topk<T>(
  bag: Bag<T>,
  k: number,
  key: KeyArgument<T> | undefined,
  options: ReductionOptions,
): Bag<T> {
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`topk: k must be a non-negative integer; got ${k}.`);
  }
  if (typeof key === "function" && key.length >= 2) {
    throw new TypeError(
      `topk: the key is a function of ${key.length} arguments, like a comparator (a, b) => …; ` +
        `give a function of one element that returns what to rank by (as Dask's key), a field ` +
        `name or index, or a list of them.`,
    );
  }
  const reducer: ReducerDef = {
    fns: keyFunctions(key as KeyArgument<never>),
    spec: (slot) => ({ kind: "topk", k, key: keySpec(key as KeyArgument<never>, slot) }),
    pure: true,
  };
  return toBag(bag, "topk", reducer, options, [k, key]);
}

export function distinct<T>(
  bag: Bag<T>,
  key: KeyArgument<T> | undefined,
  options: ReductionOptions,
): Bag<T> {
  const reducer: ReducerDef = {
    fns: keyFunctions(key as KeyArgument<never>),
    spec: (slot) => ({ kind: "distinct", key: keySpec(key as KeyArgument<never>, slot) }),
    pure: true,
  };
  return toBag(bag, "distinct", reducer, options, [key]);
}

export function reduction<T, P, R>(
  bag: Bag<T>,
  perPartition: (partition: T[]) => P,
  aggregate: (partials: P[]) => R,
  options: ReductionOptions & { combine?: (partials: P[]) => P },
): Delayed<R> {
  const per = requireFunction(perPartition, "reduction's perPartition");
  const agg = requireFunction(aggregate, "reduction's aggregate");
  const comb = options.combine === undefined
    ? agg
    : requireFunction(options.combine, "reduction's combine");
  const reducer: ReducerDef = {
    fns: [per, agg, comb],
    spec: (slot) => ({
      kind: "reduction",
      perPartition: slot(per),
      aggregate: slot(agg),
      combine: slot(comb),
    }),
    pure: true,
  };
  return toValue(bag, "reduction", reducer, options, [per, agg, comb]);
}

function optional(value: unknown): Optional {
  return value === undefined ? null : { value };
}

export function foldby<T, K, A>(
  bag: Bag<T>,
  key: KeyArgument<T>,
  binop: (accumulator: A, element: T) => A,
  options: ReductionOptions & {
    initial?: A;
    combine?: (a: A, b: A) => A;
    combineInitial?: A;
  },
): Bag<[K, A]> {
  const bin = requireFunction(binop, "foldby's binop");
  const comb = options.combine === undefined
    ? bin
    : requireFunction(options.combine, "foldby's combine");
  const initial = optional(options.initial);
  const combineInitial = optional(options.combineInitial);
  const reducer: ReducerDef = {
    fns: [...keyFunctions(key as KeyArgument<never>), bin, comb],
    spec: (slot) => ({
      kind: "foldby",
      key: keySpec(key as KeyArgument<never>, slot),
      binop: slot(bin),
      initial,
      combine: slot(comb),
      combineInitial,
    }),
    pure: true,
  };
  return toBag(bag, "foldby", reducer, options, [key, bin, comb, initial, combineInitial]);
}

export function fold<T, A>(
  bag: Bag<T>,
  binop: (accumulator: A, element: T) => A,
  combine: ((a: A, b: A) => A) | undefined,
  options: ReductionOptions & { initial?: A },
): Delayed<A> {
  const bin = requireFunction(binop, "fold's binop");
  const comb = combine === undefined ? bin : requireFunction(combine, "fold's combine");
  const initial = optional(options.initial);
  const reducer: ReducerDef = {
    fns: [bin, comb],
    spec: (slot) => ({ kind: "fold", binop: slot(bin), combine: slot(comb), initial }),
    pure: true,
  };
  return toValue(bag, "fold", reducer, options, [bin, comb, initial]);
}

/** Uniform random samples: `sample` (without replacement) and `choices` (with). */
export function randomSample<T>(
  bag: Bag<T>,
  kind: "sample" | "choices",
  k: number,
  options: ReductionOptions,
): Bag<T> {
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`${kind}: k must be a non-negative integer; got ${k}.`);
  }
  const reducer: ReducerDef = { fns: [], spec: () => ({ kind, k }), pure: false };
  return toBag(bag, kind, reducer, options, [k]);
}
