/**
 * A TLS listener that requires every peer to present a certificate signed by the cluster's CA
 * (mutual TLS, as Dask's `Security` does). `Deno.listenTls` cannot ask for client certificates
 * (its options are `cert`, `key` and `alpnProtocols`); Deno's `node:tls` server can
 * (`requestCert` with `ca`, rustls' client verifier underneath), so the listener is a `node:tls`
 * server whose sockets are adapted to the few methods a {@link Connection} uses.
 *
 * Peers that fail the TLS handshake — plain TCP, no certificate, a certificate from another CA —
 * never reach `accept`; they are reported to `onRefused` with their address.
 *
 * With `acceptWithoutCertificate` (the scheduler's listener, for tasks' own clients under tenancy:
 * docs/security.md) a peer that presents no certificate at all completes the TLS handshake and is
 * handed out marked {@link NodeTlsSocket.presentedCertificate} false: the connection's handshake
 * must then prove a task credential (net/connection.ts). A certificate that does not verify
 * against the CA is still refused here. Measured with Deno 2.9.6's `node:tls` (`requestCert`,
 * `rejectUnauthorized: false`): a dialer without a certificate gets `authorized` false and an
 * empty `getPeerCertificate()`; one with another CA's certificate gets `authorized` false, its
 * certificate's subject and `authorizationError` `UNABLE_TO_VERIFY_LEAF_SIGNATURE`; one of the CA
 * that has expired, `authorized` false and `CERT_HAS_EXPIRED`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type net from "node:net";
import tls from "node:tls";
import { type TlsConfig, TlsError } from "./tls.ts";

/** What a connection needs of a socket: Deno's `Conn` has it, and so does {@link NodeTlsSocket}. */
export interface ByteSocket {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  /** Let the socket keep the process alive (the default) — or not, while idle (`unref`). */
  ref(): void;
  unref(): void;
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
}

/**
 * The most one write hands to node's TLS socket, one piece at a time. Measured moving 100 MB in one
 * process: a single write went at 61 MB/s, 1 MiB pieces at 285–517 MB/s. Queuing further pieces
 * before the first completes sends them through node's buffered `writev` path: 200 MB cost the
 * sender 570 ms of CPU with every piece queued at once, 170 with two in flight, 100–110 one at a
 * time; pieces of 256 KiB or 4 MiB changed nothing (2026-12-06, docs/security.md).
 */
const MAX_WRITE_BYTES = 1 << 20;
/** Incoming bytes held before `read` takes them; above this the socket stops reading. */
const MAX_QUEUED_BYTES = 1 << 20;

function netAddr(address: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: address?.replace(/^::ffff:/, "") ?? "", port: port ?? 0 };
}

/** A certificate subject as text: `CN=…,O=…`. */
function subjectText(subject: object): string {
  return Object.entries(subject).map(([k, v]) => `${k}=${v}`).join(",");
}

/** A `node:tls` socket, after its handshake, as a {@link ByteSocket}. */
export class NodeTlsSocket implements ByteSocket {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  /** The subject of the peer's certificate (verified against the CA), e.g. `CN=worker-3`. */
  readonly peerSubject: string;
  /** The common name in that subject, if it has one. */
  readonly peerCommonName: string | undefined;
  /** The subject of this side's own certificate. */
  readonly ownSubject: string;
  /**
   * Whether the peer presented a certificate (always verified against the CA: a listener refuses
   * one that is not). False only on a listener that accepts peers without one.
   */
  readonly presentedCertificate: boolean;
  readonly #socket: tls.TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    socket.setNoDelay(true); // small messages go at once, as on our plain TCP sockets
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    const certificate = socket.getPeerCertificate();
    this.presentedCertificate = certificate !== null && Object.keys(certificate).length > 0;
    const subject = certificate?.subject ?? {};
    this.peerSubject = subjectText(subject);
    this.peerCommonName = typeof subject.CN === "string" ? subject.CN : undefined;
    const own = socket.getCertificate();
    this.ownSubject = own !== null && "subject" in own ? subjectText(own.subject ?? {}) : "";
    socket.on("data", (chunk: Buffer) => {
      this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#queued += chunk.byteLength;
      if (this.#queued > MAX_QUEUED_BYTES) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Present for `Deno.TlsConn` likeness: the handshake completed before the socket was handed out. */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return Promise.resolve({ alpnProtocol: null });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== null) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < buffer.byteLength && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(chunk.byteLength, buffer.byteLength - n);
      buffer.set(chunk.subarray(0, take), n);
      n += take;
      if (take === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued <= MAX_QUEUED_BYTES / 2 && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  /**
   * Writes up to {@link MAX_WRITE_BYTES} of `bytes` and resolves with how many (callers loop, as
   * for `Deno.Conn`): node's TLS socket moves one huge write several times slower than pieces.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#error !== null) return Promise.reject(this.#error);
    const length = Math.min(bytes.byteLength, MAX_WRITE_BYTES);
    return new Promise((resolve, reject) => {
      // no copy: the caller keeps the bytes unchanged until this resolves
      const view = Buffer.from(bytes.buffer, bytes.byteOffset, length);
      this.#socket.write(view, (error?: Error | null) => {
        if (error) reject(error);
        else resolve(length);
      });
    });
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#notify();
  }
}

/**
 * The TCP socket under a server-side TLS socket (node's `_parent`, which Deno's node:tls sets
 * too): the only way back to the peer's address once a handshake failed.
 */
function parentOf(socket: tls.TLSSocket): object | undefined {
  return (socket as unknown as { _parent?: object })._parent;
}

/** Sockets per remote host. */
class HostCounter {
  readonly #counts = new Map<string, number>();
  readonly #hostOf = new Map<object, string>();
  count(host: string): number {
    return this.#counts.get(host) ?? 0;
  }
  add(host: string, socket: object): void {
    this.#hostOf.set(socket, host);
    this.#counts.set(host, this.count(host) + 1);
  }
  delete(socket: object): void {
    const host = this.#hostOf.get(socket);
    if (host === undefined) return;
    this.#hostOf.delete(socket);
    const left = this.count(host) - 1;
    if (left === 0) this.#counts.delete(host);
    else this.#counts.set(host, left);
  }
}

/** A listener in the shape the accept loop of net/listener.ts uses. */
export interface SocketListener {
  readonly addr: Deno.NetAddr;
  accept(): Promise<ByteSocket>;
  close(): void;
}

/**
 * Listens for TLS connections whose peers must present a certificate signed by one of
 * `tls.caCerts`. Resolves once listening.
 *
 * @throws {TypeError} when `tls` has no certificate and key; the listen error (e.g. the port is
 *   taken) otherwise.
 */
export function listenMutualTls(
  hostname: string,
  port: number,
  tlsConfig: TlsConfig,
  limits: { handshakeTimeoutMs: number; maxConnectionsPerHost: number },
  onRefused: (error: Error, remote: Deno.NetAddr) => void,
  acceptWithoutCertificate = false,
): Promise<SocketListener> {
  if (tlsConfig.cert === undefined || tlsConfig.key === undefined) {
    return Promise.reject(
      new TypeError(
        "Listening over TLS needs this side's certificate and key (--tls-cert and --tls-key, " +
          "or security: { cert, key }).",
      ),
    );
  }
  const ready: NodeTlsSocket[] = [];
  let waiting: { resolve: (s: ByteSocket) => void; reject: (e: Error) => void } | null = null;
  let closed = false;
  const server = tls.createServer({
    cert: tlsConfig.cert,
    key: tlsConfig.key,
    ca: tlsConfig.caCerts,
    requestCert: true,
    // without a certificate a peer may finish the TLS handshake; with one it must verify (below)
    rejectUnauthorized: !acceptWithoutCertificate,
    handshakeTimeout: limits.handshakeTimeoutMs,
  }, (socket) => {
    const adapted = new NodeTlsSocket(socket);
    const parent = parentOf(socket);
    if (parent !== undefined) handshaking.delete(parent);
    if (!socket.authorized && adapted.presentedCertificate) {
      // another CA's certificate (or an expired one): refused before a byte of it is read
      onRefused(
        new TlsError(
          `TLS: the peer's certificate (${adapted.peerSubject}) does not verify against the ` +
            `cluster's CA (${socket.authorizationError ?? "not authorized"}): another CA ` +
            `signed it, or it has expired`,
        ),
        (parent && rawSockets.get(parent)) ?? adapted.remoteAddr,
      );
      adapted.close();
      return;
    }
    if (waiting !== null) {
      const { resolve } = waiting;
      waiting = null;
      resolve(adapted);
    } else {
      ready.push(adapted);
    }
  });
  // Connections still in their TLS handshake, per remote host: capped as net/listener.ts caps
  // established ones, so a flood of half-open handshakes cannot exhaust this process.
  const handshaking = new HostCounter();
  const rawSockets = new WeakMap<object, Deno.NetAddr>();
  server.on("connection", (raw: net.Socket) => {
    const remote = netAddr(raw.remoteAddress, raw.remotePort);
    rawSockets.set(raw, remote);
    if (handshaking.count(remote.hostname) >= limits.maxConnectionsPerHost) {
      raw.destroy();
      onRefused(
        new Error(
          `${remote.hostname} already has ${limits.maxConnectionsPerHost} TLS handshakes under ` +
            `way (maxConnectionsPerHost)`,
        ),
        remote,
      );
      return;
    }
    handshaking.add(remote.hostname, raw);
    raw.once("close", () => handshaking.delete(raw));
  });
  server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
    // the TLS socket of a failed handshake has lost its address; its TCP socket has it
    const parent = parentOf(socket);
    const remote = (parent && rawSockets.get(parent)) ??
      netAddr(socket.remoteAddress, socket.remotePort);
    onRefused(error, remote);
    socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      const address = server.address() as { address: string; port: number };
      resolve({
        addr: netAddr(address.address, address.port),
        accept() {
          if (closed) return Promise.reject(new Deno.errors.BadResource("the listener is closed"));
          const next = ready.shift();
          if (next !== undefined) return Promise.resolve(next);
          return new Promise((resolve, reject) => waiting = { resolve, reject });
        },
        close() {
          if (closed) throw new Deno.errors.BadResource("the listener is closed already");
          closed = true;
          server.close();
          for (const socket of ready.splice(0)) socket.close();
          waiting?.reject(new Deno.errors.BadResource("the listener is closed"));
          waiting = null;
        },
      });
    });
  });
}
