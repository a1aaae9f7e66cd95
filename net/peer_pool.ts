/**
 * Pooled connections to workers' data listeners (role `"peer"`, docs/protocol.md §8): one
 * connection per peer, opened on first use and kept, carrying any number of requests at once,
 * matched to their replies by `requestId`. A peer that answers `busy` is asked again after a
 * short, growing delay. Workers fetch dependencies through it; the scheduler relays scattered
 * data through it.
 *
 * A peer answers `get-data` at once (with the data, or `busy`), so a connection that brings no
 * byte for {@link PeerPoolOptions.silenceTimeoutMs} while such a request waits is given up on: a
 * frozen host's kernel keeps the socket open and would otherwise keep the fetch waiting for ever,
 * after the scheduler has long declared the peer lost and had the data computed again. The
 * requests waiting on it fail (the fetcher reports the peer and asks where the data is now), and
 * the next request opens a new connection. Other requests (actor calls, publishing) may wait on
 * the peer's work, so their silence does not count.
 *
 * @module
 */

import { Connection, type ConnectionOptions } from "./connection.ts";
import type { TlsConfig } from "./tls.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import type {
  DataMsg,
  DataStoredMsg,
  GetDataMsg,
  PeerReply,
  PubSubPeerMsg,
  UpdateDataMsg,
} from "../protocol/session.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { ActorCallMsg, ActorReadMsg, ActorReplyMsg } from "../protocol/actors.ts";
import type {
  CallStacksReplyMsg,
  CallStacksRequestMsg,
  ProfileReplyMsg,
  ProfileRequestMsg,
} from "../protocol/profile.ts";

/** How a {@link PeerPool} connects and retries. */
export interface PeerPoolOptions {
  /** The handshake role of this side; peers accept `"peer"`. */
  role?: string;
  /** The largest frame accepted from a peer (a value's buffer). */
  maxFrameBytes?: number;
  /** The cluster's shared secret, proven to each peer in the handshake (net/auth.ts). */
  authToken?: string;
  /** TLS (net/tls.ts), for peers at `tls://` addresses. */
  tls?: TlsConfig;
  /** Frames of at least this size arrive in shared memory (see `FrameReaderOptions`). */
  sharedFrameMinBytes?: number;
  /** Times a busy peer is asked again before the request fails. 30. */
  busyRetries?: number;
  /** First delay after a busy answer, ms; it doubles up to 1 s. 20. */
  busyDelayMs?: number;
  /**
   * How long a connection may bring nothing while a `get-data` waits on it before it is closed,
   * ms; 0 waits for ever. 30,000 (Dask's `distributed.comm.timeouts.tcp`).
   */
  silenceTimeoutMs?: number;
  /**
   * Whether an open connection without requests in flight keeps the process alive. Default
   * true; a client's pool says false, so a script ends once nothing waits for a worker.
   */
  holdProcessWhenIdle?: boolean;
}

/** The default of {@link PeerPoolOptions.silenceTimeoutMs}. */
const SILENCE_TIMEOUT_MS = 30_000;

type Pending = {
  resolve: (reply: PeerReply) => void;
  reject: (error: Error) => void;
  /** The peer answers it at once: its silence counts. */
  prompt: boolean;
};

/** One open connection to a peer and the requests waiting on it. */
class PeerChannel {
  readonly #pending = new Map<number, Pending>();
  /** Prompt requests waiting, and the watch over the connection's silence while there are. */
  #prompt = 0;
  #watch: ReturnType<typeof setInterval> | undefined;
  #bytesSeen = 0;
  #lastHeard = 0;

  constructor(
    readonly connection: Connection,
    onClosed: () => void,
    readonly holdWhenIdle: boolean,
    readonly silenceTimeoutMs: number,
  ) {
    if (!holdWhenIdle) connection.holdProcess(false);
    void this.#readReplies(onClosed);
  }

  /** A request in flight: the connection holds the process until its reply. */
  add(requestId: number, waiting: Pending): void {
    this.#pending.set(requestId, waiting);
    if (!this.holdWhenIdle && this.#pending.size === 1) this.connection.holdProcess(true);
    if (waiting.prompt && this.#prompt++ === 0 && this.silenceTimeoutMs > 0) this.#startWatch();
  }

  /** The request's reply came, or it was given up on. */
  take(requestId: number): Pending | undefined {
    const waiting = this.#pending.get(requestId);
    if (waiting === undefined) return undefined;
    this.#pending.delete(requestId);
    if (!this.holdWhenIdle && this.#pending.size === 0) this.connection.holdProcess(false);
    if (waiting.prompt && --this.#prompt === 0) this.#stopWatch();
    return waiting;
  }

  /** Silence counts from now: nothing was waiting for the peer before. */
  #startWatch(): void {
    this.#bytesSeen = this.connection.stats.bytesReceived;
    this.#lastHeard = Date.now();
    const every = Math.max(10, Math.min(1000, this.silenceTimeoutMs / 4));
    this.#watch = setInterval(() => {
      const bytes = this.connection.stats.bytesReceived;
      const t = Date.now();
      if (bytes !== this.#bytesSeen) {
        this.#bytesSeen = bytes;
        this.#lastHeard = t;
      } else if (t - this.#lastHeard >= this.silenceTimeoutMs) {
        this.#stopWatch();
        void this.connection.abort(
          `the peer sent nothing for ${((t - this.#lastHeard) / 1000).toFixed(1)} s while ` +
            `${this.#prompt} data requests waited (it may be frozen or cut off)`,
        );
      }
    }, every);
    // the requests waiting hold the process (or not) through the connection, not this watch
    Deno.unrefTimer(this.#watch);
  }

  #stopWatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  async #readReplies(onClosed: () => void): Promise<void> {
    for await (const message of this.connection) {
      const reply = message.header as PeerReply;
      const waiting = this.take(reply?.requestId);
      if (waiting === undefined) continue; // a reply for a request given up on
      waiting.resolve(reply);
    }
    const info = await this.connection.closed;
    this.#stopWatch();
    onClosed();
    const error = new Error(
      `the connection to peer ${this.connection.remoteAddr} closed: ${info.reason}`,
    );
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }
}

export class PeerPool {
  readonly #channels = new Map<WorkerAddress, Promise<PeerChannel>>();
  readonly #connectionOptions: ConnectionOptions;
  readonly #busyRetries: number;
  readonly #busyDelayMs: number;
  #nextRequestId = 1;
  #closed = false;
  readonly #holdWhenIdle: boolean;
  readonly #silenceTimeoutMs: number;

  constructor(options: PeerPoolOptions = {}) {
    this.#connectionOptions = {
      role: options.role ?? "peer",
      maxFrameBytes: options.maxFrameBytes,
      authToken: options.authToken,
      tls: options.tls,
      sharedFrameMinBytes: options.sharedFrameMinBytes,
    };
    this.#busyRetries = options.busyRetries ?? 30;
    this.#busyDelayMs = options.busyDelayMs ?? 20;
    this.#holdWhenIdle = options.holdProcessWhenIdle ?? true;
    this.#silenceTimeoutMs = options.silenceTimeoutMs ?? SILENCE_TIMEOUT_MS;
  }

  /** Fetches `keys` from `peer`; keys it does not hold are absent from the answer. */
  async getData(peer: WorkerAddress, keys: string[]): Promise<DataMsg> {
    const request: Omit<GetDataMsg, "requestId"> = { op: "get-data", keys };
    return await this.#request(peer, request, "data") as DataMsg;
  }

  /** Puts values into `peer`'s store. */
  async updateData(
    peer: WorkerAddress,
    items: UpdateDataMsg["items"],
    report: boolean,
  ): Promise<DataStoredMsg> {
    const request: Omit<UpdateDataMsg, "requestId"> = { op: "update-data", items, report };
    return await this.#request(peer, request, "data-stored") as DataStoredMsg;
  }

  /** Hands a Pub's message to the subscribed tasks of `peer` (resolves once they have it). */
  async publish(peer: WorkerAddress, name: string, value: Encoded): Promise<void> {
    const request: Omit<PubSubPeerMsg, "requestId"> = { op: "pubsub-msg", name, value };
    await this.#request(peer, request, "pubsub-delivered");
  }

  /** An actor call or attribute read on `peer`, the worker holding the actor. */
  async actor(
    peer: WorkerAddress,
    request: Omit<ActorCallMsg, "requestId"> | Omit<ActorReadMsg, "requestId">,
  ): Promise<ActorReplyMsg> {
    return await this.#request(peer, request, "actor-reply") as ActorReplyMsg;
  }

  /** The merged profile of `peer`'s task threads (`client.profile`). */
  async profile(
    peer: WorkerAddress,
    request: Omit<ProfileRequestMsg, "requestId">,
  ): Promise<ProfileReplyMsg> {
    return await this.#request(peer, request, "profile-reply") as ProfileReplyMsg;
  }

  /** What `peer`'s task threads run now: each task's latest sampled stack. */
  async callStacks(peer: WorkerAddress): Promise<CallStacksReplyMsg> {
    return await this.#request(
      peer,
      { op: "call-stacks" },
      "call-stacks-reply",
    ) as CallStacksReplyMsg;
  }

  /** Closes every connection; requests in flight fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const channels = await Promise.allSettled(this.#channels.values());
    this.#channels.clear();
    await Promise.all(
      channels.map((c) =>
        c.status === "fulfilled" ? c.value.connection.abort("the peer pool closed") : undefined
      ),
    );
  }

  async #request(
    peer: WorkerAddress,
    request:
      | Omit<GetDataMsg, "requestId">
      | Omit<UpdateDataMsg, "requestId">
      | Omit<PubSubPeerMsg, "requestId">
      | Omit<ActorCallMsg, "requestId">
      | Omit<ActorReadMsg, "requestId">
      | Omit<ProfileRequestMsg, "requestId">
      | Omit<CallStacksRequestMsg, "requestId">,
    expected: PeerReply["op"],
  ): Promise<PeerReply> {
    let delay = this.#busyDelayMs;
    for (let attempt = 0;; attempt++) {
      const channel = await this.#channel(peer);
      const requestId = this.#nextRequestId++;
      const reply = await new Promise<PeerReply>((resolve, reject) => {
        channel.add(requestId, { resolve, reject, prompt: request.op === "get-data" });
        if (!channel.connection.send({ header: { ...request, requestId } })) {
          channel.take(requestId);
          reject(new Error(`the connection to peer ${peer} is closed`));
        }
      });
      if (reply.op === expected) return reply;
      if (reply.op !== "busy") {
        throw new Error(`peer ${peer} answered ${request.op} with '${reply.op}'`);
      }
      if (attempt >= this.#busyRetries) {
        throw new Error(
          `peer ${peer} stayed busy through ${attempt + 1} attempts of ${request.op}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(1000, delay * 2);
    }
  }

  #channel(peer: WorkerAddress): Promise<PeerChannel> {
    if (this.#closed) return Promise.reject(new Error("the peer pool is closed"));
    let channel = this.#channels.get(peer);
    if (channel === undefined) {
      channel = Connection.connect(peer, this.#connectionOptions)
        .then((connection) =>
          new PeerChannel(
            connection,
            () => {
              if (this.#channels.get(peer) === channel) this.#channels.delete(peer);
            },
            this.#holdWhenIdle,
            this.#silenceTimeoutMs,
          )
        );
      // A failed connection is forgotten so the next request tries again.
      channel.catch(() => {
        if (this.#channels.get(peer) === channel) this.#channels.delete(peer);
      });
      this.#channels.set(peer, channel);
    }
    return channel;
  }
}
