/**
 * Actors (Dask's `submit(cls, actor=True)`): an object built on one worker that stays there;
 * its handle's method calls and attribute reads go from the caller straight to that worker over
 * the caller's peer connections — no scheduler on the way. A handle works in the client that
 * made it and inside tasks it is passed to (they call through their thread's client).
 *
 * The actor lives as long as its key is held: by the handle `client.actor` gave (it keeps the
 * building task's Future), or by any Future of that key. When the key is released, the worker
 * drops the actor. docs/architecture.md, "Actors", has the design.
 *
 * @module
 */

import {
  type ActorHandle,
  type ActorRecord,
  type ActorTransport,
  setDefaultActorTransport,
} from "../core/actor_ref.ts";
import { errorFromRecord, errorMessage } from "../core/errors.ts";
import { currentTask } from "../core/task_context.ts";
import { decode, encode } from "../core/value_codec.ts";
import type { ActorCallMsg, ActorReadMsg, ActorReplyMsg } from "../protocol/actors.ts";
import type { Client } from "./client.ts";
import type { FutureArgs } from "./client_view.ts";

export type { ActorHandle } from "../core/actor_ref.ts";

/**
 * An actor's worker could not be reached (it died, or left): the actor's state lived there.
 *
 * @example
 * ```ts
 * import { ActorLostError, Client } from "./mod.ts";
 *
 * class Box {
 *   value = 1;
 *   get_() {
 *     return this.value;
 *   }
 * }
 * await using client = await Client.local({ nWorkers: 1 });
 * const box = await client.actor(Box);
 * try {
 *   console.log(await box.get_());
 * } catch (error) {
 *   if (error instanceof ActorLostError) console.log("make a new Box");
 * }
 * ```
 */
export class ActorLostError extends Error {
  /** Always `"ActorLostError"`. */
  override name = "ActorLostError";
  /** The actor's key. */
  readonly key: string;
  /** The worker that held it. */
  readonly worker: string;

  /**
   * Names the call, the actor and its worker, and why it could not be reached.
   *
   * @param actor the actor called
   * @param what the call, e.g. `Counter.increment()`
   * @param cause why the worker could not be reached
   */
  constructor(actor: ActorRecord, what: string, cause: unknown) {
    super(
      `${what} on actor ${actor.key} failed: its worker ${actor.worker} cannot be reached ` +
        `(${errorMessage(cause)}). The actor's state lived on that worker; if the worker ` +
        `died, the state is lost, and this handle stays bound to that worker. Build a new ` +
        `actor with client.actor(...), or await the actor's Future again: while a Future or ` +
        `handle holds the key, the scheduler builds it again on another worker, with the state ` +
        `its constructor gives.`,
      { cause },
    );
    this.key = actor.key;
    this.worker = actor.worker;
  }
}

/** A client's peer connections to actors' workers. */
export interface ActorCaller {
  /** @internal */
  actorRequest(
    worker: string,
    request: Omit<ActorCallMsg, "requestId"> | Omit<ActorReadMsg, "requestId">,
  ): Promise<ActorReplyMsg>;
}

async function ask(
  caller: ActorCaller,
  actor: ActorRecord,
  request: Omit<ActorCallMsg, "requestId"> | Omit<ActorReadMsg, "requestId">,
  what: string,
): Promise<unknown> {
  let reply: ActorReplyMsg;
  try {
    reply = await caller.actorRequest(actor.worker, request);
  } catch (error) {
    throw new ActorLostError(actor, what, error);
  }
  if (!reply.ok) throw errorFromRecord(reply.error);
  return decode(reply.value);
}

/** Calls and reads through `caller`'s connections. */
export function actorTransport(caller: ActorCaller): ActorTransport {
  return {
    call(actor, method, args) {
      const what = `${actor.className}.${method}()`;
      const encoded = encode(args, { rootName: `the arguments of ${what}` });
      return ask(caller, actor, { op: "actor-call", key: actor.key, method, args: encoded }, what);
    },
    read(actor, name) {
      const what = `reading ${actor.className}.${name}`;
      return ask(caller, actor, { op: "actor-read", key: actor.key, name }, what);
    },
  };
}

/** The client a handle without one uses: the task's thread client, or the current client. */
async function callerHere(): Promise<ActorCaller> {
  if (currentTask() !== undefined) {
    const { getClient } = await import("./task_client.ts");
    return await getClient();
  }
  const { Client } = await import("./client.ts");
  return Client.current();
}

setDefaultActorTransport({
  call: async (actor, method, args) =>
    await actorTransport(await callerHere()).call(actor, method, args),
  read: async (actor, name) => await actorTransport(await callerHere()).read(actor, name),
});

/** `client.actor(Class, ...args)`: builds the actor and binds its handle to `client`. */
export async function buildActor<A extends unknown[], T extends object>(
  client: Client,
  Class: new (...args: A) => T,
  args: FutureArgs<A>,
): Promise<ActorHandle<T>> {
  if (typeof Class !== "function") {
    throw new TypeError(`client.actor() takes a class, got ${typeof Class}.`);
  }
  // its Future's value comes bound to `client` (client/submission.ts)
  return await client.with({ actor: true }).submit(Class, ...args);
}
