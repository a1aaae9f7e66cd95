/**
 * Tensor products of chunked arrays: tensordot, matmul and dot.
 *
 * Each is a contraction over index labels (as Dask builds them with blockwise): output block
 * `(i, j)` is the sum over the blocks `k` of the contracted axes of the product of block
 * `(i, k)` of one operand with block `(k, j)` of the other. The products of every `k` are
 * partial results along a new leading axis, summed by the same tree as `sum`, so a long
 * contraction never waits on one task holding every partial product.
 *
 * @module
 */
import type { DType, NDArray } from "../../core/ndarray.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { commonChunks, sameChunks, unflatIndex } from "./chunks.ts";
import { fromArray } from "./creation.ts";
import { DArray } from "./darray.ts";
import { astype, elementwise } from "./elementwise.ts";
import {
  formatShape,
  matmul as matmulKernel,
  normalizeAxis,
  ones,
  tensordot as tensordotKernel,
} from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";
import { reduce } from "./reductions.ts";

function asDArray(x: DArray | NDArray): DArray {
  return x instanceof DArray ? x : fromArray(x);
}

/**
 * The contraction of `a` (axes labelled `aLabels`) with `b` over the labels missing from
 * `outLabels`, each block product being `op(params, aBlock, bBlock)`. Length-1 axes broadcast
 * against longer ones with the same label.
 */
function contract(
  prefix: string,
  op: string,
  params: unknown,
  a: DArray,
  aLabels: readonly string[],
  b: DArray,
  bLabels: readonly string[],
  outLabels: readonly string[],
  dtype: DType,
): DArray {
  const labels = new Set([...aLabels, ...bLabels]);
  const chunksOf = new Map<string, number[]>();
  for (const label of labels) {
    const occurrences: [DArray, number][] = [];
    aLabels.forEach((l, d) => l === label && occurrences.push([a, d]));
    bLabels.forEach((l, d) => l === label && occurrences.push([b, d]));
    const longest = Math.max(...occurrences.map(([x, d]) => x.shape[d]));
    const layouts = occurrences
      .filter(([x, d]) => !(x.shape[d] === 1 && longest !== 1))
      .map(([x, d]) => x.chunks[d]);
    chunksOf.set(label, commonChunks(0, layouts));
  }
  const align = (x: DArray, xLabels: readonly string[]) => {
    const target = xLabels.map((l, d) => {
      const chunks = chunksOf.get(l)!;
      // a length-1 axis against a longer one broadcasts: it stays one block of 1
      return x.shape[d] === 1 && chunks.reduce((m, n) => m + n, 0) !== 1 ? [1] : chunks;
    });
    return sameChunks(x.chunks, target) ? x : rechunk(x, target);
  };
  const left = align(a, aLabels), right = align(b, bLabels);
  const contracted = [...labels].filter((l) => !outLabels.includes(l));
  const kGrid = contracted.map((l) => chunksOf.get(l)!.length);
  const kCount = kGrid.reduce((x, y) => x * y, 1);
  const outChunks = outLabels.map((l) => chunksOf.get(l)!);
  const blockIndex = (
    x: DArray,
    xLabels: readonly string[],
    out: readonly number[],
    k: readonly number[],
  ) => {
    const grid = x.numblocks;
    return xLabels.map((l, d) => {
      if (grid[d] === 1) return 0;
      const o = outLabels.indexOf(l);
      return o >= 0 ? out[o] : k[contracted.indexOf(l)];
    });
  };
  // how many product blocks read each block of an operand: one, or it is not fused
  const readers = (xLabels: readonly string[], x: DArray) => {
    let count = 1;
    outLabels.forEach((l, o) => {
      if (!xLabels.includes(l) || x.numblocks[xLabels.indexOf(l)] === 1) {
        count *= outChunks[o].length;
      }
    });
    return count;
  };
  const oneToOne = [readers(aLabels, left) === 1, readers(bLabels, right) === 1];
  const token = tokenize(prefix, op, params, left, aLabels, right, bLabels, outLabels);
  if (kCount === 1) {
    return new DArray(`${prefix}-${token}`, outChunks, dtype, {
      kind: "blocks",
      inputs: [left, right],
      oneToOne,
      block: (index, ctx) =>
        blockExpr(op, params, [
          ctx.input(0, blockIndex(left, aLabels, index, kGrid.map(() => 0))),
          ctx.input(1, blockIndex(right, bLabels, index, kGrid.map(() => 0))),
        ]),
    });
  }
  const products = new DArray(
    `${prefix}-products-${token}`,
    [new Array(kCount).fill(1), ...outChunks],
    dtype,
    {
      kind: "blocks",
      inputs: [left, right],
      oneToOne,
      block: (index, ctx) => {
        const k = unflatIndex(index[0], kGrid);
        const out = index.slice(1);
        const product = blockExpr(op, params, [
          ctx.input(0, blockIndex(left, aLabels, out, k)),
          ctx.input(1, blockIndex(right, bLabels, out, k)),
        ]);
        return blockExpr("expandDims", { axis: [0] }, [product]);
      },
    },
  );
  return astype(reduce(products, "sum", { axis: 0 }), dtype);
}

/** Lengths of the contracted axes must agree; throws NumPy's message otherwise. */
function checkContracted(a: DArray, axesA: readonly number[], b: DArray, axesB: readonly number[]) {
  if (
    axesA.length !== axesB.length || axesA.some((x, i) =>
      a.shape[x] !== b.shape[axesB[i]] &&
      !(Number.isNaN(a.shape[x]) && Number.isNaN(b.shape[axesB[i]]))
    )
  ) {
    throw new RangeError(
      `shape-mismatch for sum: axes [${axesA}] of ${formatShape(a.shape)} and [${axesB}] of ${
        formatShape(b.shape)
      } must have the same lengths`,
    );
  }
}

/**
 * Sums products over `axes` of `a` and `b`: a count N (the last N axes of `a` with the first N
 * of `b`, default 2) or a pair of axis lists. The result has `a`'s remaining axes, then `b`'s.
 */
export function tensordot(
  a: DArray | NDArray,
  b: DArray | NDArray,
  axes: number | readonly [number | readonly number[], number | readonly number[]] = 2,
): DArray {
  const x = asDArray(a), y = asDArray(b);
  let axesA: number[], axesB: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > x.ndim || axes > y.ndim) {
      throw new RangeError(
        `tensordot: axes=${axes} must be an integer between 0 and the smaller ndim of ` +
          `${formatShape(x.shape)} and ${formatShape(y.shape)}`,
      );
    }
    axesA = Array.from({ length: axes }, (_, i) => x.ndim - axes + i);
    axesB = Array.from({ length: axes }, (_, i) => i);
  } else {
    const list = (v: number | readonly number[]) => (typeof v === "number" ? [v] : [...v]);
    axesA = list(axes[0]).map((v) => normalizeAxis(v, x.ndim));
    axesB = list(axes[1]).map((v) => normalizeAxis(v, y.ndim));
  }
  checkContracted(x, axesA, y, axesB);
  const aLabels = x.chunks.map((_, d) => (axesA.includes(d) ? `c${axesA.indexOf(d)}` : `a${d}`));
  const bLabels = y.chunks.map((_, d) => (axesB.includes(d) ? `c${axesB.indexOf(d)}` : `b${d}`));
  const outLabels = [...aLabels, ...bLabels].filter((l) => !l.startsWith("c"));
  const dtype =
    tensordotKernel(ones(x.shape.map(() => 1), x.dtype), ones(y.shape.map(() => 1), y.dtype), [
      axesA,
      axesB,
    ]).dtype;
  return contract(
    "tensordot",
    "tensordot",
    { axes: [axesA, axesB] },
    x,
    aLabels,
    y,
    bLabels,
    outLabels,
    dtype,
  );
}

/**
 * The matrix product of the last two axes, broadcasting leading (batch) axes; a 1-d operand is
 * a row (first) or column (second) vector whose axis is dropped from the result.
 */
export function matmul(a: DArray | NDArray, b: DArray | NDArray): DArray {
  const x = asDArray(a), y = asDArray(b);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new RangeError(
      `matmul: input operand ${x.ndim === 0 ? 0 : 1} does not have enough dimensions (it is ` +
        "0-d); use multiply for scalars",
    );
  }
  const kA = x.shape[x.ndim - 1], kB = y.shape[y.ndim === 1 ? 0 : y.ndim - 2];
  if (kA !== kB && !(Number.isNaN(kA) && Number.isNaN(kB))) {
    throw new RangeError(
      `matmul: input operand 1 has a mismatch in its core dimension 0, with gufunc signature ` +
        `(n?,k),(k,m?)->(n?,m?) (size ${kB} is different from ${kA}); shapes ` +
        `${formatShape(x.shape)} and ${formatShape(y.shape)}`,
    );
  }
  const batchA = Math.max(0, x.ndim - 2), batchB = Math.max(0, y.ndim - 2);
  const batch = Math.max(batchA, batchB);
  const batchLabels = (count: number) =>
    Array.from({ length: count }, (_, i) => `n${batch - count + i}`);
  const aLabels = [...batchLabels(batchA), ...(x.ndim >= 2 ? ["i"] : []), "k"];
  const bLabels = [...batchLabels(batchB), "k", ...(y.ndim >= 2 ? ["j"] : [])];
  const outLabels = [
    ...batchLabels(batch),
    ...(x.ndim >= 2 ? ["i"] : []),
    ...(y.ndim >= 2 ? ["j"] : []),
  ];
  const stand = (z: DArray) => ones(z.shape.map(() => 1), z.dtype);
  const dtype = matmulKernel(stand(x), stand(y)).dtype;
  return contract("matmul", "matmul", null, x, aLabels, y, bLabels, outLabels, dtype);
}

/**
 * NumPy's dot: scalars multiply; two vectors give their inner product; matrices (and vectors)
 * multiply as matmul; otherwise sums over the last axis of `a` and the second-to-last of `b`.
 */
export function dot(a: DArray | NDArray, b: DArray | NDArray): DArray {
  const x = asDArray(a), y = asDArray(b);
  if (x.ndim === 0 || y.ndim === 0) return elementwise("multiply", [x, y]);
  const axisB = y.ndim === 1 ? 0 : y.ndim - 2;
  if (x.shape[x.ndim - 1] !== y.shape[axisB]) {
    throw new RangeError(
      `shapes ${formatShape(x.shape)} and ${formatShape(y.shape)} not aligned: ${
        x.shape[x.ndim - 1]
      } (dim ${x.ndim - 1}) != ${y.shape[axisB]} (dim ${axisB})`,
    );
  }
  if (x.ndim <= 2 && y.ndim <= 2) return matmul(x, y);
  return tensordot(x, y, [[x.ndim - 1], [axisB]]);
}
