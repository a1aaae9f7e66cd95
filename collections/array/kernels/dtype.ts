/**
 * Dtype facts and NumPy's type promotion, restricted to the dtypes an NDArray can hold.
 *
 * int64 and uint64 (elements are JS bigints) promote as in NumPy: a signed integer with uint32
 * gives int64, with uint64 float64. One deviation: a lone JS integer scalar (and an array built
 * from JS integers) is int32, not NumPy's default int64 — int64 is asked for by dtype. JS scalars follow NumPy 2's
 * "weak scalar" rule (they take the array's dtype), except that an integer scalar that does not
 * fit an integer array's dtype widens the result (NumPy 1's value-based casting) instead of
 * raising OverflowError.
 *
 * @module
 */
import type { DType } from "../../../core/ndarray.ts";
import type { Operand } from "./layout.ts";

export { isBigIntDType } from "../../../core/ndarray.ts";

type Kind = "b" | "i" | "u" | "f";
const KIND: Record<DType, [Kind, number]> = {
  bool: ["b", 1],
  int8: ["i", 8],
  int16: ["i", 16],
  int32: ["i", 32],
  int64: ["i", 64],
  uint8: ["u", 8],
  uint16: ["u", 16],
  uint32: ["u", 32],
  uint64: ["u", 64],
  float32: ["f", 32],
  float64: ["f", 64],
};
const SIGNED: Record<number, DType> = { 8: "int8", 16: "int16", 32: "int32", 64: "int64" };

/** The inclusive value range of each integer dtype. */
const RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  uint64: [0, 2 ** 64 - 1],
};

/** float32 or float64. */
export function isFloatDType(dtype: DType): boolean {
  return KIND[dtype][0] === "f";
}

/** A signed or unsigned integer dtype (not bool). */
export function isIntegerDType(dtype: DType): boolean {
  const k = KIND[dtype][0];
  return k === "i" || k === "u";
}

/** The smallest dtype both `a` and `b` convert to safely (NumPy's `promote_types`). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === "bool") return b;
  if (b === "bool") return a;
  const [ka, ba] = KIND[a], [kb, bb] = KIND[b];
  if (ka === "f" || kb === "f") {
    if (ka === kb) return "float64";
    const intBits = ka === "f" ? bb : ba;
    const floatBits = ka === "f" ? ba : bb;
    return floatBits === 32 && intBits <= 16 ? "float32" : "float64";
  }
  if (ka === kb) return ba >= bb ? a : b;
  const [signedBits, unsignedBits] = ka === "i" ? [ba, bb] : [bb, ba];
  if (unsignedBits < signedBits) return SIGNED[signedBits];
  // NumPy goes to the next wider signed type; there is none past uint64
  return unsignedBits === 64 ? "float64" : SIGNED[unsignedBits * 2];
}

/** The dtype a lone JS scalar gets: bool, int32 (integers that fit), else float64. */
export function scalarDType(value: number | boolean): DType {
  if (typeof value === "boolean") return "bool";
  return fitsDType(value, "int32") ? "int32" : "float64";
}

/** True when `value` is exactly representable in an integer `dtype`. */
function fitsDType(value: number, dtype: DType): boolean {
  const range = RANGE[dtype];
  return range !== undefined && Number.isInteger(value) && value >= range[0] &&
    value <= range[1];
}

/** The smallest integer dtype holding an integer `value`, or float64. */
export function minScalarDType(value: number): DType {
  for (const d of ["uint8", "int8", "uint16", "int16", "uint32", "int32", "int64"] as const) {
    if (fitsDType(value, d)) return d;
  }
  return "float64";
}

/**
 * The dtype of an operation on `operands` (NumPy's `result_type`): arrays promote each other;
 * JS scalars are weak — they keep the arrays' dtype unless their kind is higher (a fraction on
 * an integer array gives float64) or, for integers, their value does not fit.
 */
export function resultType(...operands: Operand[]): DType {
  let strong: DType | undefined;
  for (const x of operands) {
    if (typeof x === "object") {
      strong = strong === undefined ? x.dtype : promoteTypes(strong, x.dtype);
    }
  }
  if (strong === undefined) {
    return (operands as (number | boolean)[]).map(scalarDType).reduce(promoteTypes);
  }
  let out: DType = strong;
  for (const x of operands) {
    if (typeof x !== "number" || isFloatDType(out)) continue;
    if (!Number.isInteger(x)) out = "float64";
    else if (out === "bool") {
      out = fitsDType(x, "int32") ? "int32" : fitsDType(x, "int64") ? "int64" : "float64";
    } else if (!fitsDType(x, out)) out = promoteTypes(out, minScalarDType(x));
  }
  return out;
}

/**
 * The float dtype NumPy's math functions (exp, sqrt, true division of one operand ...) give an
 * input: floats keep theirs; 8- and 16-bit integers and bool give float32 (NumPy: float16 for
 * 8-bit, which we lack); 32-bit integers give float64.
 */
export function floatResultType(dtype: DType): DType {
  if (isFloatDType(dtype)) return dtype;
  return KIND[dtype][1] <= 16 ? "float32" : "float64";
}

/**
 * The dtype sums and products accumulate into: floats and the 64-bit integers keep theirs (64-bit
 * sums are exact and wrap, as NumPy's); narrower integers and bools give float64 (NumPy: int64;
 * float64 is exact up to 2^53 — ask for `dtype: "int64"` for NumPy's result).
 */
export function sumResultType(dtype: DType): DType {
  return isFloatDType(dtype) || dtype === "int64" || dtype === "uint64" ? dtype : "float64";
}
