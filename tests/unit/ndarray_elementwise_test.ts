import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import { type DType, NDArray } from "../../core/ndarray.ts";
import {
  ALL_DTYPES,
  assertArray,
  coerce,
  indicesOf,
  layoutArray,
  Random,
  randomArray,
  randomShape,
  randomValue,
  type Ref,
  refAt,
  refBroadcastShape,
  refOf,
} from "./ndarray_reference.ts";

/** Exact integer arithmetic wrapped to 32 bits, as a reference for wrap-around results. */
function wrapped(x: number, y: number, op: "+" | "-" | "*" | "**"): number {
  const a = BigInt(x), b = BigInt(y);
  const v = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a ** b;
  return Number(BigInt.asIntN(32, v));
}

const isInt = (d: DType) => d !== "bool" && !d.startsWith("float");

/** Python's modulo, written as floor division (a different formula from the kernel's). */
const floorMod = (x: number, y: number) => (y === 0 ? NaN : x - Math.floor(x / y) * y);

interface BinaryCase {
  fn: (a: k.Operand, b: k.Operand) => NDArray;
  ref: (x: number, y: number, out: DType) => number;
  /** The right operand's values must be non-negative (integer powers). */
  nonNegativeRight?: boolean;
}

const BINARY: Record<string, BinaryCase> = {
  add: { fn: k.add, ref: (x, y, t) => (isInt(t) ? wrapped(x, y, "+") : x + y) },
  subtract: { fn: k.subtract, ref: (x, y, t) => (isInt(t) ? wrapped(x, y, "-") : x - y) },
  multiply: { fn: k.multiply, ref: (x, y, t) => (isInt(t) ? wrapped(x, y, "*") : x * y) },
  divide: { fn: k.divide, ref: (x, y) => x / y },
  floorDivide: { fn: k.floorDivide, ref: (x, y) => Math.floor(x / y) },
  mod: { fn: k.mod, ref: floorMod },
  pow: {
    fn: k.pow,
    ref: (x, y, t) => (isInt(t) ? wrapped(x, y, "**") : x ** y),
    nonNegativeRight: true,
  },
  maximum: { fn: k.maximum, ref: (x, y) => Math.max(x, y) },
  minimum: { fn: k.minimum, ref: (x, y) => Math.min(x, y) },
  equal: { fn: k.equal, ref: (x, y) => +(x === y) },
  notEqual: { fn: k.notEqual, ref: (x, y) => +(x !== y) },
  less: { fn: k.less, ref: (x, y) => +(x < y) },
  lessEqual: { fn: k.lessEqual, ref: (x, y) => +(x <= y) },
  greater: { fn: k.greater, ref: (x, y) => +(x > y) },
  greaterEqual: { fn: k.greaterEqual, ref: (x, y) => +(x >= y) },
  logicalAnd: { fn: k.logicalAnd, ref: (x, y) => +(x !== 0 && y !== 0) },
  logicalOr: { fn: k.logicalOr, ref: (x, y) => +(x !== 0 || y !== 0) },
  logicalXor: { fn: k.logicalXor, ref: (x, y) => +((x !== 0) !== (y !== 0)) },
};

/** A shape that broadcasts to `shape`: some leading axes dropped, some lengths set to 1. */
function broadcastableTo(r: Random, shape: number[]): number[] {
  const drop = r.int(0, shape.length);
  return shape.slice(drop).map((n) => (r.bool(0.3) ? 1 : n));
}

function operand(r: Random, shape: number[], dtype: DType, nonNegative: boolean): k.Operand {
  if (r.bool(0.15)) return nonNegative ? r.int(0, 3) : r.pick([r.int(-5, 5), r.int(-20, 20) / 4]);
  const n = shape.reduce((p, d) => p * d, 1);
  const values = Array.from({ length: n }, () => randomValue(r, dtype));
  return layoutArray(r, shape, dtype, nonNegative ? values.map(Math.abs) : values);
}

/** The reference of an operand; scalars take float32 when the operation computes in it. */
function refOfOperand(x: k.Operand, common: DType): Ref {
  if (x instanceof NDArray) return refOf(x);
  return { shape: [], values: [common === "float32" ? Math.fround(+x) : +x] };
}

Deno.test("binary operations match plain-loop references under random broadcasting, dtypes and layouts", () => {
  const r = new Random(1234);
  for (let iter = 0; iter < 600; iter++) {
    const name = r.pick(Object.keys(BINARY));
    const op = BINARY[name];
    const shape = randomShape(r);
    const ta = r.pick(ALL_DTYPES), tb = r.pick(ALL_DTYPES);
    const sa = broadcastableTo(r, shape), sb = broadcastableTo(r, shape);
    const a = operand(r, sa, ta, false), b = operand(r, sb, tb, op.nonNegativeRight === true);
    const common = k.resultType(a, b);
    const ra = refOfOperand(a, common), rb = refOfOperand(b, common);
    const context = `${name}(${ta}${JSON.stringify(sa)}, ${tb}${JSON.stringify(sb)}) #${iter}`;
    let result: NDArray;
    try {
      result = op.fn(a, b);
    } catch (e) {
      // NumPy refuses these too: boolean subtract.
      assert.equal(name, "subtract", `${context}: ${e}`);
      assert.equal(common, "bool", context);
      continue;
    }
    const outShape = refBroadcastShape([ra.shape, rb.shape]);
    const values = indicesOf(outShape).map((ix) =>
      coerce(op.ref(refAt(ra, ix), refAt(rb, ix), result.dtype), result.dtype)
    );
    assertArray(result, { shape: outShape, values }, context);
  }
});

const UNARY: Record<string, [(a: k.Operand) => NDArray, (x: number) => number]> = {
  negative: [k.negative, (x) => -x],
  abs: [k.abs, Math.abs],
  exp: [k.exp, Math.exp],
  log: [k.log, Math.log],
  sqrt: [k.sqrt, Math.sqrt],
  sin: [k.sin, Math.sin],
  cos: [k.cos, Math.cos],
  tanh: [k.tanh, Math.tanh],
  floor: [k.floor, Math.floor],
  ceil: [k.ceil, Math.ceil],
  round: [k.round, (x) => {
    const f = Math.floor(x), d = x - f;
    return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  }],
  logicalNot: [k.logicalNot, (x) => +(x === 0)],
  isnan: [k.isnan, (x) => +Number.isNaN(x)],
};

Deno.test("unary operations match references on random views of every dtype", () => {
  const r = new Random(99);
  for (let iter = 0; iter < 300; iter++) {
    const name = r.pick(Object.keys(UNARY));
    const [fn, ref] = UNARY[name];
    const dtype = r.pick(ALL_DTYPES);
    const a = randomArray(r, randomShape(r), dtype);
    const context = `${name}(${dtype}${JSON.stringify(a.shape)}) #${iter}`;
    if (name === "negative" && dtype === "bool") {
      assert.throws(() => fn(a), /logicalNot/, context);
      continue;
    }
    const result = fn(a);
    const expected = refOf(a).values.map((x) => coerce(ref(x), result.dtype));
    assertArray(result, { shape: a.shape, values: expected }, context);
  }
});

Deno.test("where and clip broadcast three operands", () => {
  const r = new Random(7);
  for (let iter = 0; iter < 150; iter++) {
    const shape = randomShape(r, 3);
    const cond = randomArray(r, broadcastableTo(r, shape), "bool");
    const x = randomArray(r, broadcastableTo(r, shape), r.pick(ALL_DTYPES));
    const y = randomArray(r, broadcastableTo(r, shape), r.pick(ALL_DTYPES));
    const [rc, rx, ry] = [cond, x, y].map(refOf);
    const outShape = refBroadcastShape([rc.shape, rx.shape, ry.shape]);
    const chosen = k.where(cond, x, y);
    assert.equal(chosen.dtype, k.promoteTypes(x.dtype, y.dtype));
    assertArray(chosen, {
      shape: outShape,
      values: indicesOf(outShape).map((ix) =>
        coerce(refAt(rc, ix) ? refAt(rx, ix) : refAt(ry, ix), chosen.dtype)
      ),
    }, `where #${iter}`);
    const clipped = k.clip(x, y, 4);
    const clipShape = refBroadcastShape([rx.shape, ry.shape]);
    assertArray(clipped, {
      shape: clipShape,
      values: indicesOf(clipShape).map((ix) =>
        coerce(Math.min(Math.max(refAt(rx, ix), refAt(ry, ix)), 4), clipped.dtype)
      ),
    }, `clip #${iter}`);
  }
});

Deno.test("integer arithmetic wraps like NumPy's fixed-width integers", () => {
  const i32 = k.fromNested([2147483647, 123456789], "int32");
  assert.deepEqual(k.add(i32, 1).toArray(), [-2147483648, 123456790]);
  assert.deepEqual(k.multiply(i32, 987654321).toArray(), [1159829327, -67153019]);
  assert.deepEqual(k.pow(k.fromNested([3], "int32"), 40).toArray(), [689956897]);
  assert.deepEqual(k.add(k.fromNested([250], "uint8"), 300).toArray(), [550]); // widened
  assert.deepEqual(k.add(k.fromNested([250], "uint8"), k.fromNested([10], "uint8")).toArray(), [
    4,
  ]);
  assert.deepEqual(k.abs(k.fromNested([-128], "int8")).toArray(), [-128]);
  assert.deepEqual(k.negative(k.fromNested([1], "uint8")).toArray(), [255]);
  assert.throws(() => k.pow(k.fromNested([2]), -1), /negative integer powers/);
});

Deno.test("mod and floorDivide follow Python's sign rules; integer division by zero gives 0", () => {
  const a = k.fromNested([-7, 7, -7, 7]), b = k.fromNested([3, 3, -3, -3]);
  assert.deepEqual(k.mod(a, b).toArray(), [2, 1, -1, -2]);
  assert.deepEqual(k.floorDivide(a, b).toArray(), [-3, 2, 2, -3]);
  assert.deepEqual(k.mod(k.fromNested([-7.5]), 2).toArray(), [0.5]);
  assert.deepEqual(k.floorDivide(k.fromNested([5, -5]), 0).toArray(), [0, 0]);
  assert.deepEqual(k.mod(k.fromNested([5]), 0).toArray(), [0]);
  assert.ok(Number.isNaN(k.mod(k.fromNested([5.5]), 0).get(0)));
});

Deno.test("booleans: add is or, multiply is and, subtract and negative are refused", () => {
  const t = k.fromNested([true, true, false]), f = k.fromNested([true, false, false]);
  assert.deepEqual(k.add(t, f).toArray(), [true, true, false]);
  assert.deepEqual(k.multiply(t, f).toArray(), [true, false, false]);
  assert.throws(() => k.subtract(t, f), /boolean subtract/);
  assert.throws(() => k.negative(t), /boolean negative/);
  assert.deepEqual(k.logicalXor(t, f).toArray(), [false, true, false]);
  assert.deepEqual(k.logicalAnd(k.fromNested([NaN, 0]), 1).toArray(), [true, false]);
});

Deno.test("round halves to even, with decimals", () => {
  const x = k.fromNested([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.125]);
  assert.deepEqual(k.round(x).toArray(), [0, 2, 2, -0, -2, -2, 0]);
  assert.deepEqual(k.round(k.fromNested([1.25, 1.35, 150, 250]), 1).toArray(), [
    1.2,
    1.4,
    150,
    250,
  ]);
  assert.deepEqual(k.round(k.fromNested([150, 250, 1234]), -2).toArray(), [200, 200, 1200]);
});

Deno.test("float32 arrays compare and compute with float32 scalars, as NumPy 2 does", () => {
  const x = k.fromNested([0.1, 0.2], "float32");
  assert.deepEqual(k.equal(x, 0.1).toArray(), [true, false]);
  assert.equal(k.add(x, 0.1).get(0), Math.fround(Math.fround(0.1) * 2));
});

Deno.test("astype truncates floats, wraps integers and maps non-zero to true", () => {
  const x = k.fromNested([-1.7, 2.9, 300, NaN, 0]);
  assert.deepEqual(k.astype(x, "int32").toArray(), [-1, 2, 300, 0, 0]);
  assert.deepEqual(k.astype(x, "uint8").toArray(), [255, 2, 44, 0, 0]);
  assert.deepEqual(k.astype(x, "bool").toArray(), [true, true, true, true, false]);
  assert.equal(k.astype(x, "float64", { copy: false }), x);
  assert.notEqual(k.astype(x, "float64").data, x.data);
});

Deno.test("broadcast failures name the shapes", () => {
  const a = k.zeros([3, 4]), b = k.zeros([5]);
  assert.throws(() => k.add(a, b), {
    name: "RangeError",
    message: "operands could not be broadcast together with shapes (3,4) (5,)",
  });
  assert.throws(() => k.where(k.zeros([2], "bool"), a, 1), /shapes \(2,\) \(3,4\) \(\)/);
  assert.throws(() => k.broadcastTo(a, [4, 3]), /cannot broadcast an array of shape \(3,4\)/);
  assert.deepEqual(k.broadcastTo(k.arange(3), [2, 3]).strides, [0, 1]);
});

Deno.test("contiguous fast path and strided path agree on large arrays", () => {
  const n = 1 << 16;
  const x = k.multiply(k.arange(n, undefined, 1, "float64"), 0.25);
  const m = k.reshape(x, [256, 256]);
  const viaView = k.add(k.transpose(m), k.transpose(m));
  const viaCopy = k.add(k.copy(k.transpose(m)), k.copy(k.transpose(m)));
  assert.deepEqual(viaView.data, viaCopy.data);
  assert.equal(viaView.get(3, 5), 2 * m.get(5, 3));
});
