/**
 * Wire framing: how messages travel over TCP between the scheduler, workers and clients.
 *
 * A connection starts with a handshake both sides send at once and both check: the 4 bytes
 * `"DSK"` + protocol version, then a hello message `{op: "hello", version, role, auth?}` (the
 * room for authentication: `auth` is carried, and the owner of the connection checks it). Then
 * come messages, each laid out as
 *
 * ```
 * u32 partCount, u32 headerFrameCount, partCount × u64 part length   (little-endian)
 * part 0: the header's msgpack body (value_codec), then its frames, then the message's frames
 * ```
 *
 * so large buffers inside a header travel out of band, written from the sender's memory and read
 * into their own buffer on the receiver, never copied on the way. A message over the size limit
 * or one that does not decode closes its connection with a reason; the process goes on serving
 * every other connection.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import { decode, encode, encodeWith } from "../core/value_codec.ts";

/** The protocol version this peer speaks; peers of another version are refused at handshake. */
export const PROTOCOL_VERSION = 1;

/** The largest part (header or frame) a reader accepts unless told otherwise: 1 GiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 30;

/** How long a new connection may take to complete its handshake unless told otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

const MAGIC = [0x44, 0x53, 0x4b]; // "DSK"
const HANDSHAKE_PREFIX_BYTES = 4;
/** More parts than this in one message is not a message this protocol produces. */
const MAX_PARTS = 1 << 20;
const TWO_32 = 2 ** 32;
/** Reads go into one reused buffer of this size, unless a large frame is being read. */
const READ_CHUNK_BYTES = 64 * 1024;
/** A frame with at least this much left to arrive is read straight into its own buffer. */
const DIRECT_READ_MIN_BYTES = 64 * 1024;
/** Chunks at least this large are written as they are; smaller ones are joined into one write. */
const DIRECT_WRITE_MIN_BYTES = 64 * 1024;
/** Joined small chunks are written once they reach this size. */
const MAX_JOINED_WRITE_BYTES = 1 << 20;
/** Small messages are encoded back to back into buffers of this size (or a message's size). */
const WRITE_BUFFER_BYTES = 16 * 1024;
const NO_FRAMES: readonly Uint8Array[] = [];

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

/** What a peer says about itself in its handshake. */
export interface PeerHello {
  version: number;
  /** "scheduler", "worker", "client"...: what the peer is. */
  role: string;
  /** A credential for the owner of the connection to check; the wire does not interpret it. */
  auth?: string;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

// ---------------------------------------------------------------------------------------------
// Encoding

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
 * The bytes waiting to be written, in order: each message's prefix and header body are copied
 * back to back into a shared buffer (one allocation per many small messages, not two per
 * message), its frames queued as they are (views, no copy).
 */
class WriteQueue {
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

/** What one side sends first: the magic and version, then its hello message. */
export function handshakeBytes(options: { role: string; auth?: string }): Uint8Array {
  const hello: PeerHello = { version: PROTOCOL_VERSION, role: options.role };
  if (options.auth !== undefined) hello.auth = options.auth;
  const chunks = encodeMessage({ header: { op: "hello", ...hello } });
  let total = HANDSHAKE_PREFIX_BYTES;
  for (const chunk of chunks) total += chunk.byteLength;
  const bytes = new Uint8Array(total);
  bytes.set(MAGIC);
  bytes[3] = PROTOCOL_VERSION;
  let at = HANDSHAKE_PREFIX_BYTES;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * Checks the first 4 bytes a peer sent and returns its protocol version.
 *
 * @throws {WireError} when they are not this protocol's magic, or the version differs.
 */
export function parseHandshakePrefix(prefix: Uint8Array): number {
  if (prefix.byteLength < HANDSHAKE_PREFIX_BYTES) {
    throw new WireError(`A handshake starts with ${HANDSHAKE_PREFIX_BYTES} bytes; got fewer.`);
  }
  if (prefix[0] !== MAGIC[0] || prefix[1] !== MAGIC[1] || prefix[2] !== MAGIC[2]) {
    const got = Array.from(prefix.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
    throw new WireError(
      `The peer did not open with this protocol's handshake (got bytes ${got.join(" ")}, ` +
        `expected "DSK" and a version): it is not a scheduler, worker or client of this ` +
        `cluster, or it connected to the wrong port.`,
    );
  }
  const version = prefix[3];
  if (version !== PROTOCOL_VERSION) {
    throw new WireError(
      `protocol version ${version} not supported; this peer speaks ${PROTOCOL_VERSION}. ` +
        `Run the same release on the scheduler, the workers and the clients.`,
    );
  }
  return version;
}

/** Reads a hello message's header, checking its shape. */
function helloFrom(header: unknown): PeerHello {
  const h = header as { op?: unknown; version?: unknown; role?: unknown; auth?: unknown } | null;
  if (
    h === null || typeof h !== "object" || h.op !== "hello" || typeof h.role !== "string" ||
    h.version !== PROTOCOL_VERSION || (h.auth !== undefined && typeof h.auth !== "string")
  ) {
    throw new WireError(
      "The peer's first message is not a valid hello ({op: 'hello', version, role, auth?}).",
    );
  }
  const hello: PeerHello = { version: h.version, role: h.role };
  if (h.auth !== undefined) hello.auth = h.auth as string;
  return hello;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** How a {@link FrameReader} checks what it reads. */
export interface FrameReaderOptions {
  /** The largest header or frame accepted, in bytes; larger ones are a WireError. 1 GiB. */
  maxFrameBytes?: number;
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
  readonly #sharedFrameMinBytes: number;
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
    try {
      let at = 0;
      for (;;) {
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
          if (length > this.#maxFrameBytes) {
            throw new WireError(
              `A ${i === 0 ? "message header" : "frame"} of ${length} bytes exceeds the limit ` +
                `of ${this.#maxFrameBytes} bytes (maxFrameBytes); raise the limit on the ` +
                `receiving side if such messages are expected.`,
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

// ---------------------------------------------------------------------------------------------
// Addresses

/**
 * Splits `"tcp://host:port"` or `"host:port"` (IPv6 hosts in brackets: `"tcp://[::1]:8786"`).
 *
 * @throws {TypeError} saying what a valid address looks like.
 */
export function parseAddress(address: string): { hostname: string; port: number } {
  const invalid = (why: string) =>
    new TypeError(
      `Invalid address ${JSON.stringify(address)}: ${why}. Expected "tcp://host:port" or ` +
        `"host:port", e.g. "tcp://127.0.0.1:8786".`,
    );
  let rest = address.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (scheme !== null) {
    if (scheme[1].toLowerCase() !== "tcp") {
      throw invalid(`the scheme ${scheme[1]}:// is not supported, only tcp://`);
    }
    rest = rest.slice(scheme[0].length);
  }
  let hostname: string;
  let portText: string;
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0 || rest[end + 1] !== ":") throw invalid("a bracketed host needs ]:port after it");
    hostname = rest.slice(1, end);
    portText = rest.slice(end + 2);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon < 0) throw invalid("the port is missing");
    hostname = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (hostname.includes(":")) throw invalid("an IPv6 host must be written in brackets");
  }
  if (hostname === "") throw invalid("the host is missing");
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw invalid(`the port ${JSON.stringify(portText)} is not a number from 0 to 65535`);
  }
  return { hostname, port: Number(portText) };
}

/** The `tcp://host:port` form of a socket address. */
export function formatAddress(address: { hostname: string; port: number }): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `tcp://${host}:${address.port}`;
}

// ---------------------------------------------------------------------------------------------
// Connections

/** How a connection presents itself and what it accepts. */
export interface ConnectionOptions {
  /** What this side is, told to the peer in the handshake: "scheduler", "worker", "client"... */
  role: string;
  /** A credential for the peer to check; carried in the handshake. */
  auth?: string;
  /** The largest header or frame accepted from the peer. 1 GiB. */
  maxFrameBytes?: number;
  /** The peer must complete its handshake within this time. 10 s. */
  handshakeTimeoutMs?: number;
  /** See {@link FrameReaderOptions.sharedFrameMinBytes}. Default: never. */
  sharedFrameMinBytes?: number;
}

/** Why a connection closed. */
export interface CloseInfo {
  reason: string;
  /** The error behind the reason, when there was one (a WireError for protocol violations). */
  error?: Error;
}

/** Counters of a connection's traffic, for diagnostics and tests. */
export interface ConnectionStats {
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Calls to the socket's write: many small messages sent in one tick share one. */
  writes: number;
  reads: number;
}

/**
 * A handshaken TCP connection carrying {@link Message}s.
 *
 * `send` queues and returns at once; every message sent in the same tick goes out in one write
 * (large frames in writes of their own, from the caller's memory). Incoming messages come from
 * iterating the connection (`for await (const message of connection)`), one reader at a time;
 * iteration ends when the connection closes, and {@link closed} says why. A peer's departure
 * is noticed while the connection is iterated (or when a write fails), so its owner keeps
 * iterating. Nothing here throws into the event loop: a broken peer only closes its own
 * connection. The send queue is not bounded: await {@link flush} to pace large sends.
 */
export class Connection implements AsyncIterable<Message> {
  /** What the peer said about itself in its handshake. */
  readonly peer: PeerHello;
  readonly localAddr: string;
  readonly remoteAddr: string;
  readonly stats: ConnectionStats = {
    messagesSent: 0,
    messagesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    writes: 0,
    reads: 0,
  };
  /** Resolves (never rejects) once the connection is closed and its socket operations ended. */
  readonly closed: Promise<CloseInfo>;

  readonly #conn: Deno.TcpConn;
  readonly #reader: FrameReader;
  readonly #readBuffer: Uint8Array;
  #incoming: Message[];
  #incomingHead = 0;
  #reading: Promise<void> | null = null;
  readonly #writes = new WriteQueue();
  #flushing: Promise<void> | null = null;
  #closing: Promise<CloseInfo> | null = null;
  #closeInfo: CloseInfo | null = null;
  #resolveClosed!: (info: CloseInfo) => void;

  private constructor(
    conn: Deno.TcpConn,
    reader: FrameReader,
    peer: PeerHello,
    incoming: Message[],
    readBuffer: Uint8Array,
  ) {
    this.#conn = conn;
    this.#reader = reader;
    this.peer = peer;
    this.#incoming = incoming;
    this.#readBuffer = readBuffer;
    this.localAddr = formatAddress(conn.localAddr);
    this.remoteAddr = formatAddress(conn.remoteAddr);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /**
   * Connects to `address` (`"tcp://host:port"` or `"host:port"`) and completes the handshake.
   *
   * @throws {WireError} when the peer's handshake is wrong or missing, or a socket error.
   */
  static async connect(address: string, options: ConnectionOptions): Promise<Connection> {
    const { hostname, port } = parseAddress(address);
    const conn = await Deno.connect({ hostname, port, transport: "tcp" });
    return await Connection.open(conn, options);
  }

  /**
   * Runs the handshake over a socket just connected or accepted (both sides send theirs, both
   * check the other's). On failure the socket is closed and a WireError tells why.
   */
  static async open(conn: Deno.TcpConn, options: ConnectionOptions): Promise<Connection> {
    const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, timeoutMs);
    try {
      conn.setNoDelay(true);
      const reader = new FrameReader({
        maxFrameBytes: options.maxFrameBytes,
        sharedFrameMinBytes: options.sharedFrameMinBytes,
        handshake: true,
      });
      const hello = handshakeBytes(options);
      for (let at = 0; at < hello.byteLength;) at += await conn.write(hello.subarray(at));
      const buffer = new Uint8Array(READ_CHUNK_BYTES);
      const received: Message[] = [];
      while (received.length === 0) {
        const n = await conn.read(buffer);
        if (n === null) throw new WireError("The peer closed the connection during the handshake.");
        for (const message of reader.push(buffer.subarray(0, n))) received.push(message);
      }
      const peer = helloFrom(received[0].header);
      return new Connection(conn, reader, peer, received.slice(1), buffer);
    } catch (error) {
      closeQuietly(conn);
      if (timedOut) {
        throw new WireError(`The peer did not complete its handshake within ${timeoutMs} ms.`);
      }
      if (error instanceof WireError) throw error;
      throw new WireError(`The handshake failed: ${errorMessage(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Messages already received and not yet taken by the iterator: 0 means the next one needs a
   * read. Lets an owner act once per burst of messages rather than once per message.
   */
  get buffered(): number {
    return this.#incoming.length - this.#incomingHead;
  }

  /** True once the connection is closed or closing: {@link send} drops messages then. */
  get isClosed(): boolean {
    return this.#closeInfo !== null || this.#closing !== null;
  }

  /**
   * Queues a message; it is written with every other message sent in this tick. Returns false,
   * dropping the message, when the connection is closed or closing ({@link closed} says why).
   * Frames are sent from the caller's memory: do not modify them before {@link flush} resolves.
   *
   * @throws {UnserializableError} when the header holds something that cannot travel.
   */
  send(message: Message): boolean {
    if (this.isClosed) return false;
    encodeWith(
      message.header,
      (body, frames) => this.#writes.push(body, frames, message.frames ?? NO_FRAMES),
      { rootName: "header" },
    );
    this.stats.messagesSent++;
    this.#flushing ??= this.#flush();
    return true;
  }

  /** Resolves once everything sent so far is written (or the connection closed). */
  flush(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  /**
   * Writes what is queued, then closes. A peer that stopped reading can keep this waiting:
   * {@link abort} closes at once.
   */
  close(reason = "closed locally"): Promise<CloseInfo> {
    this.#closing ??= (async () => {
      while (this.#flushing !== null) await this.#flushing;
      this.#shutdown({ reason });
      return await this.closed;
    })();
    return this.#closing;
  }

  /** Closes at once, dropping what is not written yet. */
  abort(reason = "aborted locally"): Promise<CloseInfo> {
    this.#shutdown({ reason });
    return this.closed;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      if (this.#incomingHead < this.#incoming.length) {
        const message = this.#incoming[this.#incomingHead++];
        if (this.#incomingHead === this.#incoming.length) {
          this.#incoming = [];
          this.#incomingHead = 0;
        }
        yield message;
        continue;
      }
      if (this.#closeInfo !== null) return;
      this.#reading ??= this.#readSome().finally(() => this.#reading = null);
      await this.#reading;
    }
  }

  async #readSome(): Promise<void> {
    const target = this.#reader.directTarget();
    const buffer = target ?? this.#readBuffer;
    let n: number | null;
    try {
      n = await this.#conn.read(buffer);
    } catch (error) {
      this.#shutdown({ reason: `read failed: ${errorMessage(error)}`, error: asError(error) });
      return;
    }
    if (n === null) {
      this.#shutdown({ reason: "closed by the peer" });
      return;
    }
    this.stats.reads++;
    this.stats.bytesReceived += n;
    try {
      const messages = target !== null
        ? this.#reader.directFilled(n)
        : this.#reader.push(buffer.subarray(0, n));
      for (const message of messages) this.#incoming.push(message);
      this.stats.messagesReceived += messages.length;
    } catch (error) {
      this.#shutdown({ reason: `protocol error: ${errorMessage(error)}`, error: asError(error) });
    }
  }

  async #flush(): Promise<void> {
    try {
      await Promise.resolve(); // let every send() of this tick join the batch
      while (!this.#writes.isEmpty && this.#closeInfo === null) {
        const batch = this.#writes.take();
        for (const bytes of joinSmallChunks(batch)) {
          for (let at = 0; at < bytes.byteLength;) {
            at += await this.#conn.write(bytes.subarray(at));
            this.stats.writes++;
          }
          this.stats.bytesSent += bytes.byteLength;
        }
      }
    } catch (error) {
      this.#shutdown({ reason: `write failed: ${errorMessage(error)}`, error: asError(error) });
    } finally {
      this.#flushing = null;
    }
  }

  #shutdown(info: CloseInfo): void {
    if (this.#closeInfo !== null) return;
    this.#closeInfo = info;
    this.#writes.clear();
    closeQuietly(this.#conn);
    // Resolve only once the socket's pending read and write have ended (no op outlives close).
    Promise.allSettled([this.#reading, this.#flushing]).then(() => this.#resolveClosed(info));
  }
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}

/** Joins runs of small chunks into single writes; large chunks are yielded as they are. */
function* joinSmallChunks(chunks: Uint8Array[]): Generator<Uint8Array> {
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const joined = (): Uint8Array => {
    const out = run.length === 1 ? run[0] : new Uint8Array(runBytes);
    if (run.length > 1) {
      let at = 0;
      for (const chunk of run) {
        out.set(chunk, at);
        at += chunk.byteLength;
      }
    }
    run = [];
    runBytes = 0;
    return out;
  };
  for (const chunk of chunks) {
    if (chunk.byteLength >= DIRECT_WRITE_MIN_BYTES) {
      if (run.length > 0) yield joined();
      yield chunk;
      continue;
    }
    run.push(chunk);
    runBytes += chunk.byteLength;
    if (runBytes >= MAX_JOINED_WRITE_BYTES) yield joined();
  }
  if (run.length > 0) yield joined();
}

// ---------------------------------------------------------------------------------------------
// Batches

/** The op of a message that carries several messages (docs/protocol.md, "Batches"). */
export const BATCH_OP = "batch";

/** Several messages travelling as one, to be handled in order as if each came on its own. */
export interface BatchHeader {
  op: typeof BATCH_OP;
  msgs: unknown[];
}

/**
 * Sends `headers` in order as one message: the header itself when alone, else a `batch` (one
 * encode, one frame and one dispatch on the receiver instead of one per message). Returns false,
 * dropping them, when the connection is closed or closing.
 *
 * @throws {UnserializableError} when a header holds something that cannot travel.
 */
export function sendHeaders(connection: Connection, headers: unknown[]): boolean {
  if (headers.length === 0) return !connection.isClosed;
  const header = headers.length === 1 ? headers[0] : { op: BATCH_OP, msgs: headers };
  return connection.send({ header });
}

/**
 * The messages a received header carries, in order: a batch's `msgs`, or the header itself.
 * Null when the header is a batch whose `msgs` is not a list (the peer is broken).
 */
export function unbatch(header: unknown): unknown[] | null {
  const h = header as { op?: unknown; msgs?: unknown } | null;
  if (h === null || typeof h !== "object" || h.op !== BATCH_OP) return [header];
  return Array.isArray(h.msgs) ? h.msgs : null;
}

/**
 * Collects the headers sent to one connection during a synchronous run of code (a thread's
 * batch of results, a burst of events) and sends them as one message in a microtask. Messages
 * keep their order; {@link flush} sends what is queued at once, before a close or a message
 * sent on the connection directly.
 */
export class BatchSender {
  readonly connection: Connection;
  readonly #onError: (error: Error) => void;
  #queue: unknown[] = [];

  /** @param onError told about a header that cannot travel (it is dropped, the rest go) */
  constructor(connection: Connection, onError: (error: Error) => void) {
    this.connection = connection;
    this.#onError = onError;
  }

  /** Queues a header; false, dropping it, when the connection is closed or closing. */
  send(header: unknown): boolean {
    if (this.connection.isClosed) return false;
    if (this.#queue.push(header) === 1) queueMicrotask(() => this.flush());
    return true;
  }

  /** Sends what is queued now. */
  flush(): void {
    const headers = this.#queue;
    if (headers.length === 0) return;
    this.#queue = [];
    try {
      sendHeaders(this.connection, headers);
    } catch {
      // One header cannot travel: the others still go, each on its own, in order.
      for (const header of headers) {
        try {
          this.connection.send({ header });
        } catch (error) {
          this.#onError(asError(error));
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Listening

/** Where and how {@link listen} accepts connections. */
export interface ListenOptions extends Omit<ConnectionOptions, "role"> {
  hostname: string;
  /** 0 picks a free port; the listener's `addr` tells which. */
  port: number;
  /** This side's role in the handshake. "scheduler" by default. */
  role?: string;
  /** Told about every connection refused (bad handshake) or failing in `onConnection`. */
  onError?: (error: Error, remoteAddr: string) => void;
}

/** A listening socket; `close` stops accepting (connections already handed out stay open). */
export interface Listener {
  /** `tcp://host:port`, with the real port when 0 was asked for. */
  readonly addr: string;
  readonly port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function logRefused(error: Error, remoteAddr: string): void {
  console.warn(`[wire] connection from ${remoteAddr} refused: ${error.message}`);
}

/**
 * Listens for TCP connections, runs each one's handshake, and hands those that pass to
 * `onConnection`. Peers that fail the handshake are disconnected and reported to `onError`
 * (logged by default); the listener keeps serving everyone else.
 */
export function listen(
  options: ListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (error) {
    return Promise.reject(error); // e.g. the port is taken: the caller's await sees it
  }
  const onError = options.onError ?? logRefused;
  const connectionOptions: ConnectionOptions = { ...options, role: options.role ?? "scheduler" };
  const handshaking = new Set<Deno.TcpConn>();
  const handshakes = new Set<Promise<void>>();
  let closed = false;

  const welcome = async (conn: Deno.TcpConn) => {
    const remote = formatAddress(conn.remoteAddr);
    handshaking.add(conn);
    let connection: Connection;
    try {
      connection = await Connection.open(conn, connectionOptions);
    } catch (error) {
      if (!closed) onError(asError(error), remote);
      return;
    } finally {
      handshaking.delete(conn);
    }
    if (closed) {
      await connection.abort("the listener closed");
      return;
    }
    try {
      onConnection(connection);
    } catch (error) {
      onError(asError(error), remote);
    }
  };

  const acceptLoop = (async () => {
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed || error instanceof Deno.errors.BadResource) break;
        onError(asError(error), "(accept)");
        // e.g. out of file descriptors: pause instead of spinning
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const handshake = welcome(conn).finally(() => handshakes.delete(handshake));
      handshakes.add(handshake);
    }
  })();

  const address = listener.addr;
  const close = async () => {
    if (!closed) {
      closed = true;
      closeQuietly(listener);
      for (const conn of handshaking) closeQuietly(conn);
    }
    await acceptLoop;
    await Promise.allSettled([...handshakes]);
  };
  return Promise.resolve({
    addr: formatAddress(address),
    port: address.port,
    close,
    [Symbol.asyncDispose]: close,
  });
}
