/**
 * A client's session with the scheduler (docs/protocol.md §8): the connection (role
 * `"client"`), registration, requests answered on the same connection, and reconnection with
 * backoff when the connection breaks.
 *
 * @module
 */

import { errorFromRecord } from "../core/errors.ts";
import { AuthenticationError, Connection, unbatch, WireError } from "../net/wire.ts";
import type { TlsConfig } from "../net/tls.ts";
import { ProcessHold } from "../net/process_hold.ts";
import type {
  ClientToSchedulerMsg,
  PubSubToClientMsg,
  SchedulerToClientMsg,
} from "../protocol/messages.ts";
import {
  type ClientRegisteredMsg,
  type RefusedMsg,
  type RegisterClientMsg,
  type ReplyMsg,
  type RequestMsg,
  SESSION_PROTOCOL,
} from "../protocol/session.ts";

/** What the session tells its client. */
export interface SessionEvents {
  /** A message of docs/protocol.md §5. */
  message(msg: SchedulerToClientMsg | PubSubToClientMsg): void;
  /** The connection broke; the session is reconnecting. */
  disconnected(reason: string): void;
  /** Registered again after a break (with the same scheduler, or a restarted one). */
  reconnected(): void;
  /** Reconnecting failed for longer than allowed; the session is closed. */
  failed(error: Error): void;
}

/** How a session connects and reconnects. */
export interface SessionOptions {
  /** Seconds to keep trying to connect and register at first. */
  timeout: number;
  /** Seconds to keep trying after the connection breaks before giving up. */
  reconnectTimeout: number;
  /** The cluster's shared secret, proven in the handshake (net/auth.ts). */
  authToken?: string;
  /** TLS (net/tls.ts), for a `tls://` scheduler and workers. */
  tls?: TlsConfig;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

type Incoming = SchedulerToClientMsg | PubSubToClientMsg | ReplyMsg;

interface PendingRequest {
  msg: RequestMsg;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

/** The client could not reach or register with the scheduler. */
export class SchedulerUnreachableError extends Error {
  /** Always `"SchedulerUnreachableError"`. */
  override name = "SchedulerUnreachableError";
}

/** A connected, registered session with the scheduler. */
export class SchedulerSession {
  readonly address: string;
  readonly clientId: string;
  /** What the scheduler said when this client last registered. */
  info: ClientRegisteredMsg;
  readonly #events: SessionEvents;
  readonly #options: SessionOptions;
  #connection: Connection | null;
  #requests = new Map<number, PendingRequest>();
  #nextRequestId = 1;
  #closing = false;
  #closedError: Error | null = null;
  /** The connection holds the process only while a request or a holder waits on it. */
  readonly #hold = new ProcessHold((held) => this.#connection?.holdProcess(held));

  private constructor(
    address: string,
    clientId: string,
    connection: Connection,
    info: ClientRegisteredMsg,
    events: SessionEvents,
    options: SessionOptions,
  ) {
    this.address = address;
    this.clientId = clientId;
    this.#connection = connection;
    connection.holdProcess(this.#hold.held);
    this.info = info;
    this.#events = events;
    this.#options = options;
    void this.#serve(connection);
  }

  /**
   * Connects to the scheduler at `address` and registers `clientId`, retrying while the
   * scheduler is not reachable yet (it may be starting) for `options.timeout` seconds.
   *
   * @throws {SchedulerUnreachableError} naming the address and what to do.
   */
  static async open(
    address: string,
    clientId: string,
    events: SessionEvents,
    options: SessionOptions,
  ): Promise<SchedulerSession> {
    const { connection, info } = await connectWithRetry(
      address,
      clientId,
      options.timeout,
      options,
    );
    return new SchedulerSession(address, clientId, connection, info, events, options);
  }

  /** The token this session proves to the scheduler, for the client's other links. */
  get authToken(): string | undefined {
    return this.#options.authToken;
  }

  /** The TLS settings of this session, for the client's other links. */
  get tls(): TlsConfig | undefined {
    return this.#options.tls;
  }

  /** True while registered with a live connection. */
  get connected(): boolean {
    return this.#connection !== null && !this.#connection.isClosed;
  }

  /** The error that ended the session, if reconnecting failed or it was closed. */
  get closedError(): Error | null {
    return this.#closedError;
  }

  /**
   * Keeps the process alive until the returned function is called (the client holds it while
   * futures are awaited). Otherwise only requests in flight do: an idle session lets the
   * process end.
   */
  holdProcess(): () => void {
    return this.#hold.acquire();
  }

  /** Writes a message; false (message dropped) while disconnected. */
  send(msg: ClientToSchedulerMsg): boolean {
    return this.#connection !== null && this.#connection.send({ header: msg });
  }

  /**
   * Asks the scheduler something (docs/protocol.md §8, "Requests"). Requests made or in flight
   * while reconnecting are sent again once the session is registered again.
   */
  request<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.#closedError !== null) return Promise.reject(this.#closedError);
    const msg: RequestMsg = { op: "request", requestId: this.#nextRequestId++, method, params };
    const release = this.#hold.acquire();
    return new Promise<T>((resolve, reject) => {
      this.#requests.set(msg.requestId, {
        msg,
        resolve: resolve as (result: unknown) => void,
        reject,
      });
      this.#connection?.send({ header: msg });
    }).finally(release);
  }

  /** Resolves once everything sent so far is written. */
  async flush(): Promise<void> {
    await this.#connection?.flush();
  }

  /** Closes the session; requests waiting fail with `error`. */
  async close(error: Error): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#end(error);
    const connection = this.#connection;
    this.#connection = null;
    if (connection !== null) {
      // a scheduler that stopped reading must not keep close() waiting
      const timer = setTimeout(() => connection.abort("the client closed"), 2000);
      await connection.close("the client closed");
      clearTimeout(timer);
    }
  }

  async #serve(connection: Connection): Promise<void> {
    for await (const message of connection) {
      // the scheduler sends what it says in one flush as one `batch` (docs/protocol.md)
      const header = message.header as Incoming | Incoming[];
      const msgs = Array.isArray(header) ? header : unbatch(header) as Incoming[] | null;
      if (msgs === null) {
        await connection.abort("protocol error: a batch without a list of messages (msgs)");
        break;
      }
      for (const msg of msgs) this.#dispatch(msg);
    }
    const info = await connection.closed;
    if (this.#closing || this.#connection !== connection) return;
    this.#connection = null;
    this.#events.disconnected(info.reason);
    await this.#reconnect(info.reason);
  }

  #dispatch(msg: Incoming): void {
    if (msg === null || typeof msg !== "object") return;
    if (msg.op !== "reply") {
      this.#events.message(msg);
      return;
    }
    const pending = this.#requests.get(msg.requestId);
    if (pending === undefined) return;
    this.#requests.delete(msg.requestId);
    if ("error" in msg) pending.reject(errorFromRecord(msg.error));
    else pending.resolve(msg.result);
  }

  async #reconnect(reason: string): Promise<void> {
    const deadline = Date.now() + this.#options.reconnectTimeout * 1000;
    let delay = FIRST_RETRY_MS;
    let lastError = reason;
    while (!this.#closing) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delay);
        // nothing waits for the scheduler: the script may end meanwhile
        if (!this.#hold.held) Deno.unrefTimer(timer);
      });
      if (this.#closing) return;
      delay = Math.min(delay * 2, MAX_RETRY_MS);
      try {
        const left = Math.max(0.1, (deadline - Date.now()) / 1000);
        const { connection, info } = await connectOnce(
          this.address,
          this.clientId,
          left,
          this.#options,
        );
        if (this.#closing) {
          await connection.abort("the client closed");
          return;
        }
        this.#connection = connection;
        connection.holdProcess(this.#hold.held);
        this.info = info;
        // requests that were waiting (or in flight when the connection broke) go again
        for (const pending of this.#requests.values()) connection.send({ header: pending.msg });
        this.#events.reconnected();
        void this.#serve(connection);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() >= deadline) break;
    }
    if (this.#closing) return;
    const error = new SchedulerUnreachableError(
      `Lost the scheduler at ${this.address} and could not reconnect within ` +
        `${this.#options.reconnectTimeout} s (${lastError}). Restart the scheduler and connect ` +
        `a new client with Client.connect(...).`,
    );
    this.#closing = true;
    this.#end(error);
    this.#events.failed(error);
  }

  #end(error: Error): void {
    this.#closedError = error;
    const requests = [...this.#requests.values()];
    this.#requests.clear();
    for (const pending of requests) pending.reject(error);
  }
}

async function connectWithRetry(
  address: string,
  clientId: string,
  timeout: number,
  security: Pick<SessionOptions, "authToken" | "tls">,
): Promise<{ connection: Connection; info: ClientRegisteredMsg }> {
  const deadline = Date.now() + timeout * 1000;
  let delay = FIRST_RETRY_MS / 2;
  for (;;) {
    try {
      const left = Math.max(0.05, (deadline - Date.now()) / 1000);
      return await connectOnce(address, clientId, left, security);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof TypeError) throw error; // an invalid address: retrying cannot help
      if (error instanceof RefusedError || error instanceof AuthenticationError) {
        throw new SchedulerUnreachableError(message, { cause: error });
      }
      if (error instanceof WireError && WRONG_PEER.test(message)) {
        // the peer answered in another protocol: it will answer the same way every time
        throw new SchedulerUnreachableError(wrongProtocolMessage(address, message), {
          cause: error,
        });
      }
      if (Date.now() + delay >= deadline) {
        throw new SchedulerUnreachableError(
          `Could not reach a scheduler at ${address} within ${timeout} s (${message}). ` +
            `Is one running there? Start one with \`deno run -A scheduler/main.ts\` and pass ` +
            `the address it prints, or use Client.local() to start a cluster on this machine.`,
          { cause: error },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

class RefusedError extends Error {}

/** net/wire.ts's handshake errors for a peer of another protocol or release. */
const WRONG_PEER = /did not open with this protocol's handshake|protocol version \d+ not supported/;
/** "HTTP" as the handshake's hex bytes (net/wire.ts names the bytes a wrong peer sent). */
const HTTP_BYTES = /\b48 54 54 50\b/;

function wrongProtocolMessage(address: string, message: string): string {
  if (HTTP_BYTES.test(message)) {
    return `${address} is an HTTP server (a dashboard's port?), not a scheduler. Pass the ` +
      `scheduler's own address: the "Scheduler at tcp://…" line it prints (port 8786 unless ` +
      `--port says otherwise); the dashboard is for a browser.`;
  }
  return `The peer at ${address} does not speak this cluster's protocol (${message}). Pass the ` +
    `address a scheduler of this release prints ("Scheduler at tcp://…").`;
}

/** One attempt: connect, handshake, register, read the answer. */
async function connectOnce(
  address: string,
  clientId: string,
  timeout: number,
  security: Pick<SessionOptions, "authToken" | "tls">,
): Promise<{ connection: Connection; info: ClientRegisteredMsg }> {
  const timeoutMs = Math.max(50, Math.round(timeout * 1000));
  const connecting = Connection.connect(address, {
    role: "client",
    handshakeTimeoutMs: timeoutMs,
    authToken: security.authToken,
    tls: security.tls,
  });
  const connection = await withTimeout(connecting, timeoutMs, `no answer within ${timeout} s`)
    .catch((error) => {
      // a connection completing after we gave up must not stay open
      connecting.then((late) => late.abort("gave up waiting"), () => {});
      throw error;
    });
  try {
    const register: RegisterClientMsg = {
      op: "register-client",
      clientId,
      protocol: SESSION_PROTOCOL,
      batches: true,
    };
    connection.send({ header: register });
    const iterator = connection[Symbol.asyncIterator]();
    const first = await withTimeout(
      iterator.next(),
      timeoutMs,
      `the peer at ${address} did not answer the registration within ${timeout} s`,
    );
    if (first.done) {
      const info = await connection.closed;
      throw new Error(`the scheduler closed the connection during registration (${info.reason})`);
    }
    const reply = first.value.header as ClientRegisteredMsg | RefusedMsg;
    if (reply?.op === "refused") {
      throw new RefusedError(
        `The ${reply.from ?? "scheduler"} at ${address} refused this client: ${reply.reason}`,
      );
    }
    if (reply?.op !== "client-registered") {
      throw new RefusedError(
        `The peer at ${address} answered the registration with ` +
          `${JSON.stringify((reply as { op?: unknown })?.op)}: it is not a scheduler ` +
          `(a worker's address?). Pass the address the scheduler prints.`,
      );
    }
    return { connection, info: reply };
  } catch (error) {
    await connection.abort("registration failed");
    throw error;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, reason: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(reason)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
