/**
 * Element helpers for the 64-bit integer dtypes (int64, uint64), whose typed arrays hold JS
 * bigints: NumPy's integer semantics where `bigint` operators differ (floor division and modulo
 * round towards -∞, division by zero gives 0, shifts past the width give 0 or -1, powers wrap),
 * and conversions between numbers and bigints. Results wrap to 64 bits when stored into a
 * BigInt64Array or BigUint64Array, as NumPy's fixed-width integers do.
 *
 * @module
 */
import { type DType, isBigIntDType } from "../../../core/ndarray.ts";

/** `floor(a / b)`; 0 when `b` is 0 (NumPy gives 0 with a warning). */
function bigFloorDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b;
  return (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Remainder with the divisor's sign (Python's `%`); 0 when `b` is 0. */
function bigMod(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const r = a % b;
  return r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
}

/** C's `fmod`: the remainder with the dividend's sign; 0 when `b` is 0. */
function bigFMod(a: bigint, b: bigint): bigint {
  return b === 0n ? 0n : a % b;
}

/** `a ** b` modulo 2^64 (stored, it wraps as NumPy's); negative exponents are refused. */
function bigPow(a: bigint, b: bigint): bigint {
  if (b < 0n) throw new RangeError("Integers to negative integer powers are not allowed.");
  let result = 1n, base = BigInt.asUintN(64, a), e = b;
  while (e > 0n) {
    if (e & 1n) result = BigInt.asUintN(64, result * base);
    base = BigInt.asUintN(64, base * base);
    e >>= 1n;
  }
  return result;
}

/** `a << b`: 0 once shifted past 64 bits or by a negative count (as NumPy). */
function bigShiftLeft(a: bigint, b: bigint): bigint {
  return b < 0n || b >= 64n ? 0n : a << b;
}

/** `a >> b`: arithmetic (uint64 values are non-negative, so logical there). */
function bigShiftRight(a: bigint, b: bigint): bigint {
  if (b < 0n || b >= 64n) return a < 0n ? -1n : 0n;
  return a >> b;
}

/** Rounds to a multiple of `factor`, halves to even (NumPy's `round` with negative decimals). */
function bigRound(x: bigint, factor: bigint): bigint {
  const q = bigFloorDiv(x, factor), r = x - q * factor;
  const twice = 2n * r;
  const up = twice > factor || (twice === factor && (q & 1n) !== 0n);
  return (up ? q + 1n : q) * factor;
}

/**
 * A number as a 64-bit integer, truncated towards zero as NumPy's casts do. NaN and ±Infinity
 * have no integer value: NumPy gives an arbitrary one, here they are refused.
 */
export function bigIntOf(x: number | boolean | bigint): bigint {
  if (typeof x === "bigint") return x;
  if (typeof x === "boolean") return x ? 1n : 0n;
  if (!Number.isFinite(x)) {
    throw new RangeError(`cannot convert ${x} to a 64-bit integer (int64/uint64)`);
  }
  return BigInt(Math.trunc(x));
}

/** The helpers the compiled loops may call (merged into the kernels' helper set). */
export const BIGINT_HELPERS = {
  bigFloorDiv,
  bigMod,
  bigFMod,
  bigPow,
  bigShiftLeft,
  bigShiftRight,
  bigRound,
  bigIntOf,
} as const;

/** How a JS value becomes an element of `dtype` (bool 0/1, bigint for int64/uint64). */
export function elementOf(dtype: DType): (value: number | boolean | bigint) => number | bigint {
  if (dtype === "bool") return (v) => (typeof v === "bigint" ? v !== 0n : +v !== 0) ? 1 : 0;
  if (isBigIntDType(dtype)) return bigIntOf;
  return (v) => Number(v);
}

/**
 * The loop expression converting element `x0` of `from` into `to`: bigints and numbers do not
 * mix, so conversions between them are explicit; narrower integers take the low bits, as NumPy.
 */
export function conversionExpr(from: DType, to: DType): string {
  const bigFrom = isBigIntDType(from), bigTo = isBigIntDType(to);
  if (to === "bool" && from !== "bool") return bigFrom ? "x0 !== 0n ? 1 : 0" : "(x0) !== 0 ? 1 : 0";
  if (bigFrom === bigTo) return "x0";
  if (bigTo) return from === "float32" || from === "float64" ? "bigIntOf(x0)" : "BigInt(x0)";
  return to === "float32" || to === "float64" ? "Number(x0)" : "Number(BigInt.asIntN(32, x0))";
}
