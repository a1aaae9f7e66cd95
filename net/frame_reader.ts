/**
 * The frame parser: an incremental reader of the byte stream laid out as net/framing.ts says,
 * which checks every count and length before it allocates for it.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import { decode } from "../core/value_codec.ts";
import { MAX_PARTS, type Message, TWO_32, WireError } from "./framing.ts";
import { HANDSHAKE_PREFIX_BYTES, parseHandshakePrefix } from "./handshake.ts";
import { DEFAULT_WIRE_LIMITS } from "./limits.ts";

/** The largest part (header or frame) a reader accepts unless told otherwise: 1 GiB. */
export const DEFAULT_MAX_FRAME_BYTES = DEFAULT_WIRE_LIMITS.maxFrameBytes;
/** Parts a message may have while the reader is guarded: a hello or a proof has one. */
const GUARDED_MAX_PARTS = 4;

/** A frame with at least this much left to arrive is read straight into its own buffer. */
const DIRECT_READ_MIN_BYTES = 64 * 1024;

/** How a {@link FrameReader} checks what it reads. */
export interface FrameReaderOptions {
  /** The largest frame accepted, in bytes; larger ones are a WireError. 1 GiB. */
  maxFrameBytes?: number;
  /** The largest message header accepted, in bytes. 512 MiB. */
  maxHeaderBytes?: number;
  /** The most frames one message may carry. 1,048,575. */
  maxFramesPerMessage?: number;
  /**
   * Read the first this many messages guarded: parts of at most {@link maxHandshakeBytes} and
   * at most 4 of them; then hold every later byte, undecoded, until {@link FrameReader.unguard}.
   * The handshake reads its hello (and the peer's proof) this way, so a peer that has not
   * proved itself makes this side hold a few KiB at most and decode nothing else. Default 0.
   */
  guardedMessages?: number;
  /** The largest part of a guarded message, in bytes. 4 KiB. */
  maxHandshakeBytes?: number;
  /** Expect the 4-byte handshake prefix first (magic and version). */
  handshake?: boolean;
  /**
   * Frames of at least this many bytes are read into `SharedArrayBuffer` memory, which an owner
   * can share with its threads without a copy (a worker's received data). Default: never.
   */
  sharedFrameMinBytes?: number;
}

/** What the reader is reading: the handshake prefix, a message's counts, its lengths, a part. */
const PREFIX = 0;
const COUNTS = 1;
const LENGTHS = 2;
const PART = 3;

const EMPTY = new Uint8Array(0);

/**
 * An incremental parser of the byte stream: push chunks as they arrive, split anywhere, and get
 * back the messages they complete. `push` keeps no reference to the chunk it is given, so the
 * caller may reuse its read buffer. Each frame gets a buffer of its own, which a caller can fill
 * straight from the socket through {@link directTarget} / {@link directFilled}.
 *
 * After a WireError the stream cannot be resynchronized: every later call throws it again.
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #maxHeaderBytes: number;
  readonly #maxParts: number;
  readonly #maxHandshakeBytes: number;
  readonly #sharedFrameMinBytes: number;
  /** Guarded messages still to read; 0 once the guard is lifted or none was asked for. */
  #guarded: number;
  /** Bytes that arrived after the guarded messages, held undecoded until {@link unguard}. */
  #held: Uint8Array[] | null = null;
  #state: number;
  /** Bytes the current field needs. */
  #need: number;
  /** The buffer the current field is assembled in, when it arrives in pieces or owns its bytes. */
  #field: Uint8Array | null = null;
  #filled = 0;
  #partCount = 0;
  #headerFrames = 0;
  #lengths: number[] = [];
  #parts: Uint8Array[] = [];
  /** True while part 0 is a view into the chunk being pushed (copied before push returns). */
  #headerIsView = false;
  #failure: WireError | null = null;

  constructor(options: FrameReaderOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_WIRE_LIMITS.maxHeaderBytes;
    this.#maxParts = 1 + (options.maxFramesPerMessage ?? DEFAULT_WIRE_LIMITS.maxFramesPerMessage);
    this.#maxHandshakeBytes = options.maxHandshakeBytes ?? DEFAULT_WIRE_LIMITS.maxHandshakeBytes;
    this.#guarded = options.guardedMessages ?? 0;
    this.#sharedFrameMinBytes = options.sharedFrameMinBytes ?? Infinity;
    this.#state = options.handshake ? PREFIX : COUNTS;
    this.#need = options.handshake ? HANDSHAKE_PREFIX_BYTES : 8;
  }

  /**
   * Takes the next bytes of the stream; returns the messages they complete, in order.
   *
   * @throws {WireError} when the stream breaks the protocol.
   */
  push(chunk: Uint8Array): Message[] {
    if (this.#failure !== null) throw this.#failure;
    const out: Message[] = [];
    if (this.#held !== null) {
      this.#hold(chunk);
      return out;
    }
    try {
      let at = 0;
      for (;;) {
        if (this.#held !== null) {
          // the guarded messages are read: what follows waits for unguard()
          if (at < chunk.byteLength) this.#hold(chunk.subarray(at));
          break;
        }
        const need = this.#need;
        // Frames (parts after the header body) always get a buffer of their own.
        const owned = this.#state === PART && this.#parts.length > 0;
        let field: Uint8Array;
        if (this.#field === null && !owned && chunk.byteLength - at >= need) {
          field = chunk.subarray(at, at + need);
          at += need;
          if (this.#state === PART) this.#headerIsView = true;
        } else {
          if (this.#field === null) {
            if (at === chunk.byteLength && need > 0) break;
            this.#field = this.#newField(need);
            this.#filled = 0;
          }
          const n = Math.min(need - this.#filled, chunk.byteLength - at);
          this.#field.set(chunk.subarray(at, at + n), this.#filled);
          this.#filled += n;
          at += n;
          if (this.#filled < need) break;
          field = this.#field;
          this.#field = null;
        }
        this.#complete(field, out);
      }
      if (this.#headerIsView) {
        // The message is not complete yet: keep the header body past this chunk's lifetime.
        this.#parts[0] = this.#parts[0].slice();
        this.#headerIsView = false;
      }
    } catch (error) {
      this.#failure = error instanceof WireError
        ? error
        : new WireError(`The stream broke: ${errorMessage(error)}`, { cause: error });
      throw this.#failure;
    }
    return out;
  }

  /**
   * Lifts the guard: later messages are read with the full limits. Returns the messages
   * completed by the bytes held since the guarded messages were read.
   *
   * @throws {WireError} when the held bytes break the protocol.
   */
  unguard(): Message[] {
    this.#guarded = 0;
    const held = this.#held ?? [];
    this.#held = null;
    const out: Message[] = [];
    for (const chunk of held) for (const message of this.push(chunk)) out.push(message);
    return out;
  }

  /** Drops every buffer the reader holds (the connection is gone); later calls throw. */
  release(reason = "the connection closed"): void {
    this.#field = null;
    this.#parts = [];
    this.#lengths = [];
    this.#held = null;
    this.#failure ??= new WireError(reason);
  }

  #hold(bytes: Uint8Array): void {
    const held = this.#held!;
    let total = bytes.byteLength;
    for (const chunk of held) total += chunk.byteLength;
    if (total > this.#maxHandshakeBytes) {
      this.#failure = new WireError(
        `The peer sent ${total} bytes before its handshake completed (at most ` +
          `${this.#maxHandshakeBytes}, maxHandshakeBytes).`,
      );
      throw this.#failure;
    }
    held.push(bytes.slice());
  }

  /**
   * When a large frame is being read: the part of its buffer still to fill, to read into
   * directly (then call {@link directFilled}). Otherwise null: read into any buffer and push it.
   */
  directTarget(): Uint8Array | null {
    if (this.#failure !== null || this.#state !== PART || this.#parts.length === 0) {
      return null;
    }
    if (this.#field === null) {
      if (this.#need < DIRECT_READ_MIN_BYTES) return null;
      this.#field = this.#newField(this.#need);
      this.#filled = 0;
    }
    return this.#need - this.#filled >= DIRECT_READ_MIN_BYTES
      ? this.#field.subarray(this.#filled)
      : null;
  }

  /** Tells that `n` bytes were read into the last {@link directTarget}. */
  directFilled(n: number): Message[] {
    if (this.#field === null || this.#filled + n > this.#need) {
      throw new WireError("directFilled() called without a matching directTarget().");
    }
    this.#filled += n;
    return this.push(EMPTY);
  }

  /** A buffer for the field being read: shared memory for a large enough frame, when asked. */
  #newField(bytes: number): Uint8Array {
    const isFrame = this.#state === PART && this.#parts.length > 0;
    return isFrame && bytes >= this.#sharedFrameMinBytes
      ? new Uint8Array(new SharedArrayBuffer(bytes))
      : new Uint8Array(bytes);
  }

  #complete(field: Uint8Array, out: Message[]): void {
    switch (this.#state) {
      case PREFIX:
        parseHandshakePrefix(field);
        this.#state = COUNTS;
        this.#need = 8;
        return;
      case COUNTS: {
        const view = new DataView(field.buffer, field.byteOffset, 8);
        const partCount = view.getUint32(0, true);
        const headerFrames = view.getUint32(4, true);
        if (partCount === 0 || partCount > MAX_PARTS || headerFrames >= partCount) {
          throw new WireError(
            `Malformed message prefix: ${partCount} parts with ${headerFrames} header frames ` +
              `(a message has a header and at most ${MAX_PARTS - 1} frames).`,
          );
        }
        const maxParts = this.#guarded > 0 ? GUARDED_MAX_PARTS : this.#maxParts;
        if (partCount > maxParts) {
          throw new WireError(
            `A message of ${partCount - 1} frames exceeds the limit of ${maxParts - 1} ` +
              (this.#guarded > 0
                ? `before the handshake completes.`
                : `(maxFramesPerMessage); raise it on the receiving side if such messages are ` +
                  `expected.`),
          );
        }
        this.#partCount = partCount;
        this.#headerFrames = headerFrames;
        this.#state = LENGTHS;
        this.#need = 8 * partCount;
        return;
      }
      case LENGTHS: {
        const view = new DataView(field.buffer, field.byteOffset, field.byteLength);
        const lengths = new Array<number>(this.#partCount);
        for (let i = 0; i < this.#partCount; i++) {
          const length = view.getUint32(8 * i, true) + view.getUint32(8 * i + 4, true) * TWO_32;
          const [limit, name] = this.#guarded > 0
            ? [this.#maxHandshakeBytes, "maxHandshakeBytes, before the handshake completes"]
            : i === 0
            ? [this.#maxHeaderBytes, "maxHeaderBytes"]
            : [this.#maxFrameBytes, "maxFrameBytes"];
          if (length > limit) {
            throw new WireError(
              `A ${i === 0 ? "message header" : "frame"} of ${length} bytes exceeds the limit ` +
                `of ${limit} bytes (${name}); raise the limit on the receiving side if such ` +
                `messages are expected.`,
            );
          }
          lengths[i] = length;
        }
        this.#lengths = lengths;
        this.#parts = [];
        this.#state = PART;
        this.#need = lengths[0];
        return;
      }
      case PART: {
        this.#parts.push(field);
        if (this.#parts.length < this.#partCount) {
          this.#need = this.#lengths[this.#parts.length];
          return;
        }
        out.push(this.#finishMessage());
        this.#headerIsView = false;
        this.#parts = [];
        this.#state = COUNTS;
        this.#need = 8;
        if (this.#guarded > 0 && --this.#guarded === 0) this.#held = [];
        return;
      }
    }
  }

  #finishMessage(): Message {
    const parts = this.#parts;
    const split = 1 + this.#headerFrames;
    let header: unknown;
    try {
      header = decode({ body: parts[0], frames: parts.slice(1, split) });
    } catch (error) {
      throw new WireError(`A message header does not decode: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    return { header, frames: parts.slice(split) };
  }
}
