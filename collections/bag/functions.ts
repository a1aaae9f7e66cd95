/**
 * Module-level `map` and `mapPartitions` (Dask's `db.map`, `db.map_partitions`): the bags
 * may stand at any position among the arguments; the first bag gives the partitioning.
 *
 * @module
 */

import { Bag, isBag } from "./bag.ts";

function firstBag(op: string, args: readonly unknown[]): number {
  const at = args.findIndex(isBag);
  if (at < 0) {
    throw new TypeError(
      `bag.${op} needs at least one Bag among its arguments (its elements are mapped); ` +
        `for plain values, call the function directly or use delayed.`,
    );
  }
  return at;
}

/**
 * `f(...args)` for each element, where each Bag argument gives its elements in step (bags
 * with equal partitions), a Delayed gives its value and other values are passed as they are.
 *
 * @example
 * ```ts
 * import { bag } from "../../mod.ts";
 * const xs = bag.fromSequence([1, 2, 3]);
 * const ys = bag.fromSequence([10, 20, 30]);
 * await bag.map((a: number, x: number, y: number) => a + x * y, 1, xs, ys).compute(); // [11, 41, 91]
 * ```
 */
export function map<U>(f: (...args: never[]) => U, ...args: unknown[]): Bag<U> {
  const at = firstBag("map", args);
  const bag = args[at] as Bag<unknown>;
  return bag.mapAt(f, args.filter((_, i) => i !== at), at);
}

/**
 * `f(...args)` for each partition, where each Bag argument gives its matching partition (an
 * array), a Delayed gives its value and other values are passed as they are.
 *
 * @example
 * ```ts
 * import { bag } from "../../mod.ts";
 * const xs = bag.fromSequence([1, 2, 3, 4], { npartitions: 2 });
 * const sums = bag.mapPartitions((part: number[], k: number) => [k * part.length], xs, 10);
 * await sums.compute(); // [20, 20]
 * ```
 */
export function mapPartitions<U>(
  f: (...args: never[]) => Iterable<U>,
  ...args: unknown[]
): Bag<U> {
  const at = firstBag("mapPartitions", args);
  const bag = args[at] as Bag<unknown>;
  return bag.mapPartitionsAt(f, args.filter((_, i) => i !== at), at);
}
