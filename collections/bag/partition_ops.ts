/**
 * The task kernels of bags: what runs inside a bag's tasks, on whatever thread or machine.
 *
 * A bag's element-wise operations are fused: one task per partition reads its input (a
 * partition computed by another task, or a source such as a block of a text file), pushes each
 * element through a chain of stages (map, filter, pluck, ...) and into a terminal (collect the
 * partition, keep the first k, accumulate a reduction, split for a shuffle, write a file).
 * Elements flow one by one, so `readText(...).map(JSON.parse).count()` never holds a file's
 * lines or records in memory at once, and nothing travels between tasks but the answer.
 *
 * Stages and terminals are plain data ({@link StageSpec}, {@link TerminalSpec}); the user
 * functions they call are the task's bound functions, named by slot: the task function is
 * `bindFunctions(pipelineFactory, ...fns)` (core/function_tags.ts), rebuilt once per thread.
 *
 * @module
 */

import { taskModule } from "../../core/function_tags.ts";
import { throwIfCancelled } from "../../core/cancel_point.ts";
import type { TaskFunction } from "../../core/task.ts";
import { decode, decodedLength, decodeField, encode } from "../../core/value_codec.ts";
import { hashKey, KeyedMap } from "./keyed_map.ts";
import {
  type Accumulator,
  keyGetter,
  type KeySpec,
  makeReducer,
  type Optional,
  type ReducerSpec,
  type Sink,
} from "./reducers.ts";
import { type TextTarget, writeTextFile } from "./text_files.ts";

/** Where a partition's elements come from: a computed value, or a source function in a slot. */
export type InputSpec = { value: unknown } | { call: number; args: unknown[] };

/** A field name or index, as `pluck` and key specs take them. */
export type Field = string | number;

/** One element-wise step of a pipeline. */
export type StageSpec =
  | {
    op: "map";
    fn: number;
    /** Call `fn(...element, ...extras)` (starmap) instead of `fn(element, ...extras)`. */
    spread: boolean;
    extras: unknown[];
    /** `zipped[i]`: `extras[i]` is a partition walked in step with this one. */
    zipped: boolean[];
    /** Where the element goes among the call's arguments (module-level `map`); default 0. */
    at?: number;
  }
  | { op: "filter"; fn: number; keep: boolean }
  | { op: "pluck"; key: Field | Field[]; fallback: Optional }
  | { op: "flatten" }
  | { op: "mapPartitions"; fn: number; extras: unknown[]; at?: number }
  | { op: "zip"; others: unknown[] }
  | { op: "join"; other: unknown; onSelf: KeySpec; onOther: KeySpec };

/** What a pipeline does with the elements that reach its end. */
export type TerminalSpec =
  | { op: "collect" }
  | { op: "take"; k: number }
  | { op: "reduce"; reducer: ReducerSpec; isLast: boolean }
  | { op: "split"; key: KeySpec; buckets: number }
  | { op: "write"; target: TextTarget };

function isPromise(value: unknown): value is Promise<unknown> {
  return value !== null && typeof (value as PromiseLike<unknown>)?.then === "function";
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === "function";
}

/**
 * True for one-pass iterators (generators, `map.values()`): values that a second reader would
 * find drained. Arrays, strings, Sets and Maps are re-iterable and stay as they are.
 */
function isIterator(value: unknown): value is Iterator<unknown> & Iterable<unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    typeof (value as Iterator<unknown>).next === "function" && isIterable(value);
}

/** An element as it may be kept: iterators become arrays, as Dask's `reify` makes lists. */
export function reifyElement(value: unknown): unknown {
  return isIterator(value) ? Array.from(value) : value;
}

/** A partition as an array, read once (Dask's `reify` of a `from_delayed` part). */
export function reifyPartition(items: unknown): unknown[] {
  if (Array.isArray(items)) return items;
  if (isIterable(items)) return Array.from(items);
  throw new TypeError(
    `A bag partition must be an array or another iterable; got ${typeName(items)}.`,
  );
}

/**
 * Elements a partition's pipeline takes between two looks at whether its task was asked to stop
 * (core/cancel_point.ts): each element may call a user function, so the look is frequent.
 */
const ELEMENTS_PER_CANCEL_CHECK = 4096;

/** Pushes every element of an array or iterable; `what` names it in the error otherwise. */
function pushAll(sink: Sink, items: unknown, what: string): void {
  if (Array.isArray(items)) {
    for (let i = 0; i < items.length; i++) {
      if (i % ELEMENTS_PER_CANCEL_CHECK === 0) throwIfCancelled();
      sink.push(items[i]);
    }
  } else if (isIterable(items)) {
    let i = 0;
    for (const x of items) {
      if (i++ % ELEMENTS_PER_CANCEL_CHECK === 0) throwIfCancelled();
      sink.push(x);
    }
  } else {
    throw new TypeError(`${what} must be an array or another iterable; got ${typeName(items)}.`);
  }
}

function lengthMismatch(op: string, mine: number, theirs: number, arg: number): Error {
  return new Error(
    `${op}: a partition of this bag has ${mine} elements but the matching partition of ` +
      `bag argument ${arg} has ${theirs}. Bags combined element-wise must have partitions of ` +
      `equal lengths (e.g. both made from one parent by map).`,
  );
}

function mapStage(spec: Extract<StageSpec, { op: "map" }>, f: TaskFunction, next: Sink): Sink {
  const { extras, zipped, spread } = spec;
  const at = spec.at ?? 0;
  if (extras.length === 0) {
    return spread
      ? { push: (x) => next.push(reifyElement(f(...(x as unknown[])))), end: () => next.end() }
      : { push: (x) => next.push(reifyElement(f(x))), end: () => next.end() };
  }
  const op = spread ? "starmap" : "map";
  let i = 0;
  return {
    push(x) {
      const args: unknown[] = [];
      for (let j = 0; j < extras.length; j++) {
        if (!zipped[j]) {
          args.push(extras[j]);
          continue;
        }
        const other = extras[j] as unknown[];
        if (i >= other.length) throw lengthMismatch(op, i + 1, other.length, j);
        args.push(other[i]);
      }
      if (spread) args.unshift(...(x as unknown[]));
      else args.splice(at, 0, x);
      i++;
      next.push(reifyElement(f(...args)));
    },
    end() {
      for (let j = 0; j < extras.length; j++) {
        if (!zipped[j]) continue;
        const n = (extras[j] as unknown[]).length;
        if (n !== i) throw lengthMismatch(op, i, n, j);
      }
      next.end();
    },
  };
}

function describeField(key: Field | Field[]): string {
  return JSON.stringify(key);
}

function pluckStage(spec: Extract<StageSpec, { op: "pluck" }>, next: Sink): Sink {
  const { key, fallback } = spec;
  const get = (x: unknown, field: Field): unknown => {
    if (x === null || x === undefined) {
      throw new TypeError(
        `pluck(${describeField(key)}): an element is ${x}, which has no fields. Filter such ` +
          `elements out first, or give a default: pluck(key, default).`,
      );
    }
    const value = (x as Record<Field, unknown>)[field];
    if (value !== undefined || field in Object(x)) return value;
    if (fallback !== null) return fallback.value;
    throw new Error(
      `pluck(${describeField(key)}): an element has no field ${JSON.stringify(field)} ` +
        `(an element of type ${
          typeName(x)
        }). Give a default for missing fields: pluck(key, default).`,
    );
  };
  if (Array.isArray(key)) {
    return {
      push(x) {
        const tuple = new Array(key.length);
        for (let i = 0; i < key.length; i++) tuple[i] = get(x, key[i]);
        next.push(tuple);
      },
      end: () => next.end(),
    };
  }
  return { push: (x) => next.push(get(x, key)), end: () => next.end() };
}

function flattenStage(next: Sink): Sink {
  return {
    push(x) {
      if (Array.isArray(x)) {
        for (let i = 0; i < x.length; i++) next.push(x[i]);
      } else if (isIterable(x)) {
        for (const y of x) next.push(y);
      } else {
        throw new TypeError(
          `flatten: every element must be an array or another iterable; got ${typeName(x)}.`,
        );
      }
    },
    end: () => next.end(),
  };
}

function mapPartitionsStage(f: TaskFunction, extras: unknown[], at: number, next: Sink): Sink {
  const items: unknown[] = [];
  return {
    push: (x) => items.push(x),
    end() {
      const args = [...extras];
      args.splice(at, 0, items);
      pushAll(next, reifyElement(f(...args)), "The result of a mapPartitions function");
      next.end();
    },
  };
}

function zipStage(others: unknown[][], next: Sink): Sink {
  let i = 0;
  return {
    push(x) {
      const tuple = new Array(others.length + 1);
      tuple[0] = x;
      for (let j = 0; j < others.length; j++) {
        if (i >= others[j].length) throw lengthMismatch("zip", i + 1, others[j].length, j);
        tuple[j + 1] = others[j][i];
      }
      i++;
      next.push(tuple);
    },
    end() {
      for (let j = 0; j < others.length; j++) {
        if (others[j].length !== i) throw lengthMismatch("zip", i, others[j].length, j);
      }
      next.end();
    },
  };
}

function joinStage(
  spec: Extract<StageSpec, { op: "join" }>,
  fns: readonly TaskFunction[],
  next: Sink,
): Sink {
  const onSelf = keyGetter(spec.onSelf, fns);
  const onOther = keyGetter(spec.onOther, fns);
  const index = new KeyedMap<unknown[]>();
  const newGroup = () => [] as unknown[];
  pushAll(
    { push: (y) => index.upsert(onOther(y), newGroup).value.push(y), end() {} },
    spec.other,
    "The other side of join",
  );
  return {
    push(x) {
      const matches = index.get(onSelf(x));
      if (matches === undefined) return;
      for (const match of matches.value) next.push([match, x]);
    },
    end: () => next.end(),
  };
}

function makeStage(spec: StageSpec, fns: readonly TaskFunction[], next: Sink): Sink {
  switch (spec.op) {
    case "map":
      return mapStage(spec, fns[spec.fn], next);
    case "filter": {
      const f = fns[spec.fn];
      const keep = spec.keep;
      return {
        push(x) {
          if (Boolean(f(x)) === keep) next.push(x);
        },
        end: () => next.end(),
      };
    }
    case "pluck":
      return pluckStage(spec, next);
    case "flatten":
      return flattenStage(next);
    case "mapPartitions":
      return mapPartitionsStage(fns[spec.fn], spec.extras, spec.at ?? 0, next);
    case "zip":
      return zipStage(spec.others as unknown[][], next);
    case "join":
      return joinStage(spec, fns, next);
  }
}

function collector(limit: number): Accumulator {
  const items: unknown[] = [];
  return {
    push(x) {
      if (items.length < limit) items.push(x);
    },
    end() {},
    result: () => items,
  };
}

/** Hash-partitions `[key, element]` pairs; each bucket leaves as one msgpack body. */
function splitter(spec: Extract<TerminalSpec, { op: "split" }>, fns: readonly TaskFunction[]) {
  const key = keyGetter(spec.key, fns);
  const buckets: unknown[][] = [];
  for (let b = 0; b < spec.buckets; b++) buckets.push([]);
  return {
    push(x: unknown) {
      const k = key(x);
      buckets[hashKey(k) % spec.buckets].push(k, x);
    },
    end() {},
    // Encoded here so that a task taking one bucket decodes one bucket, not the whole split.
    result: () => buckets.map((b) => encode(b, { frameThreshold: Infinity }).body),
  };
}

function makeTerminal(spec: TerminalSpec, fns: readonly TaskFunction[]): Accumulator {
  switch (spec.op) {
    case "collect":
      return collector(Infinity);
    case "take":
      return collector(spec.k);
    case "reduce":
      return makeReducer(spec.reducer, fns).accumulate(spec.isLast);
    case "split":
      return splitter(spec, fns);
    case "write": {
      const lines = collector(Infinity);
      const target = spec.target;
      return { ...lines, result: () => writeTextFile(lines.result() as unknown[], target) };
    }
  }
}

/** Runs one partition's pipeline: input → stages → terminal. */
function runPipeline(
  fns: readonly TaskFunction[],
  input: InputSpec,
  stages: readonly StageSpec[],
  terminal: TerminalSpec,
): unknown {
  const out = makeTerminal(terminal, fns);
  /** The stages from `from` on, ending in the terminal. */
  const chain = (from: number): Sink => {
    let sink: Sink = out;
    for (let s = stages.length - 1; s >= from; s--) sink = makeStage(stages[s], fns, sink);
    return sink;
  };
  if ("value" in input) {
    const sink = chain(0);
    pushAll(sink, input.value, "A bag partition");
    sink.end();
    return out.result();
  }
  const source = fns[input.call];
  const part = source === encodedSource ? readInPart(input.args[0], stages, terminal) : undefined;
  if (part !== undefined) {
    const sink = chain(part.from);
    pushAll(sink, part.items, "A fromSequence partition");
    sink.end();
    return out.result();
  }
  const head = chain(0);
  const pending = source(head, ...input.args);
  if (isPromise(pending)) {
    return pending.then(() => {
      head.end();
      return out.result();
    });
  }
  head.end();
  return out.result();
}

const NO_FUNCTIONS: readonly TaskFunction[] = [];

/** The task function of pipelines that call user or source functions (see bindFunctions). */
export function pipelineFactory(...fns: TaskFunction[]) {
  return (input: InputSpec, stages: StageSpec[], terminal: TerminalSpec): unknown =>
    runPipeline(fns, input, stages, terminal);
}

/** The task function of pipelines that call no function. */
export function plainPipeline(input: InputSpec, stages: StageSpec[], terminal: TerminalSpec) {
  return runPipeline(NO_FUNCTIONS, input, stages, terminal);
}

function combine(
  fns: readonly TaskFunction[],
  spec: ReducerSpec,
  partials: unknown[],
  isRoot: boolean,
): unknown {
  const reducer = makeReducer(spec, fns);
  const partial = reducer.combine(partials, isRoot);
  return isRoot ? reducer.finish(partial) : partial;
}

/** The task function of a reduction's inner and root nodes, for reducers with user functions. */
export function combineFactory(...fns: TaskFunction[]) {
  return (spec: ReducerSpec, partials: unknown[], isRoot: boolean): unknown =>
    combine(fns, spec, partials, isRoot);
}

/** Inner and root nodes of reductions without user functions. */
export function plainCombine(spec: ReducerSpec, partials: unknown[], isRoot: boolean): unknown {
  return combine(NO_FUNCTIONS, spec, partials, isRoot);
}

/** Source of `range`: the integers of `[start, stop)`. */
export function rangeSource(sink: Sink, start: number, stop: number): void {
  for (let i = start; i < stop; i++) {
    if ((i - start) % ELEMENTS_PER_CANCEL_CHECK === 0) throwIfCancelled();
    sink.push(i);
  }
}

/**
 * A `fromSequence` partition read in part, when what follows it needs only part: `count()` right
 * after it reads the element count from the body's header; a `pluck(field)` right after it
 * decodes that field of each record and skips the others (records: see `EXT_RECORDS` in
 * core/value_codec.ts). Gives the items to push and the stage they enter at, or undefined when
 * neither applies (the partition is then decoded whole): the answer is the same either way.
 */
function readInPart(
  bytes: unknown,
  stages: readonly StageSpec[],
  terminal: TerminalSpec,
): { items: unknown[]; from: number } | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined;
  const first = stages[0];
  if (first === undefined) {
    if (terminal.op !== "reduce" || terminal.reducer.kind !== "count") return undefined;
    const n = decodedLength(bytes);
    // count looks at no element: n placeholders count the same
    return n === undefined ? undefined : { items: new Array(n), from: 0 };
  }
  if (first.op !== "pluck" || typeof first.key !== "string") return undefined;
  const values = decodeField(bytes, first.key);
  return values === undefined ? undefined : { items: values, from: 1 };
}

/** Source of `fromSequence`: a partition kept as one msgpack body in the graph. */
export function encodedSource(sink: Sink, bytes: Uint8Array): void {
  pushAll(sink, decode({ body: bytes, frames: [] }), "A fromSequence partition");
}

/** One bucket of a shuffle split. */
export function shuffleBucket(split: Uint8Array[], bucket: number): Uint8Array {
  return split[bucket];
}

/** A shuffle's output partition: its buckets from every input, grouped by key. */
export function groupBuckets(...buckets: Uint8Array[]): [unknown, unknown[]][] {
  const groups = new KeyedMap<unknown[]>();
  const newGroup = () => [] as unknown[];
  for (const bytes of buckets) {
    const pairs = decode({ body: bytes, frames: [] }) as unknown[];
    for (let i = 0; i < pairs.length; i += 2) {
      groups.upsert(pairs[i], newGroup).value.push(pairs[i + 1]);
    }
  }
  return groups.pairs();
}

/** Partitions joined end to end, at most `limit` elements. */
export function concatPartitions(limit: number, ...parts: unknown[][]): unknown[] {
  const out: unknown[] = [];
  for (const part of parts) {
    for (let i = 0; i < part.length && out.length < limit; i++) out.push(part[i]);
  }
  return out;
}

/** Piece `piece` of `pieces` near-equal consecutive pieces of a partition. */
export function slicePartition(part: unknown[], piece: number, pieces: number): unknown[] {
  const start = Math.floor((piece * part.length) / pieces);
  const stop = Math.floor(((piece + 1) * part.length) / pieces);
  return part.slice(start, stop);
}

/** Every pair `[a, b]` of an element of `left` and one of `right`. */
export function productOf(left: unknown[], right: unknown[]): [unknown, unknown][] {
  const out = new Array<[unknown, unknown]>(left.length * right.length);
  let k = 0;
  for (const a of left) for (const b of right) out[k++] = [a, b];
  return out;
}

taskModule(import.meta.url, {
  pipelineFactory,
  plainPipeline,
  combineFactory,
  plainCombine,
  rangeSource,
  encodedSource,
  shuffleBucket,
  groupBuckets,
  concatPartitions,
  slicePartition,
  productOf,
  reifyPartition,
});
