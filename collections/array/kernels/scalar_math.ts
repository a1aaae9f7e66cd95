/**
 * Per-element helpers the compiled kernels call by name (see loops.ts). Each must be a plain
 * function of numbers so V8 inlines it into the generated loops.
 *
 * @module
 */

/** Python's `%`: the result takes the divisor's sign (NumPy's `remainder`); `x % 0` is NaN. */
export function pyMod(x: number, y: number): number {
  const r = x % y;
  return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
}

/**
 * Integer power with 32-bit wrap-around (exact modulo 2^32, as NumPy's fixed-width ints), by
 * squaring with `Math.imul` so large results do not lose their low bits in doubles.
 */
export function intPow(base: number, exponent: number): number {
  if (exponent < 0) throw new RangeError("Integers to negative integer powers are not allowed.");
  let result = 1, b = base | 0, e = exponent;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, b);
    b = Math.imul(b, b);
    e = Math.floor(e / 2);
  }
  return result;
}

/** Rounds half to even, as NumPy's `round`/`rint` do (`Math.round` rounds half up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `x << n` as NumPy: shifting by the width or more gives 0 (JS would take `n` mod 32). */
export function shiftLeft(x: number, n: number): number {
  return n >= 32 || n < 0 ? 0 : x << n;
}

/** `x >> n` as NumPy (arithmetic for signed, logical for `unsigned`), 0 or -1 past the width. */
export function shiftRight(x: number, n: number, unsigned: number): number {
  if (n >= 32 || n < 0) return unsigned || x >= 0 ? 0 : -1;
  return unsigned ? x >>> n : x >> n;
}

/** log(e^x + e^y) without overflow. */
export function logAddExp(x: number, y: number): number {
  if (x === y) return x + Math.LN2; // also ±Infinity
  const m = Math.max(x, y);
  return m + Math.log1p(Math.exp(-Math.abs(x - y)));
}

/** log2(2^x + 2^y) without overflow. */
export function logAddExp2(x: number, y: number): number {
  if (x === y) return x + 1;
  const m = Math.max(x, y);
  return m + Math.log1p(2 ** -Math.abs(x - y)) / Math.LN2;
}

/** NaN-ignoring maximum and minimum (NumPy's `fmax`, `fmin`). */
export function fMax(x: number, y: number): number {
  return x !== x ? y : y !== y ? x : Math.max(x, y);
}
export function fMin(x: number, y: number): number {
  return x !== x ? y : y !== y ? x : Math.min(x, y);
}

/** True when the sign bit is set (also for -0). */
export function signBit(x: number): number {
  return x < 0 || Object.is(x, -0) ? 1 : 0;
}

/** `|x|` with the sign of `y` (-0 counts as negative). */
export function copySign(x: number, y: number): number {
  return signBit(y) ? -Math.abs(x) : Math.abs(x);
}

const F64 = new Float64Array(1);
const I64 = new BigInt64Array(F64.buffer);
const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** The next float64 after `x` towards `y`. */
export function nextAfter(x: number, y: number): number {
  if (x !== x || y !== y) return NaN;
  if (x === y) return y;
  if (x === 0) return y > 0 ? 5e-324 : -5e-324;
  F64[0] = x;
  I64[0] += (y > x) === (x > 0) ? 1n : -1n;
  return F64[0];
}

/** The next float32 after `x` towards `y`. */
export function nextAfter32(x: number, y: number): number {
  x = Math.fround(x);
  y = Math.fround(y);
  if (x !== x || y !== y) return NaN;
  if (x === y) return y;
  if (x === 0) return y > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  F32[0] = x;
  I32[0] += (y > x) === (x > 0) ? 1 : -1;
  return F32[0];
}

/** `x · 2^e`, exact also where `2^e` alone would overflow or underflow. */
export function ldexp(x: number, e: number): number {
  let k = Math.trunc(e);
  while (k > 1023) {
    x *= 2 ** 1023;
    k -= 1023;
  }
  while (k < -1022) {
    x *= 2 ** -1022;
    k += 1022;
    if (x === 0) return x;
  }
  return x * 2 ** k;
}

/** C's `fmod`: the remainder with the dividend's sign; integer remainder by 0 gives 0. */
export function fMod(x: number, y: number, integer: number): number {
  return integer && y === 0 ? 0 : x % y;
}

/** The exponent `e` of `x = m · 2^e` with `0.5 <= |m| < 1` (0 for 0, ±Infinity and NaN). */
export function frexpExponent(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return 0;
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
  let m = ldexp(x, -e);
  // log2 may be off by one near powers of two
  while (Math.abs(m) < 0.5) {
    m *= 2;
    e--;
  }
  while (Math.abs(m) >= 1) {
    m /= 2;
    e++;
  }
  return e;
}

/** The mantissa `m` of `x = m · 2^e`, `0.5 <= |m| < 1` (x itself for 0, ±Infinity and NaN). */
export function frexpMantissa(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : ldexp(x, -frexpExponent(x));
}

/** The whole part of `x` towards zero, keeping -0 and ±Infinity. */
export function modfWhole(x: number): number {
  return Math.trunc(x);
}

/** The fractional part of `x` with its sign (0 with the sign of ±Infinity). */
export function modfFraction(x: number): number {
  if (!Number.isFinite(x)) return x !== x ? x : copySign(0, x);
  return copySign(x - Math.trunc(x), x);
}

/** The helpers by the names the kernel expressions use. */
export const KERNEL_HELPERS = {
  pyMod,
  intPow,
  roundHalfEven,
  shiftLeft,
  shiftRight,
  logAddExp,
  logAddExp2,
  fMax,
  fMin,
  signBit,
  copySign,
  nextAfter,
  nextAfter32,
  ldexp,
  fMod,
  frexpExponent,
  frexpMantissa,
  modfWhole,
  modfFraction,
} as const;
