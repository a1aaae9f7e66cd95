/**
 * Indexing with lazy arrays (Dask's `x[dask_array]` along one axis, alone or beside slices and
 * integers on the other axes):
 * - a 1-D integer DArray picks elements along the axis; the result's blocks along it are the
 *   index's blocks (known lengths). Each output block reads the index block and the whole axis
 *   of the input for its position on the other axes (Dask sums per-block partials instead; here
 *   one task per output block concatenates), so an axis too large for one task's memory should
 *   be indexed with a computed list or `take` instead.
 * - a 1-D boolean DArray keeps the elements where it is true; the result's blocks along the axis
 *   have unknown (NaN) lengths until computed, as in Dask.
 *
 * @module
 */
import { tokenize } from "../../core/tokenize.ts";
import { moveaxis } from "./axes.ts";
import { blockExpr } from "./block_expr.ts";
import { DArray } from "./darray.ts";
import { isIntegerDType } from "./kernels/dtype.ts";
import { booleanMask } from "./indexing.ts";

/** `x` indexed along `axis` by the lazy 1-D integer or boolean array `index`. */
export function indexAlongAxis(x: DArray, index: DArray, axis: number): DArray {
  if (index.ndim !== 1) {
    throw new RangeError(
      `a lazy index beside other index items must be 1-D, got ${index.ndim}-D; give a ` +
        "boolean mask over several axes as the whole index (x.get(mask))",
    );
  }
  if (index.dtype === "bool") {
    return moveaxis(booleanMask(moveaxis(x, axis, 0), index), 0, axis);
  }
  if (!isIntegerDType(index.dtype)) {
    throw new TypeError(
      `arrays used as indices must be of integer or boolean type, got ${index.dtype}`,
    );
  }
  if (x.chunks[axis].some(Number.isNaN)) {
    throw new RangeError(
      `cannot index axis ${axis} with a lazy integer array: its blocks have unknown lengths; ` +
        "call `await x.computeChunkSizes()` first",
    );
  }
  const along = x.chunks[axis].length;
  const chunks = x.chunks.map((c, d) => (d === axis ? index.chunks[0] : c));
  return new DArray(`getitem-lazy-${tokenize(x, index, axis)}`, chunks, x.dtype, {
    kind: "blocks",
    inputs: [x, index],
    oneToOne: [false, x.chunks.every((c, d) => d === axis || c.length === 1)],
    block: (at, ctx) => {
      const blocks = Array.from(
        { length: along },
        (_, b) => ctx.input(0, at.map((i, d) => (d === axis ? b : i))),
      );
      return blockExpr("takeLazy", { axis }, [ctx.input(1, [at[axis]]), ...blocks]);
    },
  });
}
