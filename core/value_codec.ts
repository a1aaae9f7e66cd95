/**
 * The value codec: how task arguments, results and message headers travel between threads and
 * processes.
 *
 * A value becomes one msgpack body plus zero or more out-of-band frames. Buffers of at least
 * `frameThreshold` bytes (typed arrays, ArrayBuffers, DataViews, NDArray data) do not enter the
 * body: the body holds their frame index and `frames` holds a view over the original memory, so
 * a 100 MB array is never copied by encoding, and decoding a frame shares its memory whenever the
 * alignment allows. Small buffers are copied into the body, which is cheaper than a frame.
 *
 * Encoding is a single walk written here (the msgpack library's encoder cannot keep `undefined`
 * apart from `null`, keep `-0`, or say where in a value an unsendable part sits); the bytes are
 * plain msgpack with the extensions below, read back by core/value_decoder.ts. Both are held to
 * `@msgpack/msgpack`, the reference implementation, by the tests.
 * Buffers are written in the host's byte order, which is little-endian on every platform Deno
 * runs on.
 *
 * Extension type ids (msgpack allows 0..127 for applications):
 *
 * | id | value                | payload                                                       |
 * | -- | -------------------- | ------------------------------------------------------------- |
 * |  0 | `undefined`          | one ignored byte                                              |
 * |  1 | `bigint`             | sign byte (0 or 1), then the magnitude, big-endian            |
 * |  2 | `Date`               | `getTime()` as a big-endian float64 (NaN for invalid dates)   |
 * |  3 | `Map`                | msgpack array `[k0, v0, k1, v1, ...]`                         |
 * |  4 | `Set`                | msgpack array of the values                                   |
 * |  5 | `Error`              | msgpack map `{name, message, stack?, key?, cause?}`           |
 * |  6 | `TaskRef`            | msgpack string: the key                                       |
 * |  7 | `NDArray`            | msgpack array `[dtype, shape, elements in row-major order]`   |
 * |  8 | out-of-band buffer   | buffer kind (one byte, 16..29), frame index (big-endian u32)  |
 * |  9 | table (core/table_codec.ts) | msgpack array `[kind, Arrow IPC stream bytes]`; the   |
 * |    |                      | bytes are a Uint8Array, so a large table is a frame           |
 * | 10 | actor handle         | msgpack array `[key, worker, class name, method names]`       |
 * | 11 | array of records     | msgpack array of the k keys, the count n, then n × k values   |
 * |    |                      | row by row: an array of at least 16 plain objects that all    |
 * |    |                      | have the same keys in the same order (a bag of JSON records)  |
 * | 16 | `ArrayBuffer`        | the bytes (ids 16..29 are the buffer kinds, inline); also a   |
 * |    |                      | `SharedArrayBuffer`, which arrives as an ArrayBuffer          |
 * | 17 | `DataView`           | the bytes it spans                                            |
 * | 18..28 | typed arrays     | the bytes of Int8, Uint8, Uint8Clamped, Int16, Uint16, Int32, |
 * |    |                      | Uint32, Float32, Float64, BigInt64, BigUint64 arrays in order |
 * | 29 | `Float16Array`       | the bytes (where the runtime has Float16Array)                |
 *
 * @module
 */

import { recordFromError, UnserializableError } from "./errors.ts";
import { NDArray } from "./ndarray.ts";
import { isSharedArrayBuffer } from "./value_size.ts";
import { type ArrowIPC, tableCodec, tableToIPC } from "./table_codec.ts";
import { type ActorRecord, actorRecordOf } from "./actor_ref.ts";
import { AS_TASK_REF, type Key, TaskRef } from "./task.ts";
import {
  cycleError,
  HINT_DEPTH,
  keySegment,
  mapKeyText,
  pathText,
  TOO_DEEP,
} from "./value_path.ts";
import {
  EXT_ACTOR,
  EXT_BIGINT,
  EXT_DATE,
  EXT_ERROR,
  EXT_FRAME,
  EXT_MAP,
  EXT_NDARRAY,
  EXT_RECORDS,
  EXT_SET,
  EXT_TABLE,
  EXT_TASK_REF,
  EXT_UNDEFINED,
  KIND_ARRAY_BUFFER,
  KIND_BY_DTYPE,
  KIND_BY_TAG,
  MAX_NESTING_DEPTH,
  MIN_RECORDS,
} from "./codec_kinds.ts";

export { decode, decodedLength, DecodeError, decodeField, taskRefCount } from "./value_decoder.ts";
export { MAX_NESTING_DEPTH } from "./codec_kinds.ts";
export { sizeOf } from "./value_size.ts";

/** A value as it travels: a msgpack body and the out-of-band buffers it refers to by index. */
export interface Encoded {
  body: Uint8Array;
  frames: Uint8Array[];
}

/** How {@link encode} treats a value. */
export interface EncodeOptions {
  /** Buffers of at least this many bytes travel as frames instead of inside the body. 64 KiB. */
  frameThreshold?: number;
  /** The name error paths start with, e.g. `args` gives `args[1].config.fn`. `value` by default. */
  rootName?: string;
}

/** Buffers at least this large become frames unless {@link EncodeOptions.frameThreshold} says. */
export const DEFAULT_FRAME_THRESHOLD = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Encoding

const HINT_FUNCTION = "Functions cannot be part of data: make it the task's function, or send " +
  "the data it needs and call it on the other side.";
const HINT_SYMBOL = "Symbols are unique to one thread; use a string instead.";
const HINT_INSTANCE = "Only plain objects, arrays, typed arrays, ArrayBuffer, DataView, NDArray, " +
  "Map, Set, Date, Error, BigInt and TaskRef travel. Convert it to plain data (an object with " +
  "the fields you need) before sending and rebuild it on the other side. Live resources such as " +
  "connections, sockets and files cannot travel at all: send what identifies them (an address, " +
  "a path) and open them where they are used.";
const HINT_PROMISE = "Await it first and send the value it resolves to.";
const HINT_WEAK = "Weak collections cannot be enumerated; use a Map or Set instead.";
const HINT_PROTO_KEY = 'msgpack decoders refuse the key "__proto__"; rename it.';

/** Thrown inside the walk; each container on the way out adds where the failure sits in it. */
class EncodeFailure {
  /** Path segments from the failing value up to the root. */
  readonly segments: string[] = [];
  /** The containers on the way, from the innermost up to the root (used to find cycles). */
  readonly containers: object[] = [];
  constructor(readonly what: string, readonly hint: string) {}
}

/** Adds one level of path to a failure on its way out; other errors pass through unchanged. */
function addPathSegment(error: unknown, segment: string, container: object): unknown {
  if (error instanceof EncodeFailure) {
    error.segments.push(segment);
    error.containers.push(container);
  }
  return error;
}

/** Turns a failure caught at the root into the error the caller sees. */
function unserializable(failure: EncodeFailure, rootName: string): UnserializableError {
  const segments = failure.segments.slice().reverse();
  if (failure.what === TOO_DEEP) {
    // Containers from the root down; the first one met twice closes a cycle.
    const containers = failure.containers.slice().reverse();
    const firstSeen = new Map<object, number>();
    for (let j = 0; j < containers.length; j++) {
      const i = firstSeen.get(containers[j]);
      if (i !== undefined) {
        return cycleError(
          pathText(rootName, segments.slice(0, j)),
          pathText(rootName, segments.slice(0, i)),
        );
      }
      firstSeen.set(containers[j], j);
    }
  }
  return new UnserializableError(pathText(rootName, segments), failure.what, failure.hint);
}

function describeInstance(value: object): [what: string, hint: string] {
  if (value instanceof Promise) return ["a Promise", HINT_PROMISE];
  if (value instanceof WeakMap) return ["a WeakMap", HINT_WEAK];
  if (value instanceof WeakSet) return ["a WeakSet", HINT_WEAK];
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return [
    typeof name === "string" && name !== ""
      ? `an instance of ${name}`
      : "an instance of an anonymous class",
    HINT_INSTANCE,
  ];
}

const utf8 = new TextEncoder();
const TWO_32 = 2 ** 32;
const INITIAL_BODY_BYTES = 4096;
/** A reused body buffer that grew past this is dropped after use, not kept for the next encode. */
const MAX_KEPT_BODY_BYTES = 1 << 20;

/** Writes msgpack into a growing buffer; one instance is reused across encodes. */
class BodyWriter {
  bytes = new Uint8Array(INITIAL_BODY_BYTES);
  view = new DataView(this.bytes.buffer);
  pos = 0;
  frames: Uint8Array[] = [];
  frameThreshold = DEFAULT_FRAME_THRESHOLD;
  busy = false;

  reset(frameThreshold: number): void {
    this.pos = 0;
    this.frames = [];
    this.frameThreshold = frameThreshold;
  }

  release(): void {
    this.busy = false;
    this.frames = [];
    if (this.bytes.length > MAX_KEPT_BODY_BYTES) {
      this.bytes = new Uint8Array(INITIAL_BODY_BYTES);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.pos + extra));
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "number":
        return this.number(value);
      case "string":
        return this.string(value);
      case "boolean":
        this.ensure(1);
        this.bytes[this.pos++] = value ? 0xc3 : 0xc2;
        return;
      case "undefined":
        this.ensure(3);
        this.bytes[this.pos++] = 0xd4; // fixext 1
        this.bytes[this.pos++] = EXT_UNDEFINED;
        this.bytes[this.pos++] = 0;
        return;
      case "bigint":
        return this.bigint(value);
      case "object":
        if (value === null) {
          this.ensure(1);
          this.bytes[this.pos++] = 0xc0;
          return;
        }
        return this.object(value, depth);
      case "function":
        throw new EncodeFailure("a function", HINT_FUNCTION);
      default:
        throw new EncodeFailure("a symbol", HINT_SYMBOL);
    }
  }

  number(n: number): void {
    this.ensure(9);
    const bytes = this.bytes;
    const view = this.view;
    // -0 is a safe integer but must stay -0: it goes out as a float.
    if (Number.isSafeInteger(n) && (n !== 0 || 1 / n > 0)) {
      if (n >= 0) {
        if (n < 0x80) bytes[this.pos++] = n;
        else if (n < 0x100) {
          bytes[this.pos++] = 0xcc;
          bytes[this.pos++] = n;
        } else if (n < 0x10000) {
          bytes[this.pos++] = 0xcd;
          view.setUint16(this.pos, n);
          this.pos += 2;
        } else if (n < TWO_32) {
          bytes[this.pos++] = 0xce;
          view.setUint32(this.pos, n);
          this.pos += 4;
        } else {
          bytes[this.pos++] = 0xcf;
          view.setUint32(this.pos, Math.floor(n / TWO_32));
          view.setUint32(this.pos + 4, n >>> 0);
          this.pos += 8;
        }
      } else if (n >= -0x20) {
        bytes[this.pos++] = n & 0xff; // negative fixint
      } else if (n >= -0x80) {
        bytes[this.pos++] = 0xd0;
        view.setInt8(this.pos++, n);
      } else if (n >= -0x8000) {
        bytes[this.pos++] = 0xd1;
        view.setInt16(this.pos, n);
        this.pos += 2;
      } else if (n >= -0x80000000) {
        bytes[this.pos++] = 0xd2;
        view.setInt32(this.pos, n);
        this.pos += 4;
      } else {
        bytes[this.pos++] = 0xd3;
        view.setInt32(this.pos, Math.floor(n / TWO_32));
        view.setUint32(this.pos + 4, n >>> 0);
        this.pos += 8;
      }
    } else {
      bytes[this.pos++] = 0xcb;
      view.setFloat64(this.pos, n);
      this.pos += 8;
    }
  }

  string(s: string): void {
    const n = s.length;
    if (n < 64) {
      // Short ASCII strings (object keys, task keys) are copied by hand as they are checked, in
      // one pass: 2× cheaper than checking first (and than encodeInto) for a 37-character key.
      this.ensure(n + 2);
      const bytes = this.bytes;
      const header = n < 32 ? 1 : 2;
      let at = this.pos + header;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[at++] = c;
      }
      if (i === n) {
        if (header === 1) bytes[this.pos] = 0xa0 | n;
        else {
          bytes[this.pos] = 0xd9;
          bytes[this.pos + 1] = n;
        }
        this.pos = at;
        return;
      }
      // not ASCII: what was copied is overwritten below
    }
    // The header is sized for the longest possible UTF-8 form (3 bytes per UTF-16 unit), so the
    // text is written once, in place; msgpack allows a wider length field than needed.
    const maxBytes = n * 3;
    const headerBytes = maxBytes < 0x100 ? 2 : maxBytes < 0x10000 ? 3 : 5;
    this.ensure(headerBytes + maxBytes);
    const start = this.pos + headerBytes;
    const written = utf8.encodeInto(s, this.bytes.subarray(start)).written;
    if (headerBytes === 2) {
      this.bytes[this.pos] = 0xd9;
      this.bytes[this.pos + 1] = written;
    } else if (headerBytes === 3) {
      this.bytes[this.pos] = 0xda;
      this.view.setUint16(this.pos + 1, written);
    } else {
      this.bytes[this.pos] = 0xdb;
      this.view.setUint32(this.pos + 1, written);
    }
    this.pos = start + written;
  }

  /** Writes an ext header for a payload of known size. */
  extHeader(type: number, size: number): void {
    this.ensure(6 + size);
    const bytes = this.bytes;
    if (size < 0x100) {
      bytes[this.pos++] = 0xc7;
      bytes[this.pos++] = size;
    } else if (size < 0x10000) {
      bytes[this.pos++] = 0xc8;
      this.view.setUint16(this.pos, size);
      this.pos += 2;
    } else {
      bytes[this.pos++] = 0xc9;
      this.view.setUint32(this.pos, size);
      this.pos += 4;
    }
    bytes[this.pos++] = type;
  }

  /** Opens an ext whose msgpack payload is written next; {@link endExt} fills in its size. */
  beginExt(type: number): number {
    this.ensure(6);
    this.bytes[this.pos++] = 0xc9;
    this.pos += 4;
    this.bytes[this.pos++] = type;
    return this.pos;
  }

  endExt(payloadStart: number): void {
    this.view.setUint32(payloadStart - 5, this.pos - payloadStart);
  }

  arrayHeader(length: number): void {
    this.ensure(5);
    if (length < 16) this.bytes[this.pos++] = 0x90 | length;
    else if (length < 0x10000) {
      this.bytes[this.pos++] = 0xdc;
      this.view.setUint16(this.pos, length);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = 0xdd;
      this.view.setUint32(this.pos, length);
      this.pos += 4;
    }
  }

  mapHeader(size: number): void {
    this.ensure(5);
    if (size < 16) this.bytes[this.pos++] = 0x80 | size;
    else if (size < 0x10000) {
      this.bytes[this.pos++] = 0xde;
      this.view.setUint16(this.pos, size);
      this.pos += 2;
    } else {
      this.bytes[this.pos++] = 0xdf;
      this.view.setUint32(this.pos, size);
      this.pos += 4;
    }
  }

  bigint(value: bigint): void {
    const negative = value < 0n;
    let hex = (negative ? -value : value).toString(16);
    if (hex.length % 2 === 1) hex = "0" + hex;
    const magnitudeBytes = hex.length / 2;
    this.extHeader(EXT_BIGINT, 1 + magnitudeBytes);
    const bytes = this.bytes;
    bytes[this.pos++] = negative ? 1 : 0;
    for (let i = 0; i < hex.length; i += 2) {
      bytes[this.pos++] = parseInt(hex.substring(i, i + 2), 16);
    }
  }

  object(value: object, depth: number): void {
    if (depth >= MAX_NESTING_DEPTH) throw new EncodeFailure(TOO_DEEP, HINT_DEPTH);
    if (Array.isArray(value)) return this.array(value, depth + 1);
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      // a table library's frames can look like plain objects (nodejs-polars' are proxies)
      const table = tableCodec() === undefined ? undefined : tableToIPC(value);
      if (table !== undefined) return this.table(table);
      return this.plainObject(value as Record<string, unknown>, depth + 1);
    }
    // typed arrays first: every message's encoded arguments are one (an actor handle, a Proxy,
    // never is)
    if (ArrayBuffer.isView(value)) {
      const kind = KIND_BY_TAG[(value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag]!];
      if (kind === undefined) throw new EncodeFailure(...describeInstance(value));
      return this.buffer(kind, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    const actor = actorRecordOf(value);
    if (actor !== undefined) return this.actor(actor, depth);
    // Shared memory does not cross processes: its bytes travel, and arrive as an ArrayBuffer.
    if (value instanceof ArrayBuffer || isSharedArrayBuffer(value)) {
      return this.buffer(KIND_ARRAY_BUFFER, new Uint8Array(value));
    }
    if (value instanceof Date) {
      this.ensure(10);
      this.bytes[this.pos++] = 0xd7; // fixext 8
      this.bytes[this.pos++] = EXT_DATE;
      this.view.setFloat64(this.pos, value.getTime());
      this.pos += 8;
      return;
    }
    if (value instanceof Map) return this.map(value, depth + 1);
    if (value instanceof Set) return this.set(value, depth + 1);
    if (value instanceof TaskRef) {
      const start = this.beginExt(EXT_TASK_REF);
      this.string(value.key);
      return this.endExt(start);
    }
    if (value instanceof NDArray) return this.ndarray(value);
    if (value instanceof Error) return this.error(value, depth + 1);
    const table = tableToIPC(value);
    if (table !== undefined) return this.table(table);
    const asRef = (value as { [AS_TASK_REF]?: () => Key })[AS_TASK_REF];
    if (typeof asRef === "function") return this.object(new TaskRef(asRef.call(value)), depth);
    throw new EncodeFailure(...describeInstance(value));
  }

  actor(record: ActorRecord, depth: number): void {
    const start = this.beginExt(EXT_ACTOR);
    this.array([record.key, record.worker, record.className, record.methods], depth + 1);
    return this.endExt(start);
  }

  array(array: readonly unknown[], depth: number): void {
    const length = array.length;
    if (length >= MIN_RECORDS && this.records(array, depth)) return;
    this.arrayHeader(length);
    let i = 0;
    try {
      for (; i < length; i++) this.value(array[i], depth);
    } catch (error) {
      throw addPathSegment(error, `[${i}]`, array);
    }
  }

  /**
   * An array whose items are plain objects with one list of keys, as {@link EXT_RECORDS}: the
   * keys are written once instead of once per item (a partition of 5,000 four-field records is a
   * third smaller and encodes about twice as fast). Returns false, having written nothing, when
   * the items are not such records; the caller then writes the array item by item.
   */
  records(array: readonly unknown[], depth: number): boolean {
    // the items sit one level deeper than the array; at the limit the generic path reports it
    if (depth + 1 >= MAX_NESTING_DEPTH) return false;
    const keys = recordKeys(array[0]);
    if (keys === undefined) return false;
    const length = array.length;
    // Checked before anything is read, so that a getter is never called twice.
    for (let i = 1; i < length; i++) {
      if (!hasKeys(array[i], keys)) return false;
    }
    const start = this.beginExt(EXT_RECORDS);
    this.arrayHeader(keys.length);
    for (let k = 0; k < keys.length; k++) this.string(keys[k]);
    this.number(length);
    let i = 0;
    let k = 0;
    try {
      for (; i < length; i++) {
        const item = array[i] as Record<string, unknown>;
        for (k = 0; k < keys.length; k++) this.value(item[keys[k]], depth + 1);
      }
    } catch (error) {
      addPathSegment(error, keySegment(keys[k]), array[i] as object);
      throw addPathSegment(error, `[${i}]`, array);
    }
    this.endExt(start);
    return true;
  }

  plainObject(object: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(object);
    this.mapHeader(keys.length);
    let key = "";
    try {
      for (let i = 0; i < keys.length; i++) {
        key = keys[i];
        if (key === "__proto__") {
          throw new EncodeFailure('a property named "__proto__"', HINT_PROTO_KEY);
        }
        this.string(key);
        this.value(object[key], depth);
      }
    } catch (error) {
      throw addPathSegment(error, keySegment(key), object);
    }
  }

  map(map: Map<unknown, unknown>, depth: number): void {
    const start = this.beginExt(EXT_MAP);
    this.arrayHeader(map.size * 2);
    let i = 0;
    let key: unknown;
    let inKey = true;
    try {
      for (const entry of map) {
        key = entry[0];
        inKey = true;
        this.value(key, depth);
        inKey = false;
        this.value(entry[1], depth);
        i++;
      }
    } catch (error) {
      throw addPathSegment(error, inKey ? `.keys()[${i}]` : `.get(${mapKeyText(key)})`, map);
    }
    this.endExt(start);
  }

  set(set: Set<unknown>, depth: number): void {
    const start = this.beginExt(EXT_SET);
    this.arrayHeader(set.size);
    let i = 0;
    try {
      for (const item of set) {
        this.value(item, depth);
        i++;
      }
    } catch (error) {
      throw addPathSegment(error, `.values()[${i}]`, set);
    }
    this.endExt(start);
  }

  error(error: Error, depth: number): void {
    const record = recordFromError(error);
    const cause = error.cause;
    const start = this.beginExt(EXT_ERROR);
    this.mapHeader(
      2 + (record.stack === undefined ? 0 : 1) + (record.key === undefined ? 0 : 1) +
        (cause === undefined ? 0 : 1),
    );
    this.string("name");
    this.string(String(record.name));
    this.string("message");
    this.string(String(record.message));
    if (record.stack !== undefined) {
      this.string("stack");
      this.string(String(record.stack));
    }
    if (record.key !== undefined) {
      this.string("key");
      this.string(record.key);
    }
    if (cause !== undefined) {
      this.string("cause");
      // The cause travels as a value of its own, so an Error cause comes back as an Error.
      try {
        this.value(cause, depth);
      } catch (failure) {
        throw addPathSegment(failure, ".cause", error);
      }
    }
    this.endExt(start);
  }

  ndarray(array: NDArray): void {
    const start = this.beginExt(EXT_NDARRAY);
    this.arrayHeader(3);
    this.string(array.dtype);
    const shape = array.shape;
    this.arrayHeader(shape.length);
    for (let i = 0; i < shape.length; i++) this.number(shape[i]);
    const data = array.contiguousData();
    this.buffer(
      KIND_BY_DTYPE[array.dtype],
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    this.endExt(start);
  }

  table(table: ArrowIPC): void {
    const start = this.beginExt(EXT_TABLE);
    this.arrayHeader(2);
    this.string(table.kind);
    this.buffer(KIND_BY_TAG.Uint8Array, table.bytes);
    this.endExt(start);
  }

  /** A buffer goes out of band when large (a view, no copy), else into the body. */
  buffer(kind: number, bytes: Uint8Array): void {
    if (bytes.byteLength >= this.frameThreshold) {
      const index = this.frames.length;
      this.frames.push(bytes);
      this.extHeader(EXT_FRAME, 5);
      this.bytes[this.pos++] = kind;
      this.view.setUint32(this.pos, index);
      this.pos += 4;
      return;
    }
    this.extHeader(kind, bytes.byteLength);
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }
}

/** Records have at most this many keys (more: each object is written as a map). */
const MAX_RECORD_KEYS = 64;

/** A plain object's keys when it can start an {@link EXT_RECORDS} array, else undefined. */
function recordKeys(item: unknown): string[] | undefined {
  if (typeof item !== "object" || item === null || !isPlainRecord(item)) return undefined;
  const keys = Object.keys(item);
  if (keys.length === 0 || keys.length > MAX_RECORD_KEYS || keys.includes("__proto__")) {
    return undefined;
  }
  return keys;
}

/** Not an array, a table or an instance: an object the encoder would write as a msgpack map. */
function isPlainRecord(item: object): boolean {
  const proto = Object.getPrototypeOf(item);
  if (proto !== Object.prototype && proto !== null) return false;
  return tableCodec() === undefined || tableToIPC(item) === undefined;
}

/**
 * True when `item` is a plain object whose enumerable string keys are `keys`, in order
 * (`for...in` lists own keys in `Object.keys` order, then inherited enumerable ones, which make
 * it false; it allocates nothing).
 */
function hasKeys(item: unknown, keys: readonly string[]): boolean {
  if (typeof item !== "object" || item === null || !isPlainRecord(item)) return false;
  let j = 0;
  for (const key in item) {
    if (key !== keys[j++]) return false;
  }
  return j === keys.length;
}

const sharedWriter = new BodyWriter();

/**
 * Encodes a value. Buffers of at least `frameThreshold` bytes become `frames` (views over the
 * caller's memory: do not modify them until the encoded value has been sent).
 *
 * @throws {UnserializableError} naming the path to a part that cannot travel (a function, a
 *   symbol, a class instance, a Promise, a cycle, ...).
 */
export function encode(value: unknown, options: EncodeOptions = {}): Encoded {
  // A getter could encode while we encode: it gets a writer of its own.
  const writer = sharedWriter.busy ? new BodyWriter() : sharedWriter;
  writer.busy = true;
  writer.reset(options.frameThreshold ?? DEFAULT_FRAME_THRESHOLD);
  try {
    writer.value(value, 0);
    return { body: writer.bytes.slice(0, writer.pos), frames: writer.frames };
  } catch (error) {
    if (error instanceof EncodeFailure) throw unserializable(error, options.rootName ?? "value");
    throw error;
  } finally {
    writer.release();
  }
}

/**
 * Encodes a value and hands `use` the body as a view into a reused buffer, valid only during the
 * call (copy what you keep): for writers that copy the body into a batch anyway, this saves a
 * buffer per message. Frames are as {@link encode} gives them.
 *
 * @throws {UnserializableError} like {@link encode}.
 */
export function encodeWith<T>(
  value: unknown,
  use: (body: Uint8Array, frames: Uint8Array[]) => T,
  options: EncodeOptions = {},
): T {
  const writer = sharedWriter.busy ? new BodyWriter() : sharedWriter;
  writer.busy = true;
  writer.reset(options.frameThreshold ?? DEFAULT_FRAME_THRESHOLD);
  try {
    try {
      writer.value(value, 0);
    } catch (error) {
      if (error instanceof EncodeFailure) throw unserializable(error, options.rootName ?? "value");
      throw error;
    }
    return use(writer.bytes.subarray(0, writer.pos), writer.frames);
  } finally {
    writer.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Transfer lists

/**
 * The distinct ArrayBuffers behind an encoded value's frames, for a `postMessage` transfer list.
 * Transferring detaches them on this side: every other view over them becomes empty. Shared
 * buffers are left out (they cannot be transferred, and need not be).
 */
export function transferables(encoded: Encoded): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const frame of encoded.frames) {
    const buffer = frame.buffer;
    if (buffer instanceof ArrayBuffer && !buffers.includes(buffer)) buffers.push(buffer);
  }
  return buffers;
}
