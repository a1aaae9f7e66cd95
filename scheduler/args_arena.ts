/**
 * Packs the small encoded arguments of an `update-graph` into shared buffers. Decoding gives each
 * task's argument body an `ArrayBuffer` of its own (~100 bytes of heap plus a native backing
 * store each) that the scheduler keeps, unread, until the task is forgotten; packed, a
 * million-task map holds a few hundred buffers instead of a million. The scheduler only forwards
 * arguments, so a range of a shared buffer is as good as owned bytes.
 *
 * @module
 */

/** Bodies up to this size are packed; larger ones keep their own buffer. */
const PACKED_BODY_MAX_BYTES = 512;
/**
 * Size of one shared buffer: hundreds of typical bodies (tens of bytes each), yet small, so that
 * a long-lived task whose neighbours were forgotten keeps little dead memory alive.
 */
const ARENA_BYTES = 8 * 1024;
/** The frames of every packed argument: none (shared, never written). */
const NO_FRAMES: Uint8Array[] = [];

/** The `Encoded` shape (core/value_codec.ts) of a task's arguments. */
export interface EncodedArgs {
  body: Uint8Array;
  frames: Uint8Array[];
}

function packable(args: unknown): args is EncodedArgs {
  const a = args as EncodedArgs | null;
  return a !== null && typeof a === "object" && a.body instanceof Uint8Array &&
    Array.isArray(a.frames) && a.frames.length === 0 &&
    a.body.byteLength <= PACKED_BODY_MAX_BYTES;
}

/**
 * A small argument body held as a range of a shared buffer: three numbers and a reference, where
 * a decoded `Encoded` costs an object, an array and a `Uint8Array` of its own.
 */
export class PackedArgs {
  constructor(
    readonly arena: Uint8Array,
    readonly start: number,
    readonly end: number,
  ) {}

  /** The arguments as they travel (a view into the shared buffer; no copy). */
  toEncoded(): EncodedArgs {
    return { body: this.arena.subarray(this.start, this.end), frames: NO_FRAMES };
  }
}

/** `args` as the scheduler keeps them: small, frameless bodies packed into shared buffers. */
export function packArgs(args: unknown, arena: ArgsArena): unknown {
  return packable(args) ? arena.pack(args.body) : args;
}

/** `args` as they travel in a `compute-task`. */
export function unpackArgs(args: unknown): unknown {
  return args instanceof PackedArgs ? args.toEncoded() : args;
}

/** Hands out ranges of shared buffers, a new one when the current is full. */
export class ArgsArena {
  #buffer: Uint8Array | null = null;
  #used = 0;

  /** Copies `body` into the current shared buffer. */
  pack(body: Uint8Array): PackedArgs {
    const n = body.byteLength;
    if (this.#buffer === null || this.#used + n > this.#buffer.byteLength) {
      this.#buffer = new Uint8Array(ARENA_BYTES);
      this.#used = 0;
    }
    const start = this.#used;
    this.#buffer.set(body, start);
    this.#used += n;
    return new PackedArgs(this.#buffer, start, this.#used);
  }
}
