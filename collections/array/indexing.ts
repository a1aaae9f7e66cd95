/**
 * Indexing chunked arrays, as NumPy's `x[...]` on a `dask.array`:
 * - basic indexing (integers, slices with any step, new axes, `...`) picks, for every output
 *   block, one input block and a view of it;
 * - an integer list along one axis gathers the listed elements block by block (output blocks
 *   about as long as the input's);
 * - a boolean mask keeps the selected elements of every block; how many is not known until the
 *   blocks are computed, so the result has blocks of unknown (NaN) length, as in Dask.
 *
 * @module
 */
import { NDArray } from "../../core/ndarray.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { offsetsOf, sameChunks, unflatIndex } from "./chunks.ts";
import { fromArray } from "./creation.ts";
import { DArray } from "./darray.ts";
import {
  formatShape,
  type IndexItem,
  normalizeIndex,
  parseIndex,
  resolveSlice,
  type Slice,
} from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";
import { indexAlongAxis } from "./lazy_index.ts";

/** One item of an index: basic items, or an integer/boolean list along one axis. */
export type IndexItemLike =
  | IndexItem
  | readonly number[]
  | readonly boolean[]
  | NDArray
  | DArray;

/**
 * What `get` accepts: index text (`":100, 500:100:-2"`, `"..., [3, 1, 2]"`), one item, a list
 * of items (one per axis; a nested list is an integer list along that axis), or a boolean mask
 * (DArray or NDArray) over the leading axes.
 */
export type Index = string | IndexItemLike | readonly IndexItemLike[] | DArray;

/** Splits index text at top-level commas and parses each item (`[1, 2]` lists included). */
export function parseIndexText(text: string): IndexItemLike[] {
  const items: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (c === "," && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw badIndex(text, "a ']' closes no '['");
  }
  if (depth !== 0) throw badIndex(text, "a '[' is not closed");
  items.push(text.slice(start));
  const trimmed = items.map((s) => s.trim());
  if (trimmed.length > 1 && trimmed[trimmed.length - 1] === "") trimmed.pop(); // "1," as in Python
  if (trimmed.length === 1 && trimmed[0] === "") return [];
  return trimmed.map((item) => {
    if (!item.startsWith("[")) {
      const parsed = parseIndex(item);
      if (parsed.length !== 1) throw badIndex(text, `cannot read the item '${item}'`);
      return parsed[0];
    }
    if (!item.endsWith("]")) throw badIndex(text, `the list '${item}' must end with ']'`);
    const inner = item.slice(1, -1).trim();
    if (inner === "") return [];
    return inner.split(",").map((t) => {
      const s = t.trim();
      if (s === "True" || s === "true") return true;
      if (s === "False" || s === "false") return false;
      if (!/^[+-]?\d+$/.test(s)) throw badIndex(text, `'${s}' in '${item}' is not an integer`);
      return Number(s);
    }) as number[] | boolean[];
  });
}

function badIndex(text: string, why: string): SyntaxError {
  return new SyntaxError(
    `cannot parse the index '${text}': ${why}; items are integers, start:stop:step, '...', ` +
      "'None' and integer lists such as [3, 1, 2]",
  );
}

function isAdvanced(
  item: IndexItemLike | DArray,
): item is readonly number[] | readonly boolean[] | NDArray | DArray {
  return Array.isArray(item) || item instanceof NDArray || item instanceof DArray;
}

/** `x[index]` (see {@link Index}). */
export function getItem(x: DArray, index: Index): DArray {
  if (index instanceof DArray) return booleanMask(x, index);
  if (index instanceof NDArray && index.dtype === "bool" && index.ndim > 0) {
    return booleanMask(x, index);
  }
  const items: IndexItemLike[] = typeof index === "string"
    ? parseIndexText(index)
    : Array.isArray(index)
    ? [...index as readonly IndexItemLike[]]
    : [index as IndexItemLike];
  const ellipses = items.filter((i) => i === "...").length;
  if (ellipses > 1) throw new RangeError("an index can only have a single ellipsis ('...')");
  const consumed = items.filter((i) => i !== null && i !== "...").length;
  if (consumed > x.ndim) {
    throw new RangeError(
      `too many indices for array: array is ${x.ndim}-dimensional, but ${consumed} were indexed`,
    );
  }
  const expanded: IndexItemLike[] = [];
  for (const item of items) {
    if (item === "...") { for (let i = 0; i < x.ndim - consumed; i++) expanded.push({}); }
    else expanded.push(item);
  }
  const advanced = expanded.filter(isAdvanced);
  if (advanced.length > 1) {
    throw new RangeError(
      "only one integer list or boolean list per index is supported (as in Dask); index with " +
        "them one after the other",
    );
  }
  // basic indexing first, with the list's axis taken whole; then the list along its output axis
  let inputAxis = 0, outputAxis = 0, listInput = -1, listOutput = -1;
  const basic: IndexItem[] = expanded.map((item) => {
    if (item === null) {
      outputAxis++;
      return null;
    }
    if (isAdvanced(item)) {
      listInput = inputAxis++;
      listOutput = outputAxis++;
      return {};
    }
    inputAxis++;
    if (typeof item !== "number") outputAxis++;
    return item as IndexItem;
  });
  const sliced = basicIndex(x, basic);
  if (listInput < 0) return sliced;
  const list = advanced[0];
  if (list instanceof DArray) return indexAlongAxis(sliced, list, listOutput);
  return take(sliced, toIntegerList(list, x.shape[listInput], listInput), listOutput);
}

function toIntegerList(
  list: readonly number[] | readonly boolean[] | NDArray,
  length: number,
  axis: number,
): readonly number[] | NDArray {
  const values: ArrayLike<number | boolean> = list instanceof NDArray
    ? (list.ndim === 1 ? list.numbers() : badList(list))
    : list;
  const isBool = list instanceof NDArray
    ? list.dtype === "bool"
    : (list as readonly unknown[]).length > 0 &&
      typeof (list as readonly unknown[])[0] === "boolean";
  if (!isBool) return list instanceof NDArray ? list : (list as readonly number[]);
  if (values.length !== length) {
    throw new RangeError(
      `boolean index did not match indexed array along axis ${axis}; size of axis is ` +
        `${length} but size of corresponding boolean axis is ${values.length}`,
    );
  }
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i]) out.push(i);
  return out;
}

function badList(list: NDArray): never {
  throw new RangeError(
    `an index array along one axis must be 1-d, got shape ${formatShape(list.shape)}`,
  );
}

/** The block holding position `i` along an axis with block starts `starts`. */
function blockOf(starts: readonly number[], i: number): number {
  let lo = 0, hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** One output block along an axis: its input block, the view of it, and its length. */
interface AxisBlock {
  block: number;
  item: IndexItem;
  length: number;
}

/**
 * True for a slice that takes an axis of `length` whole, in order: `:`, and with a known
 * length also `0:`, `:n`, `-n:`, `0:n+5` (Dask returns the array itself for these).
 */
function isWhole(item: IndexItem, length = NaN): boolean {
  if (item === null || typeof item !== "object") return false;
  const s = item as Slice;
  if ((s.step ?? 1) !== 1) return false;
  const start = s.start ?? null, stop = s.stop ?? null;
  if (start === null && stop === null) return true;
  if (Number.isNaN(length)) return false;
  const from = start === null ? 0 : start < 0 ? start + length : start;
  const to = stop === null ? length : stop < 0 ? stop + length : stop;
  return from <= 0 && to >= length;
}

/** The output blocks one slice of an axis makes. */
function sliceAxis(chunks: readonly number[], s: Slice, axis: number): AxisBlock[] {
  const total = chunks.reduce((a, b) => a + b, 0);
  if (Number.isNaN(total)) {
    if (isWhole(s)) return chunks.map((n, block) => ({ block, item: {}, length: n }));
    throw new RangeError(
      `axis ${axis} has blocks of unknown length (after boolean indexing), so it can only be ` +
        "taken whole; call `await x.computeChunkSizes()` first",
    );
  }
  const { start, step, length } = resolveSlice(s, total);
  const starts = offsetsOf(chunks);
  const out: (AxisBlock & { first: number })[] = [];
  chunks.forEach((n, block) => {
    const lo = starts[block], hi = lo + n;
    // positions k of the selection whose element start + k * step lies in [lo, hi)
    let k0: number, k1: number;
    if (step > 0) {
      k0 = Math.max(0, Math.ceil((lo - start) / step));
      k1 = Math.min(length, Math.ceil((hi - start) / step));
    } else {
      const s2 = -step;
      k0 = Math.max(0, Math.floor((start - hi) / s2) + 1);
      k1 = Math.min(length, Math.floor((start - lo) / s2) + 1);
    }
    if (k1 <= k0) return;
    const first = start + k0 * step - lo;
    const count = k1 - k0;
    const lastIndex = first + (count - 1) * step;
    const stop = step > 0 ? lastIndex + 1 : lastIndex - 1 < 0 ? null : lastIndex - 1;
    out.push({ block, item: { start: first, stop, step }, length: count, first: k0 });
  });
  out.sort((a, b) => a.first - b.first);
  if (out.length === 0) return [{ block: 0, item: { start: 0, stop: 0 }, length: 0 }];
  return out.map(({ block, item, length }) => ({ block, item, length }));
}

/** `x` indexed by basic items (no ellipsis; at most one per axis plus new axes). */
function basicIndex(x: DArray, items: readonly IndexItem[]): DArray {
  type AxisPlan =
    | { kind: "fixed"; block: number; local: number }
    | { kind: "sliced"; blocks: AxisBlock[] }
    | { kind: "new" };
  const plans: AxisPlan[] = [];
  let axis = 0;
  const all = [...items];
  const used = items.filter((i) => i !== null).length;
  for (let i = used; i < x.ndim; i++) all.push({});
  const axisLength = (axis: number) => x.chunks[axis].reduce((a, b) => a + b, 0);
  if (all.every((item, axis) => item !== null && isWhole(item, axisLength(axis)))) return x;
  for (const item of all) {
    if (item === null) {
      plans.push({ kind: "new" });
      continue;
    }
    const chunks = x.chunks[axis];
    if (typeof item === "number") {
      const length = chunks.reduce((a, b) => a + b, 0);
      if (Number.isNaN(length)) {
        throw new RangeError(
          `cannot index axis ${axis} with an integer: its blocks have unknown lengths; call ` +
            "`await x.computeChunkSizes()` first",
        );
      }
      const at = normalizeIndex(item, length, axis);
      const starts = offsetsOf(chunks);
      const block = blockOf(starts, at);
      plans.push({ kind: "fixed", block, local: at - starts[block] });
    } else if (typeof item === "object") {
      plans.push({ kind: "sliced", blocks: sliceAxis(chunks, item as Slice, axis) });
    } else {
      throw new TypeError(`cannot index with ${JSON.stringify(item)}`);
    }
    axis++;
  }
  const outPlans = plans.filter((p) => p.kind !== "fixed") as Exclude<
    AxisPlan,
    { kind: "fixed" }
  >[];
  const chunks = outPlans.map((p) => (p.kind === "new" ? [1] : p.blocks.map((b) => b.length)));
  const name = `getitem-${tokenize(x, all)}`;
  return new DArray(name, chunks, x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [true],
    view: true,
    block: (index, ctx) => {
      const source: number[] = [];
      const local: IndexItem[] = [];
      let o = 0;
      for (const plan of plans) {
        if (plan.kind === "new") {
          local.push(null);
          o++;
        } else if (plan.kind === "fixed") {
          source.push(plan.block);
          local.push(plan.local);
        } else {
          const b = plan.blocks[index[o++]];
          source.push(b.block);
          local.push(b.item);
        }
      }
      return blockExpr("slice", { index: local }, [ctx.input(0, source)]);
    },
  });
}

/** Elements at integer `indices` along `axis` (negatives count from the end). */
export function take(x: DArray, indices: readonly number[] | NDArray, axis = 0): DArray {
  const ax = axis < 0 ? axis + x.ndim : axis;
  if (!Number.isInteger(ax) || ax < 0 || ax >= x.ndim) {
    throw new RangeError(`axis ${axis} is out of bounds for array of dimension ${x.ndim}`);
  }
  if (indices instanceof NDArray && indices.ndim !== 1) badList(indices);
  const list = indices instanceof NDArray ? indices.numbers() : indices;
  const chunks = x.chunks[ax];
  const length = chunks.reduce((a, b) => a + b, 0);
  if (Number.isNaN(length)) {
    throw new RangeError(
      `cannot take along axis ${ax}: its blocks have unknown lengths; call ` +
        "`await x.computeChunkSizes()` first",
    );
  }
  const starts = offsetsOf(chunks);
  const limit = Math.max(1, ...chunks);
  // output blocks of up to `limit` elements, each made of runs taken from one input block
  const outBlocks: { block: number; local: number[] }[][] = [];
  let current: { block: number; local: number[] }[] = [];
  let filled = 0;
  for (let i = 0; i < list.length; i++) {
    const at = normalizeIndex(list[i], length, ax);
    const block = blockOf(starts, at);
    if (filled === limit) {
      outBlocks.push(current);
      current = [];
      filled = 0;
    }
    const last = current[current.length - 1];
    if (last !== undefined && last.block === block) last.local.push(at - starts[block]);
    else current.push({ block, local: [at - starts[block]] });
    filled++;
  }
  if (current.length > 0 || outBlocks.length === 0) outBlocks.push(current);
  const uses = new Map<number, number>();
  for (const runs of outBlocks) {
    for (const r of runs) uses.set(r.block, (uses.get(r.block) ?? 0) + 1);
  }
  const oneToOne = outBlocks.every((runs) => runs.length === 1) &&
    [...uses.values()].every((n) => n === 1) &&
    x.chunks.every((c, d) => d === ax || c.length === 1);
  const outChunks = x.chunks.map((c, d) =>
    d === ax ? outBlocks.map((runs) => runs.reduce((n, r) => n + r.local.length, 0)) : c
  );
  const runLists = outBlocks.map((runs) =>
    runs.length === 0 ? [{ block: 0, local: new Int32Array(0) }] : runs.map((r) => ({
      block: r.block,
      local: Int32Array.from(r.local),
    }))
  );
  const name = `take-${tokenize(x, ax, Int32Array.from(list as ArrayLike<number>))}`;
  return new DArray(name, outChunks, x.dtype, {
    kind: "blocks",
    inputs: [x],
    oneToOne: [oneToOne],
    block: (index, ctx) => {
      const runs = runLists[index[ax]];
      const args = runs.map((r) => ctx.input(0, index.map((i, d) => (d === ax ? r.block : i))));
      return blockExpr("take", { axis: ax, indices: runs.map((r) => r.local) }, args);
    },
  });
}

/**
 * The elements of `input` where the boolean `mask` (covering its leading axes) is true, in C
 * order: one axis of selected positions followed by the remaining axes. Its blocks have unknown
 * lengths.
 */
export function booleanMask(input: DArray, mask: DArray | NDArray): DArray {
  let x = input;
  if (mask.dtype !== "bool") {
    throw new TypeError(
      `a boolean mask must have dtype bool, got ${mask.dtype}; use take or an integer list ` +
        "for integer indices",
    );
  }
  const m = mask.ndim;
  if (m === 0 || m > x.ndim) {
    throw new RangeError(
      `a mask of shape ${formatShape(mask.shape)} cannot index an array of shape ` +
        `${formatShape(x.shape)}: it must cover 1 to ${x.ndim} leading axes`,
    );
  }
  const shape = x.shape;
  mask.shape.forEach((n, i) => {
    if (n !== shape[i] && !(Number.isNaN(n) && Number.isNaN(shape[i]))) {
      throw new RangeError(
        `boolean index did not match indexed array along axis ${i}; size of axis is ${
          shape[i]
        } but size of corresponding boolean axis is ${n} (mask ${formatShape(mask.shape)}, ` +
          `array ${formatShape(shape)})`,
      );
    }
  });
  // selected elements come out in C order of the masked axes only if every masked axis but
  // the first is one block (Dask ravels both for the same reason)
  x.chunks.slice(1, m).forEach((c, d) => {
    if (c.length > 1 && c.some(Number.isNaN)) {
      throw new RangeError(
        `cannot mask axis ${d + 1}: it has several blocks of unknown length; call ` +
          "`await x.computeChunkSizes()` first",
      );
    }
  });
  const lead = x.chunks.slice(0, m).map((c, d) => (d === 0 ? c : [shape[d]]));
  if (!sameChunks(lead, x.chunks.slice(0, m))) {
    x = rechunk(x, Object.fromEntries(lead.slice(1).map((c, d) => [d + 1, c])));
  }
  const aligned = mask instanceof NDArray
    ? fromArray(mask, { chunks: lead })
    : sameChunks(mask.chunks, lead)
    ? mask
    : rechunk(mask, lead);
  const leadGrid = lead.map((c) => c.length);
  const count = leadGrid.reduce((a, b) => a * b, 1);
  const rest = x.chunks.slice(m);
  const chunks = [new Array<number>(count).fill(NaN), ...rest];
  const name = `boolean-mask-${tokenize(x, aligned)}`;
  return new DArray(name, chunks, x.dtype, {
    kind: "blocks",
    inputs: [x, aligned],
    oneToOne: [true, rest.every((c) => c.length === 1)],
    block: (index, ctx) => {
      const leading = unflatIndex(index[0], leadGrid);
      return blockExpr("mask", null, [
        ctx.input(0, [...leading, ...index.slice(1)]),
        ctx.input(1, leading),
      ]);
    },
  });
}
