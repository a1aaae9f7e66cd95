/**
 * What an encoded value is, read without decoding it: its size and type name, for data the
 * worker stores without running a thread (literal tasks). Decoding a large value on the event
 * loop would stall every connection; the first bytes of the msgpack body say enough.
 *
 * @module
 */

import type { Encoded } from "../core/value_codec.ts";

/** Value codec extension ids (core/value_codec.ts) and the type names a thread would report. */
const EXTENSION_TYPE_NAMES: Record<number, string> = {
  0: "undefined",
  1: "bigint",
  2: "Date",
  3: "Map",
  4: "Set",
  5: "Error",
  6: "TaskRef",
  7: "NDArray",
  16: "ArrayBuffer",
  17: "DataView",
  18: "Int8Array",
  19: "Uint8Array",
  20: "Uint8ClampedArray",
  21: "Int16Array",
  22: "Uint16Array",
  23: "Int32Array",
  24: "Uint32Array",
  25: "Float32Array",
  26: "Float64Array",
  27: "BigInt64Array",
  28: "BigUint64Array",
  29: "Float16Array",
};
/** The extension that stands for an out-of-band buffer; its first payload byte is the kind. */
const EXT_FRAME = 8;

/** Bytes the encoded value occupies: its body and frames. */
export function encodedBytes(encoded: Encoded): number {
  let total = encoded.body.byteLength;
  for (const frame of encoded.frames) total += frame.byteLength;
  return total;
}

/** The type name of the encoded value (`number`, `string`, `Object`, `Float64Array`...). */
export function encodedTypeName(encoded: Encoded): string {
  const b = encoded.body;
  if (b.byteLength === 0) return "unknown";
  const head = b[0];
  if (head <= 0x7f || head >= 0xe0) return "number";
  if (head <= 0x8f) return "Object";
  if (head <= 0x9f) return "Array";
  if (head <= 0xbf) return "string";
  switch (head) {
    case 0xc0:
      return "null";
    case 0xc2:
    case 0xc3:
      return "boolean";
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return "Uint8Array";
    case 0xd9:
    case 0xda:
    case 0xdb:
      return "string";
    case 0xdc:
    case 0xdd:
      return "Array";
    case 0xde:
    case 0xdf:
      return "Object";
  }
  // Extensions: fixext (0xd4..0xd8) put the type after the head, ext8/16/32 after the length.
  const typeAt = head >= 0xd4 && head <= 0xd8
    ? 1
    : head === 0xc7
    ? 2
    : head === 0xc8
    ? 3
    : head === 0xc9
    ? 5
    : -1;
  if (typeAt < 0) return "number"; // 0xca..0xd3: floats and sized integers
  const type = b[typeAt];
  const name = type === EXT_FRAME
    ? EXTENSION_TYPE_NAMES[b[typeAt + 1]]
    : EXTENSION_TYPE_NAMES[type];
  return name ?? "unknown";
}
