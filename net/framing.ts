/**
 * Message framing: how one message is laid out on the stream, and the queue that lays many out
 * back to back for writing. Each message is
 *
 * ```
 * u32 partCount, u32 headerFrameCount, partCount × u64 part length   (little-endian)
 * part 0: the header's msgpack body (value_codec), then its frames, then the message's frames
 * ```
 *
 * so large buffers inside a header travel out of band, written from the sender's memory and read
 * into their own buffer on the receiver (net/frame_reader.ts), never copied on the way.
 *
 * @module
 */

import { encode } from "../core/value_codec.ts";

/** More parts than this in one message is not a message this protocol produces. */
export const MAX_PARTS = 1 << 20;
/** Part lengths are u64 written as two u32 halves. */
export const TWO_32 = 2 ** 32;
/** Small messages are encoded back to back into buffers of this size (or a message's size). */
const WRITE_BUFFER_BYTES = 16 * 1024;

/** One message: a header (any value the value codec carries) and frames passed through as is. */
export interface Message {
  header: unknown;
  /** Buffers sent after the header's own frames, as they are. Received messages always have it. */
  frames?: Uint8Array[];
}

/** The stream broke the protocol: bad handshake, oversize frame, undecodable header... */
export class WireError extends Error {
  override name = "WireError";
}

/**
 * The chunks to write for one message: a small prefix, the header body, then every frame as
 * given (views over the caller's memory, not copies).
 *
 * @throws {UnserializableError} when the header holds something that cannot travel.
 */
export function encodeMessage(message: Message): Uint8Array[] {
  const encoded = encode(message.header, { rootName: "header" });
  const extra = message.frames ?? [];
  const partCount = 1 + encoded.frames.length + extra.length;
  const prefix = new Uint8Array(8 + 8 * partCount);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, partCount, true);
  view.setUint32(4, encoded.frames.length, true);
  const chunks: Uint8Array[] = [prefix, encoded.body];
  let at = 8;
  const addPart = (part: Uint8Array) => {
    view.setUint32(at, part.byteLength >>> 0, true);
    view.setUint32(at + 4, Math.floor(part.byteLength / TWO_32), true);
    at += 8;
  };
  addPart(encoded.body);
  for (const frame of encoded.frames) {
    addPart(frame);
    chunks.push(frame);
  }
  for (const frame of extra) {
    addPart(frame);
    chunks.push(frame);
  }
  return chunks;
}

/**
 * One message as a single buffer, after `lead` (e.g. the handshake's prefix): for messages written
 * on their own (the handshake's), so that each is one write — over TLS, one record — rather than
 * one per chunk.
 */
export function messageBytes(message: Message, lead: readonly number[] = []): Uint8Array {
  const chunks = encodeMessage(message);
  let total = lead.length;
  for (const chunk of chunks) total += chunk.byteLength;
  const bytes = new Uint8Array(total);
  bytes.set(lead);
  let at = lead.length;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * The bytes waiting to be written, in order: each message's prefix and header body are copied

 * message), its frames queued as they are (views, no copy).
 */
export class WriteQueue {
  #chunks: Uint8Array[] = [];
  #buffer: Uint8Array | null = null;
  #view: DataView | null = null;
  /** Start of the bytes of `#buffer` not yet in `#chunks`. */
  #start = 0;
  #pos = 0;

  get isEmpty(): boolean {
    return this.#chunks.length === 0 && this.#pos === this.#start;
  }

  /** Appends one message, framed as {@link encodeMessage} frames it. */
  push(body: Uint8Array, frames: readonly Uint8Array[], extra: readonly Uint8Array[]): void {
    const partCount = 1 + frames.length + extra.length;
    this.#reserve(8 + 8 * partCount + body.byteLength);
    const view = this.#view!;
    let at = this.#pos;
    view.setUint32(at, partCount, true);
    view.setUint32(at + 4, frames.length, true);
    at += 8;
    const addPart = (bytes: number) => {
      view.setUint32(at, bytes >>> 0, true);
      view.setUint32(at + 4, Math.floor(bytes / TWO_32), true);
      at += 8;
    };
    addPart(body.byteLength);
    for (const frame of frames) addPart(frame.byteLength);
    for (const frame of extra) addPart(frame.byteLength);
    this.#buffer!.set(body, at);
    this.#pos = at + body.byteLength;
    if (partCount === 1) return;
    this.#seal();
    for (const frame of frames) this.#chunks.push(frame);
    for (const frame of extra) this.#chunks.push(frame);
  }

  /** Everything queued, in order; the queue is empty after. */
  take(): Uint8Array[] {
    this.#seal();
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks;
  }

  clear(): void {
    this.#chunks = [];
    this.#buffer = this.#view = null;
    this.#start = this.#pos = 0;
  }

  #seal(): void {
    if (this.#pos === this.#start) return;
    this.#chunks.push(this.#buffer!.subarray(this.#start, this.#pos));
    this.#start = this.#pos;
  }

  #reserve(bytes: number): void {
    if (this.#buffer !== null && this.#pos + bytes <= this.#buffer.byteLength) return;
    this.#seal();
    // bytes already queued stay in the old buffer; it is dropped once they are written
    this.#buffer = new Uint8Array(Math.max(bytes, WRITE_BUFFER_BYTES));
    this.#view = new DataView(this.#buffer.buffer);
    this.#start = this.#pos = 0;
  }
}
