/**
 * The task functions of the array collection: what runs inside an array's tasks, on whatever
 * thread or machine.
 *
 * Every array task evaluates one block expression (block_expr.ts): `evalBlock(expr)`, or, when
 * the expression calls user functions (mapBlocks, blockwise), the function
 * `bindFunctions(evalWithFunctions, ...userFns)` whose `call` operations name a function by its
 * slot. Threads import this module by URL (taskModule), so it imports only the chunk kernels.
 *
 * @module
 */
import { taskModule } from "../../core/function_tags.ts";
import { type DType, type Elements, NDArray, type NumericArray } from "../../core/ndarray.ts";
import type { TaskFunction } from "../../core/task.ts";
import { type BlockExpr, isBlockExpr } from "./block_expr.ts";
import * as k from "./kernels/mod.ts";
import { qr, solveTriangular, svd } from "./kernels/decomposition.ts";
import { randomBlock, type RandomDistribution } from "./kernels/random.ts";
import { elementOf } from "./kernels/bigint_math.ts";
import { withScratch } from "./kernels/scratch.ts";
import { drawKey } from "./shared_draws.ts";

type Operand = k.Operand;
// deno-lint-ignore no-explicit-any
type Params = any;
type Op = (params: Params, args: unknown[], fns: readonly TaskFunction[]) => unknown;

/** The element-wise kernels by the names block expressions use. */
export const ELEMENTWISE = {
  add: k.add,
  subtract: k.subtract,
  multiply: k.multiply,
  divide: k.divide,
  floorDivide: k.floorDivide,
  mod: k.mod,
  pow: k.pow,
  maximum: k.maximum,
  minimum: k.minimum,
  equal: k.equal,
  notEqual: k.notEqual,
  less: k.less,
  lessEqual: k.lessEqual,
  greater: k.greater,
  greaterEqual: k.greaterEqual,
  logicalAnd: k.logicalAnd,
  logicalOr: k.logicalOr,
  logicalXor: k.logicalXor,
  logicalNot: k.logicalNot,
  isnan: k.isnan,
  isfinite: k.isfinite,
  isinf: k.isinf,
  negative: k.negative,
  abs: k.abs,
  sign: k.sign,
  square: k.square,
  floor: k.floor,
  ceil: k.ceil,
  trunc: k.trunc,
  exp: k.exp,
  expm1: k.expm1,
  log: k.log,
  log2: k.log2,
  log10: k.log10,
  log1p: k.log1p,
  sqrt: k.sqrt,
  sin: k.sin,
  cos: k.cos,
  tan: k.tan,
  arcsin: k.arcsin,
  arccos: k.arccos,
  arctan: k.arctan,
  sinh: k.sinh,
  cosh: k.cosh,
  tanh: k.tanh,
  arcsinh: k.arcsinh,
  arccosh: k.arccosh,
  arctanh: k.arctanh,
  deg2rad: k.deg2rad,
  rad2deg: k.rad2deg,
  rint: k.rint,
  signbit: k.signbit,
  frexpMantissa: k.frexpMantissa,
  frexpExponent: k.frexpExponent,
  modfFraction: k.modfFraction,
  modfWhole: k.modfWhole,
  bitwiseNot: k.bitwiseNot,
  arctan2: k.arctan2,
  hypot: k.hypot,
  logaddexp: k.logaddexp,
  logaddexp2: k.logaddexp2,
  copysign: k.copysign,
  nextafter: k.nextafter,
  ldexp: k.ldexp,
  fmax: k.fmax,
  fmin: k.fmin,
  fmod: k.fmod,
  bitwiseAnd: k.bitwiseAnd,
  bitwiseOr: k.bitwiseOr,
  bitwiseXor: k.bitwiseXor,
  leftShift: k.leftShift,
  rightShift: k.rightShift,
  where: k.where,
  clip: (a: Operand, lo: Operand | null, hi: Operand | null) => k.clip(a, lo, hi),
} as const satisfies Record<string, (...args: never[]) => NDArray>;

/** Names of the element-wise kernels. */
export type ElementwiseName = keyof typeof ELEMENTWISE;

/** Parameters of a `map` operation: which element-wise kernel. */
interface MapParams {
  fn: ElementwiseName;
}

// ---- reductions -------------------------------------------------------------------------------

/** The reductions with tree-shaped blocked algorithms. */
export type ReductionKind =
  | "sum"
  | "prod"
  | "min"
  | "max"
  | "any"
  | "all"
  | "mean"
  | "var"
  | "argmin"
  | "argmax";

/** A mean partial: sums and how many elements each sum holds. */
interface MeanPartial {
  sum: NDArray;
  count: number;
}

/** A variance partial (Chan et al.'s parallel algorithm): count, means, sums of squares. */
interface VarPartial {
  n: number;
  mean: NDArray;
  m2: NDArray;
}

/** An arg-reduction partial: best values and their global indices (float64). */
interface ArgPartial {
  value: NDArray;
  index: NDArray;
}

const SIMPLE_REDUCERS = {
  sum: [k.sum, k.add],
  prod: [k.prod, k.multiply],
  min: [k.min, k.minimum],
  max: [k.max, k.maximum],
  any: [k.any, k.logicalOr],
  all: [k.all, k.logicalAnd],
} as const;

type SimpleKind = keyof typeof SIMPLE_REDUCERS;

function isSimple(kind: ReductionKind): kind is SimpleKind {
  return kind in SIMPLE_REDUCERS;
}

/** Parameters of the first step of a reduction, on one block. */
export interface ReduceChunkParams {
  kind: ReductionKind;
  axes: number[];
  /** Arg reductions: the axis (`null`: flattened), the block's offsets, the array's shape. */
  axis?: number | null;
  offsets?: number[];
  fullShape?: number[];
}

function reduceChunk(p: ReduceChunkParams, x: NDArray): unknown {
  const options = { axis: p.axes, keepdims: true };
  if (isSimple(p.kind)) return SIMPLE_REDUCERS[p.kind][0](x, options);
  const count = p.axes.reduce((n, a) => n * x.shape[a], 1);
  if (p.kind === "mean") return { sum: k.sum(x, options), count } satisfies MeanPartial;
  if (p.kind === "var") {
    const mean = k.astype(k.mean(x, options), "float64", { copy: false });
    const m2 = k.sum(k.square(k.subtract(x, mean)), options);
    return { n: count, mean, m2: k.astype(m2, "float64", { copy: false }) } satisfies VarPartial;
  }
  return argChunk(p, x);
}

function argChunk(p: ReduceChunkParams, x: NDArray): ArgPartial {
  const fn = p.kind === "argmin" ? k.argmin : k.argmax;
  const offsets = p.offsets!, fullShape = p.fullShape!;
  const keep = x.shape.map(() => 1);
  if (p.axis === null || p.axis === undefined) {
    const local = Number(fn(x).data[0]);
    const flat = x.contiguousData();
    // local flat index → multi-index in the block → flat index in the whole array
    let rest = local, global = 0, scale = 1;
    const multi = new Array<number>(x.ndim);
    for (let d = x.ndim - 1; d >= 0; d--) {
      multi[d] = rest % x.shape[d];
      rest = Math.floor(rest / x.shape[d]);
    }
    for (let d = x.ndim - 1; d >= 0; d--) {
      global += (multi[d] + offsets[d]) * scale;
      scale *= fullShape[d];
    }
    const value = k.full(keep, flat[local], x.dtype);
    return { value, index: new NDArray(new Float64Array([global]), keep) };
  }
  const axis = p.axis;
  const at = fn(x, { axis, keepdims: true });
  const value = takeAlong(x, at, axis);
  const index = k.add(k.astype(at, "float64"), offsets[axis]);
  return { value, index };
}

/** `x` at position `at[...]` along `axis` (`at` has length 1 there), like NumPy's take_along_axis. */
function takeAlong(x: NDArray, at: NDArray, axis: number): NDArray {
  const shape = at.shape;
  const out = new (x.data.constructor as new (n: number) => NDArray["data"])(at.size) as Elements;
  const positions = at.numbers();
  // walk `at` in C order; the source offset adds the picked position along `axis`
  const ndim = shape.length;
  const index = new Array<number>(ndim).fill(0);
  for (let i = 0; i < at.size; i++) {
    let offset = x.offset;
    for (let d = 0; d < ndim; d++) {
      offset += (d === axis ? positions[i] : index[d]) * x.strides[d];
    }
    out[i] = x.data[offset];
    for (let d = ndim - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return new NDArray(out as NumericArray, [...shape], { dtype: x.dtype });
}

function mergeTwo(kind: ReductionKind, a: unknown, b: unknown): unknown {
  if (isSimple(kind)) return SIMPLE_REDUCERS[kind][1](a as NDArray, b as NDArray);
  if (kind === "mean") {
    const x = a as MeanPartial, y = b as MeanPartial;
    return { sum: k.add(x.sum, y.sum), count: x.count + y.count } satisfies MeanPartial;
  }
  if (kind === "var") {
    const x = a as VarPartial, y = b as VarPartial;
    if (x.n === 0) return y;
    if (y.n === 0) return x;
    const n = x.n + y.n;
    const delta = k.subtract(y.mean, x.mean);
    const mean = k.add(x.mean, k.multiply(delta, y.n / n));
    const m2 = k.add(k.add(x.m2, y.m2), k.multiply(k.square(delta), (x.n * y.n) / n));
    return { n, mean, m2 } satisfies VarPartial;
  }
  return mergeArg(kind === "argmin", a as ArgPartial, b as ArgPartial);
}

/** The better of two arg partials per position; ties and NaNs go to the smaller index. */
function mergeArg(isMin: boolean, a: ArgPartial, b: ArgPartial): ArgPartial {
  const av = a.value.contiguousData(), bv = b.value.contiguousData();
  const ai = a.index.numbers(), bi = b.index.numbers();
  const value = av.slice() as Elements, index = new Float64Array(ai);
  for (let i = 0; i < value.length; i++) {
    const x = av[i], y = bv[i];
    const xNaN = x !== x, yNaN = y !== y;
    let takeB: boolean;
    if (xNaN || yNaN) takeB = yNaN && (!xNaN || bi[i] < ai[i]);
    else if (x === y) takeB = bi[i] < ai[i];
    else takeB = isMin ? y < x : y > x;
    if (takeB) {
      value[i] = y;
      index[i] = bi[i];
    }
  }
  return {
    value: new NDArray(value as NumericArray, [...a.value.shape], { dtype: a.value.dtype }),
    index: new NDArray(index, [...a.index.shape]),
  };
}

function mergeAll(kind: ReductionKind, parts: unknown[]): unknown {
  let acc = parts[0];
  for (let i = 1; i < parts.length; i++) acc = mergeTwo(kind, acc, parts[i]);
  return acc;
}

/** Parameters of the last step of a reduction. */
export interface ReduceAggregateParams {
  kind: ReductionKind;
  axes: number[];
  keepdims: boolean;
  dtype: DType;
  ddof?: number;
  sqrt?: boolean;
}

function reduceAggregate(p: ReduceAggregateParams, parts: unknown[]): NDArray {
  const merged = mergeAll(p.kind, parts);
  let out: NDArray;
  if (isSimple(p.kind)) out = merged as NDArray;
  else if (p.kind === "mean") {
    const { sum, count } = merged as MeanPartial;
    out = k.divide(sum, count);
  } else if (p.kind === "var") {
    const { n, m2 } = merged as VarPartial;
    out = k.divide(m2, Math.max(n - (p.ddof ?? 0), 0));
    if (p.sqrt) out = k.sqrt(out);
  } else out = (merged as ArgPartial).index;
  if (!p.keepdims) out = k.squeeze(out, p.axes);
  return k.astype(out, p.dtype, { copy: false });
}

// ---- cumulative reductions -------------------------------------------------------------------

const SCANS = { cumsum: k.cumsum, cumprod: k.cumprod } as const;

/** The cumulative reductions. */
export type ScanKind = keyof typeof SCANS;

// ---- assembling blocks from pieces ------------------------------------------------------------

/** One piece of an assembled block: where it goes, and what part of its source block it is. */
export interface Piece {
  /** Start of the piece in the assembled block, per axis. */
  at: number[];
  /** The part of the source block, as a basic index. */
  index: k.IndexSpec;
}

/**
 * Writes `pieces[i]` of `blocks[i]` into a new block of `shape` (a `null` length, unknown when
 * the graph was made, is the first piece's length along that axis).
 */
function assemble(
  p: { shape: (number | null)[]; dtype: DType; pieces: Piece[] },
  blocks: NDArray[],
): NDArray {
  const parts = p.pieces.map((piece, i) => k.slice(blocks[i], piece.index));
  const shape = p.shape.map((n, d) => n ?? parts[0].shape[d]);
  const out = k.zeros(shape, p.dtype);
  parts.forEach((part, i) => {
    const at = p.pieces[i].at;
    k.assign(k.slice(out, part.shape.map((n, d) => ({ start: at[d], stop: at[d] + n }))), part);
  });
  return out;
}

// ---- user functions ---------------------------------------------------------------------------

/** Where a block sits, handed to user functions of mapBlocks as their last argument. */
export interface BlockInfo {
  /** The block's index in the grid of blocks. */
  index: number[];
  /** Blocks along each axis. */
  numblocks: number[];
  /** `[start, stop)` of the block along each axis of the whole array (NaN when unknown). */
  arrayLocation: [number, number][];
  /** The whole array's shape. */
  shape: number[];
  /** The array's dtype. */
  dtype: DType;
}

/** Parameters of a user-function call. */
export interface CallParams {
  slot: number;
  /** The function's name, for error messages. */
  name: string;
  info: BlockInfo | null;
  /** The block shape the result must have (null entries: any length). */
  expect: (number | null)[] | null;
}

function callUser(p: CallParams, args: unknown[], fns: readonly TaskFunction[]): NDArray {
  const fn = fns[p.slot];
  // user code sees plain C-order blocks, whatever views the fused operations made
  const inputs = args.map((a) => (a instanceof NDArray ? a.toContiguous() : a));
  const value = p.info === null ? fn(...inputs) : fn(...inputs, p.info);
  let block: NDArray;
  try {
    block = asBlock(value, p.expect);
  } catch (error) {
    throw new TypeError(
      `the function '${p.name}' returned ${describe(value)} for block [${p.info?.index ?? ""}]; ` +
        "it must return an NDArray, a typed array of the block's elements (C order), or " +
        "numbers in nested arrays",
      { cause: error },
    );
  }
  if (p.expect !== null) {
    const ok = block.ndim === p.expect.length &&
      p.expect.every((n, d) => n === null || block.shape[d] === n);
    if (!ok) {
      throw new RangeError(
        `the function '${p.name}' returned a block of shape ${k.formatShape(block.shape)} for ` +
          `block [${p.info?.index ?? ""}], but ${
            k.formatShape(p.expect.map((n) => n ?? -1))
          } was expected; pass the chunks it makes (mapBlocks(fn, { chunks })) when it ` +
          "changes block shapes",
      );
    }
  }
  return block;
}

/** A user function's result as a block: typed arrays take the expected shape when they fit. */
function asBlock(value: unknown, expect: (number | null)[] | null): NDArray {
  if (value instanceof NDArray) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const data = value as NDArray["data"];
    const shape = expect !== null && expect.every((n) => n !== null) &&
        expect.reduce((a, b) => a * b!, 1) === data.length
      ? expect as number[]
      : [data.length];
    return new NDArray(data, shape);
  }
  return k.asArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as { constructor?: { name?: string } }).constructor?.name ?? "an object";
}

// ---- the operations ---------------------------------------------------------------------------

const nd = (x: unknown) => x as NDArray;

/** Every chunk operation, by the name block expressions use. */
const OPS: Record<string, Op> = {
  map: (p: MapParams, args) => (ELEMENTWISE[p.fn] as (...a: unknown[]) => NDArray)(...args),
  astype: (p: { dtype: DType }, [x]) => k.astype(nd(x), p.dtype, { copy: false }),
  round: (p: { decimals: number }, [x]) => k.round(nd(x), p.decimals),
  transpose: (p: { axes: number[] }, [x]) => k.transpose(nd(x), p.axes),
  slice: (p: { index: k.IndexSpec }, [x]) => k.slice(nd(x), p.index),
  reshape: (p: { shape: number[] }, [x]) => k.reshape(nd(x), p.shape),
  expandDims: (p: { axis: number[] }, [x]) => k.expandDims(nd(x), p.axis),
  squeeze: (p: { axis: number[] }, [x]) => k.squeeze(nd(x), p.axis),
  take: (p: { axis: number; indices: Int32Array[] }, blocks) => {
    const parts = blocks.map((b, i) => k.take(nd(b), p.indices[i], p.axis));
    return parts.length === 1 ? parts[0] : k.concatenate(parts, p.axis);
  },
  mask: (_p, [x, mask]) => k.booleanMask(nd(x), nd(mask)),
  takeLazy: (p: { axis: number }, [indices, ...blocks]) => {
    const whole = blocks.length === 1 ? nd(blocks[0]) : k.concatenate(blocks as NDArray[], p.axis);
    return k.take(whole, nd(indices).contiguousData(), p.axis);
  },
  assemble: (p, blocks) => assemble(p, blocks as NDArray[]),
  concatenate: (p: { axis: number }, blocks) => k.concatenate(blocks as NDArray[], p.axis),
  full: (p: { shape: number[]; value: number; dtype: DType }) => k.full(p.shape, p.value, p.dtype),
  range: (p: { start: number; step: number; from: number; length: number; dtype: DType }) => {
    const out = k.zeros([p.length], p.dtype);
    const data = out.data as Elements, put = elementOf(p.dtype); // bigints for int64/uint64
    for (let i = 0; i < p.length; i++) data[i] = put(p.start + (p.from + i) * p.step);
    return out;
  },
  linspace: (
    p: {
      start: number;
      step: number;
      from: number;
      length: number;
      last: number | null;
      dtype: DType;
    },
  ) => {
    const out = k.zeros([p.length], p.dtype);
    const data = out.data as Elements, put = elementOf(p.dtype);
    for (let i = 0; i < p.length; i++) data[i] = put(p.start + (p.from + i) * p.step);
    if (p.last !== null) data[p.length - 1] = put(p.last);
    return out;
  },
  eye: (p: { shape: [number, number]; row: number; col: number; k: number; dtype: DType }) => {
    const out = k.zeros(p.shape, p.dtype);
    const [rows, cols] = p.shape;
    const data = out.data as Elements, one = elementOf(p.dtype)(1);
    for (let i = 0; i < rows; i++) {
      const j = p.row + i + p.k - p.col;
      if (j >= 0 && j < cols) data[i * cols + j] = one;
    }
    return out;
  },
  random: (
    p: {
      shape: number[];
      distribution: RandomDistribution;
      seed: number;
      stream: number;
      dtype: DType;
    },
  ) => randomBlock(p.shape, p.distribution, p.seed, p.stream, p.dtype),
  reduceChunk: (p: ReduceChunkParams, [x]) => reduceChunk(p, nd(x)),
  reduceCombine: (p: { kind: ReductionKind }, parts) => mergeAll(p.kind, parts),
  reduceAggregate: (p: ReduceAggregateParams, parts) => reduceAggregate(p, parts),
  scan: (p: { kind: ScanKind; axis: number }, [x, seed]) =>
    SCANS[p.kind](nd(x), { axis: p.axis, seed: seed === undefined ? undefined : nd(seed) }),
  last: (p: { axis: number }, [x]) => {
    const index: k.IndexItem[] = nd(x).shape.map((_, d) => (d === p.axis ? { start: -1 } : {}));
    return k.slice(nd(x), index);
  },
  call: (p: CallParams, args, fns) => callUser(p, args, fns),
  list: (_p, args) => args,
  field: (p: { name: string }, [x]) => (x as Record<string, unknown>)[p.name],
  matmul: (_p, [a, b]) => k.matmul(nd(a), nd(b)),
  tensordot: (p: { axes: [number[], number[]] }, [a, b]) => k.tensordot(nd(a), nd(b), p.axes),
  qr: (_p, [x]) => qr(nd(x)),
  svd: (_p, [x]) => svd(nd(x)),
  solveTriangular: (_p, [r, b]) => solveTriangular(nd(r), nd(b)),
  rank: (p: { rows: number; cols: number }, [s]) => {
    const values = nd(s).numbers();
    let largest = 0;
    for (const v of values) largest = Math.max(largest, v);
    const tol = largest * Math.max(p.rows, p.cols) * 2.220446049250313e-16;
    let rank = 0;
    for (const v of values) if (v > tol) rank++;
    return new NDArray(new Int32Array([rank]), []);
  },
  shape: (_p, [x]) => [...nd(x).shape],
  check: (p: { shape: number[]; dtype: DType; name: string }, [value]) => {
    let block: NDArray;
    try {
      block = asBlock(value, p.shape);
    } catch (error) {
      throw new TypeError(
        `${p.name} produced ${describe(value)}, which is not an array: it must give an ` +
          "NDArray, a typed array of the declared size, or numbers in nested arrays",
        { cause: error },
      );
    }
    const ok = block.ndim === p.shape.length && block.shape.every((n, d) => n === p.shape[d]);
    if (!ok) {
      throw new RangeError(
        `${p.name} produced a value of shape ${k.formatShape(block.shape)}, but the array ` +
          `was declared with shape ${k.formatShape(p.shape)}; pass the shape it really has`,
      );
    }
    return k.astype(block, p.dtype, { copy: false });
  },
};

/**
 * Evaluates a block expression; `fns` are the task's bound user functions. A random block that
 * the expression draws twice (both sides of `x + x.T` on the diagonal, or a pair of blocks
 * computed together, see shared_draws.ts) is drawn once: `draws` holds those drawn so far.
 * Kernels never write into their inputs, so one block may feed several operations.
 */
function evaluate(
  expr: unknown,
  fns: readonly TaskFunction[],
  draws: Map<string, unknown>,
): unknown {
  if (!isBlockExpr(expr)) return expr;
  const node = expr as BlockExpr;
  const op = OPS[node.$op];
  if (op === undefined) throw new TypeError(`unknown chunk operation '${node.$op}'`);
  if (node.$op === "random") {
    const key = drawKey(node.params);
    let block = draws.get(key);
    if (block === undefined) draws.set(key, block = op(node.params, [], fns));
    return block;
  }
  if (node.$op === "reduceChunk") {
    return reduceChunkOf(node.params as ReduceChunkParams, node.args[0], fns, draws);
  }
  const args = node.args.map((a) => evaluate(a, fns, draws));
  return op(node.params, args, fns);
}

/** The element-wise operations whose reductions fuse with them: their float64 expressions. */
const FUSED_MAPS: Partial<Record<ElementwiseName, string>> = k.FLOAT64_ARITHMETIC;

/** The reductions a `reduceChunk` of an element-wise operation fuses into: a mean sums. */
const FUSED_FOLDS: Partial<Record<ReductionKind, k.FusedFold>> = {
  sum: "sum",
  prod: "prod",
  min: "min",
  max: "max",
  mean: "sum",
};

/**
 * The first step of a reduction of `input`. When `input` is an arithmetic operation on float64
 * blocks (the `add` under `sum(x + x.T)`), the reduction reads the operands directly
 * (kernels/reduce.ts `foldOfMap`: the same result to the bit) instead of writing the operation's
 * block and reading it back: one pass, no block-sized buffer to fill — on a fresh thread, no
 * page faults for it — and one kernel fewer for V8 to compile.
 */
function reduceChunkOf(
  p: ReduceChunkParams,
  input: unknown,
  fns: readonly TaskFunction[],
  draws: Map<string, unknown>,
): unknown {
  const fold = FUSED_FOLDS[p.kind];
  const map = isBlockExpr(input) && (input as BlockExpr).$op === "map"
    ? input as BlockExpr
    : undefined;
  const expr = map === undefined ? undefined : FUSED_MAPS[(map.params as MapParams).fn];
  if (fold === undefined || map === undefined || expr === undefined) {
    return reduceChunk(p, nd(evaluate(input, fns, draws)));
  }
  const operands = map.args.map((a) => evaluate(a, fns, draws));
  if (!operands.every((x) => x instanceof NDArray && x.dtype === "float64")) {
    return reduceChunk(p, nd(OPS.map(map.params, operands, fns)));
  }
  const blocks = operands as NDArray[];
  const sum = k.foldOfMap(fold, expr, blocks, { axis: p.axes, keepdims: true });
  if (p.kind !== "mean") return sum;
  const shape = k.broadcastShapes(...blocks.map((b) => b.shape));
  return { sum, count: p.axes.reduce((n, a) => n * shape[a], 1) } satisfies MeanPartial;
}

const NO_FUNCTIONS: readonly TaskFunction[] = [];

/**
 * The task function of array tasks that call no user function. Blocks made and dropped inside
 * the task (a fused chain's intermediates) give their buffers back for the next task.
 */
export function evalBlock(expr: unknown): unknown {
  return withScratch(() => evaluate(expr, NO_FUNCTIONS, new Map()));
}

/**
 * The task function of array tasks that call user functions (see bindFunctions). A user
 * function may keep what it was given, so nothing made here is reused.
 */
export function evalWithFunctions(...fns: TaskFunction[]) {
  return (expr: unknown): unknown => withScratch(() => evaluate(expr, fns, new Map()), false);
}

taskModule(import.meta.url, { evalBlock, evalWithFunctions });
