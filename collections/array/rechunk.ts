/**
 * Rechunking: the same array cut into other blocks. Each output block is assembled from the
 * parts of the input blocks it overlaps (one task per output block); an output block equal to
 * an input block is that block, with no task of its own work.
 *
 * @module
 */
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { type Chunks, type ChunksSpec, normalizeChunks, sameChunks } from "./chunks.ts";
import type { Piece } from "./chunk_tasks.ts";
import { DArray } from "./darray.ts";

/** Options of {@link rechunk}. */
export interface RechunkOptions {
  /** Bytes per block for `"auto"` axes (default 128 MiB). */
  limit?: number;
}

/** The part of input block `block` (local `[start, stop)`) placed at `at` in an output block. */
interface AxisPiece {
  block: number;
  start: number;
  stop: number;
  at: number;
}

/** For each output block along an axis, the input pieces it is made of. */
function axisPieces(from: readonly number[], to: readonly number[]): AxisPiece[][] {
  if (from.some(Number.isNaN)) {
    // unknown lengths can only be kept as they are (normalizeChunks made sure of it)
    return from.map((_, i) => [{ block: i, start: 0, stop: NaN, at: 0 }]);
  }
  const out: AxisPiece[][] = [];
  let position = 0, block = 0, blockStart = 0;
  const advance = (last: boolean) => {
    // move to the input block holding `position` (skipping empty blocks)
    while (
      (last ? block < from.length - 1 : true) && blockStart + from[block] <= position
    ) {
      blockStart += from[block];
      block++;
    }
  };
  for (const length of to) {
    const outStart = position, end = position + length;
    const pieces: AxisPiece[] = [];
    if (length === 0) {
      advance(true);
      const local = position - blockStart;
      pieces.push({ block, start: local, stop: local, at: 0 });
    }
    while (position < end) {
      advance(false);
      const stop = Math.min(end, blockStart + from[block]);
      pieces.push({
        block,
        start: position - blockStart,
        stop: stop - blockStart,
        at: position - outStart,
      });
      position = stop;
    }
    out.push(pieces);
  }
  return out;
}

/** `x` cut into the blocks `chunks` describes (see {@link ChunksSpec}). */
export function rechunk(x: DArray, spec: ChunksSpec, options: RechunkOptions = {}): DArray {
  const chunks: Chunks = normalizeChunks(spec, x.shape, {
    dtype: x.dtype,
    limit: options.limit,
    previous: x.chunks,
  });
  if (sameChunks(chunks, x.chunks)) return x;
  const perAxis = x.chunks.map((from, axis) => axisPieces(from, chunks[axis]));
  const name = `rechunk-${tokenize(x, chunks)}`;
  return new DArray(name, chunks, x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [false],
    block: (index, ctx) => {
      const lists = index.map((i, axis) => perAxis[axis][i]);
      const combos: AxisPiece[][] = [[]];
      for (const list of lists) {
        const next: AxisPiece[][] = [];
        for (const combo of combos) for (const piece of list) next.push([...combo, piece]);
        combos.splice(0, combos.length, ...next);
      }
      if (combos.length === 1) {
        const combo = combos[0];
        const whole = combo.every((p, axis) =>
          p.start === 0 && (Number.isNaN(p.stop) || p.stop === x.chunks[axis][p.block])
        );
        if (whole) return ctx.input(0, combo.map((p) => p.block));
      }
      const pieces: Piece[] = combos.map((combo) => ({
        at: combo.map((p) => p.at),
        index: combo.map((p) => Number.isNaN(p.stop) ? {} : { start: p.start, stop: p.stop }),
      }));
      const shape = index.map((i, axis) => Number.isNaN(chunks[axis][i]) ? null : chunks[axis][i]);
      return blockExpr(
        "assemble",
        { shape, dtype: x.dtype, pieces },
        combos.map((combo) => ctx.input(0, combo.map((p) => p.block))),
      );
    },
  });
}
