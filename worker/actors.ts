/**
 * The worker's actors (I/O only): one thread of their own (threads/actor_entry.ts), started on
 * the first actor and holding every actor built here, with the task threads' permissions.
 * Constructions come from the executor (a task marked `actor`); calls and attribute reads come
 * straight from callers over the peer listener (worker/peer_server.ts), never through the
 * scheduler. docs/architecture.md, "Actors", says why a thread and not the worker's own.
 *
 * If the thread dies, its actors are lost: calls waiting on it fail saying so, and later calls
 * fail naming the missing actor.
 *
 * @module
 */

import type { Encoded } from "../core/value_codec.ts";
import type { ActorOutcome } from "../protocol/actors.ts";
import type { FromActorThread, ToActorThread } from "../threads/actor_protocol.ts";
import type { RunItem, RunResult, ThreadSetup } from "../threads/thread_protocol.ts";

const ACTOR_ENTRY = new URL("../threads/actor_entry.ts", import.meta.url).href;

export class ActorHost {
  #thread: Worker | null = null;
  #setup: ThreadSetup | null = null;
  /** Keys of the actors living in the thread (so releasing other keys costs nothing). */
  readonly #hosted = new Set<string>();
  readonly #creating = new Map<number, (result: RunResult) => void>();
  readonly #answers = new Map<number, (outcome: ActorOutcome) => void>();
  #nextId = 1;
  #closed = false;

  /**
   * @param permissions the task threads' Deno permissions (core/task_permissions.ts)
   * @param log where the thread's death is told
   */
  constructor(
    private readonly permissions: Deno.PermissionOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Tells the thread the cluster it is on (methods may call `getClient()`). */
  setup(setup: ThreadSetup): void {
    this.#setup = setup;
    this.#thread?.postMessage(setup);
  }

  /** Builds the actor of `item.key` (its class in `item.fn`, given whole). */
  create(item: RunItem, transfer: Transferable[]): Promise<RunResult> {
    return new Promise((resolve) => {
      this.#creating.set(item.id, (result) => {
        if (result.ok) this.#hosted.add(item.key);
        resolve(result);
      });
      this.#post({ type: "create", item }, transfer);
    });
  }

  /** Calls `method` of actor `key` with the encoded `args`. */
  call(key: string, method: string, args: Encoded): Promise<ActorOutcome> {
    return this.#ask(key, (id) => ({ type: "call", id, key, method, args }));
  }

  /** Reads attribute `name` of actor `key`. */
  read(key: string, name: string): Promise<ActorOutcome> {
    return this.#ask(key, (id) => ({ type: "read", id, key, name }));
  }

  /** These keys left the worker: their actors go. */
  release(keys: readonly string[]): void {
    if (this.#hosted.size === 0) return;
    const gone = keys.filter((key) => this.#hosted.delete(key));
    if (gone.length > 0) this.#thread?.postMessage({ type: "release", keys: gone });
  }

  /** Stops the thread; its actors are gone. */
  close(reason = "the worker stopped"): void {
    this.#closed = true;
    this.#end(reason);
  }

  /** Drops every actor (the worker restarts); the next one starts a fresh thread. */
  reset(reason: string): void {
    this.#end(reason);
  }

  #ask(key: string, message: (id: number) => ToActorThread): Promise<ActorOutcome> {
    if (!this.#hosted.has(key)) {
      return Promise.resolve({
        ok: false,
        error: {
          name: "Error",
          message: `There is no actor ${key} on worker ${this.#setup?.worker ?? "(unknown)"}: ` +
            `it was released (no Future or handle of it was held) or lost with its worker's ` +
            `actor thread.`,
        },
      });
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#answers.set(id, resolve);
      this.#post(message(id));
    });
  }

  #post(message: ToActorThread, transfer: Transferable[] = []): void {
    if (this.#closed) {
      this.#fail(message, "the worker stopped");
      return;
    }
    this.#threadNow().postMessage(message, transfer);
  }

  #fail(message: ToActorThread, reason: string): void {
    if (message.type === "create") {
      const at = performance.timeOrigin + performance.now();
      this.#creating.get(message.item.id)?.({
        id: message.item.id,
        ok: false,
        error: { name: "Error", message: `actor ${message.item.key} was not built: ${reason}` },
        start: at,
        stop: at,
      });
      this.#creating.delete(message.item.id);
    } else if (message.type === "call" || message.type === "read") {
      this.#answers.get(message.id)?.({ ok: false, error: { name: "Error", message: reason } });
      this.#answers.delete(message.id);
    }
  }

  #threadNow(): Worker {
    if (this.#thread !== null) return this.#thread;
    const thread = new Worker(ACTOR_ENTRY, {
      type: "module",
      name: "actor-thread",
      ...(this.permissions === "inherit" ? {} : { deno: { permissions: this.permissions } }),
    });
    thread.onmessage = (event: MessageEvent<FromActorThread>) => {
      const message = event.data;
      if (message.type === "created") {
        const done = this.#creating.get(message.result.id);
        this.#creating.delete(message.result.id);
        done?.(message.result);
      } else {
        const done = this.#answers.get(message.id);
        this.#answers.delete(message.id);
        done?.(message.outcome);
      }
    };
    thread.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      if (this.#thread !== thread) return;
      const reason = `the actor thread crashed (${event.message}); its actors are lost`;
      this.log(reason);
      this.#end(reason);
    };
    if (this.#setup !== null) thread.postMessage(this.#setup);
    return this.#thread = thread;
  }

  /** Ends the thread and fails what waited on it. */
  #end(reason: string): void {
    this.#thread?.terminate();
    this.#thread = null;
    this.#hosted.clear();
    const at = performance.timeOrigin + performance.now();
    for (const [id, done] of this.#creating) {
      done({ id, ok: false, error: { name: "Error", message: reason }, start: at, stop: at });
    }
    this.#creating.clear();
    for (const done of this.#answers.values()) {
      done({ ok: false, error: { name: "Error", message: reason } });
    }
    this.#answers.clear();
  }
}
