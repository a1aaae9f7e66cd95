/**
 * The loop machinery behind every element-wise and reduction kernel.
 *
 * Each operation is an expression over `x0, x1, ...` (element-wise) or `r, x` (reductions); it is
 * compiled once per (expression, typed-array types) into its own loop function with
 * `new Function`. A shared loop that called an operation through a closure would see every
 * operation and every typed-array type at one call site and lose V8's inlining; one function
 * per combination keeps each loop monomorphic. The expressions are fixed strings from these
 * kernels (plus numeric literals), never user input.
 *
 * Before a loop runs, axes of length 1 are dropped and neighbouring axes that every operand walks
 * as one block are merged, so contiguous operands of any shape take a single flat loop.
 *
 * @module
 */
import type { NumericArray } from "../../../core/ndarray.ts";
import { CANCEL_CHECK_ELEMENTS, throwIfCancelled } from "../../../core/cancel_point.ts";
import { KERNEL_HELPERS as NUMBER_HELPERS } from "./scalar_math.ts";
import { BIGINT_HELPERS } from "./bigint_math.ts";

const KERNEL_HELPERS = { ...NUMBER_HELPERS, ...BIGINT_HELPERS };

/** What a loop reads or writes: a buffer walked from `offset` with `strides` (in elements). */
export interface Strided {
  readonly data: NumericArray;
  readonly offset: number;
  readonly strides: readonly number[];
}

/** Shape and per-operand strides after dropping length-1 axes and merging mergeable neighbours. */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const n = shape[axis];
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[axis] * n)) {
      outShape[last] *= n;
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][axis];
    } else {
      outShape.push(n);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][axis]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

const HELPER_NAMES = Object.keys(KERNEL_HELPERS).join(", ");
const kernels = new Map<string, (...args: unknown[]) => void>();

function compile(key: string, body: string): (...args: unknown[]) => void {
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    const factory = new Function("h", `"use strict"; const { ${HELPER_NAMES} } = h; ${body}`);
    kernel = factory(KERNEL_HELPERS) as (...args: unknown[]) => void;
    kernels.set(key, kernel);
  }
  return kernel;
}

const typeKey = (arrays: readonly NumericArray[]) =>
  arrays.map((a) => a.constructor.name).join(",");

/** The source of an element-wise loop over `arity` inputs writing `expr` to `w`. */
function mapSource(arity: number, expr: string): string {
  const ins = Array.from({ length: arity }, (_, i) => i);
  const each = (f: (i: number) => string, sep = " ") => ins.map(f).join(sep);
  const load = (at: (i: number) => string) => each((i) => `const x${i} = d${i}[${at(i)}];`);
  return `return function map(w, wo, ws, shape, ${each((i) => `d${i}, o${i}, s${i}`, ", ")}) {
  const nd = shape.length;
  if (nd === 0) { ${load((i) => `o${i}`)} w[wo] = ${expr}; return; }
  const last = nd - 1, len = shape[last], wt = ws[last];
  ${each((i) => `const t${i} = s${i}[last];`)}
  if (nd === 1 && wt === 1 ${each((i) => `&& t${i} === 1`)}) {
    for (let j = 0; j < len; j++) { ${load((i) => `o${i} + j`)} w[wo + j] = ${expr}; }
    return;
  }
  const index = new Array(nd).fill(0);
  let pw = wo; ${each((i) => `let p${i} = o${i};`)}
  for (;;) {
    for (let j = 0, qw = pw${each((i) => `, q${i} = p${i}`, "")}; j < len;
         j++, qw += wt${each((i) => `, q${i} += t${i}`, "")}) {
      ${load((i) => `q${i}`)} w[qw] = ${expr};
    }
    let d = last - 1;
    for (; d >= 0; d--) {
      index[d]++; pw += ws[d]; ${each((i) => `p${i} += s${i}[d];`)}
      if (index[d] < shape[d]) break;
      pw -= ws[d] * shape[d]; ${each((i) => `p${i} -= s${i}[d] * shape[d];`)}
      index[d] = 0;
    }
    if (d < 0) return;
  }
};`;
}

/**
 * Writes `expr` of the inputs' elements into `out`, all walked over `shape` with their own
 * strides (broadcast inputs have stride 0). `out` must not overlap the inputs unless it is
 * read at the same positions it is written.
 */
export function runMap(
  expr: string,
  out: Strided,
  inputs: readonly Strided[],
  shape: readonly number[],
): void {
  for (const n of shape) if (n === 0) return;
  const { shape: s, strides } = coalesce(shape, [out.strides, ...inputs.map((x) => x.strides)]);
  const arrays = [out.data, ...inputs.map((x) => x.data)];
  const kernel = compile(`map|${expr}|${typeKey(arrays)}`, mapSource(inputs.length, expr));
  const offsets = [out.offset, ...inputs.map((x) => x.offset)];
  inSlabs(s, (first, rows) => {
    const whole = first === 0 && (s.length === 0 || rows === s[0]);
    const slab = whole ? s : [rows, ...s.slice(1)];
    const at = (k: number) =>
      asIndex(first === 0 ? offsets[k] : offsets[k] + first * strides[k][0]);
    const args: unknown[] = [out.data, at(0), strides[0], slab];
    inputs.forEach((x, i) => args.push(x.data, at(i + 1), strides[i + 1]));
    kernel(...args);
  });
}

/**
 * `n` as a small integer (a Smi) when it fits one. Offsets computed in optimised code reach here
 * as heap numbers now and then (8384512.0); a kernel that saw Smis there deoptimises ("not a
 * Smi") and is recompiled with its index arithmetic in doubles: a strided sum ran 1.08x slower.
 * Offsets beyond 2^30 (arrays of over 8 GiB) stay as they are.
 */
function asIndex(n: number): number {
  return n < 0x40000000 && n >= -0x40000000 ? n | 0 : n;
}

/**
 * Calls `run(first, rows)` over the first axis of `shape` in slabs of about
 * CANCEL_CHECK_ELEMENTS elements, looking between slabs whether the task was asked to stop
 * (core/cancel_point.ts). Blocks that small (most chunks) take one call and no look.
 */
function inSlabs(shape: readonly number[], run: (first: number, rows: number) => void): void {
  if (shape.length === 0) return run(0, 1);
  let inner = 1;
  for (let axis = 1; axis < shape.length; axis++) inner *= shape[axis];
  const rows = shape[0];
  // integer arithmetic only: `Math.floor`/`Math.min` hand back doubles (see asIndex)
  const fit = (CANCEL_CHECK_ELEMENTS / inner) | 0;
  const step = fit > 0 ? fit : 1;
  if (step >= rows) return run(0, rows);
  for (let first = 0; first < rows; first += step) {
    throwIfCancelled();
    const left = rows - first;
    run(first, left < step ? left : step);
  }
}

/**
 * The source of a reduction loop over `arity` inputs: for each position, `x = expr` of the
 * inputs' elements there (`x0`, `x1`, ...), then `acc[...] = step`, where `r` is the
 * accumulator's current value and `m` (when `withAux`) the same position of `aux`.
 */
function foldSource(arity: number, expr: string, step: string, withAux: boolean): string {
  const ins = Array.from({ length: arity }, (_, i) => i);
  const each = (f: (i: number) => string, sep = " ") => ins.map(f).join(sep);
  const auxAt = (at: string) => (withAux ? `const m = aux[${at}];` : "");
  const load = (at: (i: number) => string) =>
    `${each((i) => `const x${i} = d${i}[${at(i)}];`)} const x = ${expr};`;
  return `return function reduce(acc, as, shape, ${each((i) => `d${i}, o${i}, s${i}`, ", ")}, aux) {
  const nd = shape.length;
  if (nd === 0) { const r = acc[0]; ${load((i) => `o${i}`)} ${
    auxAt("0")
  } acc[0] = ${step}; return; }
  const last = nd - 1, len = shape[last], ta = as[last];
  ${each((i) => `const t${i} = s${i}[last];`)}
  const index = new Array(nd).fill(0);
  let pa = 0; ${each((i) => `let p${i} = o${i};`)}
  for (;;) {
    if (ta === 0) {
      let r = acc[pa]; ${auxAt("pa")}
      for (let j = 0${each((i) => `, q${i} = p${i}`, "")}; j < len; j++${
    each((i) => `, q${i} += t${i}`, "")
  }) {
        ${load((i) => `q${i}`)} r = ${step};
      }
      acc[pa] = r;
    } else {
      for (let j = 0, qa = pa${each((i) => `, q${i} = p${i}`, "")}; j < len; j++, qa += ta${
    each((i) => `, q${i} += t${i}`, "")
  }) {
        const r = acc[qa]; ${load((i) => `q${i}`)} ${auxAt("qa")} acc[qa] = ${step};
      }
    }
    let d = last - 1;
    for (; d >= 0; d--) {
      index[d]++; pa += as[d]; ${each((i) => `p${i} += s${i}[d];`)}
      if (index[d] < shape[d]) break;
      pa -= as[d] * shape[d]; ${each((i) => `p${i} -= s${i}[d] * shape[d];`)}
      index[d] = 0;
    }
    if (d < 0) return;
  }
};`;
}

/**
 * Calls `kernel(acc, accStrides, shape, d0, o0, s0, ..., aux)` over `shape` in slabs along its
 * first axis ({@link inSlabs}); the accumulator (and `aux`) is addressed from 0, so a slab
 * starts it where its first row writes.
 */
function foldInSlabs(
  kernel: (...args: unknown[]) => void,
  acc: NumericArray,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  inputs: readonly Strided[],
  aux?: Float64Array,
): void {
  inSlabs(shape, (first, rows) => {
    const whole = rows === (shape[0] ?? 1);
    const accFirst = whole ? 0 : first * strides[0][0];
    const args: unknown[] = [
      whole ? acc : acc.subarray(accFirst),
      strides[0],
      whole ? shape : [rows, ...shape.slice(1)],
    ];
    inputs.forEach((x, i) =>
      args.push(
        x.data,
        asIndex(whole ? x.offset : x.offset + first * strides[i + 1][0]),
        strides[i + 1],
      )
    );
    args.push(whole ? aux : aux?.subarray(accFirst));
    kernel(...args);
  });
}

/**
 * Folds every element of `input` (walked over `shape`) into `acc` at the position given by
 * `accStrides` (0 along reduced axes) with `step`. Axes are visited in the input's memory order
 * so the inner loop reads consecutive elements whenever the layout allows.
 */
export function runReduce(
  step: string,
  acc: NumericArray,
  accStrides: readonly number[],
  input: Strided,
  shape: readonly number[],
  aux?: Float64Array,
): void {
  for (const n of shape) if (n === 0) return;
  const order = shape.map((_, i) => i).sort((i, j) =>
    Math.abs(input.strides[j]) - Math.abs(input.strides[i])
  );
  const { shape: s, strides } = coalesce(
    order.map((i) => shape[i]),
    [order.map((i) => accStrides[i]), order.map((i) => input.strides[i])],
  );
  const kernel = compile(
    `reduce|${step}|${aux !== undefined}|${typeKey([acc, input.data])}`,
    foldSource(1, "x0", step, aux !== undefined),
  );
  foldInSlabs(kernel, acc, s, strides, [{ ...input, strides: strides[1] }], aux);
}

/**
 * Folds `expr` of the inputs' elements (`x0`, `x1`, ..., each input walked over `shape` with its
 * own strides; 0 where it is broadcast) into `acc` at the position given by `accStrides` with
 * `step`: the reduction of the block {@link runMap} would write, without writing it. The
 * elements are visited in C order of `shape` — the memory order of that block, which is the
 * order {@link runReduce} would fold it in — so each accumulator sees the same values in the same
 * order, and a float64 result is the same to the bit.
 */
export function runMapReduce(
  step: string,
  acc: NumericArray,
  accStrides: readonly number[],
  expr: string,
  inputs: readonly Strided[],
  shape: readonly number[],
): void {
  for (const n of shape) if (n === 0) return;
  const { shape: s, strides } = coalesce(shape, [accStrides, ...inputs.map((x) => x.strides)]);
  const kernel = compile(
    `mapReduce|${step}|${expr}|${typeKey([acc, ...inputs.map((x) => x.data)])}`,
    foldSource(inputs.length, expr, step, false),
  );
  foldInSlabs(kernel, acc, s, strides, inputs.map((x, i) => ({ ...x, strides: strides[i + 1] })));
}
