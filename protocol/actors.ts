/**
 * Actor calls, peer to peer: a client (or a task's client) asks the worker holding an actor to
 * call one of its methods or read one of its attributes, on the worker's peer listener — no
 * scheduler on the way (docs/protocol.md §8, docs/architecture.md "Actors").
 *
 * @module
 */

import type { ErrorRecord } from "../core/errors.ts";
import type { Encoded } from "../core/value_codec.ts";

/** Call `method(...args)` on the actor built by task `key`. */
export interface ActorCallMsg {
  op: "actor-call";
  requestId: number;
  key: string;
  method: string;
  /** The arguments, an encoded array. */
  args: Encoded;
}

/** Read attribute `name` of the actor built by task `key`. */
export interface ActorReadMsg {
  op: "actor-read";
  requestId: number;
  key: string;
  name: string;
}

/** What a call or read gave: the encoded value, or the error it threw. */
export type ActorOutcome = { ok: true; value: Encoded } | { ok: false; error: ErrorRecord };

/** The answer to {@link ActorCallMsg} and {@link ActorReadMsg}. */
export type ActorReplyMsg = { op: "actor-reply"; requestId: number } & ActorOutcome;
