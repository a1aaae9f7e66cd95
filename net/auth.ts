/**
 * Authentication by a shared token, proven in the handshake by HMAC challenge–response: each
 * side's hello carries 32 random bytes, and each side answers with
 * `HMAC-SHA256(token, side ‖ role ‖ the verifier's challenge ‖ its own challenge)`. The token
 * never crosses the wire, a recorded proof is worthless on another connection (fresh challenges),
 * and the side label (`dialer`/`acceptor`) keeps a peer from reflecting one side's proof back at
 * it. Verification is `crypto.subtle.verify`, which compares in constant time.
 *
 * @module
 */

import { WireError } from "./framing.ts";

/** A peer failed authentication, or refused ours: retrying with the same token cannot help. */
export class AuthenticationError extends WireError {
  override name = "AuthenticationError";
}

/** The op of the message that carries a proof, sent right after the hello. */
export const AUTH_PROOF_OP = "auth-proof";
/** Bytes of random challenge each side sends. */
export const CHALLENGE_BYTES = 32;
/** Which end of the connection a side is: the one that connected, or the one that accepted. */
export type ConnectionSide = "dialer" | "acceptor";

const encoder = new TextEncoder();
/** Keys imported once per token: importKey is asynchronous and costs more than a sign. */
const keys = new Map<string, Promise<CryptoKey>>();

/**
 * Refuses a token too short to resist guessing.
 *
 * @throws {TypeError} saying how to make a good one.
 */
export function checkAuthToken(token: string): void {
  if (token.length < 16) {
    throw new TypeError(
      `The auth token is ${token.length} characters long; use at least 16 random ` +
        `characters (e.g. \`openssl rand -hex 32\`).`,
    );
  }
}

/** The HMAC key for a token (imported once per token). */
export function authKey(token: string): Promise<CryptoKey> {
  let key = keys.get(token);
  if (key === undefined) {
    try {
      checkAuthToken(token);
    } catch (error) {
      return Promise.reject(error);
    }
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(token),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(token, key);
  }
  return key;
}

/** A fresh random challenge. */
export function newChallenge(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(CHALLENGE_BYTES));
}

function proofInput(
  side: ConnectionSide,
  role: string,
  verifierChallenge: Uint8Array,
  proverChallenge: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const label = encoder.encode(`dask-deno auth v1\n${side}\n${role}\n`);
  const out = new Uint8Array(label.byteLength + 2 * CHALLENGE_BYTES);
  out.set(label);
  out.set(verifierChallenge, label.byteLength);
  out.set(proverChallenge, label.byteLength + CHALLENGE_BYTES);
  return out;
}

/** This side's proof, for the peer whose hello carried `peerChallenge`. */
export async function proveToken(
  key: CryptoKey,
  side: ConnectionSide,
  role: string,
  peerChallenge: Uint8Array,
  ownChallenge: Uint8Array,
): Promise<Uint8Array> {
  const input = proofInput(side, role, peerChallenge, ownChallenge);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, input));
}

/**
 * Checks the peer's proof message against this side's challenge.
 *
 * @throws {WireError} when the message is not a proof or the peer does not hold the token.
 */
export async function checkProof(
  key: CryptoKey,
  message: unknown,
  peer: { side: ConnectionSide; role: string; challenge: Uint8Array },
  ownChallenge: Uint8Array,
): Promise<void> {
  const m = message as { op?: unknown; proof?: unknown } | null;
  if (m === null || typeof m !== "object" || m.op !== AUTH_PROOF_OP) {
    throw new AuthenticationError(
      "The peer did not send an auth proof after its hello: it was started without the " +
        "cluster's auth token.",
    );
  }
  const proof = m.proof;
  const input = proofInput(peer.side, peer.role, ownChallenge, peer.challenge);
  const valid = proof instanceof Uint8Array &&
    await crypto.subtle.verify("HMAC", key, new Uint8Array(proof), input);
  if (!valid) {
    throw new AuthenticationError(
      "The peer's auth proof is wrong: it holds a different auth token than this side.",
    );
  }
}
