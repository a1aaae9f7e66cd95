/**
 * Short Dask-like one-line reprs of lazy collections, for `console.log` (`Deno.customInspect`):
 * what the value is, never its internal plan (which can be thousands of lines).
 *
 * @module
 */

/** The symbol Deno's `console.log` and `Deno.inspect` call for a custom text. */
export const inspectSymbol: unique symbol = Symbol.for("Deno.customInspect") as never;

/** `(3, 4)`, `(5,)`, `()` with `nan` for unknown lengths, as Python prints a shape tuple. */
export function formatTuple(xs: readonly number[]): string {
  const items = xs.map((n) => (Number.isNaN(n) ? "nan" : String(n)));
  return `(${items.join(", ")}${xs.length === 1 ? "," : ""})`;
}

/** `dask.array<name, shape=(…), dtype=…, chunksize=(…), chunktype=NDArray>`, as Dask's repr. */
export function arrayRepr(array: {
  name: string;
  shape: readonly number[];
  dtype: string;
  chunksize: readonly number[];
}): string {
  return `dask.array<${array.name}, shape=${formatTuple(array.shape)}, dtype=${array.dtype}, ` +
    `chunksize=${formatTuple(array.chunksize)}, chunktype=NDArray>`;
}

/** `dask.bag<name, npartitions=n>`, as Dask's repr. */
export function bagRepr(bag: { name: string; npartitions: number }): string {
  return `dask.bag<${bag.name}, npartitions=${bag.npartitions}>`;
}

/** `Delayed('key')`, as Dask's repr. */
export function delayedRepr(delayed: { key: string }): string {
  return `Delayed(${JSON.stringify(delayed.key)})`;
}
