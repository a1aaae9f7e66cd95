/**
 * The element-wise functions of NumPy that have no method on arrays (`da.arctan2(a, b)`,
 * `da.bitwiseAnd(a, b)`, `da.frexp(x)` …): each applies its kernel block by block, with
 * broadcasting and NumPy's result dtypes (see kernels/elementwise.ts).
 *
 * @module
 */
import type { ElementwiseName } from "./chunk_tasks.ts";
import type { DArray } from "./darray.ts";
import { type ArrayLike, elementwise } from "./elementwise.ts";

const binary = (fn: ElementwiseName) => (a: ArrayLike, b: ArrayLike): DArray =>
  elementwise(fn, [a, b]);
const unary = (fn: ElementwiseName) => (a: ArrayLike): DArray => elementwise(fn, [a]);

/** Inverse hyperbolic sines. */
export const arcsinh: (a: ArrayLike) => DArray = unary("arcsinh");
/** Inverse hyperbolic cosines (NaN below 1). */
export const arccosh: (a: ArrayLike) => DArray = unary("arccosh");
/** Inverse hyperbolic tangents. */
export const arctanh: (a: ArrayLike) => DArray = unary("arctanh");
/** Degrees to radians. */
export const deg2rad: (a: ArrayLike) => DArray = unary("deg2rad");
/** Radians to degrees. */
export const rad2deg: (a: ArrayLike) => DArray = unary("rad2deg");
/** Nearest whole numbers, halves to even, as floats. */
export const rint: (a: ArrayLike) => DArray = unary("rint");
/** True where the sign bit is set (negative numbers and -0). */
export const signbit: (a: ArrayLike) => DArray = unary("signbit");
/** `~a` for integers; logical not for bools (NumPy's `invert`). */
export const bitwiseNot: (a: ArrayLike) => DArray = unary("bitwiseNot");
/** `atan2(a, b)`: the angle of the point `(b, a)`. */
export const arctan2: (a: ArrayLike, b: ArrayLike) => DArray = binary("arctan2");
/** `sqrt(a² + b²)` without overflow. */
export const hypot: (a: ArrayLike, b: ArrayLike) => DArray = binary("hypot");
/** `log(exp(a) + exp(b))` without overflow. */
export const logaddexp: (a: ArrayLike, b: ArrayLike) => DArray = binary("logaddexp");
/** `log2(2^a + 2^b)` without overflow. */
export const logaddexp2: (a: ArrayLike, b: ArrayLike) => DArray = binary("logaddexp2");
/** `|a|` with the sign of `b`. */
export const copysign: (a: ArrayLike, b: ArrayLike) => DArray = binary("copysign");
/** The next representable float after `a` towards `b`. */
export const nextafter: (a: ArrayLike, b: ArrayLike) => DArray = binary("nextafter");
/** `a · 2^b` for integer `b`. */
export const ldexp: (a: ArrayLike, b: ArrayLike) => DArray = binary("ldexp");
/** Element-wise maximum ignoring NaN. */
export const fmax: (a: ArrayLike, b: ArrayLike) => DArray = binary("fmax");
/** Element-wise minimum ignoring NaN. */
export const fmin: (a: ArrayLike, b: ArrayLike) => DArray = binary("fmin");
/** C's `fmod`: the remainder with the sign of the dividend. */
export const fmod: (a: ArrayLike, b: ArrayLike) => DArray = binary("fmod");
/** `a & b` (integers and bools). */
export const bitwiseAnd: (a: ArrayLike, b: ArrayLike) => DArray = binary("bitwiseAnd");
/** `a | b` (integers and bools). */
export const bitwiseOr: (a: ArrayLike, b: ArrayLike) => DArray = binary("bitwiseOr");
/** `a ^ b` (integers and bools). */
export const bitwiseXor: (a: ArrayLike, b: ArrayLike) => DArray = binary("bitwiseXor");
/** `a << b` (0 once shifted past the width). */
export const leftShift: (a: ArrayLike, b: ArrayLike) => DArray = binary("leftShift");
/** `a >> b`: arithmetic for signed, logical for unsigned integers. */
export const rightShift: (a: ArrayLike, b: ArrayLike) => DArray = binary("rightShift");
/** Degrees to radians (NumPy's `radians`). */
export const radians: (a: ArrayLike) => DArray = deg2rad;
/** Radians to degrees (NumPy's `degrees`). */
export const degrees: (a: ArrayLike) => DArray = rad2deg;
/** Rounds towards zero, keeping the dtype (NumPy's `fix`). */
export const fix: (a: ArrayLike) => DArray = unary("trunc");
/** `~a` (NumPy's `invert`, the same as {@link bitwiseNot}). */
export const invert: (a: ArrayLike) => DArray = bitwiseNot;

/** NumPy's `frexp`: `[mantissa, exponent]` with `a = mantissa · 2^exponent`, `0.5 <= |m| < 1`. */
export function frexp(a: ArrayLike): [DArray, DArray] {
  return [elementwise("frexpMantissa", [a]), elementwise("frexpExponent", [a])];
}

/** NumPy's `modf`: `[fractional part, whole part]`, both with the sign of `a`. */
export function modf(a: ArrayLike): [DArray, DArray] {
  return [elementwise("modfFraction", [a]), elementwise("modfWhole", [a])];
}
