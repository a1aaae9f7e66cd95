/**
 * The handshake both sides send at once and both check: the 4 bytes `"DSK"` + protocol version,
 * then a hello message `{op: "hello", version, role, challenge?}`. When the cluster has an auth
 * token each side's hello carries a random challenge, and each side then sends a proof that it
 * holds the token (net/auth.ts); nothing else is decoded before the proofs are checked.
 *
 * @module
 */

import { messageBytes, WireError } from "./framing.ts";
import { isIdentityName } from "./auth.ts";

/** The protocol version this peer speaks; peers of another version are refused at handshake. */
export const PROTOCOL_VERSION = 1;

const MAGIC = [0x44, 0x53, 0x4b]; // "DSK"
/** The magic and the version byte a stream opens with. */
export const HANDSHAKE_PREFIX_BYTES = 4;

/** What a peer says about itself in its handshake. */
export interface PeerHello {
  version: number;
  /** "scheduler", "worker", "client"...: what the peer is. */
  role: string;
  /** Random bytes the other side must sign with the shared token (net/auth.ts). */
  challenge?: Uint8Array;
  /**
   * The client identity whose token this side proves (net/auth.ts, tenancy): absent for the
   * cluster's own token.
   */
  identity?: string;
}

/** What one side sends first: the magic and version, then its hello message. */
export function handshakeBytes(
  options: { role: string; challenge?: Uint8Array; identity?: string },
): Uint8Array {
  const hello: PeerHello = { version: PROTOCOL_VERSION, role: options.role };
  if (options.challenge !== undefined) hello.challenge = options.challenge;
  if (options.identity !== undefined) hello.identity = options.identity;
  return messageBytes({ header: { op: "hello", ...hello } }, [...MAGIC, PROTOCOL_VERSION]);
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
export function helloFrom(header: unknown): PeerHello {
  const h = header as
    | { op?: unknown; version?: unknown; role?: unknown; challenge?: unknown; identity?: unknown }
    | null;
  if (
    h === null || typeof h !== "object" || h.op !== "hello" || typeof h.role !== "string" ||
    h.version !== PROTOCOL_VERSION ||
    (h.challenge !== undefined && !(h.challenge instanceof Uint8Array)) ||
    (h.identity !== undefined && !isIdentityName(h.identity))
  ) {
    throw new WireError(
      "The peer's first message is not a valid hello " +
        "({op: 'hello', version, role, challenge?, identity?}).",
    );
  }
  const hello: PeerHello = { version: h.version, role: h.role };
  if (h.challenge !== undefined) hello.challenge = h.challenge as Uint8Array;
  if (h.identity !== undefined) hello.identity = h.identity as string;
  return hello;
}
