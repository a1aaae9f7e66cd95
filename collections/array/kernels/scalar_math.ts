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

/** The helpers by the names the kernel expressions use. */
export const KERNEL_HELPERS = { pyMod, intPow, roundHalfEven } as const;
