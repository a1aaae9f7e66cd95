/**
 * Axis reordering and length-1 axes: transpose, swapaxes, moveaxis, squeeze, expandDims. Each
 * output block is a view of one input block, so these fuse into whatever reads them.
 *
 * @module
 */
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { DArray } from "./darray.ts";
import { formatShape, normalizeAxes, normalizeAxis } from "./kernels/mod.ts";

/** `x` with axes permuted: `axes[i]` is the old axis that becomes axis i (default: reversed). */
export function transpose(x: DArray, axes?: readonly number[]): DArray {
  const order = axes === undefined
    ? x.chunks.map((_, i) => x.ndim - 1 - i)
    : axes.map((a) => normalizeAxis(a, x.ndim));
  if (order.length !== x.ndim || new Set(order).size !== x.ndim) {
    throw new RangeError(
      `axes [${axes}] don't match an array of ${x.ndim} dimensions: pass a permutation of ` +
        `0..${x.ndim - 1}`,
    );
  }
  if (order.every((a, i) => a === i)) return x;
  const name = `transpose-${tokenize(x, order)}`;
  return new DArray(name, order.map((a) => x.chunks[a]), x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [true],
    view: true,
    block: (index, ctx) => {
      const source = new Array<number>(x.ndim);
      order.forEach((a, i) => (source[a] = index[i]));
      return blockExpr("transpose", { axes: order }, [ctx.input(0, source)]);
    },
  });
}

/** `x` with axes `i` and `j` exchanged. */
export function swapaxes(x: DArray, i: number, j: number): DArray {
  const order = x.chunks.map((_, k) => k);
  const a = normalizeAxis(i, x.ndim), b = normalizeAxis(j, x.ndim);
  [order[a], order[b]] = [order[b], order[a]];
  return transpose(x, order);
}

/** `x` with axis `source` moved to position `destination`, the others keeping their order. */
export function moveaxis(x: DArray, source: number, destination: number): DArray {
  const from = normalizeAxis(source, x.ndim), to = normalizeAxis(destination, x.ndim);
  const order = x.chunks.map((_, k) => k).filter((k) => k !== from);
  order.splice(to, 0, from);
  return transpose(x, order);
}

/** `x` without length-1 axes (all of them, or those named, which must have length 1). */
export function squeeze(x: DArray, axis?: number | readonly number[] | null): DArray {
  const shape = x.shape;
  const axes = axis === undefined || axis === null
    ? shape.flatMap((n, i) => (n === 1 ? [i] : []))
    : normalizeAxes(axis, x.ndim);
  for (const a of axes) {
    if (shape[a] !== 1) {
      throw new RangeError(
        `cannot select an axis to squeeze out which has size not equal to one (axis ${a} of ` +
          `${formatShape(shape)})`,
      );
    }
  }
  if (axes.length === 0) return x;
  const keep = (_: unknown, i: number) => !axes.includes(i);
  const name = `squeeze-${tokenize(x, axes)}`;
  return new DArray(name, x.chunks.filter(keep), x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [true],
    view: true,
    block: (index, ctx) => {
      const source: number[] = [];
      let k = 0;
      for (let d = 0; d < x.ndim; d++) source.push(axes.includes(d) ? 0 : index[k++]);
      return blockExpr("squeeze", { axis: axes }, [ctx.input(0, source)]);
    },
  });
}

/** `x` with a new length-1 axis at each of `axis` (positions in the result). */
export function expandDims(x: DArray, axis: number | readonly number[]): DArray {
  const count = typeof axis === "number" ? 1 : axis.length;
  const axes = normalizeAxes(axis, x.ndim + count);
  const chunks: (readonly number[])[] = [...x.chunks];
  for (const a of axes) chunks.splice(a, 0, [1]);
  const name = `expand-dims-${tokenize(x, axes)}`;
  return new DArray(name, chunks, x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [true],
    view: true,
    block: (index, ctx) => {
      const source = index.filter((_, d) => !axes.includes(d));
      return blockExpr("expandDims", { axis: axes }, [ctx.input(0, source)]);
    },
  });
}
