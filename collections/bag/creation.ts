/**
 * Making bags: from values in memory (`fromSequence`, `range`), from lazy values
 * (`fromDelayed`), and from other bags (`concat`, `zip`).
 *
 * @module
 */

import { UnserializableError } from "../../core/errors.ts";
import { tokenize } from "../../core/tokenize.ts";
import { chunkKey, makeLiteral, makeTask, TaskRef } from "../../core/task.ts";
import { encode } from "../../core/value_codec.ts";
import type { Layer } from "../collection.ts";
import { Delayed } from "../delayed.ts";
import { Bag } from "./bag.ts";
import { encodedSource, rangeSource, reifyPartition } from "./partition_ops.ts";

/** Partitions made by default: as Dask, one per element up to 100, then at most 100. */
const DEFAULT_MAX_PARTITIONS = 100;

/** Options of {@link fromSequence}. */
export interface FromSequenceOptions {
  /** How many partitions (near-equal sizes). Default: one per element, at most 100. */
  npartitions?: number;
  /** How many elements per partition (the last may hold fewer). Overrides `npartitions`. */
  partitionSize?: number;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be an integer ≥ 1; got ${value}.`);
  }
  return value;
}

/** `[start, stop)` bounds of `n` near-equal parts of `length` items. */
function evenBounds(length: number, n: number): [number, number][] {
  const bounds: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    bounds.push([Math.floor((i * length) / n), Math.floor(((i + 1) * length) / n)]);
  }
  return bounds;
}

/**
 * A bag of the given values, split into partitions held in the graph. An empty sequence makes
 * one empty partition.
 */
export function fromSequence<T>(items: Iterable<T>, options: FromSequenceOptions = {}): Bag<T> {
  const seq = Array.isArray(items) ? items as T[] : [...items];
  let bounds: [number, number][];
  if (options.partitionSize !== undefined) {
    const size = positiveInteger(options.partitionSize, "fromSequence: partitionSize");
    bounds = [];
    for (let start = 0; start < seq.length; start += size) {
      bounds.push([start, Math.min(start + size, seq.length)]);
    }
    if (bounds.length === 0) bounds.push([0, 0]);
  } else {
    const n = options.npartitions === undefined
      ? Math.min(seq.length, DEFAULT_MAX_PARTITIONS)
      : positiveInteger(options.npartitions, "fromSequence: npartitions");
    bounds = evenBounds(seq.length, Math.max(1, Math.min(n, seq.length)));
  }
  const parts = bounds.map(([start, stop]) => seq.slice(start, stop));
  const encoded = encodeAll(parts);
  if (encoded === undefined) return literalBag(parts);
  // Kept encoded: named by a hash of the bytes (fast), sent to threads and workers as bytes
  // (never re-encoded per computation), decoded inside the partition's fused task.
  const token = tokenize(encoded);
  const bytesName = `fromSequence-bytes-${token}`;
  const tasks = encoded.map((bytes, i) => makeLiteral(chunkKey(bytesName, i), bytes));
  const layer: Layer = { id: bytesName, tasks, dependencies: [] };
  return new Bag<T>(`fromSequence-${token}`, parts.length, {
    source: {
      kind: "call",
      fn: encodedSource,
      args: tasks.map((t) => [new TaskRef(t.key)]),
      layers: [layer],
    },
    stages: [],
  });
}

/** Each partition as one msgpack body, or undefined when some element cannot travel. */
function encodeAll(parts: unknown[][]): Uint8Array[] | undefined {
  try {
    return parts.map((part) => encode(part, { frameThreshold: Infinity }).body);
  } catch (error) {
    if (error instanceof UnserializableError) return undefined;
    throw error;
  }
}

/**
 * Partitions held as they are, for elements the codec cannot carry (class instances,
 * functions): the `sync` scheduler runs them; other schedulers report the element that cannot
 * travel.
 */
function literalBag<T>(parts: T[][]): Bag<T> {
  const name = `fromSequence-${tokenize(parts)}`;
  const tasks = parts.map((part, i) => makeLiteral(chunkKey(name, i), part));
  const layer: Layer = { id: name, tasks, dependencies: [] };
  return new Bag<T>(name, parts.length, {
    source: { kind: "partitions", keys: tasks.map((t) => t.key), layers: [layer], arrays: true },
    stages: [],
  });
}

/**
 * A bag of the integers `0 .. n - 1` in `npartitions` near-equal partitions (default: one per
 * integer, at most 100). Partitions are made inside their tasks, not held in the graph.
 */
export function range(n: number, options: { npartitions?: number } = {}): Bag<number> {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`range: n must be a non-negative integer; got ${n}.`);
  }
  const requested = options.npartitions === undefined
    ? Math.min(n, DEFAULT_MAX_PARTITIONS)
    : positiveInteger(options.npartitions, "range: npartitions");
  const bounds = evenBounds(n, Math.max(1, Math.min(requested, n)));
  const name = `range-${tokenize(n, bounds.length)}`;
  return new Bag<number>(name, bounds.length, {
    source: { kind: "call", fn: rangeSource, args: bounds, layers: [] },
    stages: [],
  });
}

/** A bag whose partitions are the values of Delayed objects (each an array or iterable). */
export function fromDelayed<T>(
  parts: Delayed<Iterable<T>> | readonly Delayed<Iterable<T>>[],
): Bag<T> {
  const list = parts instanceof Delayed ? [parts] : [...parts];
  if (list.length === 0) throw new RangeError("fromDelayed needs at least one Delayed value.");
  list.forEach((part, i) => {
    if (!(part instanceof Delayed)) {
      throw new TypeError(
        `fromDelayed: part ${i} is not a Delayed value; wrap plain values in fromSequence.`,
      );
    }
  });
  const name = `fromDelayed-${tokenize(list)}`;
  // Each part is read once into an array, so that a generator feeds every consumer alike.
  const tasks = list.map((d, i) =>
    makeTask(chunkKey(name, i), reifyPartition, [new TaskRef(d.key)])
  );
  const layer: Layer = { id: name, tasks, dependencies: list };
  return new Bag<T>(name, list.length, {
    source: { kind: "partitions", keys: tasks.map((t) => t.key), layers: [layer], arrays: true },
    stages: [],
  });
}

/** One bag of the partitions of several bags, in order. */
export function concat<T>(bags: readonly Bag<T>[]): Bag<T> {
  if (bags.length === 0) throw new RangeError("concat needs at least one bag.");
  if (bags.length === 1) return bags[0];
  const name = `concat-${tokenize(bags)}`;
  return new Bag<T>(name, bags.reduce((n, b) => n + b.npartitions, 0), {
    source: {
      kind: "partitions",
      keys: bags.flatMap((b) => b.partitionKeys()),
      layers: bags.map((b) => b.layer()),
      arrays: true,
    },
    stages: [],
  });
}

/** Tuples of matching elements of bags with equal partitions (see `Bag.zip`). */
export function zip<T extends unknown[]>(...bags: { [I in keyof T]: Bag<T[I]> }): Bag<T> {
  if (bags.length === 0) throw new RangeError("zip needs at least one bag.");
  const [first, ...rest] = bags as Bag<unknown>[];
  if (rest.length === 0) return first.map((x) => [x]) as Bag<T>;
  return first.zip(...rest) as unknown as Bag<T>;
}
