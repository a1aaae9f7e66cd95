/**
 * The value codec's vocabulary, shared by the encoder (core/value_codec.ts) and the decoder
 * (core/value_decoder.ts): msgpack extension type ids and the buffer kinds. The table of what each
 * id carries is in core/value_codec.ts.
 *
 * @module
 */

import type { DType } from "./ndarray.ts";

/** Containers nested deeper than this are refused (and a cycle is found this way, not by hanging). */
export const MAX_NESTING_DEPTH = 1000;

export const EXT_UNDEFINED = 0;
export const EXT_BIGINT = 1;
export const EXT_DATE = 2;
export const EXT_MAP = 3;
export const EXT_SET = 4;
export const EXT_ERROR = 5;
export const EXT_TASK_REF = 6;
export const EXT_NDARRAY = 7;
export const EXT_FRAME = 8;
/** A table (dataframe partition) as an Arrow IPC stream: see core/table_codec.ts. */
export const EXT_TABLE = 9;
/** An actor handle: its key, worker, class name and method names (core/actor_ref.ts). */
export const EXT_ACTOR = 10;
/**
 * An array of plain objects that share one list of keys: the keys once, then the values row by
 * row (core/value_codec.ts `records`). Decodes to the same array of objects.
 */
export const EXT_RECORDS = 11;
/** Arrays shorter than this are written item by item even when their items share keys. */
export const MIN_RECORDS = 16;

export const KIND_ARRAY_BUFFER = 16;
export const KIND_DATA_VIEW = 17;

export type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView;
  readonly BYTES_PER_ELEMENT: number;
};

/** Typed array kinds in id order, starting at 18. Float16Array joins when the runtime has it. */
export const TYPED_ARRAYS: TypedArrayConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];
export const float16 = (globalThis as { Float16Array?: TypedArrayConstructor }).Float16Array;
if (float16 !== undefined) TYPED_ARRAYS.push(float16);
export const FIRST_TYPED_KIND = 18;
export const LAST_KIND = FIRST_TYPED_KIND + TYPED_ARRAYS.length - 1;

/** Buffer kind by `Symbol.toStringTag`, which names the real kind even for subclasses (Buffer). */
export const KIND_BY_TAG: Record<string, number> = { DataView: KIND_DATA_VIEW };
TYPED_ARRAYS.forEach((Ctor, i) => KIND_BY_TAG[Ctor.name] = FIRST_TYPED_KIND + i);

/** Buffer kind of each NDArray dtype (bool is stored as bytes). */
export const KIND_BY_DTYPE: Record<DType, number> = {
  float64: KIND_BY_TAG.Float64Array,
  float32: KIND_BY_TAG.Float32Array,
  int32: KIND_BY_TAG.Int32Array,
  int16: KIND_BY_TAG.Int16Array,
  int8: KIND_BY_TAG.Int8Array,
  uint32: KIND_BY_TAG.Uint32Array,
  uint16: KIND_BY_TAG.Uint16Array,
  uint8: KIND_BY_TAG.Uint8Array,
  int64: KIND_BY_TAG.BigInt64Array,
  uint64: KIND_BY_TAG.BigUint64Array,
  bool: KIND_BY_TAG.Uint8Array,
};
