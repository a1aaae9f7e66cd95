/**
 * User functions over blocks: `mapBlocks` (a function per block of aligned arrays) and
 * `blockwise` (Dask's index-label form, with contraction over labels missing from the output).
 *
 * User functions travel as code (source text, or a module reference for functions declared with
 * taskModule): they may use their arguments and JS globals only. They reach the tasks as bound
 * functions of the array task function (core/function_tags.ts's bindFunctions), named by slot.
 *
 * @module
 */
import { functionName } from "../../core/function_tags.ts";
import { type DType, NDArray } from "../../core/ndarray.ts";
import type { TaskFunction } from "../../core/task.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { commonChunks, numblocksOf, offsetsOf, sameChunks } from "./chunks.ts";
import type { BlockInfo, CallParams } from "./chunk_tasks.ts";
import { fromArray } from "./creation.ts";
import { DArray } from "./darray.ts";
import { alignedInputs, alignOperands } from "./elementwise.ts";
import { formatShape, normalizeAxes, ones } from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";

/** Options of {@link mapBlocks}. */
export interface MapBlocksOptions {
  /** The output dtype; default: what the function returns for small stand-in blocks. */
  dtype?: DType;
  /**
   * The output blocks when the function changes block shapes: per output axis, one length for
   * every block or the list of lengths (one per block).
   */
  chunks?: readonly (number | readonly number[])[];
  /** Axes the function removes (each must be one block; inputs are rechunked to make it so). */
  dropAxis?: number | readonly number[];
  /** Axes the function adds (positions in the output; length 1 unless `chunks` say). */
  newAxis?: number | readonly number[];
  /** The key prefix of the tasks (default: the function's name). */
  name?: string;
}

/** The dtype `fn` gives for small stand-in blocks, or undefined when that cannot be learned. */
function inferDType(fn: TaskFunction, args: readonly unknown[]): DType | undefined {
  try {
    const stand = args.map((a) =>
      a instanceof DArray || a instanceof NDArray ? ones(a.shape.map(() => 1), a.dtype) : a
    );
    const out = fn(...stand, null);
    if (out instanceof NDArray) return out.dtype;
  } catch {
    // the function may not accept stand-ins; the caller falls back to the inputs' dtype
  }
  return undefined;
}

/**
 * Applies `fn` to the blocks of aligned arrays: block `i` of the result is
 * `fn(...blocksAndConstants, blockInfo)`, where arrays in `args` contribute their block `i`
 * (broadcast as element-wise operations are) and other arguments pass as they are.
 *
 * @example
 * ```ts
 * import { array } from "./mod.ts";
 * const x = array.arange(10, { chunks: 5 });
 * const shifted = array.mapBlocks((b, offset) => b.data.map((v) => v + offset), [x, 100]);
 * ```
 */
export function mapBlocks(
  fn: TaskFunction,
  args: readonly unknown[],
  options: MapBlocksOptions = {},
): DArray {
  if (typeof fn !== "function") throw new TypeError("mapBlocks needs a function");
  const arrays = args.filter((a): a is DArray | NDArray =>
    a instanceof DArray || a instanceof NDArray
  );
  if (arrays.length === 0) throw new TypeError("mapBlocks needs at least one array argument");
  const { chunks: base, operands } = alignOperands(
    args.map((a) => (a instanceof DArray || a instanceof NDArray ? a : 0)),
    "mapBlocks",
  );
  const ndim = base.length;
  const drop = options.dropAxis === undefined ? [] : normalizeAxes(options.dropAxis, ndim);
  let aligned: unknown[] = operands.map((x, i) => (x instanceof DArray ? x : args[i]));
  let baseChunks = base;
  if (drop.length > 0) {
    // each dropped axis must be one block, so every output block sees it whole
    aligned = aligned.map((x) => {
      if (!(x instanceof DArray)) return x;
      const lead = ndim - x.ndim;
      const spec: Record<number, null> = {};
      for (const a of drop) if (a - lead >= 0 && x.numblocks[a - lead] > 1) spec[a - lead] = null;
      return Object.keys(spec).length === 0 ? x : rechunk(x, spec);
    });
    baseChunks = base.map((c, d) => (drop.includes(d) ? [c.reduce((a, b) => a + b, 0)] : c));
  }
  const kept = baseChunks.filter((_, d) => !drop.includes(d));
  const added = options.newAxis === undefined ? [] : normalizeAxes(
    options.newAxis,
    kept.length + (typeof options.newAxis === "number" ? 1 : options.newAxis.length),
  );
  const defaultChunks: (readonly number[])[] = [...kept];
  for (const a of added) defaultChunks.splice(a, 0, [1]);
  const outChunks = options.chunks === undefined
    ? defaultChunks
    : resolveOutputChunks(options.chunks, defaultChunks);
  const grid = numblocksOf(baseChunks);
  const outGrid = numblocksOf(outChunks);
  const dtype = options.dtype ?? inferDType(fn, aligned) ?? arrays[0].dtype;
  const { inputs, inputOf, oneToOne } = alignedInputs(aligned, grid);
  const fnName = options.name ?? functionName(fn);
  const name = `${fnName}-${tokenize(fn, aligned, outChunks, dtype, drop, added)}`;
  const starts = outChunks.map(offsetsOf);
  const shape = outChunks.map((c) => c.reduce((a, b) => a + b, 0));
  return new DArray(name, outChunks, dtype, {
    kind: "blocks",
    inputs,
    oneToOne,
    block: (index, ctx) => {
      // the output index without new axes, with dropped axes at block 0, is the input index
      const kept = index.filter((_, d) => !added.includes(d));
      const inIndex: number[] = [];
      let j = 0;
      for (let d = 0; d < ndim; d++) inIndex.push(drop.includes(d) ? 0 : kept[j++]);
      const info: BlockInfo = {
        index: [...index],
        numblocks: outGrid,
        arrayLocation: index.map((i, d) => [starts[d][i], starts[d][i + 1]]),
        shape,
        dtype,
      };
      const params: CallParams = {
        slot: ctx.fn(fn),
        name: fnName,
        info,
        expect: index.map((i, d) => (Number.isNaN(outChunks[d][i]) ? null : outChunks[d][i])),
      };
      const callArgs = aligned.map((
        x,
        i,
      ) => (x instanceof DArray ? ctx.input(...inputOf(i, inIndex)) : x));
      return blockExpr("call", params, callArgs);
    },
  });
}

function resolveOutputChunks(
  given: readonly (number | readonly number[])[],
  defaults: readonly (readonly number[])[],
): number[][] {
  if (given.length !== defaults.length) {
    throw new RangeError(
      `mapBlocks: chunks give ${given.length} axes, but the output has ${defaults.length}`,
    );
  }
  return given.map((c, d) => {
    const count = defaults[d].length;
    if (typeof c === "number") return new Array<number>(count).fill(c);
    if (c.length !== count) {
      throw new RangeError(
        `mapBlocks: chunks for axis ${d} list ${c.length} blocks, but the output has ${count} ` +
          "blocks along that axis",
      );
    }
    return [...c];
  });
}

/** Options of {@link blockwise}. */
export interface BlockwiseOptions {
  /** The output dtype (default: the first array's). */
  dtype?: DType;
  /** Lengths of output labels that no input has. */
  newAxes?: Readonly<Record<string, number>>;
  /**
   * Join the blocks along contracted labels (labels missing from the output) into one block
   * (default false: the function receives a list of blocks per contracted label).
   */
  concatenate?: boolean;
  /** The key prefix (default: the function's name). */
  name?: string;
}

/**
 * Dask's blockwise: `fn` over blocks named by index labels. `outLabels` names the output axes
 * (`"ij"`); each input is `[array, labels]` (`[x, "ij"]`, `[y, "ji"]`) or `[value, null]` for
 * a constant. Blocks along shared labels are aligned; labels missing from the output are
 * contracted: the function receives lists of the blocks along them (nested in label order), or
 * one joined block with `concatenate: true`.
 */
export function blockwise(
  fn: TaskFunction,
  outLabels: string,
  inputs: readonly (readonly [unknown, string | null])[],
  options: BlockwiseOptions = {},
): DArray {
  const out = [...outLabels];
  if (new Set(out).size !== out.length) {
    throw new RangeError(`blockwise: output labels '${outLabels}' repeat a label`);
  }
  const operands = inputs.map(([value, labels]) => {
    if (labels === null) return { value, labels: null };
    const array = value instanceof NDArray ? fromArray(value) : value;
    if (!(array instanceof DArray)) {
      throw new TypeError(`blockwise: an input with labels '${labels}' must be an array`);
    }
    if (labels.length !== array.ndim) {
      throw new RangeError(
        `blockwise: labels '${labels}' name ${labels.length} axes of an array of shape ` +
          `${formatShape(array.shape)}`,
      );
    }
    return { value: array as DArray, labels: [...labels] };
  });
  const arrays = operands.filter((o): o is { value: DArray; labels: string[] } =>
    o.labels !== null
  );
  // the blocks along each label, from every array that has it (broadcast length-1 axes aside)
  const labelChunks = new Map<string, number[]>();
  const all = new Set<string>();
  for (const { labels } of arrays) for (const l of labels) all.add(l);
  for (const label of all) {
    const layouts: (readonly number[])[] = [];
    let longest = 1;
    for (const { value, labels } of arrays) {
      labels.forEach((l, d) => {
        if (l === label) longest = Math.max(longest, value.shape[d]);
      });
    }
    for (const { value, labels } of arrays) {
      labels.forEach((l, d) => {
        if (l === label && !(value.shape[d] === 1 && longest !== 1)) layouts.push(value.chunks[d]);
      });
    }
    labelChunks.set(label, commonChunks(0, layouts));
  }
  const contracted = [...all].filter((l) => !out.includes(l));
  if (options.concatenate) {
    for (const l of contracted) {
      labelChunks.set(l, [labelChunks.get(l)!.reduce((a, b) => a + b, 0)]);
    }
  }
  for (const l of out) {
    if (!all.has(l) && options.newAxes?.[l] === undefined) {
      throw new RangeError(
        `blockwise: output label '${l}' is on no input; give its length in newAxes`,
      );
    }
  }
  const aligned = operands.map((o) => {
    if (o.labels === null) return o;
    const target = o.labels.map((l, d) =>
      o.value instanceof DArray && o.value.shape[d] === 1 &&
        labelChunks.get(l)!.reduce((m, n) => m + n, 0) !== 1
        ? [1]
        : labelChunks.get(l)!
    );
    const array = o.value as DArray;
    return {
      value: sameChunks(array.chunks, target) ? array : rechunk(array, target),
      labels: o.labels,
    };
  });
  const outChunks = out.map((l) => labelChunks.get(l) ?? [options.newAxes![l]]);
  const outGrid = numblocksOf(outChunks);
  const contractedGrid = contracted.map((l) => labelChunks.get(l)!.length);
  const arrayInputs = aligned.filter((o) => o.labels !== null).map((o) => o.value as DArray);
  const oneToOne = aligned.filter((o) => o.labels !== null).map((o) => {
    const labels = o.labels!, array = o.value as DArray;
    const ownGrid = array.numblocks;
    const readsAll = labels.every((l, d) =>
      out.includes(l) ? ownGrid[d] === outGrid[out.indexOf(l)] : ownGrid[d] === 1
    );
    const spread = out.every((l, d) => labels.includes(l) || outGrid[d] === 1);
    return readsAll && spread;
  });
  const dtype = options.dtype ?? arrays[0]?.value.dtype ?? "float64";
  const fnName = options.name ?? functionName(fn);
  const name = `${fnName}-${
    tokenize(
      fn,
      outLabels,
      aligned.map((o) => [o.value, o.labels]),
      dtype,
      options.newAxes ?? null,
      options.concatenate ?? false,
    )
  }`;
  return new DArray(name, outChunks, dtype, {
    kind: "blocks",
    inputs: arrayInputs,
    oneToOne,
    block: (index, ctx) => {
      let position = 0;
      const args = aligned.map((o) => {
        if (o.labels === null) return o.value;
        const pos = position++;
        const labels = o.labels, array = o.value as DArray;
        const ownGrid = array.numblocks;
        const mine = contracted.filter((l) => labels.includes(l) && !options.concatenate);
        const at = (kIndex: readonly number[]) =>
          labels.map((l, d) => {
            if (ownGrid[d] === 1) return 0;
            const o2 = out.indexOf(l);
            return o2 >= 0 ? index[o2] : kIndex[mine.indexOf(l)];
          });
        // nested lists over this input's contracted labels, in label order
        const nest = (depth: number, prefix: number[]): unknown => {
          if (depth === mine.length) return ctx.input(pos, at(prefix));
          const n = contractedGrid[contracted.indexOf(mine[depth])];
          const items = Array.from({ length: n }, (_, i) => nest(depth + 1, [...prefix, i]));
          return blockExpr("list", null, items);
        };
        return nest(0, []);
      });
      const params: CallParams = {
        slot: ctx.fn(fn),
        name: fnName,
        info: null,
        expect: index.map((i, d) => (Number.isNaN(outChunks[d][i]) ? null : outChunks[d][i])),
      };
      return blockExpr("call", params, args);
    },
  });
}
