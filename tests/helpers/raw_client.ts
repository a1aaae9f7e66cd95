/**
 * A scripted wire client for tests of the scheduler and worker servers: it speaks
 * docs/protocol.md directly (register-client, update-graph, requests, get-data) with none of the
 * real Client's machinery, so server tests do not depend on it.
 */

import { errorFromRecord } from "../../core/errors.ts";
import { describeFunction } from "../../core/function_codec.ts";
import { findRefs, type TaskFunction, type TaskOptions } from "../../core/task.ts";
import { decode, encode } from "../../core/value_codec.ts";
import { Connection } from "../../net/wire.ts";
import type { GraphTaskSpec } from "../../protocol/messages.ts";
import type { DataItem, ReplyMsg, WorkerInfo } from "../../protocol/session.ts";

/** A task for update-graph: `fn` applied to `args` (which may hold TaskRefs). */
export function graphTask(
  key: string,
  fn: TaskFunction,
  args: unknown[],
  options?: TaskOptions,
): GraphTaskSpec {
  const spec: GraphTaskSpec = {
    key,
    fn: describeFunction(fn),
    args: encode(args),
    deps: [...findRefs(args)],
  };
  if (options !== undefined) spec.options = options;
  return spec;
}

/** A literal for update-graph: `value` itself is the result. */
export function literalTask(key: string, value: unknown): GraphTaskSpec {
  return { key, fn: null, args: encode(value), deps: [] };
}

type Msg = { op: string } & Record<string, unknown>;

export class RawClient {
  readonly #connection: Connection;
  readonly #queue: Msg[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #replies = new Map<number, (reply: ReplyMsg) => void>();
  #nextRequestId = 1;
  #nextPeerRequestId = 1;
  readonly #reading: Promise<void>;

  private constructor(
    connection: Connection,
    readonly clientId: string,
    readonly workers: WorkerInfo[],
  ) {
    this.#connection = connection;
    this.#reading = this.#read();
  }

  /** Connects and registers (as `authToken`'s identity, if given); rejects when refused. */
  static async connect(
    address: string,
    clientId = `Client-${crypto.randomUUID()}`,
    options: { authToken?: string } = {},
  ) {
    const connection = await Connection.connect(address, { role: "client", ...options });
    connection.send({ header: { op: "register-client", clientId, protocol: 1 } });
    const iterator = connection[Symbol.asyncIterator]();
    const first = await iterator.next();
    const msg = first.done ? undefined : first.value.header as Msg;
    if (msg?.op !== "client-registered") {
      await connection.abort();
      throw new Error(`registration failed: ${JSON.stringify(msg)}`);
    }
    // The iterator is shared: later reads go through the same one.
    return new RawClient(connection, clientId, msg.workers as WorkerInfo[]);
  }

  get connection(): Connection {
    return this.#connection;
  }

  async #read(): Promise<void> {
    for await (const message of this.#connection) {
      const msg = message.header as Msg;
      if (msg.op === "reply") {
        const reply = msg as unknown as ReplyMsg;
        this.#replies.get(reply.requestId)?.(reply);
        this.#replies.delete(reply.requestId);
        continue;
      }
      this.#queue.push(msg);
      for (const wake of this.#waiters) wake();
    }
    for (const wake of this.#waiters) wake();
  }

  send(msg: Msg): void {
    this.#connection.send({ header: msg });
  }

  /** Submits tasks and holds `keys`. */
  submit(tasks: GraphTaskSpec[], keys: string[]): void {
    this.send({ op: "update-graph", tasks, keys });
  }

  /** Calls a scheduler request method; rejects with the scheduler's error. */
  request<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const requestId = this.#nextRequestId++;
    return new Promise<T>((resolve, reject) => {
      this.#replies.set(requestId, (reply) => {
        if ("error" in reply) reject(errorFromRecord(reply.error));
        else resolve(reply.result as T);
      });
      this.send({ op: "request", requestId, method, params });
    });
  }

  /** The next message matching `match` (earlier non-matching ones stay queued). */
  async next(match: (msg: Msg) => boolean, timeoutMs = 8000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.#queue.findIndex(match);
      if (at >= 0) return this.#queue.splice(at, 1)[0];
      if (this.#connection.isClosed) {
        throw new Error(
          `the scheduler connection closed: ${(await this.#connection.closed).reason}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no matching message within ${timeoutMs} ms; queued: ${
            JSON.stringify(this.#queue.map((m) => [m.op, m.key]))
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.#waiters;
        waiters.add(done);
      });
    }
  }

  /** Waits until every key is in memory; throws the first task error. */
  async waitForKeys(keys: string[], timeoutMs = 8000): Promise<void> {
    const pending = new Set(keys);
    while (pending.size > 0) {
      const msg = await this.next(
        (m) => (m.op === "key-in-memory" || m.op === "task-erred") && pending.has(m.key as string),
        timeoutMs,
      );
      if (msg.op === "task-erred") {
        throw errorFromRecord(msg.error as Parameters<typeof errorFromRecord>[0]);
      }
      pending.delete(msg.key as string);
    }
  }

  /** Fetches and decodes the values of `keys` from the worker at `address` (role "peer"). */
  async getData(address: string, keys: string[]): Promise<Map<string, unknown>> {
    const items = await this.getItems(address, keys);
    return new Map(items.map((item) => [item.key, decode(item.value)]));
  }

  /** Fetches the encoded items of `keys` from the worker at `address`. */
  async getItems(address: string, keys: string[]): Promise<DataItem[]> {
    const peer = await Connection.connect(address, { role: "peer" });
    try {
      const requestId = this.#nextPeerRequestId++;
      peer.send({ header: { op: "get-data", requestId, keys } });
      for await (const message of peer) {
        const msg = message.header as Msg;
        if (msg.requestId !== requestId) continue;
        if (msg.op !== "data") throw new Error(`get-data answered with ${msg.op}`);
        return msg.items as DataItem[];
      }
      throw new Error(`the worker closed the connection: ${(await peer.closed).reason}`);
    } finally {
      await peer.abort();
    }
  }

  /** Computes `keys` and fetches their values from the workers holding them. */
  async compute(tasks: GraphTaskSpec[], keys: string[]): Promise<unknown[]> {
    this.submit(tasks, keys);
    await this.waitForKeys(keys);
    const whoHas = await this.request<Record<string, string[]>>("who-has", { keys });
    const out: unknown[] = [];
    for (const key of keys) {
      const values = await this.getData(whoHas[key][0], [key]);
      out.push(values.get(key));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#connection.close();
    await this.#reading;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
