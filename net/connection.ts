/**
 * A handshaken connection carrying messages: its socket, its read loop feeding a
 * net/frame_reader.ts parser, and its write queue flushed once per tick.
 *
 * @module
 */

import { asError, errorMessage } from "../core/errors.ts";
import { encodeWith } from "../core/value_codec.ts";
import { formatAddress, parseAddress } from "./address.ts";
import { FrameReader } from "./frame_reader.ts";
import { type Message, WireError, WriteQueue } from "./framing.ts";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  handshakeBytes,
  helloFrom,
  type PeerHello,
} from "./handshake.ts";

/** Reads go into one reused buffer of this size, unless a large frame is being read. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Chunks at least this large are written as they are; smaller ones are joined into one write. */
const DIRECT_WRITE_MIN_BYTES = 64 * 1024;
/** Joined small chunks are written once they reach this size. */
const MAX_JOINED_WRITE_BYTES = 1 << 20;
const NO_FRAMES: readonly Uint8Array[] = [];

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

/** Closes a socket or listener, ignoring that it was closed already. */
export function closeQuietly(resource: { close(): void }): void {
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
