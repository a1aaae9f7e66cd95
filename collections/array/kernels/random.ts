/**
 * Seeded random blocks: xoshiro128** (Blackman and Vigna), one independent stream per
 * `(seed, stream)` pair, so every chunk of a random array is reproducible on its own, on any
 * thread, in any order.
 *
 * The four state words are derived from the seed's two 32-bit halves and the stream number with
 * murmur3's fmix32 finaliser (a bijection), each word with its own constant; two streams share a
 * state only if all four words collide. Doubles use 53 random bits, as NumPy's do; normal values
 * come from the Box–Muller transform (both values of each pair are used).
 *
 * @module
 */
import { type DType, DTYPE_ARRAY, NDArray, sizeOfShape } from "../../../core/ndarray.ts";
import { astype } from "./elementwise.ts";
import { isBigIntDType, isFloatDType } from "./dtype.ts";
import { uninitialized } from "./scratch.ts";
import { CANCEL_CHECK_ELEMENTS, throwIfCancelled } from "../../../core/cancel_point.ts";

/** murmur3's 32-bit finaliser: a bijection that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The initial xoshiro128** state of stream `stream` of `seed` (any safe integer). */
function initialState(seed: number, stream: number): Uint32Array {
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(stream)) {
    throw new RangeError(`random seeds and streams must be safe integers, got ${seed}, ${stream}`);
  }
  const lo = seed >>> 0, hi = Math.floor(seed / 4294967296) >>> 0;
  const slo = stream >>> 0, shi = Math.floor(stream / 4294967296) >>> 0;
  const state = new Uint32Array([
    fmix32(lo ^ fmix32(slo ^ 0x9e3779b9)),
    fmix32(hi ^ fmix32(slo ^ 0x3c6ef372) ^ shi),
    fmix32(lo ^ fmix32(slo ^ 0xdaa66d2b) ^ 0x7f4a7c15),
    fmix32(hi ^ fmix32(slo ^ 0x78dde6e4) ^ fmix32(shi ^ 0x1b873593)),
  ]);
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1; // the one forbidden state
  return state;
}

/**
 * Fills `out` with uniform doubles in `[0, 1)` from stream `stream` of `seed`. The generator is
 * written out inline (state in locals) so the loop stays free of calls.
 */
function fillUniform(out: Float64Array, seed: number, stream: number): void {
  const st = initialState(seed, stream);
  let s0 = st[0] | 0, s1 = st[1] | 0, s2 = st[2] | 0, s3 = st[3] | 0;
  for (let first = 0; first < out.length; first += CANCEL_CHECK_ELEMENTS) {
    throwIfCancelled();
    const end = Math.min(out.length, first + CANCEL_CHECK_ELEMENTS);
    for (let i = first; i < end; i++) {
      // two xoshiro128** outputs: 27 high bits and 26 high bits make 53
      let r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      const a = r >>> 5;
      r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      const b = r >>> 6;
      out[i] = (a * 67108864 + b) * (1 / 9007199254740992);
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** What a random block holds. */
export type RandomDistribution =
  | { kind: "uniform"; low: number; high: number }
  | { kind: "normal"; loc: number; scale: number }
  | { kind: "integers"; low: number; high: number };

/**
 * A block of `shape` drawn from `distribution`, stream `stream` of `seed`. Uniform and normal
 * blocks are float64 (or float32 when asked); integer blocks take values in `[low, high)` and
 * default to int32.
 */
export function randomBlock(
  shape: readonly number[],
  distribution: RandomDistribution,
  seed: number,
  stream: number,
  dtype?: DType,
): NDArray {
  const size = sizeOfShape(shape);
  const type = dtype ?? (distribution.kind === "integers" ? "int32" : "float64");
  // normal values come in pairs: an odd count draws one more uniform
  const draws = distribution.kind === "normal" ? size + (size & 1) : size;
  const u = uninitialized("float64", draws) as Float64Array; // fillUniform writes every element
  fillUniform(u, seed, stream);
  if (distribution.kind === "uniform") {
    const { low, high } = distribution;
    if (low !== 0 || high !== 1) {
      for (let i = 0; i < size; i++) u[i] = low + (high - low) * u[i];
    }
  } else if (distribution.kind === "normal") {
    const { loc, scale } = distribution;
    for (let i = 0; i < draws; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u[i])), theta = 2 * Math.PI * u[i + 1];
      u[i] = loc + scale * r * Math.cos(theta);
      u[i + 1] = loc + scale * r * Math.sin(theta);
    }
  } else {
    const { low, high } = distribution;
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
      throw new RangeError(`randint needs integers low < high, got low=${low}, high=${high}`);
    }
    const span = high - low;
    if (!isFloatDType(type) && !isBigIntDType(type)) {
      const out = new DTYPE_ARRAY[type](size);
      for (let i = 0; i < size; i++) out[i] = low + Math.floor(u[i] * span);
      return new NDArray(out, [...shape], { dtype: type });
    }
    for (let i = 0; i < size; i++) u[i] = low + Math.floor(u[i] * span);
  }
  const values = draws === size ? u : u.subarray(0, size);
  if (type === "float64") return new NDArray(values, [...shape]);
  if (isBigIntDType(type)) return astype(new NDArray(values, [...shape]), type);
  return new NDArray(new DTYPE_ARRAY[type](values), [...shape], { dtype: type });
}
