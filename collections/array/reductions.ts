/**
 * Reductions as trees (Dask's `reduction`): every block is reduced to a partial result, then
 * partials are merged `splitEvery` at a time along each reduced axis, level by level, until one
 * task per output block aggregates the last group. Mean, variance and standard deviation carry
 * (count, mean, sum of squared deviations) partials merged with Chan's parallel formula;
 * argmin/argmax carry (value, global index) partials. Cumulative sums and products scan each
 * block and add the running total of the blocks before it.
 *
 * @module
 */
import { type DType, isBigIntDType } from "../../core/ndarray.ts";
import { chunkKey, makeTask, TaskRef } from "../../core/task.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { forEachIndex, isKnown, offsetsOf } from "./chunks.ts";
import {
  evalBlock,
  type ReduceAggregateParams,
  type ReduceChunkParams,
  type ReductionKind,
  type ScanKind,
} from "./chunk_tasks.ts";
import { DArray } from "./darray.ts";
import { astype } from "./elementwise.ts";
import * as k from "./kernels/mod.ts";
import { ravel } from "./reshape.ts";

/** Options of reductions. */
export interface ReductionOptions {
  /** The axes to reduce: one, several, or all (`null`/omitted). */
  axis?: number | readonly number[] | null;
  /**
   * The dtype to reduce in and give (NumPy's `dtype=`): the elements are converted to it
   * first, and the result has it.
   */
  dtype?: DType;
  /** Keep reduced axes as length 1. */
  keepdims?: boolean;
  /**
   * Partials merged per task: a total spread evenly over the reduced axes (default 16, so 16
   * along one axis or 4×4 over two, as in Dask), or a count per axis (`{ 0: 8 }`).
   */
  splitEvery?: number | Readonly<Record<number, number>>;
}

/** Options of var and std. */
export interface VarianceOptions extends ReductionOptions {
  /** Subtracted from the element count in the divisor (default 0). */
  ddof?: number;
}

/** Options of argmin and argmax: one axis, or the flattened array. */
export interface ArgReductionOptions {
  axis?: number | null;
  keepdims?: boolean;
  splitEvery?: number | Readonly<Record<number, number>>;
}

/** Options of a reduction over every axis, whose result is a Scalar: no `axis`, no `keepdims`. */
export interface WholeReductionOptions extends Omit<ReductionOptions, "axis" | "keepdims"> {
  /** Every axis (`null` or omitted). */
  axis?: null;
  /** Reduced axes are dropped (keeping them gives an array of shape (1, …)). */
  keepdims?: false;
}

/** Options of var and std over every axis. */
export interface WholeVarianceOptions extends WholeReductionOptions {
  /** Subtracted from the element count in the divisor (default 0). */
  ddof?: number;
}

/** Options of argmin and argmax of the flattened array. */
export interface WholeArgReductionOptions extends Omit<ArgReductionOptions, "axis" | "keepdims"> {
  /** The flattened array (`null` or omitted). */
  axis?: null;
  /** Reduced axes are dropped. */
  keepdims?: false;
}

const DEFAULT_SPLIT = 16;

/** Partials merged per task along each reduced axis. */
function splitPerAxis(
  split: ReductionOptions["splitEvery"],
  axes: readonly number[],
  ndim: number,
): Map<number, number> {
  const out = new Map<number, number>();
  const even = (total: number) => Math.max(2, Math.floor(total ** (1 / Math.max(axes.length, 1))));
  if (split === undefined || typeof split === "number") {
    const total = split ?? DEFAULT_SPLIT;
    if (!Number.isInteger(total) || total < 2) {
      throw new RangeError(`splitEvery must be an integer >= 2, got ${split}`);
    }
    for (const a of axes) out.set(a, even(total));
    return out;
  }
  const given = new Map<number, number>();
  for (const [key, n] of Object.entries(split)) {
    const axis = k.normalizeAxis(Number(key), ndim);
    if (!Number.isInteger(n) || n < 2) {
      throw new RangeError(`splitEvery for axis ${key} must be an integer >= 2, got ${n}`);
    }
    given.set(axis, n);
  }
  for (const a of axes) out.set(a, given.get(a) ?? even(DEFAULT_SPLIT));
  return out;
}

/** The dtype each reduction gives for input `dtype` (the kernels' rules). */
function reductionDType(kind: ReductionKind, dtype: DType): DType {
  const one = k.ones([1], dtype);
  switch (kind) {
    case "var":
      return k.variance(one).dtype;
    case "argmin":
    case "argmax":
      return "int32";
    default:
      return k[kind](one).dtype;
  }
}

/**
 * The tree over `partials` (one partial per block of the array, length-1 blocks along `axes`):
 * combine levels while an axis has more than its split of blocks, then the aggregate.
 */
function reductionTree(
  partials: DArray,
  x: DArray,
  axes: readonly number[],
  split: Map<number, number>,
  aggregate: ReduceAggregateParams,
  token: string,
): DArray {
  let current = partials;
  let level = 0;
  const kind = aggregate.kind;
  const reduced = (d: number) => axes.includes(d);
  while (axes.some((a) => current.numblocks[a] > split.get(a)!)) {
    const input = current;
    const grid = input.numblocks;
    const chunks = grid.map((n, d) =>
      reduced(d) ? new Array(Math.ceil(n / split.get(d)!)).fill(1) : input.chunks[d]
    );
    current = new DArray(`${kind}-combine-${tokenize(token, level++)}`, chunks, x.dtype, {
      kind: "blocks",
      inputs: [input],
      oneToOne: [false],
      block: (index, ctx) => {
        const group: unknown[] = [];
        const starts = index.map((i, d) => (reduced(d) ? i * split.get(d)! : i));
        const sizes = index.map((_, d) =>
          reduced(d) ? Math.min(split.get(d)!, grid[d] - starts[d]) : 1
        );
        forEachIndex(sizes, (offset) => {
          group.push(ctx.input(0, offset.map((o, d) => starts[d] + o)));
        });
        return blockExpr("reduceCombine", { kind }, group);
      },
    });
  }
  const last = current;
  const grid = last.numblocks;
  const outChunks = x.chunks.flatMap((
    c,
    d,
  ) => (reduced(d) ? (aggregate.keepdims ? [[1]] : []) : [c]));
  const groupSizes = grid.map((n, d) => (reduced(d) ? n : 1));
  const single = groupSizes.every((n) => n === 1);
  return new DArray(`${kind}-aggregate-${token}`, outChunks, aggregate.dtype, {
    kind: "blocks",
    inputs: [last],
    oneToOne: [single],
    block: (index, ctx) => {
      // the output index lacks the reduced axes unless keepdims
      const full: number[] = [];
      let j = 0;
      for (let d = 0; d < x.ndim; d++) {
        if (reduced(d)) {
          full.push(0);
          if (aggregate.keepdims) j++;
        } else full.push(index[j++]);
      }
      const group: unknown[] = [];
      forEachIndex(groupSizes, (offset) => {
        group.push(ctx.input(0, offset.map((o, d) => (reduced(d) ? o : full[d]))));
      });
      return blockExpr("reduceAggregate", aggregate, group);
    },
  });
}

/** The partial results of each block: length 1 along the reduced axes. */
function partialsOf(
  x: DArray,
  axes: readonly number[],
  token: string,
  params: (index: readonly number[]) => ReduceChunkParams,
): DArray {
  const chunks = x.chunks.map((c, d) => (axes.includes(d) ? c.map(() => 1) : c));
  return new DArray(`${params(x.chunks.map(() => 0)).kind}-chunk-${token}`, chunks, x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [true],
    block: (index, ctx) => blockExpr("reduceChunk", params(index), [ctx.input(0, index)]),
  });
}

/** A tree reduction of `x` (sum, prod, min, max, any, all, mean, var; std is var + `sqrt`). */
export function reduce(
  x: DArray,
  kind: Exclude<ReductionKind, "argmin" | "argmax">,
  options: VarianceOptions & { sqrt?: boolean } = {},
): DArray {
  if (options.dtype !== undefined) {
    const { dtype, ...rest } = options;
    return astype(reduce(astype(x, dtype), kind, rest), dtype);
  }
  if ((kind === "mean" || kind === "var") && isBigIntDType(x.dtype)) {
    // NumPy accumulates a mean or variance of 64-bit integers in float64: no wrap-around
    return reduce(astype(x, "float64"), kind, options);
  }
  const axes = k.normalizeAxes(options.axis, x.ndim);
  const keepdims = options.keepdims ?? false;
  const ddof = options.ddof ?? 0;
  const sqrt = options.sqrt ?? false;
  const split = splitPerAxis(options.splitEvery, axes, x.ndim);
  const dtype = reductionDType(kind, x.dtype);
  const token = tokenize(x, kind, axes, keepdims, [...split], ddof, sqrt);
  const partials = partialsOf(x, axes, token, () => ({ kind, axes }));
  const name = sqrt ? "std" : kind;
  const aggregate: ReduceAggregateParams = { kind, axes, keepdims, dtype, ddof, sqrt };
  const out = reductionTree(partials, x, axes, split, aggregate, token);
  return name === kind ? out : renamed(out, `${name}-${token}`);
}

/** The same array under another name (so std's tasks say std). */
function renamed(x: DArray, name: string): DArray {
  return new DArray(name, x.chunks, x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [true],
    view: true,
    block: (index, ctx) => ctx.input(0, index),
  });
}

/** argmin/argmax along one axis, or of the flattened array, as a tree of (value, index). */
export function argReduce(
  x: DArray,
  kind: "argmin" | "argmax",
  options: ArgReductionOptions = {},
): DArray {
  const flat = options.axis === undefined || options.axis === null;
  const axis = flat ? null : k.normalizeAxis(options.axis!, x.ndim);
  const axes = flat ? x.chunks.map((_, d) => d) : [axis!];
  if (!isKnown(x.chunks.filter((_, d) => axes.includes(d)))) {
    throw new RangeError(
      `${kind} needs known block lengths along the reduced axes; call ` +
        "`await x.computeChunkSizes()` first",
    );
  }
  const keepdims = options.keepdims ?? false;
  const split = splitPerAxis(options.splitEvery, axes, x.ndim);
  const shape = x.shape;
  const size = shape.reduce((a, b) => a * b, 1);
  const dtype: DType = size < 2 ** 31 ? "int32" : "float64";
  const starts = x.chunks.map(offsetsOf);
  const token = tokenize(x, kind, axis, keepdims, [...split]);
  const partials = partialsOf(x, axes, token, (index) => ({
    kind,
    axes,
    axis,
    offsets: index.map((i, d) => starts[d][i] ?? 0),
    fullShape: shape,
  }));
  return reductionTree(partials, x, axes, split, { kind, axes, keepdims, dtype }, token);
}

/**
 * Running sums or products along `axis` (`null`: of the flattened array). Block j continues
 * from the last values of block j - 1, so the result is the sequential loop's to the bit
 * (adding per-block totals afterwards differs: a block whose own product overflows to
 * Infinity, times a carry that underflowed to 0, gives NaN where NumPy gives 0).
 */
export function cumulative(x: DArray, kind: ScanKind, axisOption: number | null): DArray {
  const source = axisOption === null ? ravel(x) : x;
  const axis = axisOption === null ? 0 : k.normalizeAxis(axisOption, x.ndim);
  const dtype = k[kind](k.ones([1], x.dtype)).dtype;
  const name = `${kind}-${tokenize(source, kind, axis)}`;
  const before = (index: readonly number[]) => index.map((i, d) => (d === axis ? i - 1 : i));
  return new DArray(name, source.chunks, dtype, {
    kind: "custom",
    inputs: [source],
    tasks: (input) =>
      gridIndices(source.numblocks).map((index) => {
        const args: unknown[] = [input(0, index)];
        if (index[axis] > 0) {
          const previous = new TaskRef(chunkKey(name, before(index)));
          args.push(blockExpr("last", { axis }, [previous]));
        }
        return makeTask(chunkKey(name, index), evalBlock, [
          blockExpr("scan", { kind, axis }, args),
        ]);
      }),
  });
}

function gridIndices(grid: readonly number[]): number[][] {
  const out: number[][] = [];
  forEachIndex(grid, (index) => out.push(index));
  return out;
}
