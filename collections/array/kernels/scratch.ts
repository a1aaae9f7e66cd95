/**
 * Recycled block buffers. A fused array task makes blocks that die inside it — the random
 * blocks and the element-wise result under `sum(x + x.T)` — and a fresh multi-megabyte typed
 * array costs a page fault per 4 KiB page the first time it is written (on a virtual machine
 * that hands freed pages back to its host, ten times the arithmetic on the block). The task
 * evaluator (chunk_tasks.ts) gives such blocks back here once the task's result is known not to
 * share their buffers, and the kernels that write every element of a new block (element-wise
 * maps, random draws) take their buffer from here first.
 *
 * The pool belongs to the thread (each Web Worker has its own module instance) and holds at most
 * 64 MiB; a task takes back what the previous one gave, so a steady stream of equal tasks keeps
 * only one task's worth of intermediates.
 *
 * @module
 */
import { type DType, DTYPE_ARRAY, type NumericArray } from "../../../core/ndarray.ts";

/** Buffers smaller than this are cheap to allocate and are not pooled. */
const MIN_BYTES = 64 * 1024;
/** At most this many bytes wait in the pool. */
const MAX_POOLED_BYTES = 64 * 1024 * 1024;

const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;

/** Buffers `uninitialized` made during the current `withScratch` work, or null outside one. */
let made: ArrayBuffer[] | null = null;

/**
 * A typed array of `size` elements of `dtype` for a kernel that writes every element before
 * reading any: a recycled buffer when one of the right length waits, else a new one.
 */
export function uninitialized(dtype: DType, size: number): NumericArray {
  const Ctor = DTYPE_ARRAY[dtype];
  const bytes = size * Ctor.BYTES_PER_ELEMENT;
  if (bytes < MIN_BYTES) return new Ctor(size);
  const buffer = pool.get(bytes)?.pop();
  if (buffer !== undefined) pooledBytes -= bytes;
  const data = buffer === undefined ? new Ctor(size) : new Ctor(buffer, 0, size);
  made?.push(data.buffer as ArrayBuffer);
  return data;
}

/**
 * Runs `work`; when it returns, the buffers `uninitialized` made meanwhile that its result does
 * not reach go back to the pool. Only for work that keeps no other reference to what it made
 * (kernels, not user functions): pass `recycle: false` otherwise.
 */
export function withScratch<T>(work: () => T, recycle = true): T {
  const outer = made;
  const mine: ArrayBuffer[] = [];
  made = mine;
  let result: T;
  try {
    result = work();
  } finally {
    made = outer;
  }
  if (recycle && mine.length > 0) {
    const kept = new Set<ArrayBufferLike>();
    reachedBuffers(result, kept, 0);
    for (const buffer of mine) if (!kept.has(buffer)) giveBack(buffer);
  }
  outer?.push(...mine.filter((b) => b.byteLength > 0 && !pooled(b)));
  return result;
}

/** Adds the buffers of every typed array `value` reaches (arrays, NDArrays, plain objects). */
function reachedBuffers(value: unknown, into: Set<ArrayBufferLike>, depth: number): void {
  if (typeof value !== "object" || value === null || depth > 8) return;
  if (ArrayBuffer.isView(value)) {
    into.add(value.buffer);
    return;
  }
  if (value instanceof ArrayBuffer) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) reachedBuffers(item, into, depth + 1);
}

function pooled(buffer: ArrayBuffer): boolean {
  return pool.get(buffer.byteLength)?.includes(buffer) ?? false;
}

function giveBack(buffer: ArrayBuffer): void {
  const bytes = buffer.byteLength;
  if (bytes < MIN_BYTES || pooledBytes + bytes > MAX_POOLED_BYTES || pooled(buffer)) return;
  let free = pool.get(bytes);
  if (free === undefined) pool.set(bytes, free = []);
  free.push(buffer);
  pooledBytes += bytes;
}
