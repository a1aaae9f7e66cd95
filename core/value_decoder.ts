/**
 * Decoding half of the value codec (core/value_codec.ts has the format and the encoder).
 *
 * A recursive msgpack reader written for the messages this runtime sends: every header of every
 * message between scheduler, workers and clients passes through it, so it is on the per-task path
 * several times over. It is made of small functions, one per kind of value: V8 compiles them
 * quickly, which matters for the first computation a fresh process runs (the reference library's
 * decoder is one large state machine, the single costliest function to optimise in our processes).
 * It reads nested extension payloads (a Map, an Error...) in place rather than through a second
 * decoder, and keeps the short strings it has seen in a small table: field names and the values
 * that recur (operations, type names, worker addresses) come back as the same string objects,
 * which spares an allocation and a property-name lookup each. `@msgpack/msgpack`, the reference
 * implementation, is the oracle the tests hold it to, both directions
 * (tests/unit/value_decoder_test.ts).
 *
 * @module
 */

import { errorFromRecord, type ErrorRecord } from "./errors.ts";
import { type DType, DTYPE_ARRAY, NDArray, type NumericArray } from "./ndarray.ts";
import { TaskRef } from "./task.ts";
import { actorHandle } from "./actor_ref.ts";
import { ArrowIPC, tableFromIPC } from "./table_codec.ts";
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
  FIRST_TYPED_KIND,
  KIND_ARRAY_BUFFER,
  KIND_DATA_VIEW,
  LAST_KIND,
  MAX_NESTING_DEPTH,
  TYPED_ARRAYS,
} from "./codec_kinds.ts";

/** The bytes are not a value this codec wrote: malformed, truncated, or from another codec. */
export class DecodeError extends Error {
  override name = "DecodeError";
}

/** A body and its frames, as {@link decode} reads them. */
export interface EncodedInput {
  body: Uint8Array;
  frames: readonly Uint8Array[];
}

const TWO_32 = 2 ** 32;
/**
 * Containers may nest this deep. The encoder counts a Map, Set or NDArray as one level and the
 * reader as two (the extension and the array it carries), so the reader allows twice the depth.
 */
const MAX_DECODE_DEPTH = 2 * MAX_NESTING_DEPTH + 8;
/** Strings up to this many bytes go through the table of recent strings. */
const CACHED_STRING_BYTES = 32;
const CACHE_SLOTS = 4096; // a power of two
/** Rows of a records payload read before deciding which columns skip the string table. */
const PROBE_ROWS = 64;
/** Longer ASCII strings are built from char codes up to here, beyond it by TextDecoder. */
const MAX_CHAR_CODE_STRING = 256;

const utf8 = new TextDecoder();

/**
 * Recent short strings by a hash of their bytes. A slot holds one string and its bytes; a miss
 * overwrites it. No allocation but the string itself on a miss, none on a hit.
 */
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHED_STRING_BYTES);
const cacheLengths = new Int16Array(CACHE_SLOTS).fill(-1);
const cacheStrings: string[] = new Array(CACHE_SLOTS).fill("");
/** Strings the table did not hold so far (a records column that keeps missing skips the table). */
let cacheMisses = 0;
/**
 * Char code arrays, one per length, for `String.fromCharCode.apply`: an array of the right
 * length is twice as fast as one resized per string.
 */
const charCodes: number[][] = [];

/** Reads one msgpack value after another from a body; extension payloads are read in place. */
class BodyReader {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.bytes.buffer);
  pos = 0;
  end = 0;
  frames: readonly Uint8Array[] = [];

  start(bytes: Uint8Array, frames: readonly Uint8Array[]): void {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.end = bytes.byteLength;
    this.frames = frames;
  }

  /** Throws unless `n` more bytes are there. */
  need(n: number): void {
    if (this.pos + n > this.end) {
      throw new DecodeError(
        `The body ends early: ${n} more bytes were needed at byte ${this.pos} of ${this.end}.`,
      );
    }
  }

  value(depth: number): unknown {
    this.need(1);
    const head = this.bytes[this.pos++];
    if (head < 0x80) return head; // positive fixint
    if (head >= 0xe0) return head - 0x100; // negative fixint
    if (head >= 0xa0 && head < 0xc0) return this.string(head & 0x1f);
    if (head < 0x90) return this.map(head & 0x0f, depth);
    if (head < 0xa0) return this.array(head & 0x0f, depth);
    return this.other(head, depth);
  }

  /** Every value whose first byte is 0xc0..0xdf. */
  other(head: number, depth: number): unknown {
    switch (head) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.binary(this.u8());
      case 0xc5:
        return this.binary(this.u16());
      case 0xc6:
        return this.binary(this.u32());
      case 0xc7:
        return this.extension(this.u8(), depth);
      case 0xc8:
        return this.extension(this.u16(), depth);
      case 0xc9:
        return this.extension(this.u32(), depth);
      case 0xca:
        this.need(4);
        this.pos += 4;
        return this.view.getFloat32(this.pos - 4);
      case 0xcb:
        this.need(8);
        this.pos += 8;
        return this.view.getFloat64(this.pos - 8);
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        this.need(8);
        this.pos += 8;
        return this.view.getUint32(this.pos - 8) * TWO_32 + this.view.getUint32(this.pos - 4);
      case 0xd0:
        this.need(1);
        return this.view.getInt8(this.pos++);
      case 0xd1:
        this.need(2);
        this.pos += 2;
        return this.view.getInt16(this.pos - 2);
      case 0xd2:
        this.need(4);
        this.pos += 4;
        return this.view.getInt32(this.pos - 4);
      case 0xd3:
        this.need(8);
        this.pos += 8;
        return this.view.getInt32(this.pos - 8) * TWO_32 + this.view.getUint32(this.pos - 4);
      case 0xd4:
        return this.extension(1, depth);
      case 0xd5:
        return this.extension(2, depth);
      case 0xd6:
        return this.extension(4, depth);
      case 0xd7:
        return this.extension(8, depth);
      case 0xd8:
        return this.extension(16, depth);
      case 0xd9:
        return this.string(this.u8());
      case 0xda:
        return this.string(this.u16());
      case 0xdb:
        return this.string(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        throw new DecodeError(
          `Byte 0x${head.toString(16)} at ${this.pos - 1} starts no msgpack value.`,
        );
    }
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  u16(): number {
    this.need(2);
    this.pos += 2;
    return this.view.getUint16(this.pos - 2);
  }

  u32(): number {
    this.need(4);
    this.pos += 4;
    return this.view.getUint32(this.pos - 4);
  }

  string(length: number): string {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    if (length === 0) return "";
    if (length > CACHED_STRING_BYTES) return decodeText(this.bytes, start, length);
    return cachedText(this.bytes, start, length);
  }

  /** msgpack `bin`: a copy (the body may be a reused read buffer). */
  binary(length: number): Uint8Array {
    this.need(length);
    this.pos += length;
    return this.bytes.slice(this.pos - length, this.pos);
  }

  array(length: number, depth: number): unknown[] {
    if (depth >= MAX_DECODE_DEPTH) throw tooDeep();
    // Each item takes at least a byte: a length beyond the body is malformed, not a huge array.
    this.need(length);
    const out = new Array(length);
    if (length <= 2 * PROBE_ROWS) {
      for (let i = 0; i < length; i++) out[i] = this.value(depth + 1);
      return out;
    }
    // A long array whose short strings keep missing the table (distinct names, ids) stops
    // going through it after the first items, as a records column does.
    const before = cacheMisses;
    for (let i = 0; i < PROBE_ROWS; i++) out[i] = this.value(depth + 1);
    if (cacheMisses - before <= PROBE_ROWS / 2) {
      for (let i = PROBE_ROWS; i < length; i++) out[i] = this.value(depth + 1);
    } else {
      for (let i = PROBE_ROWS; i < length; i++) out[i] = this.uncached(depth + 1);
    }
    return out;
  }

  map(size: number, depth: number): Record<string, unknown> {
    if (depth >= MAX_DECODE_DEPTH) throw tooDeep();
    this.need(2 * size);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const head = this.bytes[this.pos];
      let key: unknown;
      if (head >= 0xa0 && head < 0xc0) {
        this.pos++;
        key = this.string(head & 0x1f);
      } else key = this.value(depth + 1);
      if (typeof key !== "string") {
        if (typeof key !== "number") {
          throw new DecodeError(`A map key must be a string or a number, got ${typeof key}.`);
        }
        key = String(key);
      }
      if (key === "__proto__") throw new DecodeError('The map key "__proto__" is not allowed.');
      out[key as string] = this.value(depth + 1);
    }
    return out;
  }

  /** An extension of `size` payload bytes; its type byte comes first. */
  extension(size: number, depth: number): unknown {
    this.need(1 + size);
    const type = this.view.getInt8(this.pos++);
    const start = this.pos;
    const stop = start + size;
    switch (type) {
      case EXT_UNDEFINED:
        this.pos = stop;
        return undefined;
      case EXT_BIGINT:
        this.pos = stop;
        return decodeBigInt(this.bytes.subarray(start, stop));
      case EXT_DATE:
        if (size !== 8) throw new DecodeError(`A Date needs 8 bytes, got ${size}.`);
        this.pos = stop;
        return new Date(this.view.getFloat64(start));
      case EXT_MAP: {
        const items = this.payload(stop, depth, "Map");
        if (!Array.isArray(items) || items.length % 2 !== 0) {
          throw new DecodeError("A Map payload needs an array of key/value pairs.");
        }
        const map = new Map();
        for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
        return map;
      }
      case EXT_SET: {
        const items = this.payload(stop, depth, "Set");
        if (!Array.isArray(items)) throw new DecodeError("A Set payload must be a msgpack array.");
        return new Set(items);
      }
      case EXT_ERROR:
        return decodeError(this.payload(stop, depth, "Error"));
      case EXT_ACTOR: {
        const payload = this.payload(stop, depth, "actor");
        const [key, worker, className, methods] = Array.isArray(payload) ? payload : [];
        const valid = typeof key === "string" && typeof worker === "string" &&
          typeof className === "string" && Array.isArray(methods) &&
          methods.every((m) => typeof m === "string");
        if (!valid) {
          throw new DecodeError("An actor payload must be [key, worker, class name, methods].");
        }
        return actorHandle({ key, worker, className, methods: methods as string[] });
      }
      case EXT_TASK_REF: {
        const key = this.payload(stop, depth, "TaskRef");
        if (typeof key !== "string") throw new DecodeError("A TaskRef payload must be a string.");
        taskRefsDecoded++;
        return new TaskRef(key);
      }
      case EXT_RECORDS:
        return this.records(stop, depth);
      case EXT_NDARRAY: {
        const items = this.payload(stop, depth, "NDArray");
        if (!Array.isArray(items)) {
          throw new DecodeError("An NDArray payload must be a msgpack array.");
        }
        return decodeNDArray(items);
      }
      case EXT_TABLE: {
        const items = this.payload(stop, depth, "table");
        if (
          !Array.isArray(items) || (items[0] !== "frame" && items[0] !== "series") ||
          !(items[1] instanceof Uint8Array)
        ) {
          throw new DecodeError('A table payload must be ["frame" | "series", bytes].');
        }
        return tableFromIPC(new ArrowIPC(items[0], items[1]));
      }
      case EXT_FRAME: {
        if (size !== 5) throw new DecodeError("A frame reference needs 5 bytes.");
        const kind = this.bytes[start];
        const index = this.view.getUint32(start + 1);
        this.pos = stop;
        const frame = this.frames[index];
        if (frame === undefined) {
          throw new DecodeError(
            `The body refers to frame ${index}, but only ${this.frames.length} frames came with it.`,
          );
        }
        return bufferFromBytes(kind, frame, false);
      }
      default:
        this.pos = stop;
        if (type >= KIND_ARRAY_BUFFER && type <= LAST_KIND) {
          return bufferFromBytes(type, this.bytes.subarray(start, stop), true);
        }
        throw new DecodeError(
          `Unknown msgpack extension type ${type}: the sender uses a newer or different value codec.`,
        );
    }
  }

  /**
   * An {@link EXT_RECORDS} payload: the keys, the count, then the values row by row, as an
   * array of objects. With `only`, the values under that key alone, one per record (the others
   * are skipped, not built).
   */
  records(stop: number, depth: number, only?: string): unknown[] | undefined {
    if (depth >= MAX_DECODE_DEPTH) throw tooDeep();
    const end = this.end;
    this.end = stop;
    try {
      const keys = this.value(depth + 1);
      if (
        !Array.isArray(keys) || keys.length === 0 ||
        !keys.every((k) => typeof k === "string" && k !== "__proto__")
      ) {
        throw new DecodeError("A records payload must start with its keys (strings).");
      }
      const count = this.value(depth + 1);
      if (!Number.isSafeInteger(count) || (count as number) < 0) {
        throw new DecodeError("A records payload needs the count of its records.");
      }
      const n = count as number;
      const width = keys.length;
      // each value takes at least a byte: a count beyond the payload is malformed
      this.need(n * width);
      const out = new Array(n);
      if (only === undefined) {
        // A column whose short strings keep missing the table of recent strings (names, ids:
        // values that do not recur) stops going through it after the first rows.
        const cached = new Array<boolean>(width).fill(true);
        const misses = new Array<number>(width).fill(0);
        for (let i = 0; i < n; i++) {
          const record: Record<string, unknown> = {};
          if (i < PROBE_ROWS) {
            for (let k = 0; k < width; k++) {
              const before = cacheMisses;
              record[keys[k]] = this.value(depth + 2);
              misses[k] += cacheMisses - before;
            }
            if (i === PROBE_ROWS - 1) {
              for (let k = 0; k < width; k++) cached[k] = misses[k] <= PROBE_ROWS / 2;
            }
          } else {
            for (let k = 0; k < width; k++) {
              record[keys[k]] = cached[k] ? this.value(depth + 2) : this.uncached(depth + 2);
            }
          }
          out[i] = record;
        }
      } else {
        const at = keys.indexOf(only);
        if (at < 0) return undefined;
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < width; k++) {
            if (k === at) out[i] = this.value(depth + 2);
            else this.skip(depth + 2);
          }
        }
      }
      if (this.pos !== stop) {
        throw new DecodeError(`A records payload has ${stop - this.pos} bytes after its values.`);
      }
      return out;
    } finally {
      this.end = end;
    }
  }

  /** Like {@link value}, with short strings made anew rather than through the table. */
  uncached(depth: number): unknown {
    this.need(1);
    const head = this.bytes[this.pos];
    if (head < 0xa0 || head >= 0xc0) return this.value(depth);
    const length = head & 0x1f;
    this.pos++;
    this.need(length);
    this.pos += length;
    return length === 0 ? "" : decodeText(this.bytes, this.pos - length, length);
  }

  /** Moves past one value without building it. */
  skip(depth: number): void {
    if (depth >= MAX_DECODE_DEPTH) throw tooDeep();
    this.need(1);
    const head = this.bytes[this.pos++];
    if (head < 0x80 || head >= 0xe0 || head === 0xc0 || head === 0xc2 || head === 0xc3) return;
    let items = 0; // values that follow as the content of an array or map
    let bytes = 0; // bytes that follow as the content of a string, bin or extension
    if (head < 0x90) items = 2 * (head & 0x0f);
    else if (head < 0xa0) items = head & 0x0f;
    else if (head < 0xc0) bytes = head & 0x1f;
    else {
      switch (head) {
        case 0xc4:
        case 0xd9:
          bytes = this.u8();
          break;
        case 0xc5:
        case 0xda:
          bytes = this.u16();
          break;
        case 0xc6:
        case 0xdb:
          bytes = this.u32();
          break;
        case 0xc7:
          bytes = 1 + this.u8();
          break;
        case 0xc8:
          bytes = 1 + this.u16();
          break;
        case 0xc9:
          bytes = 1 + this.u32();
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          bytes = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          bytes = 8;
          break;
        case 0xcc:
        case 0xd0:
          bytes = 1;
          break;
        case 0xcd:
        case 0xd1:
          bytes = 2;
          break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          bytes = 1 + (1 << (head - 0xd4));
          break;
        case 0xdc:
          items = this.u16();
          break;
        case 0xdd:
          items = this.u32();
          break;
        case 0xde:
          items = 2 * this.u16();
          break;
        case 0xdf:
          items = 2 * this.u32();
          break;
        default:
          throw new DecodeError(
            `Byte 0x${head.toString(16)} at ${this.pos - 1} starts no msgpack value.`,
          );
      }
    }
    this.need(bytes + items);
    this.pos += bytes;
    for (let i = 0; i < items; i++) this.skip(depth + 1);
  }

  /** Reads the msgpack value an extension carries, which must fill its payload exactly. */
  payload(stop: number, depth: number, what: string): unknown {
    const end = this.end;
    this.end = stop;
    try {
      const value = this.value(depth + 1);
      if (this.pos !== stop) {
        throw new DecodeError(`A ${what} payload has ${stop - this.pos} bytes after its value.`);
      }
      return value;
    } finally {
      this.end = end;
    }
  }
}

function tooDeep(): DecodeError {
  return new DecodeError(`The value is nested more than ${MAX_NESTING_DEPTH} levels deep.`);
}

/** A short string through the table of recent strings (see {@link cacheStrings}). */
function cachedText(bytes: Uint8Array, start: number, length: number): string {
  let hash = length;
  for (let i = start; i < start + length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  const slot = (hash ^ (hash >>> 15)) & (CACHE_SLOTS - 1);
  const at = slot * CACHED_STRING_BYTES;
  if (cacheLengths[slot] === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (cacheBytes[at + i] !== bytes[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cacheStrings[slot];
  }
  const text = decodeText(bytes, start, length);
  for (let i = 0; i < length; i++) cacheBytes[at + i] = bytes[start + i];
  cacheMisses++;
  cacheLengths[slot] = length;
  cacheStrings[slot] = text;
  return text;
}

/** UTF-8 to a string: short ASCII by char codes (cheaper than a TextDecoder call), else TextDecoder. */
function decodeText(bytes: Uint8Array, start: number, length: number): string {
  if (length <= MAX_CHAR_CODE_STRING) {
    const codes = charCodes[length] ??= new Array(length).fill(0);
    let ascii = true;
    for (let i = 0; i < length; i++) {
      const byte = bytes[start + i];
      if (byte >= 0x80) {
        ascii = false;
        break;
      }
      codes[i] = byte;
    }
    if (ascii) return String.fromCharCode.apply(null, codes);
  }
  return utf8.decode(bytes.subarray(start, start + length));
}

/** One reader per nesting of decode calls (a getter or extension may decode while we decode). */
const readers: BodyReader[] = [];
let readersInUse = 0;
/** TaskRefs decoded in this thread so far (see {@link taskRefCount}). */
let taskRefsDecoded = 0;

/**
 * How many TaskRefs `decode` produced in this thread so far: compared before and after a decode,
 * it tells whether the value holds any (so only those values are walked to replace them).
 */
export function taskRefCount(): number {
  return taskRefsDecoded;
}

/**
 * Runs `read` with a reader over `body` (no frames), releasing it after: `decode` and the
 * partial readers below share it.
 */
function withReader<T>(body: Uint8Array, read: (reader: BodyReader) => T): T {
  const reader = readers[readersInUse] ??= new BodyReader();
  readersInUse++;
  try {
    reader.start(body, []);
    return read(reader);
  } finally {
    readersInUse--;
    reader.frames = [];
  }
}

/** The payload size after an ext header at the reader's position, or -1 when none is there. */
function extSize(reader: BodyReader): number {
  reader.need(1);
  const head = reader.bytes[reader.pos];
  if (head < 0xc7 || head > 0xc9) return -1;
  reader.pos++;
  return head === 0xc7 ? reader.u8() : head === 0xc8 ? reader.u16() : reader.u32();
}

/**
 * The values under `field` of an array of records (what `encode` writes for an array of plain
 * objects that share their keys), without building the records: one value per record, in
 * order. Undefined when the body is not such an array, or its records have no such field: then
 * decode it whole.
 *
 * @throws {DecodeError} when the bytes are malformed or truncated.
 */
export function decodeField(body: Uint8Array, field: string): unknown[] | undefined {
  return withReader(body, (reader) => {
    const size = extSize(reader);
    if (size < 0) return undefined;
    reader.need(1 + size);
    if (reader.bytes[reader.pos] !== EXT_RECORDS || reader.pos + 1 + size !== reader.end) {
      return undefined;
    }
    reader.pos++;
    return reader.records(reader.pos + size, 0, field);
  });
}

/**
 * How many items the array encoded in `body` holds, read from its header (the items are not
 * read), or undefined when the body is not an array.
 *
 * @throws {DecodeError} when the header is truncated.
 */
export function decodedLength(body: Uint8Array): number | undefined {
  return withReader(body, (reader) => {
    reader.need(1);
    const head = reader.bytes[reader.pos];
    if (head >= 0x90 && head < 0xa0) return head & 0x0f;
    if (head === 0xdc || head === 0xdd) {
      reader.pos++;
      return head === 0xdc ? reader.u16() : reader.u32();
    }
    const size = extSize(reader);
    if (size < 0 || reader.u8() !== EXT_RECORDS) return undefined;
    reader.skip(1); // the keys
    const count = reader.value(1);
    if (!Number.isSafeInteger(count)) throw new DecodeError("A records payload has no count.");
    return count as number;
  });
}

/**
 * Decodes what `encode` (core/value_codec.ts) produced. Frames are shared, not copied, when their
 * alignment suits the element type; `body` and `frames` may be views at any offset.
 *
 * @throws {DecodeError} when the bytes are malformed or truncated.
 */
export function decode(encoded: EncodedInput): unknown {
  const reader = readers[readersInUse] ??= new BodyReader();
  readersInUse++;
  try {
    reader.start(encoded.body, encoded.frames);
    const value = reader.value(0);
    if (reader.pos !== reader.end) {
      throw new DecodeError(
        `${reader.end - reader.pos} bytes follow the value at byte ${reader.pos}: ` +
          `the body holds more than one value or is corrupt.`,
      );
    }
    return value;
  } finally {
    readersInUse--;
    reader.frames = [];
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function decodeBigInt(data: Uint8Array): bigint {
  if (data.byteLength < 2) throw new DecodeError("A BigInt needs a sign byte and a magnitude.");
  let hex = "0x";
  for (let i = 1; i < data.byteLength; i++) hex += HEX[data[i]];
  const magnitude = BigInt(hex);
  return data[0] === 1 ? -magnitude : magnitude;
}

function decodeError(record: unknown): Error {
  const r = record as Partial<ErrorRecord> | null;
  if (r === null || typeof r !== "object" || typeof r.name !== "string") {
    throw new DecodeError("An Error payload must be a map with a name and a message.");
  }
  return errorFromRecord({
    name: r.name,
    message: typeof r.message === "string" ? r.message : "",
    stack: typeof r.stack === "string" ? r.stack : undefined,
    key: typeof r.key === "string" ? r.key : undefined,
    cause: r.cause,
  });
}

function decodeNDArray(items: unknown[]): NDArray {
  const [dtype, shape, data] = items;
  const Ctor = DTYPE_ARRAY[dtype as DType];
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_ARRAY, dtype) || !(data instanceof Ctor)) {
    throw new DecodeError(`An NDArray payload has dtype ${String(dtype)} with unfitting data.`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new DecodeError("An NDArray payload's shape must be an array of sizes.");
  }
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (size !== (data as NumericArray).length) {
    throw new DecodeError(
      `An NDArray of shape [${shape}] needs ${size} elements, got ${
        (data as NumericArray).length
      }.`,
    );
  }
  return new NDArray(data as NumericArray, shape, { dtype: dtype as DType });
}

/**
 * Makes the buffer of `kind` over `bytes`. Inline bytes are copied (they live in the body); a
 * frame is shared when its offset suits the element size, and copied only when misaligned.
 */
function bufferFromBytes(kind: number, bytes: Uint8Array, copy: boolean): unknown {
  if (kind === KIND_ARRAY_BUFFER) {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer;
    return !copy && whole ? bytes.buffer : bytes.slice().buffer;
  }
  if (kind === KIND_DATA_VIEW) {
    return copy
      ? new DataView(bytes.slice().buffer)
      : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const Ctor = TYPED_ARRAYS[kind - FIRST_TYPED_KIND];
  if (Ctor === undefined) {
    throw new DecodeError(`Unknown buffer kind ${kind}: this runtime cannot hold that array type.`);
  }
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new DecodeError(`${Ctor.name} data of ${bytes.byteLength} bytes is not whole elements.`);
  }
  if (copy || bytes.byteOffset % size !== 0) bytes = bytes.slice();
  return new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
}
