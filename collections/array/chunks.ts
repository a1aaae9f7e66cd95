/**
 * Chunk layouts: how an array's axes are cut into blocks.
 *
 * A layout lists, for each axis, the lengths of its blocks (`[[250, 250, 250, 250], [500, 500]]`
 * for a 1000×1000 array in 250×500 blocks). A length is `NaN` where it is unknown until computed
 * (after boolean-mask indexing), as in Dask.
 *
 * @module
 */
import { type DType, DTYPE_ARRAY } from "../../core/ndarray.ts";
import { formatShape } from "./kernels/mod.ts";

/** Block lengths along each axis. */
export type Chunks = readonly (readonly number[])[];

/**
 * How one axis is cut: a block length (the last block may be shorter), `-1` or `null` for one
 * block spanning the axis, `"auto"`, or the explicit list of block lengths.
 */
export type AxisChunks = number | null | "auto" | readonly number[];

/**
 * How an array is cut: one {@link AxisChunks} for every axis (a single number or `"auto"`
 * applies to all axes), or, when rechunking, an object of axis → {@link AxisChunks} for the
 * axes that change. `[250, 500]` means blocks of 250×500; explicit lengths are nested:
 * `[[5, 5, 2]]`.
 */
export type ChunksSpec = AxisChunks | readonly AxisChunks[] | Readonly<Record<number, AxisChunks>>;

/** Dask's default block size for `"auto"` (its `array.chunk-size` setting): 128 MiB. */
export const AUTO_CHUNK_BYTES = 128 * 2 ** 20;

/** The shape the chunks add up to (`NaN` along axes with unknown lengths). */
export function shapeOf(chunks: Chunks): number[] {
  return chunks.map((c) => c.reduce((a, b) => a + b, 0));
}

/** The number of blocks along each axis. */
export function numblocksOf(chunks: Chunks): number[] {
  return chunks.map((c) => c.length);
}

/** True when every block length is known. */
export function isKnown(chunks: Chunks): boolean {
  return chunks.every((c) => c.every((n) => !Number.isNaN(n)));
}

/** Start offset of each block along an axis, plus the total at the end (`n + 1` entries). */
export function offsetsOf(axis: readonly number[]): number[] {
  const out = new Array<number>(axis.length + 1);
  out[0] = 0;
  for (let i = 0; i < axis.length; i++) out[i + 1] = out[i] + axis[i];
  return out;
}

/** Blocks of length `size` covering `length` (the last one shorter); one empty block for 0. */
export function regularChunks(length: number, size: number): number[] {
  if (length === 0) return [0];
  const out: number[] = [];
  for (let at = 0; at < length; at += size) out.push(Math.min(size, length - at));
  return out;
}

/** `count` blocks of near-equal length covering `length`. */
function evenChunks(length: number, count: number): number[] {
  if (length === 0) return [0];
  const n = Math.max(1, Math.min(count, length));
  return regularChunks(length, Math.ceil(length / n));
}

function formatChunks(chunks: Chunks): string {
  return `(${chunks.map((c) => `(${c.join(", ")}${c.length === 1 ? "," : ""})`).join(", ")})`;
}

function isRecordSpec(spec: ChunksSpec): spec is Readonly<Record<number, AxisChunks>> {
  return typeof spec === "object" && spec !== null && !Array.isArray(spec);
}

/**
 * Turns a {@link ChunksSpec} into block lengths for `shape`. `"auto"` axes share a block budget
 * of `limit` bytes (default 128 MiB) evenly; `previous` gives the layout kept by axes a
 * rechunk's object form leaves out.
 *
 * @throws {RangeError} when the spec has the wrong number of axes, lengths that do not add up to
 *   the shape, or sizes that are not positive integers.
 */
export function normalizeChunks(
  spec: ChunksSpec,
  shape: readonly number[],
  options: { dtype?: DType; limit?: number; previous?: Chunks } = {},
): number[][] {
  const ndim = shape.length;
  let perAxis: (AxisChunks | undefined)[];
  if (isRecordSpec(spec)) {
    perAxis = new Array(ndim).fill(undefined);
    for (const [key, value] of Object.entries(spec)) {
      const axis = Number(key);
      if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
        throw new RangeError(
          `chunks name axis ${key}, which an array of ${ndim} dimensions does not have`,
        );
      }
      perAxis[axis < 0 ? axis + ndim : axis] = value;
    }
  } else if (Array.isArray(spec)) {
    // Dask: no chunks for an array with no elements on any axis is one empty block per axis
    perAxis = spec.length === 0 && ndim > 0 && shape.every((n) => n === 0)
      ? shape.map(() => [0])
      : [...spec];
  } else {
    perAxis = new Array(ndim).fill(spec);
  }
  if (perAxis.length !== ndim) {
    throw new RangeError(
      `chunks ${JSON.stringify(spec)} give ${perAxis.length} axes for an array of shape ` +
        `${formatShape(shape)}; give one entry per axis`,
    );
  }
  const out: (number[] | undefined)[] = perAxis.map((axisSpec, axis) => {
    const length = shape[axis];
    if (axisSpec === undefined) {
      const kept = options.previous?.[axis];
      return kept === undefined ? regularChunks(length, Math.max(length, 1)) : [...kept];
    }
    if (axisSpec === "auto") return undefined;
    if (axisSpec === null || axisSpec === -1) {
      // one block of the axis' length, known or not (Dask gives `(nan,)`)
      const kept = options.previous?.[axis];
      if (Number.isNaN(length) && kept !== undefined && kept.length === 1) return [...kept];
      return [length];
    }
    if (typeof axisSpec === "number") {
      if (!Number.isInteger(axisSpec) || axisSpec <= 0) {
        throw new RangeError(
          `chunk size ${axisSpec} for axis ${axis} must be a positive integer, -1 or null`,
        );
      }
      if (Number.isNaN(length)) throw unknownLength(axis);
      return regularChunks(length, axisSpec);
    }
    const lengths = [...axisSpec];
    if (lengths.some(Number.isNaN)) {
      // unknown lengths are taken as given (Dask checks sums only when every length is known)
      const bad = lengths.find((n) => !Number.isNaN(n) && !(Number.isInteger(n) && n >= 0));
      if (bad !== undefined) {
        throw new RangeError(
          `block lengths for axis ${axis} must be integers >= 0 or NaN (unknown), got ` +
            `(${lengths.join(", ")})`,
        );
      }
      return lengths;
    }
    for (const n of lengths) {
      if (!(Number.isInteger(n) && n >= 0) && !Number.isNaN(n)) {
        throw new RangeError(
          `block lengths for axis ${axis} must be integers >= 0, got (${lengths.join(", ")})`,
        );
      }
    }
    const total = lengths.reduce((a, b) => a + b, 0);
    if (
      lengths.length === 0 || (total !== length && !(Number.isNaN(total) && Number.isNaN(length)))
    ) {
      throw new RangeError(
        `chunks (${lengths.join(", ")}) for axis ${axis} add up to ${total}, but the axis has ` +
          `length ${length} (shape ${formatShape(shape)})`,
      );
    }
    return lengths;
  });
  const autoAxes = out.flatMap((c, axis) => (c === undefined ? [axis] : []));
  if (autoAxes.length > 0) {
    const itemsize = DTYPE_ARRAY[options.dtype ?? "float64"].BYTES_PER_ELEMENT;
    const limit = options.limit ?? AUTO_CHUNK_BYTES;
    let budget = limit / itemsize;
    for (let axis = 0; axis < ndim; axis++) {
      if (out[axis] !== undefined) budget /= Math.max(1, ...out[axis]!);
    }
    // shortest axes first: an axis shorter than its share gives the rest to the others
    const order = [...autoAxes].sort((a, b) => shape[a] - shape[b]);
    order.forEach((axis, i) => {
      if (Number.isNaN(shape[axis])) throw unknownLength(axis);
      const share = Math.max(1, Math.floor(budget ** (1 / (order.length - i))));
      const size = Math.min(shape[axis], share);
      out[axis] = evenChunks(shape[axis], Math.ceil(shape[axis] / Math.max(size, 1)));
      budget /= Math.max(size, 1);
    });
  }
  return out as number[][];
}

function unknownLength(axis: number): RangeError {
  return new RangeError(
    `axis ${axis} has blocks of unknown length (after boolean indexing); call ` +
      "`await x.computeChunkSizes()` first, or keep that axis's chunks as they are",
  );
}

/**
 * The common refinement of several layouts of one axis: every block boundary of any of them
 * (Dask's `unify_chunks`). Layouts with a single block adopt the others' boundaries.
 */
export function commonChunks(axis: number, layouts: readonly (readonly number[])[]): number[] {
  const first = layouts[0];
  if (
    layouts.every((c) =>
      c.length === first.length &&
      c.every((n, i) => n === first[i] || (Number.isNaN(n) && Number.isNaN(first[i])))
    )
  ) {
    return [...first];
  }
  if (layouts.some((c) => c.some(Number.isNaN))) {
    throw new RangeError(
      `cannot align arrays along axis ${axis}: their blocks are ${
        layouts.map((c) => `(${c.join(", ")})`).join(" and ")
      }, and unknown lengths (NaN) cannot be matched; call \`await x.computeChunkSizes()\` ` +
        "on the arrays first",
    );
  }
  const cuts = new Set<number>();
  for (const c of layouts) {
    let at = 0;
    for (const n of c) cuts.add(at += n);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: number[] = [];
  let previous = 0;
  for (const cut of sorted) {
    if (cut > previous) out.push(cut - previous);
    previous = cut;
  }
  return out.length === 0 ? [0] : out;
}

/** True when two layouts are the same (unknown lengths match each other). */
export function sameChunks(a: Chunks, b: Chunks): boolean {
  return a.length === b.length &&
    a.every((c, axis) =>
      c.length === b[axis].length &&
      c.every((n, i) => n === b[axis][i] || (Number.isNaN(n) && Number.isNaN(b[axis][i])))
    );
}

/** Calls `visit` with every block index of a grid, in C order. */
export function forEachIndex(numblocks: readonly number[], visit: (index: number[]) => void): void {
  const ndim = numblocks.length;
  if (numblocks.some((n) => n === 0)) return;
  const index = new Array<number>(ndim).fill(0);
  for (;;) {
    visit(index.slice());
    let d = ndim - 1;
    for (; d >= 0; d--) {
      if (++index[d] < numblocks[d]) break;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

/** The position of a block index in the C-order listing of its grid. */
export function flatIndex(index: readonly number[], numblocks: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < index.length; d++) flat = flat * numblocks[d] + index[d];
  return flat;
}

/** The block index at position `flat` of a grid's C-order listing. */
export function unflatIndex(flat: number, numblocks: readonly number[]): number[] {
  const out = new Array<number>(numblocks.length);
  for (let d = numblocks.length - 1; d >= 0; d--) {
    out[d] = flat % numblocks[d];
    flat = Math.floor(flat / numblocks[d]);
  }
  return out;
}

/** The shape of block `index`. */
export function blockShape(chunks: Chunks, index: readonly number[]): number[] {
  return index.map((i, axis) => chunks[axis][i]);
}

/** Text for a layout, as error messages show it. */
export { formatChunks };
