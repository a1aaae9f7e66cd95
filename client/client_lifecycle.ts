/**
 * A Client's life: the states it goes through, opening its scheduler session (holding the
 * messages that arrive before the client exists), and which open client is the default one —
 * the executor collections' `.compute()` uses and what `Client.current()` gives.
 *
 * @module
 */

import { type GraphExecutor, setDefaultExecutor } from "../collections/compute.ts";
import type { PubSubToClientMsg, SchedulerToClientMsg } from "../protocol/messages.ts";
import {
  SchedulerSession,
  type SessionEvents,
  type SessionOptions,
} from "./scheduler_connection.ts";

/** The client is closed (by `close()`, or because the scheduler could not be reached again). */
export class ClientClosedError extends Error {
  /** Always `"ClientClosedError"`. */
  override name = "ClientClosedError";
}

/** The states a client goes through. */
export type ClientStatus = "running" | "reconnecting" | "closed";

/** What a closed client's methods throw. */
export const CLOSED_MESSAGE =
  "This client is closed; create a new one with Client.connect(...) or Client.local(...)";

/** A scheduler session opened before its client exists, and how the client takes it over. */
export interface OpenedSession {
  readonly session: SchedulerSession;
  /** Hands the session's events to the client, first the messages that came meanwhile. */
  attach(events: SessionEvents): void;
}

/** Opens the session of client `id` with the scheduler at `address`. */
export async function openSession(
  address: string,
  id: string,
  options: SessionOptions,
): Promise<OpenedSession> {
  const early: (SchedulerToClientMsg | PubSubToClientMsg)[] = [];
  let attached: SessionEvents | undefined;
  const session = await SchedulerSession.open(address, id, {
    message: (msg) => attached === undefined ? early.push(msg) : attached.message(msg),
    disconnected: (reason) => attached?.disconnected(reason),
    reconnected: () => attached?.reconnected(),
    failed: (error) => attached?.failed(error),
  }, options);
  return {
    session,
    attach(events) {
      attached = events;
      for (const msg of early.splice(0)) events.message(msg);
    },
  };
}

/**
 * The open clients that asked to be the default executor, oldest first: the newest one is.
 * When it closes, the one before it becomes the default again.
 */
export class DefaultClients<C extends GraphExecutor> {
  readonly #candidates: C[] = [];

  /** The newest open candidate, if any. */
  get newest(): C | undefined {
    return this.#candidates[this.#candidates.length - 1];
  }

  /** `client` becomes the default executor. */
  add(client: C): void {
    this.#candidates.push(client);
    setDefaultExecutor(client);
  }

  /** `client` closed: the newest candidate left (if any) is the default, if it was. */
  remove(client: C, isDefault: boolean): void {
    const index = this.#candidates.indexOf(client);
    if (index >= 0) this.#candidates.splice(index, 1);
    if (isDefault) setDefaultExecutor(this.newest);
  }
}
