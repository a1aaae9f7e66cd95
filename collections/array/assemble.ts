/**
 * Joining computed blocks into one NDArray: the result of `compute()` (for an array of shape (),
 * its one element as a JS value, as Dask gives a NumPy scalar).
 *
 * The output is allocated once and each block is written into its place, so assembling costs one
 * pass over the data. Offsets come from the blocks' real shapes, which also serves arrays whose
 * block lengths were unknown until computed.
 *
 * @module
 */
import { type DType, DTYPE_ARRAY, NDArray, sizeOfShape } from "../../core/ndarray.ts";
import { taskModule } from "../../core/function_tags.ts";
import { flatIndex, forEachIndex } from "./chunks.ts";
import { type ScalarValue, scalarValue } from "./scalar_value.ts";
import { assign, formatShape, slice } from "./kernels/mod.ts";

function asBlock(value: unknown, index: readonly number[]): NDArray {
  if (value instanceof NDArray) return value;
  throw new TypeError(
    `block [${index}] computed to ${
      value === null ? "null" : typeof value
    }, not an NDArray; functions given to mapBlocks must return NDArrays`,
  );
}

/**
 * The array made of `blocks` (C order over a grid of `numblocks`), converted to `dtype`.
 *
 * @throws {RangeError} when neighbouring blocks do not fit together.
 */
export function assembleBlocks(
  blocks: readonly unknown[],
  numblocks: readonly number[],
  dtype: DType,
): NDArray {
  const ndim = numblocks.length;
  if (blocks.length === 1) {
    const only = asBlock(blocks[0], numblocks.map(() => 0));
    return only.dtype === dtype ? only.toContiguous() : convert(only, dtype);
  }
  // block lengths along each axis, read from the blocks on that axis's edge of the grid
  const lengths = numblocks.map((n, axis) =>
    Array.from({ length: n }, (_, i) => {
      const index = numblocks.map((_, d) => (d === axis ? i : 0));
      return asBlock(blocks[flatIndex(index, numblocks)], index).shape[axis];
    })
  );
  const starts = lengths.map((axis) => {
    const out = [0];
    for (const n of axis) out.push(out[out.length - 1] + n);
    return out;
  });
  const shape = starts.map((s) => s[s.length - 1]);
  const out = new NDArray(new DTYPE_ARRAY[dtype](sizeOfShape(shape)), shape, { dtype });
  forEachIndex(numblocks, (index) => {
    const block = asBlock(blocks[flatIndex(index, numblocks)], index);
    const expected = index.map((i, d) => lengths[d][i]);
    if (block.ndim !== ndim || block.shape.some((n, d) => n !== expected[d])) {
      throw new RangeError(
        `block [${index}] has shape ${formatShape(block.shape)}, but its row and column of ` +
          `blocks need ${formatShape(expected)}; a function given to mapBlocks returned blocks ` +
          "that do not fit together",
      );
    }
    const target = slice(
      out,
      index.map((i, d) => ({ start: starts[d][i], stop: starts[d][i + 1] })),
    );
    assign(target, block);
  });
  return out;
}

function convert(block: NDArray, dtype: DType): NDArray {
  const out = new NDArray(new DTYPE_ARRAY[dtype](block.size), [...block.shape], { dtype });
  assign(out, block);
  return out;
}

/**
 * What computing an array gives: its blocks joined ({@link assembleBlocks}), or for an array of
 * shape () (no axes) its element as a JS value.
 */
export function arrayResult(
  blocks: readonly unknown[],
  numblocks: readonly number[],
  dtype: DType,
): NDArray | ScalarValue {
  const whole = assembleBlocks(blocks, numblocks, dtype);
  return numblocks.length === 0 ? scalarValue(whole) : whole;
}

/** {@link arrayResult} as a task: the whole array inside a task that reads every block. */
export function arrayResultTask(
  numblocks: readonly number[],
  dtype: DType,
  ...blocks: unknown[]
): NDArray | ScalarValue {
  return arrayResult(blocks, numblocks, dtype);
}

taskModule(import.meta.url, { arrayResultTask });
