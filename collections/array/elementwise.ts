/**
 * Element-wise operations on arrays: one task per output block, reading the aligned block of
 * each operand. Shapes broadcast as in NumPy; an operand whose axis has length 1 is read from
 * its single block by every output block. Operands cut differently along an axis are first
 * rechunked to the common refinement of their block boundaries (Dask's `unify_chunks`).
 *
 * @module
 */
import { type DType, NDArray } from "../../core/ndarray.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { commonChunks, numblocksOf, sameChunks } from "./chunks.ts";
import { ELEMENTWISE, type ElementwiseName } from "./chunk_tasks.ts";
import { fromArray } from "./creation.ts";
import { DArray } from "./darray.ts";
import { astype as astypeKernel, formatShape, ones, round as roundKernel } from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";

/** What element-wise operations accept: arrays, NDArrays in memory, and JS scalars. */
export type ArrayLike = DArray | NDArray | number | boolean;

/** The broadcast shape of `shapes` (unknown lengths stay unknown); names `what` on failure. */
export function broadcastShape(shapes: readonly (readonly number[])[], what: string): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const axis = ndim - s.length + i, n = s[i];
      if (n === 1 || n === out[axis]) continue;
      if (out[axis] === 1 || (Number.isNaN(out[axis]) && Number.isNaN(n))) out[axis] = n;
      else {
        throw new RangeError(
          `${what}: operands could not be broadcast together with shapes ${
            shapes.map(formatShape).join(" ")
          }`,
        );
      }
    }
  }
  return out;
}

/**
 * The output layout of operands broadcast together, and the operands rechunked to it.
 * NDArray operands become arrays cut like the others.
 */
export function alignOperands(
  operands: readonly (ArrayLike | null)[],
  what: string,
): { chunks: number[][]; operands: (DArray | number | boolean | null)[] } {
  const shaped = operands.filter((x): x is DArray | NDArray =>
    x instanceof DArray || x instanceof NDArray
  );
  const shape = broadcastShape(shaped.map((x) => x.shape), what);
  const ndim = shape.length;
  const chunks = shape.map((n, axis) => {
    const layouts = shaped.flatMap((x) => {
      const d = axis - (ndim - x.ndim);
      if (!(x instanceof DArray) || d < 0 || x.shape[d] === 1 && n !== 1) return [];
      return [x.chunks[d]];
    });
    return layouts.length === 0 ? [n] : commonChunks(axis, layouts);
  });
  const aligned = operands.map((x) => {
    if (!(x instanceof DArray) && !(x instanceof NDArray)) return x;
    const lead = ndim - x.ndim;
    const target = x.shape.map((
      n,
      d,
    ) => (n === 1 && shape[d + lead] !== 1 ? [1] : chunks[d + lead]));
    if (x instanceof NDArray) return fromArray(x, { chunks: target });
    return sameChunks(x.chunks, target) ? x : rechunk(x, target);
  });
  return { chunks, operands: aligned };
}

/**
 * The DArray operands among aligned operands, how an output block finds each one's block (0
 * along axes it broadcasts), and which of them the output reads one to one.
 */
export function alignedInputs(
  aligned: readonly unknown[],
  grid: readonly number[],
): {
  inputs: DArray[];
  inputOf: (operand: number, index: readonly number[]) => [number, number[]];
  oneToOne: boolean[];
} {
  const ndim = grid.length;
  const inputs: DArray[] = [];
  const positions = aligned.map((x) => (x instanceof DArray ? inputs.push(x) - 1 : -1));
  const grids = inputs.map((x) => x.numblocks);
  const inputOf = (operand: number, index: readonly number[]): [number, number[]] => {
    const own = grids[positions[operand]];
    const lead = ndim - own.length;
    return [positions[operand], own.map((n, d) => (n === 1 ? 0 : index[d + lead]))];
  };
  const oneToOne = inputs.map((x) => {
    const lead = ndim - x.ndim;
    const leading = grid.slice(0, lead).every((n) => n === 1);
    return leading && x.numblocks.every((n, d) => n === grid[d + lead]);
  });
  return { inputs, inputOf, oneToOne };
}

/**
 * An array whose block `i` is `op(params, ...operand blocks)` over broadcast, aligned operands
 * (scalars and `null` pass through as they are).
 */
export function mapAligned(
  prefix: string,
  op: string,
  params: unknown,
  operands: readonly (ArrayLike | null)[],
  dtype: DType,
): DArray {
  const { chunks, operands: aligned } = alignOperands(operands, prefix);
  const { inputs, inputOf, oneToOne } = alignedInputs(aligned, numblocksOf(chunks));
  const name = `${prefix}-${tokenize(op, params, aligned, dtype)}`;
  return new DArray(name, chunks, dtype, {
    kind: "blocks",
    inputs,
    oneToOne,
    block: (index, ctx) =>
      blockExpr(
        op,
        params,
        aligned.map((x, i) => (x instanceof DArray ? ctx.input(...inputOf(i, index)) : x)),
      ),
  });
}

/** A stand-in block of each operand's dtype, to learn a kernel's result dtype. */
function metaOperand(x: ArrayLike | null): NDArray | number | boolean | null {
  if (x instanceof DArray || x instanceof NDArray) return ones([1], x.dtype);
  return x;
}

/** The element-wise kernel `fn` applied block by block. */
export function elementwise(fn: ElementwiseName, operands: readonly (ArrayLike | null)[]): DArray {
  const kernel = ELEMENTWISE[fn] as (...args: unknown[]) => NDArray;
  // the kernel on stand-ins gives the result dtype, and refuses what it would refuse later
  const dtype = kernel(...operands.map(metaOperand)).dtype;
  return mapAligned(fn, "map", { fn }, operands, dtype);
}

/** `x` converted to `dtype`. */
export function astype(x: DArray, dtype: DType): DArray {
  if (x.dtype === dtype) return x;
  astypeKernel(ones([1], x.dtype), dtype);
  return mapAligned("astype", "astype", { dtype }, [x], dtype);
}

/** `x` rounded to `decimals` places, halves to even. */
export function round(x: DArray, decimals = 0): DArray {
  const dtype = roundKernel(ones([1], x.dtype), decimals).dtype;
  return mapAligned("round", "round", { decimals }, [x], dtype);
}

/** Elements of `x` where `condition` is non-zero, else of `y`, all broadcast together. */
export function where(condition: ArrayLike, x: ArrayLike, y: ArrayLike): DArray {
  return elementwise("where", [condition, x, y]);
}
