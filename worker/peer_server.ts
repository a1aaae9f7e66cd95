/**
 * The worker's data service for peers and clients (I/O only): answers `get-data` from the store
 * and takes `update-data` (scatter) into it, handing the state machine an `update-data` event.
 * Connections must have role `"peer"` (docs/protocol.md §6).
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { Key } from "../core/task.ts";
import type { Connection } from "../net/wire.ts";
import { isDataItem, isEncoded } from "../protocol/message_checks.ts";
import type { Encoded } from "../core/value_codec.ts";
import {
  type DataItem,
  MAX_CONCURRENT_PEER_REQUESTS,
  type RefusedMsg,
} from "../protocol/session.ts";
import type { ReceivedData, WorkerEvent } from "./events.ts";
import type { DataStore } from "./store.ts";
import type { ActorHost } from "./actors.ts";
import type { ActorOutcome } from "../protocol/actors.ts";
import type { ProfileRequestMsg } from "../protocol/profile.ts";
import type { ProfileNode, ThreadStacks } from "../core/profile_tree.ts";

/** How long a profile request waits for a busy thread (one between tasks answers at once). */
const PROFILE_WAIT_MS = 2000;
/** How long the call-stacks view waits for a thread (one in synchronous code cannot answer). */
const STACKS_WAIT_MS = 500;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

/** What the peer service needs from the worker around it. */
export interface PeerServerHost {
  readonly store: DataStore;
  /** Gives results live in task threads their bytes (worker/executor.ts): they are sent. */
  materialize(keys: readonly Key[]): Promise<void>;
  handle(event: WorkerEvent): void;
  log(line: string): void;
  /** Whether the worker is stopping (broken connections are then expected). */
  stopping(): boolean;
  /** Hands a Pub's message to the tasks of this worker that subscribe to `name`. */
  deliverPubSub(name: string, value: Encoded): void;
  /** The task threads' merged profile (`client.profile`), waiting up to `waitMs` per thread. */
  profile(
    query: Omit<ProfileRequestMsg, "op" | "requestId">,
    waitMs: number,
  ): Promise<{ tree: ProfileNode; sampling: boolean }>;
  /** What each task thread runs now (latest sampled stacks), waiting up to `waitMs` per thread. */
  stacks(waitMs: number): Promise<{ threads: ThreadStacks[]; sampling: boolean }>;
  /** The actors built here: calls and reads come straight from their callers. */
  readonly actors: ActorHost;
  /** Whether the scheduler said it has client identities (tenancy). */
  tenancy(): boolean;
  /** The worker's name and its scheduler's address, for a Client that dialled this worker. */
  name(): string;
  readonly scheduler: string;
}

function isKeyList(value: unknown): value is Key[] {
  return Array.isArray(value) && value.every((k) => typeof k === "string");
}

export class PeerServer {
  readonly connections = new Set<Connection>();
  /** Replies being written. */
  serving = 0;

  constructor(private readonly host: PeerServerHost) {}

  /** Serves one connection until it closes. */
  async serve(connection: Connection): Promise<void> {
    const host = this.host;
    if (connection.peer.role === "client") {
      // a Client given this worker's address instead of the scheduler's: say so
      const refused: RefusedMsg = {
        op: "refused",
        from: "worker",
        reason: `this is the port of worker ${host.name()}, not a scheduler. Connect the Client ` +
          `to the scheduler's address (this worker's scheduler is ${host.scheduler}).`,
      };
      connection.send({ header: refused });
      await connection.close("a client dialled a worker");
      return;
    }
    if (connection.peer.role !== "peer") {
      host.log(
        `refusing a connection from ${connection.remoteAddr}: role ${
          JSON.stringify(connection.peer.role)
        }, a worker's listener serves "peer"`,
      );
      await connection.abort(`role ${connection.peer.role} not served here`);
      return;
    }
    if (host.tenancy() && connection.sameCertificateSubject === false) {
      // a client identity's certificate (tenancy): its data comes through the scheduler
      host.log(
        `refusing a connection from ${connection.remoteAddr}: its certificate's subject is not ` +
          `the cluster's, and the scheduler has client identities`,
      );
      await connection.abort("a client identity's certificate is not served by workers");
      return;
    }
    this.connections.add(connection);
    let problem: string | null = null;
    for await (const message of connection) {
      const msg = message.header as { op?: unknown; requestId?: unknown } & Record<string, unknown>;
      problem = this.#request(connection, msg);
      if (problem !== null) {
        await connection.abort(`protocol error: ${problem}`);
        break;
      }
    }
    const info = await connection.closed;
    this.connections.delete(connection);
    if (problem !== null) {
      host.log(`closed the connection from ${connection.remoteAddr}: it sent ${problem}`);
    } else if (info.error !== undefined && !host.stopping()) {
      host.log(`the connection from ${connection.remoteAddr} broke: ${info.reason}`);
    }
  }

  /** Serves one request; returns what is wrong with it, or null. */
  #request(
    connection: Connection,
    msg: { op?: unknown; requestId?: unknown } & Record<string, unknown>,
  ): string | null {
    if (msg === null || typeof msg !== "object") return "a message that is not an object";
    const requestId = msg.requestId;
    if (typeof requestId !== "number") return `a ${String(msg.op)} request without a requestId`;
    switch (msg.op) {
      case "get-data":
        if (!isKeyList(msg.keys)) return "a get-data without a list of keys";
        void this.#getData(connection, requestId, msg.keys);
        return null;
      case "update-data": {
        const items = msg.items;
        if (!Array.isArray(items) || !items.every(isDataItem)) {
          return "an update-data without a list of {key, value, nbytes, typeName} items";
        }
        const data: ReceivedData[] = [];
        for (const item of items) {
          // A key held here keeps its value: another client's scatter never overwrites it.
          const kept = this.host.store.describeKey(item.key);
          if (kept !== undefined) {
            data.push({ key: item.key, ...kept });
            continue;
          }
          this.host.store.set(item.key, {
            encoded: item.value,
            nbytes: item.nbytes,
            typeName: item.typeName,
          });
          data.push({ key: item.key, nbytes: item.nbytes, typeName: item.typeName });
        }
        this.host.handle({ type: "update-data", data, report: msg.report === true, now: now() });
        connection.send({
          header: { op: "data-stored", requestId, keys: data.map((d) => d.key) },
        });
        return null;
      }
      case "pubsub-msg":
        if (typeof msg.name !== "string" || !isEncoded(msg.value)) {
          return "a pubsub-msg without a name or an encoded value";
        }
        this.host.deliverPubSub(msg.name, msg.value);
        connection.send({ header: { op: "pubsub-delivered", requestId } });
        return null;
      case "profile": {
        const { start, stop, prefix, byPrefix } = msg;
        const timeOrNull = (t: unknown) => t === null || typeof t === "number";
        if (
          !timeOrNull(start) || !timeOrNull(stop) ||
          !(prefix === null || typeof prefix === "string") ||
          !(byPrefix === undefined || typeof byPrefix === "boolean")
        ) {
          return "a profile request without start, stop (numbers or null) and prefix";
        }
        const query = { start, stop, prefix, byPrefix } as Omit<
          ProfileRequestMsg,
          "op" | "requestId"
        >;
        void this.host.profile(query, PROFILE_WAIT_MS).then(({ tree, sampling }) => {
          connection.send({ header: { op: "profile-reply", requestId, tree, sampling } });
        });
        return null;
      }
      case "call-stacks":
        void this.host.stacks(STACKS_WAIT_MS).then(({ threads, sampling }) => {
          connection.send({ header: { op: "call-stacks-reply", requestId, threads, sampling } });
        });
        return null;
      case "actor-call":
      case "actor-read":
        return this.#actor(connection, requestId, msg);
      default:
        return `unknown operation ${JSON.stringify(msg.op)}`;
    }
  }

  /** An actor call or read: answered when the actor thread answers (others go on meanwhile). */
  #actor(connection: Connection, requestId: number, msg: Record<string, unknown>): string | null {
    const { key, method, name, args } = msg;
    if (typeof key !== "string") return `an ${msg.op} without an actor key`;
    let answer: Promise<ActorOutcome>;
    if (msg.op === "actor-call") {
      if (typeof method !== "string" || !isEncoded(args)) {
        return "an actor-call without a method name or encoded arguments";
      }
      answer = this.host.actors.call(key, method, args);
    } else {
      if (typeof name !== "string") return "an actor-read without an attribute name";
      answer = this.host.actors.read(key, name);
    }
    void answer.then((outcome) => {
      connection.send({ header: { op: "actor-reply", requestId, ...outcome } });
    });
    return null;
  }

  async #getData(connection: Connection, requestId: number, keys: Key[]): Promise<void> {
    if (this.serving >= MAX_CONCURRENT_PEER_REQUESTS) {
      connection.send({ header: { op: "busy", requestId } });
      return;
    }
    if (keys.some((key) => this.host.store.liveThread(key) !== undefined)) {
      // tables still live in their thread are encoded now: they move
      this.serving++;
      await this.host.materialize(keys);
      this.serving--;
      if (connection.isClosed) return;
    }
    const items: DataItem[] = [];
    for (const key of keys) {
      let stored;
      try {
        stored = this.host.store.get(key);
      } catch (error) {
        // Left out: the asking peer reports it missing and the scheduler recovers it.
        this.host.log(`cannot read ${key} back from disk for a peer: ${errorMessage(error)}`);
      }
      if (stored === undefined) continue;
      items.push({ key, value: stored.encoded, nbytes: stored.nbytes, typeName: stored.typeName });
    }
    connection.send({ header: { op: "data", requestId, items } });
    // Served until written: a slow reader keeps its slot.
    this.serving++;
    void connection.flush().finally(() => this.serving--);
  }

  /** Closes every connection (the worker stops). */
  abortAll(reason: string): Promise<unknown>[] {
    return [...this.connections].map((c) => c.abort(reason));
  }
}
