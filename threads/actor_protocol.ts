/**
 * Messages between a worker and its actor thread (threads/actor_entry.ts), where the worker's
 * actors live (docs/architecture.md, "Actors").
 *
 * @module
 */

import type { Encoded } from "../core/value_codec.ts";
import type { ActorOutcome } from "../protocol/actors.ts";
import type { RunItem, RunResult, ThreadSetup } from "./thread_protocol.ts";

/** Build the actor of task `item.key`: `new Class(...args)`, the class in `item.fn`. */
export interface ActorCreate {
  type: "create";
  item: RunItem;
}

/** Call a method, or read an attribute, of an actor; answered by {@link ActorAnswer}. */
export type ActorRequest =
  | { type: "call"; id: number; key: string; method: string; args: Encoded }
  | { type: "read"; id: number; key: string; name: string };

/** These actors' keys were released: drop them. */
export interface ActorRelease {
  type: "release";
  keys: string[];
}

/** Everything a worker posts to its actor thread. */
export type ToActorThread = ThreadSetup | ActorCreate | ActorRequest | ActorRelease;

/** A construction's outcome (as a task's), or a call's or read's. */
export type FromActorThread =
  | { type: "created"; result: RunResult }
  | { type: "answer"; id: number; outcome: ActorOutcome };
