/**
 * `topk` and `argtopk` (Dask's): the `k` largest elements along an axis, largest first, or with
 * a negative `k` the `|k|` smallest, smallest first; `argtopk` gives their indices. Each block
 * keeps its own best `|k|` (Dask's chunk step), the partials are joined into one block along the
 * axis, and a last step picks the best `|k|` of those in order. `argtopk` carries (value, index)
 * pairs on an extra last axis through the first two steps. NaN sorts after every number, so it
 * is picked last in both directions; ties keep the lower index first.
 *
 * @module
 */

import { taskModule } from "../../core/function_tags.ts";
import { type DType, NDArray, type NumericArray } from "../../core/ndarray.ts";
import type { BlockInfo } from "./chunk_tasks.ts";
import { offsetsOf } from "./chunks.ts";
import type { DArray } from "./darray.ts";
import { moveaxis } from "./kernels/shape.ts";
import { normalizeAxis } from "./kernels/mod.ts";
import { mapBlocks } from "./map_blocks.ts";
import { rechunk } from "./rechunk.ts";

/** What a selection step reads and writes: plain values, (value, index) pairs, or indices. */
type Form = "values" | "pairs" | "indices";

/**
 * One step on one block: along `axis`, the best `|k|` of the block (all when fewer), in order.
 * `starts` are the blocks' first positions along the axis in the whole array (for indices).
 */
export function selectTopBlock(
  block: NDArray,
  k: number,
  axis: number,
  input: Form,
  output: Form,
  starts: number[],
  info: BlockInfo | null,
): NDArray {
  const pairs = input === "pairs";
  const moved = moveaxis(block, axis, pairs ? -2 : -1);
  const data = moved.contiguousData();
  const shape = moved.shape;
  const length = shape[shape.length - (pairs ? 2 : 1)];
  const rows = length === 0 ? 0 : data.length / length / (pairs ? 2 : 1);
  const keep = Math.min(Math.abs(k), length);
  const offset = info === null ? 0 : starts[info.index[axis]] ?? 0;
  const larger = k > 0;
  const values = new Float64Array(length);
  const indices = new Float64Array(length);
  const order = new Array<number>(length);
  const outShape = [...shape.slice(0, shape.length - (pairs ? 2 : 1)), keep];
  const outSize = rows * keep;
  const outValues: NumericArray = output === "values"
    ? new (moved.data.constructor as new (n: number) => NumericArray)(outSize)
    : new Float64Array(output === "pairs" ? outSize * 2 : outSize);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < length; j++) {
      order[j] = j;
      if (pairs) {
        values[j] = data[(r * length + j) * 2] as number;
        indices[j] = data[(r * length + j) * 2 + 1] as number;
      } else {
        values[j] = Number(data[r * length + j]);
        indices[j] = offset + j;
      }
    }
    order.sort((a, b) => {
      const va = values[a], vb = values[b];
      if (va !== vb) {
        if (Number.isNaN(va)) return 1;
        if (Number.isNaN(vb)) return -1;
        return larger ? vb - va : va - vb;
      }
      return indices[a] - indices[b];
    });
    for (let j = 0; j < keep; j++) {
      const from = order[j];
      const at = r * keep + j;
      if (output === "values") outValues[at] = pairs ? values[from] : data[r * length + from];
      else if (output === "indices") outValues[at] = indices[from];
      else {
        outValues[2 * at] = values[from];
        outValues[2 * at + 1] = indices[from];
      }
    }
  }
  if (output === "pairs") {
    const out = new NDArray(outValues, [...outShape, 2]);
    return moveaxis(out, -2, axis);
  }
  const dtype: DType = output === "indices" ? "float64" : moved.dtype;
  return moveaxis(new NDArray(outValues, outShape, { dtype }), -1, axis);
}

const kernels = taskModule(import.meta.url, { selectTopBlock });

function select(x: DArray, k: number, axisOption: number, output: "values" | "indices"): DArray {
  const name = output === "values" ? "topk" : "argtopk";
  if (!Number.isInteger(k) || k === 0) {
    throw new RangeError(`${name} needs a non-zero integer k (negative: the smallest); got ${k}`);
  }
  const axis = normalizeAxis(axisOption, x.ndim);
  const length = x.shape[axis];
  if (Number.isNaN(length)) {
    throw new RangeError(
      `${name} needs known block lengths along axis ${axis}; call ` +
        "`await x.computeChunkSizes()` first",
    );
  }
  const m = Math.abs(k);
  if (m > length) {
    throw new RangeError(
      `${name}: |k| = ${m} is more than the ${length} elements along axis ${axis}`,
    );
  }
  const starts = offsetsOf(x.chunks[axis]);
  const form: Form = output === "values" ? "values" : "pairs";
  const partialChunks = x.chunks.map((c, d) => d === axis ? c.map((n) => Math.min(m, n)) : [...c]);
  const partial = mapBlocks(kernels.selectTopBlock, [x, k, axis, "values", form, starts], {
    chunks: form === "pairs" ? [...partialChunks, [2]] : partialChunks,
    newAxis: form === "pairs" ? x.ndim : undefined,
    dtype: form === "pairs" ? "float64" : x.dtype,
    name: `${name}-chunk`,
  });
  const joined = rechunk(partial, { [axis]: null });
  const outChunks = x.chunks.map((c, d) => d === axis ? [m] : [...c]);
  const picked = mapBlocks(kernels.selectTopBlock, [joined, k, axis, form, output, starts], {
    chunks: outChunks,
    dropAxis: form === "pairs" ? x.ndim : undefined,
    dtype: output === "indices" ? "float64" : x.dtype,
    name,
  });
  return output === "indices" ? picked.astype(length < 2 ** 31 ? "int32" : "float64") : picked;
}

/** The `k` largest elements along `axis` (default the last), largest first; `k < 0`: the smallest. */
export function topk(x: DArray, k: number, axis = -1): DArray {
  return select(x, k, axis, "values");
}

/** The indices of {@link topk}'s elements along `axis`. */
export function argtopk(x: DArray, k: number, axis = -1): DArray {
  return select(x, k, axis, "indices");
}
