/**
 * Joining arrays: concatenate along an existing axis, stack along a new one. No data moves:
 * each output block is a block of one of the inputs (converted when the dtypes differ), so
 * joins fuse into whatever reads them. This is how arrays are assembled from pieces computed
 * anywhere (`fromDelayed` per piece, then `concatenate`).
 *
 * @module
 */
import type { NDArray } from "../../core/ndarray.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { commonChunks, sameChunks } from "./chunks.ts";
import { fromArray } from "./creation.ts";
import { DArray } from "./darray.ts";
import { expandDims } from "./axes.ts";
import { checkStackShapes, formatShape, normalizeAxis, promoteTypes } from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";
import { ravel } from "./reshape.ts";

function sameLength(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Joins arrays along an existing `axis` (`null`: flattens them first). The dtype is the
 * promotion of all inputs; every other axis must have the same length (blocks along them are
 * aligned, rechunking when they differ).
 */
export function concatenate(
  arrays: readonly (DArray | NDArray)[],
  axis: number | null = 0,
): DArray {
  if (arrays.length === 0) throw new RangeError("need at least one array to concatenate");
  let parts = arrays.map((a) => (a instanceof DArray ? a : fromArray(a)));
  if (axis === null) parts = parts.map(ravel);
  const ndim = parts[0].ndim;
  if (ndim === 0) throw new RangeError("zero-dimensional arrays cannot be concatenated");
  const ax = normalizeAxis(axis ?? 0, ndim);
  parts.forEach((p, k) => {
    if (p.ndim !== ndim) {
      throw new RangeError(
        "all the input arrays must have same number of dimensions, but the array at index 0 " +
          `has ${ndim} dimension(s) and the array at index ${k} has ${p.ndim} dimension(s)`,
      );
    }
    p.shape.forEach((n, d) => {
      if (d !== ax && !sameLength(n, parts[0].shape[d])) {
        throw new RangeError(
          "all the input array dimensions except for the concatenation axis must match " +
            `exactly, but along dimension ${d}, the array at index 0 has size ${
              parts[0].shape[d]
            } and the array at index ${k} has size ${n} (shapes ${formatShape(parts[0].shape)} ` +
            `and ${formatShape(p.shape)})`,
        );
      }
    });
  });
  if (parts.length === 1) return parts[0];
  const others = parts[0].chunks.map((_, d) =>
    d === ax ? null : commonChunks(d, parts.map((p) => p.chunks[d]))
  );
  parts = parts.map((p) => {
    const target = p.chunks.map((c, d) => others[d] ?? c);
    return sameChunks(p.chunks, target) ? p : rechunk(p, target);
  });
  const dtype = parts.map((p) => p.dtype).reduce(promoteTypes);
  const owner: [number, number][] = [];
  parts.forEach((p, k) => p.chunks[ax].forEach((_, j) => owner.push([k, j])));
  const chunks = others.map((c) => c ?? parts.flatMap((p) => p.chunks[ax]));
  const name = `concatenate-${tokenize(parts, ax, dtype)}`;
  return new DArray(name, chunks, dtype, {
    kind: "blocks",
    inputs: parts,
    oneToOne: parts.map(() => true),
    view: parts.every((p) => p.dtype === dtype),
    block: (index, ctx) => {
      const [k, j] = owner[index[ax]];
      const block = ctx.input(k, index.map((i, d) => (d === ax ? j : i)));
      return parts[k].dtype === dtype ? block : blockExpr("astype", { dtype }, [block]);
    },
  });
}

/** Joins same-shaped arrays along a new axis at position `axis` of the result. */
export function stack(arrays: readonly (DArray | NDArray)[], axis = 0): DArray {
  if (arrays.length === 0) throw new RangeError("need at least one array to stack");
  const parts = arrays.map((a) => (a instanceof DArray ? a : fromArray(a)));
  const shape = parts[0].shape;
  checkStackShapes(parts.map((p) => p.shape));
  const ax = normalizeAxis(axis, shape.length + 1);
  return concatenate(parts.map((p) => expandDims(p, ax)), ax);
}
