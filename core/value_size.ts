/**
 * Sizes of values in memory, estimated fast (Dask's `sizeof`): what placement, memory accounting
 * and spilling count a result as, without encoding it. Exact for buffers; containers are summed
 * over a bounded sample of their items, so the cost stays bounded whatever the value's size.
 *
 * @module
 */

import { NDArray } from "./ndarray.ts";
import { ArrowIPC, tableCodec } from "./table_codec.ts";
import { TaskRef } from "./task.ts";

/** Whether `value` is a SharedArrayBuffer (where the runtime has them). */
export function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== "undefined" && value instanceof SharedArrayBuffer;
}

/** Visits at most this many values per sizeOf call; larger values are estimated from samples. */
const SIZE_BUDGET = 4096;
const OBJECT_OVERHEAD = 16;
/** Fewer items are sampled so that each can be looked into (records hold their buffers). */
const MIN_ITEM_BUDGET = 8;

/**
 * A fast estimate of the bytes a value holds in memory, for placement and memory accounting:
 * exact for typed arrays, ArrayBuffers and NDArrays (their `nbytes`), about the length for
 * strings, and for containers the sum over their items, sampled when there are many (the cost
 * is bounded whatever the value's size).
 */
export function sizeOf(value: unknown): number {
  return Math.round(estimateSize(value, SIZE_BUDGET));
}

function estimateSize(value: unknown, budget: number): number {
  switch (typeof value) {
    case "string":
      return OBJECT_OVERHEAD + value.length;
    case "bigint":
      return OBJECT_OVERHEAD + Math.ceil(value.toString(16).length / 2);
    case "object":
      break;
    default:
      return 8;
  }
  if (value === null) return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || isSharedArrayBuffer(value)) return value.byteLength;
  if (value instanceof NDArray) return value.nbytes;
  if (Array.isArray(value)) {
    return OBJECT_OVERHEAD + sampledSum(value.length, (i) => value[i], budget);
  }
  if (value instanceof Map) {
    return OBJECT_OVERHEAD + sampledIterableSum(value.size * 2, flatEntries(value), budget);
  }
  if (value instanceof Set) {
    return OBJECT_OVERHEAD + sampledIterableSum(value.size, value.values(), budget);
  }
  if (value instanceof Error) {
    return 4 * OBJECT_OVERHEAD + value.message.length + (value.stack?.length ?? 0);
  }
  if (value instanceof Date || value instanceof TaskRef) return 2 * OBJECT_OVERHEAD;
  if (value instanceof ArrowIPC) return value.bytes.byteLength;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const tableSize = tableCodec()?.sizeOf(value);
    if (tableSize !== undefined) return tableSize;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    return OBJECT_OVERHEAD + sampledSum(
      keys.length,
      (i) => {
        const key = keys[i];
        return { key, value: record[key] };
      },
      budget,
      true,
    );
  }
  return 4 * OBJECT_OVERHEAD;
}

/** Sums the sizes of `count` items, visiting an evenly spaced sample when the budget is short. */
function sampledSum(
  count: number,
  item: (i: number) => unknown,
  budget: number,
  keyed = false,
): number {
  if (count === 0) return 0;
  if (budget <= 1) return count * 16; // out of budget: a flat guess, no deeper visit
  const visits = Math.min(count, Math.max(1, Math.floor((budget - 1) / MIN_ITEM_BUDGET)));
  const itemBudget = Math.floor((budget - 1) / visits);
  const step = count / visits;
  let total = 0;
  for (let s = 0; s < visits; s++) {
    const got = item(Math.floor(s * step));
    if (keyed) {
      const { key, value } = got as { key: string; value: unknown };
      total += key.length + 8 + estimateSize(value, itemBudget);
    } else total += 8 + estimateSize(got, itemBudget);
  }
  return total * (count / visits);
}

/** Like {@link sampledSum} for iterables: sums the first items and scales to `count`. */
function sampledIterableSum(count: number, items: Iterator<unknown>, budget: number): number {
  if (count === 0) return 0;
  if (budget <= 1) return count * 16;
  const visits = Math.min(count, Math.max(1, Math.floor((budget - 1) / MIN_ITEM_BUDGET)));
  const itemBudget = Math.floor((budget - 1) / visits);
  let total = 0;
  let seen = 0;
  for (let next = items.next(); !next.done && seen < visits; next = items.next(), seen++) {
    total += 8 + estimateSize(next.value, itemBudget);
  }
  return seen === 0 ? 0 : total * (count / seen);
}

function* flatEntries(map: Map<unknown, unknown>): Iterator<unknown> {
  for (const [key, value] of map) {
    yield key;
    yield value;
  }
}
