/**
 * Dtype facts and NumPy's type promotion, restricted to the dtypes an NDArray can hold.
 *
 * Deviations from NumPy, all because there is no int64 here: where NumPy would give int64
 * (int32 with uint32, any signed int with uint32, a bool array with an integer scalar) the
 * result is float64 (int32 for a bool array with a scalar that fits). JS scalars follow NumPy 2's
 * "weak scalar" rule (they take the array's dtype), except that an integer scalar that does not
 * fit an integer array's dtype widens the result (NumPy 1's value-based casting) instead of
 * raising OverflowError.
 *
 * @module
 */
import type { DType } from "../../../core/ndarray.ts";
import type { Operand } from "./layout.ts";

type Kind = "b" | "i" | "u" | "f";
const KIND: Record<DType, [Kind, number]> = {
  bool: ["b", 1],
  int8: ["i", 8],
  int16: ["i", 16],
  int32: ["i", 32],
  uint8: ["u", 8],
  uint16: ["u", 16],
  uint32: ["u", 32],
  float32: ["f", 32],
  float64: ["f", 64],
};
const SIGNED: Record<number, DType> = { 8: "int8", 16: "int16", 32: "int32" };

/** The inclusive value range of each integer dtype. */
const RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
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
  // NumPy goes to the next wider signed type; for uint32 that is int64, which we lack.
  return unsignedBits === 32 ? "float64" : SIGNED[unsignedBits * 2];
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
  for (const d of ["uint8", "int8", "uint16", "int16", "uint32", "int32"] as const) {
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
    else if (out === "bool") out = fitsDType(x, "int32") ? "int32" : "float64";
    else if (!fitsDType(x, out)) out = promoteTypes(out, minScalarDType(x));
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

/** The dtype sums and products accumulate into: floats keep theirs, the rest use float64. */
export function sumResultType(dtype: DType): DType {
  return isFloatDType(dtype) ? dtype : "float64";
}
