/**
 * What an encoded value is, read without decoding it: its size and type name, for data the
 * worker stores without running a thread (literal tasks). Decoding a large value on the event
 * loop would stall every connection; the first bytes of the msgpack body say enough.
 *
 * @module
 */

import {
  EXT_BIGINT,
  EXT_DATE,
  EXT_ERROR,
  EXT_FRAME,
  EXT_MAP,
  EXT_NDARRAY,
  EXT_RECORDS,
  EXT_SET,
  EXT_TASK_REF,
  EXT_UNDEFINED,
  KIND_ARRAY_BUFFER,
  KIND_BY_TAG,
} from "../core/codec_kinds.ts";
import type { Encoded } from "../core/value_codec.ts";

/**
 * Value codec extension ids and buffer kinds (core/codec_kinds.ts) and the type names a thread
 * would report for them; buffer kinds follow the codec's own table, so a kind added there is
 * named here too.
 */
const EXTENSION_TYPE_NAMES: Record<number, string> = {
  [EXT_UNDEFINED]: "undefined",
  [EXT_BIGINT]: "bigint",
  [EXT_DATE]: "Date",
  [EXT_MAP]: "Map",
  [EXT_SET]: "Set",
  [EXT_ERROR]: "Error",
  [EXT_TASK_REF]: "TaskRef",
  [EXT_NDARRAY]: "NDArray",
  [EXT_RECORDS]: "Array",
  [KIND_ARRAY_BUFFER]: "ArrayBuffer",
};
for (const [tag, kind] of Object.entries(KIND_BY_TAG)) EXTENSION_TYPE_NAMES[kind] = tag;

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
