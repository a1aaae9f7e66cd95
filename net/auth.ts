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

/**
 * The identity of the cluster's own token (workers, the scheduler, and clients given that
 * token). Client identities (tenancy) have names of their own and tokens of their own.
 */
export const CLUSTER_IDENTITY = "cluster";

/**
 * Names the scheduler makes for task credentials start with this (scheduler/task_delegation.ts);
 * a client tokens file may not use it.
 */
export const TASK_IDENTITY_PREFIX = "task.";

const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** True for a valid client identity name: 1–64 letters, digits, `_.@-`, not "cluster". */
export function isIdentityName(name: unknown): name is string {
  return typeof name === "string" && IDENTITY_NAME.test(name) && name !== CLUSTER_IDENTITY;
}

/** A token as given: the cluster's (no identity), or a client identity's (`name:secret`). */
export interface Credential {
  identity?: string;
  secret: string;
}

/**
 * Splits `name:secret` (a client identity's token) from a plain token (the cluster's). A token
 * whose text before its first `:` is not an identity name is a plain token.
 */
export function splitCredential(token: string): Credential {
  const colon = token.indexOf(":");
  if (colon > 0) {
    const name = token.slice(0, colon);
    if (isIdentityName(name)) return { identity: name, secret: token.slice(colon + 1) };
  }
  return { secret: token };
}

/**
 * Reads a client tokens file's text: one `name:token` per line (blank lines and `#` comments
 * skipped), each name once.
 *
 * @throws {TypeError} naming the line that is wrong and how to fix it.
 */
export function parseIdentityTokens(text: string, source: string): Map<string, string> {
  const tokens = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const { identity, secret } = splitCredential(line);
    const where = `${source}, line ${i + 1}`;
    if (identity === undefined) {
      throw new TypeError(
        `${where}: expected name:token (a name of letters, digits, _.@- other than ` +
          `"${CLUSTER_IDENTITY}", then a colon and a token of at least 16 characters).`,
      );
    }
    try {
      checkAuthToken(secret);
    } catch (error) {
      throw new TypeError(`${where} (identity ${identity}): ${(error as Error).message}`);
    }
    if (identity.startsWith(TASK_IDENTITY_PREFIX)) {
      throw new TypeError(
        `${where}: identity ${identity}: names starting with "${TASK_IDENTITY_PREFIX}" are the ` +
          `scheduler's own (task credentials); choose another name.`,
      );
    }
    if (tokens.has(identity)) throw new TypeError(`${where}: identity ${identity} is listed twice`);
    tokens.set(identity, secret);
  }
  return tokens;
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
