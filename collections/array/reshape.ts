/**
 * Reshaping a chunked array block by block (Dask's `reshape_rechunk`).
 *
 * Axes are matched from the last: equal lengths keep their blocks; a group of input axes that
 * multiplies to one output axis (or the reverse) needs every axis of the group but the first to
 * be a single block, so that each block is a contiguous run of the merged axis. The input is
 * rechunked to such blocks first (unless asked not to), then every block is reshaped on its own.
 *
 * @module
 */
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { type Chunks, formatChunks, isKnown, sameChunks } from "./chunks.ts";
import { DArray } from "./darray.ts";
import { formatShape } from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";

/** Options of {@link reshape}. */
export interface ReshapeOptions {
  /**
   * Rechunk the input when its blocks do not line up with the new shape (default true). With
   * false, such a reshape throws an error that names the blocks it needs.
   */
  rechunk?: boolean;
}

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** `shape` with its -1 filled in; throws when the sizes cannot agree. */
function resolveShape(size: number, shape: readonly number[]): number[] {
  const unknown = shape.filter((n) => n === -1).length;
  if (unknown > 1) throw new RangeError("can only specify one unknown dimension (-1) in reshape");
  for (const n of shape) {
    if (!Number.isInteger(n) || n < -1) {
      throw new RangeError(`invalid shape ${formatShape(shape)}: lengths must be integers >= 0`);
    }
  }
  const known = product(shape.filter((n) => n !== -1));
  const out = [...shape];
  if (unknown === 1 && known !== 0 && size % known === 0) out[shape.indexOf(-1)] = size / known;
  if (out.includes(-1) || product(out) !== size) {
    throw new RangeError(`cannot reshape array of size ${size} into shape ${formatShape(shape)}`);
  }
  return out;
}

/** Each block cut into `factor` near-equal parts (Dask's expand_tuple). */
function expandChunks(chunks: readonly number[], factor: number): number[] {
  if (factor <= 1) return [...chunks];
  const out: number[] = [];
  for (const c of chunks) {
    let rest = c;
    const part = Math.max(Math.floor(c / factor), 1);
    while (rest >= 2 * part) {
      out.push(part);
      rest -= part;
    }
    if (rest > 0) out.push(rest);
  }
  return out;
}

/** Blocks merged into multiples of `factor` (Dask's contract_tuple). */
function contractChunks(chunks: readonly number[], factor: number): number[] {
  const out: number[] = [];
  let residual = 0;
  for (const c of chunks) {
    const total = c + residual;
    const whole = Math.floor(total / factor) * factor;
    residual = total - whole;
    if (whole > 0) out.push(whole);
  }
  return out;
}

/**
 * The input blocks a reshape needs, the output blocks it makes, and for each output axis the
 * input axis whose block index it follows (-1: the output axis is one block).
 */
export function reshapeChunks(
  inShape: readonly number[],
  outShape: readonly number[],
  inChunks: Chunks,
): { inChunks: number[][]; outChunks: number[][]; source: number[] } {
  const resIn: number[][] = new Array(inShape.length);
  const resOut: number[][] = new Array(outShape.length);
  const source = new Array<number>(outShape.length).fill(-1);
  let ii = inShape.length - 1, oi = outShape.length - 1;
  while (ii >= 0 || oi >= 0) {
    if (oi < 0 || (ii >= 0 && inShape[ii] === 1 && outShape[oi] !== 1)) {
      resIn[ii] = [1];
      ii--;
      continue;
    }
    if (ii < 0 || (outShape[oi] === 1 && inShape[ii] !== 1)) {
      resOut[oi] = [1];
      oi--;
      continue;
    }
    if (inShape[ii] === outShape[oi]) {
      resIn[ii] = [...inChunks[ii]];
      resOut[oi] = [...inChunks[ii]];
      source[oi] = ii;
      ii--;
      oi--;
      continue;
    }
    // the smallest groups of trailing axes on both sides with equal products
    let ileft = ii, oleft = oi, pin = inShape[ii], pout = outShape[oi];
    while (pin !== pout) {
      if (pin < pout) pin *= inShape[--ileft];
      else pout *= outShape[--oleft];
    }
    if (oleft === oi) {
      // several input axes merge into one output axis
      for (let i = ileft + 1; i <= ii; i++) resIn[i] = [inShape[i]];
      const pieces = product(inChunks.slice(ileft + 1, ii + 1).map((c) => c.length));
      resIn[ileft] = expandChunks(inChunks[ileft], pieces);
      const inner = product(inShape.slice(ileft + 1, ii + 1));
      resOut[oi] = resIn[ileft].map((c) => c * inner);
      source[oi] = ileft;
    } else if (ileft === ii) {
      // one input axis splits into several output axes
      const inner = product(outShape.slice(oleft + 1, oi + 1));
      resIn[ii] = contractChunks(inChunks[ii], inner);
      for (let o = oleft + 1; o <= oi; o++) resOut[o] = [outShape[o]];
      resOut[oleft] = resIn[ii].map((c) => c / inner);
      source[oleft] = ii;
    } else {
      // regrouped both ways: the group becomes one block on each side
      for (let i = ileft; i <= ii; i++) resIn[i] = [inShape[i]];
      for (let o = oleft; o <= oi; o++) resOut[o] = [outShape[o]];
    }
    ii = ileft - 1;
    oi = oleft - 1;
  }
  return { inChunks: resIn, outChunks: resOut, source };
}

/** `x` with the same elements (C order) in `shape`; one length may be -1. */
export function reshape(
  x: DArray,
  shapeSpec: readonly number[],
  options: ReshapeOptions = {},
): DArray {
  if (!isKnown(x.chunks)) {
    throw new RangeError(
      "reshape needs known block lengths, and this array has blocks of unknown length " +
        "(after boolean indexing); call `await x.computeChunkSizes()` first",
    );
  }
  const shape = resolveShape(x.size, shapeSpec);
  const inShape = x.shape;
  if (shape.length === inShape.length && shape.every((n, d) => n === inShape[d])) return x;
  let plan: { inChunks: number[][]; outChunks: number[][]; source: number[] };
  if (x.size === 0) {
    plan = {
      inChunks: inShape.map((n) => [n]),
      outChunks: shape.map((n) => [n]),
      source: shape.map(() => -1),
    };
  } else plan = reshapeChunks(inShape, shape, x.chunks);
  let input = x;
  if (!sameChunks(plan.inChunks, x.chunks)) {
    if (options.rechunk === false) {
      throw new RangeError(
        `reshape from ${formatShape(inShape)} to ${formatShape(shape)} needs blocks ` +
          `${formatChunks(plan.inChunks)}, but the array has blocks ${formatChunks(x.chunks)}: ` +
          "each merged axis but the first must be one block. Rechunk first " +
          `(x.rechunk(${JSON.stringify(plan.inChunks)})) or allow rechunking`,
      );
    }
    input = rechunk(x, plan.inChunks);
  }
  const { outChunks, source } = plan;
  const name = `reshape-${tokenize(input, shape)}`;
  return new DArray(name, outChunks, x.dtype, {
    kind: "blocks",
    inputs: [input],
    oneToOne: [true],
    block: (index, ctx) => {
      const inIndex = input.chunks.map(() => 0);
      source.forEach((axis, o) => {
        if (axis >= 0) inIndex[axis] = index[o];
      });
      const blockShape = index.map((i, o) => outChunks[o][i]);
      return blockExpr("reshape", { shape: blockShape }, [ctx.input(0, inIndex)]);
    },
  });
}

/** `x` flattened to one axis. */
export function ravel(x: DArray): DArray {
  return reshape(x, [x.size]);
}
