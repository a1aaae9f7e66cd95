/**
 * Element-wise operations with NumPy broadcasting and type promotion. Operands may be arrays
 * or JS scalars; the result is always a new C-contiguous array (0-d when every operand is a
 * scalar).
 *
 * Integer results wrap like NumPy's fixed-width integers (typed arrays wrap on store; products
 * and powers of 32-bit integers use `Math.imul` so no low bits are lost). Integer division or
 * remainder by zero gives 0, as NumPy does (with a warning there).
 *
 * @module
 */
import {
  type DType,
  DTYPE_ARRAY,
  isBigIntDType,
  NDArray,
  sizeOfShape,
} from "../../../core/ndarray.ts";
import { bigIntOf, conversionExpr } from "./bigint_math.ts";
import { uninitialized } from "./scratch.ts";
import { broadcastShapes, broadcastStrides, broadcastTo } from "./broadcast.ts";
import { floatResultType, isFloatDType, isIntegerDType, resultType } from "./dtype.ts";
import { type Operand, operandArray, scalarArray } from "./layout.ts";
import { runMap } from "./loops.ts";

/**
 * Computes `expr` over the broadcast operands into a new array of `dtype`. JS scalars first
 * take the operands' common dtype when that is float32 (NumPy 2 casts weak scalars to it, so
 * `equal(float32Array, 0.1)` compares with float32(0.1)); other dtypes hold them exactly.
 *
 * 64-bit integers (bigint elements) never meet numbers in a loop: when the result (or, for a
 * comparison, the operands' common type) is int64/uint64, every operand is converted to it and
 * `big` — the operation over bigints — runs; otherwise int64/uint64 operands are converted to
 * float64 first, as NumPy does when it mixes them with floats.
 */
function mapOperands(
  operands: readonly Operand[],
  dtype: DType,
  expr: string,
  big?: string,
): NDArray {
  const common = resultType(...operands);
  const bigType = dtype === "bool" ? common : dtype;
  if (big !== undefined && isBigIntDType(bigType)) {
    const arrays = operands.map((x) =>
      typeof x === "object"
        ? astype(x, bigType, { copy: false })
        : new NDArray(new DTYPE_ARRAY[bigType]([bigIntOf(x)]), [], { dtype: bigType })
    );
    return mapArrays(arrays, dtype, big);
  }
  if (isBigIntDType(dtype)) {
    throw new TypeError(`internal: ${expr} has no form for ${dtype} elements`);
  }
  const toFloat32 = operands.some((x) => typeof x === "number") && common === "float32";
  const arrays = operands.map((x) =>
    toFloat32 && typeof x === "number"
      ? scalarArray(Math.fround(x))
      : typeof x === "object" && isBigIntDType(x.dtype)
      ? astype(x, "float64")
      : operandArray(x)
  );
  return mapArrays(arrays, dtype, expr);
}

/** Runs `expr` over arrays whose element kinds already suit it, into a new array of `dtype`. */
function mapArrays(arrays: readonly NDArray[], dtype: DType, expr: string): NDArray {
  const shape = broadcastShapes(...arrays.map((a) => a.shape));
  // every element is written: a recycled buffer will do (scratch.ts)
  const out = new NDArray(uninitialized(dtype, sizeOfShape(shape)), shape, { dtype });
  const inputs = arrays.map((a) => ({
    data: a.data,
    offset: a.offset,
    strides: broadcastStrides(a, shape),
  }));
  runMap(expr, out, inputs, shape);
  return out;
}

/** The dtype of integer-style arithmetic; NumPy has no bool loop for these, so bool -> int8. */
function arithmeticType(a: Operand, b: Operand): DType {
  const t = resultType(a, b);
  return t === "bool" ? "int8" : t;
}

const is32BitInt = (t: DType) => t === "int32" || t === "uint32";

/** The larger and smaller of two bigints (integers have no NaN to propagate or skip). */
const BIG_MAX = "(x0 > x1 ? x0 : x1)";
const BIG_MIN = "(x0 < x1 ? x0 : x1)";

// ---- binary arithmetic -------------------------------------------------------------------

/**
 * The expressions of the arithmetic operations on two float64 operands (a float64 result): the
 * one place they are written, for these kernels and for reductions fused with them
 * (reduce.ts `foldOfMap`), which must compute the same values.
 */
export const FLOAT64_ARITHMETIC = {
  add: "x0 + x1",
  subtract: "x0 - x1",
  multiply: "x0 * x1",
  divide: "x0 / x1",
} as const;

/** `a + b`; on two bools it is logical or, as in NumPy. */
export function add(a: Operand, b: Operand): NDArray {
  const t = resultType(a, b);
  const expr = FLOAT64_ARITHMETIC.add;
  return mapOperands([a, b], t, t === "bool" ? "x0 | x1" : expr, expr);
}

/** `a - b`; refused on two bools, as in NumPy. */
export function subtract(a: Operand, b: Operand): NDArray {
  const t = resultType(a, b);
  if (t === "bool") {
    throw new TypeError(
      "boolean subtract is not supported; use logicalXor for bools, or astype them to a number",
    );
  }
  return mapOperands([a, b], t, FLOAT64_ARITHMETIC.subtract, FLOAT64_ARITHMETIC.subtract);
}

/** `a * b`; on two bools it is logical and, as in NumPy. */
export function multiply(a: Operand, b: Operand): NDArray {
  const t = resultType(a, b);
  const times = FLOAT64_ARITHMETIC.multiply;
  const expr = t === "bool" ? "x0 & x1" : is32BitInt(t) ? "Math.imul(x0, x1)" : times;
  return mapOperands([a, b], t, expr, times);
}

/** True division: float64, or float32 when the promoted type is float32. */
export function divide(a: Operand, b: Operand): NDArray {
  const t = resultType(a, b);
  return mapOperands([a, b], isFloatDType(t) ? t : "float64", FLOAT64_ARITHMETIC.divide);
}

/** `floor(a / b)` (Python's `//`). */
export function floorDivide(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], arithmeticType(a, b), "Math.floor(x0 / x1)", "bigFloorDiv(x0, x1)");
}

/** Remainder with the sign of the divisor (Python's `%`, NumPy's `mod`/`remainder`). */
export function mod(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], arithmeticType(a, b), "pyMod(x0, x1)", "bigMod(x0, x1)");
}

/** `a ** b`; integer results wrap, and negative integer exponents throw as in NumPy. */
export function pow(a: Operand, b: Operand): NDArray {
  const t = arithmeticType(a, b);
  return mapOperands(
    [a, b],
    t,
    isIntegerDType(t) ? "intPow(x0, x1)" : "Math.pow(x0, x1)",
    "bigPow(x0, x1)",
  );
}

/** Element-wise maximum; NaN propagates. */
export function maximum(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], resultType(a, b), "Math.max(x0, x1)", BIG_MAX);
}

/** Element-wise minimum; NaN propagates. */
export function minimum(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], resultType(a, b), "Math.min(x0, x1)", BIG_MIN);
}

// ---- comparisons and logic (bool results) -------------------------------------------------

const compare = (expr: string) => (a: Operand, b: Operand): NDArray =>
  mapOperands([a, b], "bool", `${expr} ? 1 : 0`, `${expr} ? 1 : 0`);

/** `a == b`. */
export const equal: (a: Operand, b: Operand) => NDArray = compare("x0 === x1");
/** `a != b` (true where either is NaN). */
export const notEqual: (a: Operand, b: Operand) => NDArray = compare("x0 !== x1");
/** `a < b`. */
export const less: (a: Operand, b: Operand) => NDArray = compare("x0 < x1");
/** `a <= b`. */
export const lessEqual: (a: Operand, b: Operand) => NDArray = compare("x0 <= x1");
/** `a > b`. */
export const greater: (a: Operand, b: Operand) => NDArray = compare("x0 > x1");
/** `a >= b`. */
export const greaterEqual: (a: Operand, b: Operand) => NDArray = compare("x0 >= x1");
/** Both non-zero (NaN counts as true, as in NumPy). */
export const logicalAnd: (a: Operand, b: Operand) => NDArray = compare(
  "(x0 !== 0 && x1 !== 0)",
);
/** Either non-zero. */
export const logicalOr: (a: Operand, b: Operand) => NDArray = compare("(x0 !== 0 || x1 !== 0)");
/** Exactly one non-zero. */
export const logicalXor: (a: Operand, b: Operand) => NDArray = compare(
  "((x0 !== 0) !== (x1 !== 0))",
);

/** Zero elements. */
export function logicalNot(a: Operand): NDArray {
  return mapOperands([a], "bool", "x0 === 0 ? 1 : 0");
}

/** NaN elements. */
export function isnan(a: Operand): NDArray {
  return mapOperands([a], "bool", "x0 !== x0 ? 1 : 0");
}

/** Finite elements (not NaN, not infinite). */
export function isfinite(a: Operand): NDArray {
  return mapOperands([a], "bool", "Number.isFinite(x0) ? 1 : 0");
}

/** Infinite elements. */
export function isinf(a: Operand): NDArray {
  return mapOperands([a], "bool", "(x0 === Infinity || x0 === -Infinity) ? 1 : 0");
}

// ---- unary arithmetic ---------------------------------------------------------------------

const unaryType = (a: Operand) => resultType(a);

/** `-a`; unsigned results wrap; refused on bools, as in NumPy. */
export function negative(a: Operand): NDArray {
  const t = unaryType(a);
  if (t === "bool") {
    throw new TypeError("boolean negative is not supported; use logicalNot for bools");
  }
  return mapOperands([a], t, "-x0", "-x0");
}

/** `|a|` (the most negative integer stays negative, as in NumPy's fixed-width ints). */
export function abs(a: Operand): NDArray {
  return mapOperands([a], unaryType(a), "Math.abs(x0)", "(x0 < 0n ? -x0 : x0)");
}

/** -1, 0 or 1 by sign (NaN stays NaN). */
export function sign(a: Operand): NDArray {
  return mapOperands([a], unaryType(a), "Math.sign(x0)", "(x0 > 0n ? 1n : x0 < 0n ? -1n : 0n)");
}

/** `a * a`. */
export function square(a: Operand): NDArray {
  const t = arithmeticType(a, a);
  return mapOperands([a], t, is32BitInt(t) ? "Math.imul(x0, x0)" : "x0 * x0", "x0 * x0");
}

/** Rounding keeps the dtype; integers (and bools) are already whole, so they are copied. */
const rounding = (expr: string) => (a: Operand): NDArray => {
  const t = unaryType(a);
  return mapOperands([a], t, isFloatDType(t) ? expr : "x0", "x0");
};

/** Largest whole number not above each element. */
export const floor: (a: Operand) => NDArray = rounding("Math.floor(x0)");
/** Smallest whole number not below each element. */
export const ceil: (a: Operand) => NDArray = rounding("Math.ceil(x0)");
/** Whole part, towards zero. */
export const trunc: (a: Operand) => NDArray = rounding("Math.trunc(x0)");

/** Rounds to `decimals` places, halves to even (NumPy's `round`); negative decimals round to tens. */
export function round(a: Operand, decimals = 0): NDArray {
  if (!Number.isInteger(decimals)) {
    throw new TypeError(`decimals must be an integer, got ${decimals}`);
  }
  const t = unaryType(a);
  const factor = 10 ** Math.abs(decimals);
  let expr: string;
  if (decimals < 0) expr = `roundHalfEven(x0 / ${factor}) * ${factor}`;
  else if (!isFloatDType(t)) expr = "x0";
  else if (decimals === 0) expr = "roundHalfEven(x0)";
  else expr = `roundHalfEven(x0 * ${factor}) / ${factor}`;
  return mapOperands([a], t, expr, decimals < 0 ? `bigRound(x0, ${factor}n)` : "x0");
}

// ---- float functions ----------------------------------------------------------------------

const floatFunction = (fn: string) => (a: Operand): NDArray =>
  mapOperands([a], floatResultType(unaryType(a)), `${fn}(x0)`);

/** e^a. */
export const exp: (a: Operand) => NDArray = floatFunction("Math.exp");
/** e^a - 1, accurate near 0. */
export const expm1: (a: Operand) => NDArray = floatFunction("Math.expm1");
/** Natural logarithm (NaN below 0, -Infinity at 0). */
export const log: (a: Operand) => NDArray = floatFunction("Math.log");
/** Base-2 logarithm. */
export const log2: (a: Operand) => NDArray = floatFunction("Math.log2");
/** Base-10 logarithm. */
export const log10: (a: Operand) => NDArray = floatFunction("Math.log10");
/** log(1 + a), accurate near 0. */
export const log1p: (a: Operand) => NDArray = floatFunction("Math.log1p");
/** Square root (NaN below 0). */
export const sqrt: (a: Operand) => NDArray = floatFunction("Math.sqrt");
/** Sine (radians). */
export const sin: (a: Operand) => NDArray = floatFunction("Math.sin");
/** Cosine (radians). */
export const cos: (a: Operand) => NDArray = floatFunction("Math.cos");
/** Tangent (radians). */
export const tan: (a: Operand) => NDArray = floatFunction("Math.tan");
/** Inverse sine. */
export const arcsin: (a: Operand) => NDArray = floatFunction("Math.asin");
/** Inverse cosine. */
export const arccos: (a: Operand) => NDArray = floatFunction("Math.acos");
/** Inverse tangent. */
export const arctan: (a: Operand) => NDArray = floatFunction("Math.atan");
/** Hyperbolic sine. */
export const sinh: (a: Operand) => NDArray = floatFunction("Math.sinh");
/** Hyperbolic cosine. */
export const cosh: (a: Operand) => NDArray = floatFunction("Math.cosh");
/** Hyperbolic tangent. */
export const tanh: (a: Operand) => NDArray = floatFunction("Math.tanh");

/** Inverse hyperbolic sine. */
export const arcsinh: (a: Operand) => NDArray = floatFunction("Math.asinh");
/** Inverse hyperbolic cosine (NaN below 1). */
export const arccosh: (a: Operand) => NDArray = floatFunction("Math.acosh");
/** Inverse hyperbolic tangent (NaN outside [-1, 1]). */
export const arctanh: (a: Operand) => NDArray = floatFunction("Math.atanh");
/** Degrees to radians. */
export const deg2rad: (a: Operand) => NDArray = floatFunction(`${Math.PI / 180} * `);
/** Radians to degrees. */
export const rad2deg: (a: Operand) => NDArray = floatFunction(`${180 / Math.PI} * `);
/** Degrees to radians (NumPy's `radians`). */
export const radians: (a: Operand) => NDArray = deg2rad;
/** Radians to degrees (NumPy's `degrees`). */
export const degrees: (a: Operand) => NDArray = rad2deg;
/** Nearest whole number, halves to even, as a float (NumPy's `rint`). */
export const rint: (a: Operand) => NDArray = floatFunction("roundHalfEven");
/** Rounds towards zero (NumPy's `fix`; the dtype is kept, as `trunc`). */
export const fix: (a: Operand) => NDArray = trunc;
/** True where the sign bit is set (negative numbers and -0). */
export function signbit(a: Operand): NDArray {
  return mapOperands([a], "bool", "signBit(x0)");
}
/** The mantissas of `frexp`: `a = m · 2^e` with `0.5 <= |m| < 1`. */
export const frexpMantissa: (a: Operand) => NDArray = floatFunction("frexpMantissa");
/** The exponents of `frexp`, as int32. */
export function frexpExponent(a: Operand): NDArray {
  const t = floatResultType(unaryType(a));
  return mapOperands(
    [a],
    "int32",
    t === "float32" ? "frexpExponent(Math.fround(x0))" : "frexpExponent(x0)",
  );
}
/** NumPy's `frexp`: `[mantissa, exponent]` with `a = mantissa · 2^exponent`. */
export function frexp(a: Operand): [NDArray, NDArray] {
  return [frexpMantissa(a), frexpExponent(a)];
}
/** NumPy's `modf`: `[fractional part, whole part]`, both with the sign of `a`. */
export function modf(a: Operand): [NDArray, NDArray] {
  return [modfFraction(a), modfWhole(a)];
}
/** The fractional parts of `modf`. */
export const modfFraction: (a: Operand) => NDArray = floatFunction("modfFraction");
/** The whole parts of `modf`. */
export const modfWhole: (a: Operand) => NDArray = floatFunction("modfWhole");

// ---- two-operand float functions ----------------------------------------------------------

const floatBinary = (expr: string) => (a: Operand, b: Operand): NDArray =>
  mapOperands([a, b], floatResultType(resultType(a, b)), expr);

/** Angle of the point `(b, a)`: `atan2(a, b)`, in (-π, π]. */
export const arctan2: (a: Operand, b: Operand) => NDArray = floatBinary("Math.atan2(x0, x1)");
/** `sqrt(a² + b²)` without overflow. */
export const hypot: (a: Operand, b: Operand) => NDArray = floatBinary("Math.hypot(x0, x1)");
/** `log(exp(a) + exp(b))` without overflow. */
export const logaddexp: (a: Operand, b: Operand) => NDArray = floatBinary("logAddExp(x0, x1)");
/** `log2(2^a + 2^b)` without overflow. */
export const logaddexp2: (a: Operand, b: Operand) => NDArray = floatBinary("logAddExp2(x0, x1)");
/** `|a|` with the sign of `b`. */
export const copysign: (a: Operand, b: Operand) => NDArray = floatBinary("copySign(x0, x1)");
/** The next representable number after `a` towards `b` (in the result's float type). */
export function nextafter(a: Operand, b: Operand): NDArray {
  const t = floatResultType(resultType(a, b));
  return mapOperands([a, b], t, t === "float32" ? "nextAfter32(x0, x1)" : "nextAfter(x0, x1)");
}
/** `a · 2^b` (`b` whole numbers). */
export function ldexp(a: Operand, b: Operand): NDArray {
  if (typeof b === "object" && !isIntegerDType(b.dtype) && b.dtype !== "bool") {
    throw new TypeError(`ldexp: exponents must be integers; got ${b.dtype}`);
  }
  return mapOperands([a, b], floatResultType(unaryType(a)), "ldexp(x0, x1)");
}

/** Element-wise maximum ignoring NaN (NaN only where both are NaN). */
export function fmax(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], resultType(a, b), "fMax(x0, x1)", BIG_MAX);
}
/** Element-wise minimum ignoring NaN. */
export function fmin(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], resultType(a, b), "fMin(x0, x1)", BIG_MIN);
}
/** C's `fmod`: the remainder with the sign of the dividend (integer remainder by 0 is 0). */
export function fmod(a: Operand, b: Operand): NDArray {
  const t = arithmeticType(a, b);
  return mapOperands([a, b], t, `fMod(x0, x1, ${isIntegerDType(t) ? 1 : 0})`, "bigFMod(x0, x1)");
}

// ---- bitwise (integers and bools) ---------------------------------------------------------

function bitwiseType(name: string, ...operands: Operand[]): DType {
  const t = resultType(...operands);
  if (!isIntegerDType(t) && t !== "bool") {
    throw new TypeError(`${name} is defined for integers and bools only; got ${t}`);
  }
  return t;
}

/** `a & b`. */
export function bitwiseAnd(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], bitwiseType("bitwiseAnd", a, b), "x0 & x1", "x0 & x1");
}
/** `a | b`. */
export function bitwiseOr(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], bitwiseType("bitwiseOr", a, b), "x0 | x1", "x0 | x1");
}
/** `a ^ b`. */
export function bitwiseXor(a: Operand, b: Operand): NDArray {
  return mapOperands([a, b], bitwiseType("bitwiseXor", a, b), "x0 ^ x1", "x0 ^ x1");
}
/** `~a` (logical not for bools, as NumPy's `invert`). */
export function bitwiseNot(a: Operand): NDArray {
  const t = bitwiseType("bitwiseNot", a);
  return mapOperands([a], t, t === "bool" ? "x0 ^ 1" : "~x0", "~x0");
}
/** `a << b` (0 once shifted past the width, as NumPy). */
export function leftShift(a: Operand, b: Operand): NDArray {
  const t = bitwiseType("leftShift", a, b);
  return mapOperands(
    [a, b],
    t === "bool" ? "int8" : t,
    "shiftLeft(x0, x1)",
    "bigShiftLeft(x0, x1)",
  );
}
/** `a >> b`: arithmetic for signed integers, logical for unsigned. */
export function rightShift(a: Operand, b: Operand): NDArray {
  const t = bitwiseType("rightShift", a, b);
  const unsigned = t.startsWith("uint") ? 1 : 0;
  return mapOperands(
    [a, b],
    t === "bool" ? "int8" : t,
    `shiftRight(x0, x1, ${unsigned})`,
    "bigShiftRight(x0, x1)",
  );
}

// ---- selection and conversion -------------------------------------------------------------

/** Elements of `x` where `condition` is non-zero, else of `y`, all broadcast together. */
export function where(condition: Operand, x: Operand, y: Operand): NDArray {
  const t = resultType(x, y);
  if (!isBigIntDType(t)) return mapOperands([condition, x, y], t, "x0 !== 0 ? x1 : x2");
  // the condition stays numbers (as bools); the values are bigints
  const values = [x, y].map((v) => mapOperands([v], t, "x0", "x0"));
  return mapArrays([notEqual(condition, 0), ...values], t, "x0 !== 0 ? x1 : x2");
}

/**
 * Limits elements to `[lo, hi]` (either may be omitted with `null`): `minimum(maximum(a, lo),
 * hi)`, so NaN propagates and `lo > hi` gives `hi`, as in NumPy.
 */
export function clip(a: Operand, lo: Operand | null, hi: Operand | null = null): NDArray {
  if (lo === null && hi === null) {
    throw new TypeError("clip needs at least one of lo or hi; pass null only for the other");
  }
  if (lo === null) return minimum(a, hi!);
  if (hi === null) return maximum(a, lo);
  return mapOperands(
    [a, lo, hi],
    resultType(a, lo, hi),
    "Math.min(Math.max(x0, x1), x2)",
    "(x0 > x1 ? x0 : x1) < x2 ? (x0 > x1 ? x0 : x1) : x2",
  );
}

/**
 * `a` converted to `dtype` (a new C-contiguous array; with `copy: false` the same array when the
 * dtype already matches). Floats convert to integers by truncation and wrap-around; non-zero
 * (NaN included) becomes `true`.
 */
export function astype(a: NDArray, dtype: DType, options: { copy?: boolean } = {}): NDArray {
  if (options.copy === false && a.dtype === dtype) return a;
  return mapArrays([a], dtype, conversionExpr(a.dtype, dtype));
}

/** A C-contiguous copy of `a`. */
export function copy(a: NDArray): NDArray {
  return astype(a, a.dtype);
}

/**
 * Writes `src` (broadcast) into the view `dst`, converting to `dst.dtype`. Used by the kernels
 * that assemble results from parts (concatenate, stack); `dst` must not overlap `src`.
 */
export function assign(dst: NDArray, src: Operand): void {
  const array = typeof src === "object"
    ? src
    : isBigIntDType(dst.dtype)
    ? mapOperands([src], dst.dtype, "x0", "x0")
    : operandArray(src);
  const s = broadcastTo(array, dst.shape);
  runMap(conversionExpr(s.dtype, dst.dtype), dst, [s], dst.shape);
}

/** Short aliases, matching the names the array collection's methods use. */
export { divide as div, multiply as mul, negative as neg, subtract as sub };
