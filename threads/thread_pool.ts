/**
 * A pool of Web Worker threads that run tasks (see thread_entry.ts). The pool only carries
 * batches and results; its owner decides what runs where.
 *
 * @module
 */

import type { FunctionSpec } from "../core/function_codec.ts";
import { FunctionSender } from "../core/function_link.ts";
import type { Key } from "../core/task.ts";
import type {
  FromThread,
  RunItem,
  RunResult,
  SlotRequest,
  SubscriptionChange,
  ThreadSetup,
  ToThread,
} from "./thread_protocol.ts";
import type { Encoded } from "../core/value_codec.ts";

/** Called with the results a thread posts, and with the thread's index. */
export type ResultHandler = (thread: number, results: RunResult[]) => void;

/**
 * Called when a thread dies (an uncaught error outside any task). The pool has already started
 * a fresh thread in its place; the tasks the dead one held are lost and are the owner's to redo.
 */
export type ThreadFailureHandler = (thread: number, error: Error) => void;

/**
 * Called when a task on thread `thread` secedes or asks to rejoin (see {@link SlotRequest});
 * the owner answers a rejoin with {@link ThreadPool.rejoined}. Without one, a rejoin is granted
 * at once (the local `threads` scheduler does not count slots).
 */
export type SlotRequestHandler = (thread: number, request: SlotRequest) => void;

const THREAD_ENTRY = new URL("./thread_entry.ts", import.meta.url).href;

/** A fixed set of Web Worker threads. */
export class ThreadPool {
  readonly #threads: Worker[] = [];
  /** Each thread's end of the function link (a restarted thread gets a new one). */
  readonly #functions: FunctionSender[] = [];
  #closed = false;
  #setup: ThreadSetup | null = null;
  /** Topic → the threads whose tasks subscribe to it. */
  readonly #subscribers = new Map<string, Set<number>>();

  constructor(
    readonly size: number,
    private readonly onResults: ResultHandler,
    private readonly onFailure: ThreadFailureHandler = (thread, error) => {
      console.error(`thread ${thread} failed:`, error);
    },
    private readonly onSlotRequest: SlotRequestHandler = (thread, request) => {
      if (request.type === "rejoin") this.rejoined(thread, request.id);
    },
  ) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`A thread pool needs at least one thread; got ${size}.`);
    }
    for (let i = 0; i < size; i++) this.#start(i);
  }

  #start(i: number): void {
    const thread = new Worker(THREAD_ENTRY, { type: "module", name: `task-thread-${i}` });
    thread.onmessage = (event: MessageEvent<FromThread>) => {
      const message = event.data;
      if (message.type === "results") this.onResults(i, message.results);
      else if ("name" in message) this.#subscription(i, message);
      else this.onSlotRequest(i, message);
    };
    thread.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      // the thread is gone with whatever it was running: replace it, then tell the owner
      thread.terminate();
      if (!this.#closed) this.#start(i);
      this.onFailure(i, new Error(`thread ${i} died: ${event.message}`));
    };
    thread.onmessageerror = () => {
      this.onFailure(i, new Error(`thread ${i} sent a message that could not be read`));
    };
    this.#threads[i] = thread;
    this.#functions[i] = new FunctionSender();
    for (const threads of this.#subscribers.values()) threads.delete(i); // a fresh thread has none
    if (this.#setup !== null) thread.postMessage(this.#setup);
  }

  /** Tells every thread (and those started later) the cluster their tasks run on. */
  setup(setup: ThreadSetup): void {
    this.#setup = setup;
    if (this.#closed) return;
    for (const thread of this.#threads) thread.postMessage(setup satisfies ToThread);
  }

  /** Results `keys` that `thread` returned are gone: it lets go of the Futures they held. */
  releaseRefs(thread: number, keys: Key[]): void {
    if (this.#closed) return;
    this.#threads[thread].postMessage({ type: "release-refs", keys } satisfies ToThread);
  }

  #subscription(thread: number, change: SubscriptionChange): void {
    let threads = this.#subscribers.get(change.name);
    if (change.type === "subscribe") {
      if (threads === undefined) this.#subscribers.set(change.name, threads = new Set());
      threads.add(thread);
    } else if (threads !== undefined) {
      threads.delete(thread);
      if (threads.size === 0) this.#subscribers.delete(change.name);
    }
  }

  /** Hands a Pub's message to every thread whose tasks subscribe to `name`. */
  deliverPubSub(name: string, value: Encoded): void {
    if (this.#closed) return;
    for (const thread of this.#subscribers.get(name) ?? []) {
      this.#threads[thread].postMessage({ type: "pubsub-msg", name, value } satisfies ToThread);
    }
  }

  /** Grants the seceded task `id` on `thread` a slot again. */
  rejoined(thread: number, id: number): void {
    if (this.#closed) return;
    this.#threads[thread].postMessage({ type: "rejoined", id } satisfies ToThread);
  }

  /**
   * The form of `spec` to send to a thread: the whole spec the first time, then its id.
   * Marks it as known to that thread.
   */
  functionFor(thread: number, spec: FunctionSpec): FunctionSpec | string {
    return this.#functions[thread].shrink(spec);
  }

  /** Posts a batch of tasks to one thread, handing over the listed buffers. */
  post(thread: number, batch: RunItem[], transfer: ArrayBuffer[] = []): void {
    if (this.#closed) throw new Error("This thread pool is closed; start a new one.");
    const message: ToThread = { type: "run", batch };
    this.#threads[thread].postMessage(message, transfer);
  }

  /** Stops every thread at once (running tasks are abandoned). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#threads) t.terminate();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
