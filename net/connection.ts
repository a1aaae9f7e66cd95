/**
 * A handshaken connection carrying messages: its socket, its read loop feeding a
 * net/frame_reader.ts parser, and its write queue flushed once per tick.
 *
 * @module
 */

import { asError, errorMessage } from "../core/errors.ts";
import { encodeWith } from "../core/value_codec.ts";
import { type AddressScheme, formatAddress, parseAddress } from "./address.ts";
import {
  AUTH_PROOF_OP,
  AuthenticationError,
  authKey,
  checkAuthToken,
  checkProof,
  type ConnectionSide,
  type Credential,
  isIdentityName,
  newChallenge,
  proveToken,
  splitCredential,
  TASK_IDENTITY_PREFIX,
} from "./auth.ts";
import { FrameReader } from "./frame_reader.ts";
import { type Message, messageBytes, WireError, WriteQueue } from "./framing.ts";
import { handshakeBytes, helloFrom, type PeerHello } from "./handshake.ts";
import { DEFAULT_WIRE_LIMITS, type WireLimits } from "./limits.ts";
import { completeTlsHandshake, dialTls, type TlsConfig, tlsFailure } from "./tls.ts";
import { setTcpNoDelay } from "./tcp_no_delay.ts";
import { type ByteSocket, NodeTlsSocket } from "./mutual_tls_listener.ts";

/**
 * The client identity a dialer's certificate says: its common name when its subject is not this
 * side's own; undefined for the cluster's own subject (or no TLS).
 *
 * @throws {AuthenticationError} when that common name cannot name an identity.
 */
function certificateIdentity(conn: ByteSocket): string | undefined {
  if (
    !(conn instanceof NodeTlsSocket) || !conn.presentedCertificate ||
    conn.peerSubject === conn.ownSubject
  ) return undefined;
  const name = conn.peerCommonName;
  // (task credentials' names are the scheduler's: no certificate may claim one)
  if (!isIdentityName(name) || name.startsWith(TASK_IDENTITY_PREFIX)) {
    throw new AuthenticationError(
      `The peer's certificate (${conn.peerSubject}) has another subject than the cluster's, ` +
        `and its common name cannot name a client identity (letters, digits, _.@-, not ` +
        `"cluster", not starting with "${TASK_IDENTITY_PREFIX}"): give it a certificate with ` +
        `the cluster's subject, or a CN naming it.`,
    );
  }
  return name;
}

/**
 * The secret to prove and check with a peer that named `identity` (or none: the cluster's). For
 * an identity this side does not know, a random one (the peer then finds our proof wrong, as
 * for a wrong token, and learns nothing) and why the peer is refused.
 */
function secretFor(
  identity: string | undefined,
  own: Credential | null,
  identityTokens: ReadonlyMap<string, string> | undefined,
): { secret: string; unknown?: string } {
  // (an acceptor without the cluster's token challenges only dialers that name an identity)
  if (identity === undefined) return { secret: own!.secret };
  const secret = identityTokens?.get(identity);
  if (secret === undefined) {
    return {
      secret: Array.from(newChallenge(), (b) => b.toString(16).padStart(2, "0")).join(""),
      unknown:
        `The peer authenticates as client identity '${identity}', which this side does not ` +
        `know: ${
          identityTokens === undefined
            ? "it accepts only the cluster's token (client identities are the scheduler's)"
            : identity.startsWith(TASK_IDENTITY_PREFIX)
            ? "it is not a task credential in force (it ended with its task, or the scheduler " +
              "never made it)"
            : "it is not in the scheduler's client tokens file"
        }.`,
    };
  }
  return { secret };
}

/**
 * An accepted TLS dialer without a certificate may only prove a task credential (its hello names
 * a `task.` identity; the proof that follows checks it is one in force).
 *
 * @throws {AuthenticationError} before this side proves anything, naming what to give instead.
 */
function checkCertificateless(peer: PeerHello, checksIdentities: boolean): void {
  if (checksIdentities && peer.identity?.startsWith(TASK_IDENTITY_PREFIX) === true) return;
  throw new AuthenticationError(
    `The peer presented no certificate: without one this listener accepts only a running ` +
      `task's own credential (identity ${TASK_IDENTITY_PREFIX}…, proven in the handshake)` +
      `${peer.identity === undefined ? "" : `, not identity '${peer.identity}'`}. Give it a ` +
      `certificate signed by the cluster's CA (--tls-cert and --tls-key, or security: ` +
      `{ cert, key }).`,
  );
}

/** Reads go into one reused buffer of this size, unless a large frame is being read. */
const READ_CHUNK_BYTES = 64 * 1024;
/**
 * A connection starts reading into a buffer this small (its handshake, then small messages),
 * and moves to {@link READ_CHUNK_BYTES} the first time a read fills it: idle connections cost
 * 4 KiB each rather than 64.
 */
const FIRST_READ_BYTES = 4 * 1024;
/** Chunks at least this large are written as they are; smaller ones are joined into one write. */
const DIRECT_WRITE_MIN_BYTES = 64 * 1024;
/** Joined small chunks are written once they reach this size. */
const MAX_JOINED_WRITE_BYTES = 1 << 20;
const NO_FRAMES: readonly Uint8Array[] = [];

/** How a connection presents itself and what it accepts (limits: net/limits.ts). */
export interface ConnectionOptions extends Partial<Omit<WireLimits, "maxConnectionsPerHost">> {
  /** What this side is, told to the peer in the handshake: "scheduler", "worker", "client"... */
  role: string;
  /**
   * The cluster's shared secret. When set, both sides must prove they hold it in the handshake
   * (net/auth.ts) and a peer without it is refused before any of its messages is decoded; when
   * unset, a peer that asks for a proof is refused.
   */
  authToken?: string;
  /**
   * Client identities this side accepts besides the cluster's token (tenancy): name → token. A
   * dialer whose hello names one of them proves that identity's token instead, and
   * {@link Connection.identity} says which it proved. A dialer gives `authToken: "name:token"`.
   * An acceptor without `authToken` checks only dialers that prove one of these (it then reads
   * the dialer's hello before sending its own); others connect unauthenticated, as without it.
   */
  identityTokens?: ReadonlyMap<string, string>;
  /**
   * Over TLS, a dialer whose certificate's subject differs from this side's own is the client
   * identity its common name says (unless its token named one). For a scheduler with client
   * identities by certificate.
   */
  certificateIdentities?: boolean;
  /**
   * For a TLS listener: accept dialers that present no certificate at all, when their handshake
   * proves a task credential, an identity of {@link identityTokens} whose name starts with
   * `task.` (the scheduler's listener under tenancy: a task thread holds the CA, never a
   * certificate; scheduler/task_delegation.ts). A certificate that does not verify is refused
   * as ever, and so is a dialer without one that proves anything else.
   */
  acceptTaskCredentialsWithoutCertificate?: boolean;
  /**
   * TLS settings (net/tls.ts): needed to dial `tls://` addresses and to listen over TLS. With
   * `requireEncryption`, dialing a `tcp://` address is refused.
   */
  tls?: TlsConfig;
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
  /**
   * The client identity the peer proved (an accepted connection whose peer gave an identity's
   * token); undefined for the cluster's token, or when nothing is authenticated.
   */
  readonly identity: string | undefined;
  /**
   * For an accepted TLS connection: whether the dialer's certificate has this side's own subject
   * (the cluster's processes share one); undefined without TLS.
   */
  readonly sameCertificateSubject: boolean | undefined;
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

  readonly #conn: ByteSocket;
  readonly #reader: FrameReader;
  #readBuffer: Uint8Array;
  #incoming: Message[];
  #incomingHead = 0;
  #reading: Promise<void> | null = null;
  readonly #writes = new WriteQueue();
  #flushing: Promise<void> | null = null;
  #closing: Promise<CloseInfo> | null = null;
  #closeInfo: CloseInfo | null = null;
  #resolveClosed!: (info: CloseInfo) => void;

  private constructor(
    conn: ByteSocket,
    reader: FrameReader,
    peer: PeerHello,
    incoming: Message[],
    readBuffer: Uint8Array,
  ) {
    this.#conn = conn;
    this.#reader = reader;
    this.peer = peer;
    this.identity = peer.identity;
    this.sameCertificateSubject = conn instanceof NodeTlsSocket
      ? conn.peerSubject === conn.ownSubject
      : undefined;
    this.#incoming = incoming;
    this.#readBuffer = readBuffer;
    const scheme: AddressScheme = isTls(conn) ? "tls" : "tcp";
    this.localAddr = formatAddress(conn.localAddr as Deno.NetAddr, scheme);
    this.remoteAddr = formatAddress(conn.remoteAddr as Deno.NetAddr, scheme);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /**
   * Connects to `address` (`"tcp://host:port"`, `"tls://host:port"` or `"host:port"`) and
   * completes the handshake (after TLS's, for `tls://`).
   *
   * @throws {TypeError} for an invalid address, a `tls://` one without `options.tls`, or a
   *   `tcp://` one with `options.tls.requireEncryption`.
   * @throws {WireError} when the peer's handshake is wrong or missing (a {@link TlsError} for
   *   TLS's), or a socket error.
   */
  static async connect(address: string, options: ConnectionOptions): Promise<Connection> {
    const { hostname, port, scheme } = parseAddress(address);
    if (options.authToken !== undefined) checkAuthToken(splitCredential(options.authToken).secret);
    let conn: ByteSocket;
    if (scheme === "tls") {
      if (options.tls === undefined) {
        throw new TypeError(
          `${address} is a TLS address: give the cluster's CA certificate to connect to it ` +
            `(--tls-ca-file, or security: { caFile }).`,
        );
      }
      conn = await dialTls(hostname, port, options.tls);
    } else {
      if (options.tls?.requireEncryption === true) {
        throw new TypeError(
          `Refusing the plain TCP address ${address}: encryption is required ` +
            `(requireEncryption). Use the peer's tls:// address.`,
        );
      }
      conn = await Deno.connect({ hostname, port, transport: "tcp" });
    }
    return await Connection.open(conn, options, "dialer");
  }

  /**
   * Runs the handshake over a socket just connected (`side` "dialer") or accepted ("acceptor"):
   * both sides send their hello, both check the other's, and with an auth token both prove
   * they hold it. Until then the peer's messages are read under the handshake limits and nothing
   * but its hello and proof is decoded. On failure the socket is closed and a WireError tells
   * why.
   */
  static async open(
    conn: ByteSocket,
    options: ConnectionOptions,
    side: ConnectionSide,
  ): Promise<Connection> {
    const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_WIRE_LIMITS.handshakeTimeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, timeoutMs);
    try {
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
      await completeTlsHandshake(conn);
      const own = options.authToken === undefined ? null : splitCredential(options.authToken);
      // a dialer names the identity it proves; an acceptor proves whichever the dialer named
      const identity = side === "dialer" ? own?.identity : undefined;
      // Without the cluster's token, an acceptor that knows identities' tokens (the scheduler's
      // over mutual TLS, for task credentials) checks a dialer that proves one: it reads the
      // dialer's hello before sending its own, and challenges only such a dialer.
      const answersIdentities = side === "acceptor" && own === null &&
        options.identityTokens !== undefined;
      let challenge = own === null ? undefined : newChallenge();
      const reader = new FrameReader({
        ...options,
        handshake: true,
        guardedMessages: own === null && !answersIdentities ? 1 : 2,
      });
      const buffer = new Uint8Array(FIRST_READ_BYTES);
      const received: Message[] = [];
      const receive = async (count: number) => {
        while (received.length < count) {
          const n = await conn.read(buffer);
          if (n === null) {
            throw new WireError("The peer closed the connection during the handshake.");
          }
          for (const message of reader.push(buffer.subarray(0, n))) received.push(message);
        }
      };
      const sendHello = () =>
        writeAll(conn, handshakeBytes({ role: options.role, challenge, identity }));
      if (!answersIdentities) await sendHello();
      await receive(1);
      // The acceptor spoke, so its TLS layer took our certificate: Nagle off from now on
      // (net/tcp_no_delay.ts). Not before: a hello sent at once races the server's verdict, and
      // a server that refuses our certificate then closes with that hello unread, whose reset
      // can destroy its alert before we read it (measured: 3 of 8 runs of security_tls_test lost
      // "CertificateRequired" that way).
      if (side === "dialer" && isTls(conn)) setTcpNoDelay(conn as Deno.TlsConn);
      const peer = helloFrom(received[0].header);
      if (answersIdentities && peer.identity !== undefined && peer.challenge !== undefined) {
        challenge = newChallenge();
      }
      if (conn instanceof NodeTlsSocket && !conn.presentedCertificate) {
        // only the listener that asked for it hands such a socket out (mutual_tls_listener.ts)
        checkCertificateless(peer, challenge !== undefined && options.identityTokens !== undefined);
      }
      if (answersIdentities) await sendHello();
      // an identity counts once proven, and only a dialer's (an acceptor's claim means nothing)
      if (side === "dialer" || challenge === undefined) delete peer.identity;
      if (challenge !== undefined) {
        const { secret, unknown } = secretFor(peer.identity, own, options.identityTokens);
        const key = await authKey(secret);
        if (peer.challenge === undefined) {
          throw new AuthenticationError(
            "The peer does not authenticate: it was started without the cluster's auth token.",
          );
        }
        const proof = await proveToken(key, side, options.role, peer.challenge, challenge);
        await writeAll(conn, messageBytes({ header: { op: AUTH_PROOF_OP, proof } }));
        await receive(2);
        if (unknown !== undefined) throw new AuthenticationError(unknown);
        const peerSide = side === "dialer" ? "acceptor" : "dialer";
        await checkProof(
          key,
          received[1].header,
          { side: peerSide, role: peer.role, challenge: peer.challenge },
          challenge,
        );
      } else if (peer.challenge !== undefined) {
        throw new AuthenticationError(
          "The peer requires an auth token and this side has none: give it the cluster's " +
            "token (--auth-token-file, or the DASK_DENO_AUTH_TOKEN environment variable).",
        );
      }
      if (options.certificateIdentities === true && peer.identity === undefined) {
        const identity = certificateIdentity(conn);
        if (identity !== undefined) peer.identity = identity;
      }
      const rest = reader.unguard();
      return new Connection(conn, reader, peer, rest, buffer);
    } catch (error) {
      closeQuietly(conn);
      if (timedOut) {
        throw new WireError(`The peer did not complete its handshake within ${timeoutMs} ms.`);
      }
      if (error instanceof WireError) throw error;
      // a socket error on TLS during our handshake is TLS's: an alert, or a peer that hung up
      if (isTls(conn)) throw tlsFailure(asError(error));
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

  /**
   * Whether waiting for the peer keeps this process alive (the default). A client's links let a
   * script end while nothing is pending (`Deno.Conn.unref`); writes already queued still finish.
   */
  holdProcess(hold: boolean): void {
    if (this.#closeInfo !== null) return;
    try {
      if (hold) this.#conn.ref();
      else this.#conn.unref();
    } catch {
      // closed meanwhile
    }
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
    if (n === this.#readBuffer.byteLength && buffer === this.#readBuffer) {
      // a busy connection: read in larger pieces from now on (the old buffer is done with)
      if (n < READ_CHUNK_BYTES) this.#readBuffer = new Uint8Array(READ_CHUNK_BYTES);
    }
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
    // give back what a half-read message holds (a peer may have claimed a large one)
    this.#reader.release(info.reason);
    // the pending read ends only after the close: an unref'd one would not hold the process
    // for that, and whoever awaits `closed` would find the event loop already done
    try {
      this.#conn.ref();
    } catch {
      // closed already
    }
    closeQuietly(this.#conn);
    // Resolve only once the socket's pending read and write have ended (no op outlives close).
    Promise.allSettled([this.#reading, this.#flushing]).then(() => this.#resolveClosed(info));
  }
}

function isTls(conn: ByteSocket): boolean {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

async function writeAll(conn: ByteSocket, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.byteLength;) at += await conn.write(bytes.subarray(at));
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
