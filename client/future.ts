/**
 * `Future`: a handle on a task running (or done) on the cluster.
 *
 * A Future is thenable, so `await future` gives its value. JavaScript unwraps thenables
 * wherever it adopts a value — returning from an async function, `yield` in an async
 * generator, `Promise.resolve` — so to keep a Future itself, hold it inside an array or object.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { AS_TASK_REF, keyPrefix, TaskRef } from "../core/task.ts";
import { noteRef } from "../core/task_context.ts";
import { tokenizeSymbol } from "../core/tokenize.ts";
import { type FutureState, type FutureStatus, TimeoutError } from "./future_state.ts";
import { escapeHtml, jupyterDisplay, type MimeBundle } from "../collections/display/notebook.ts";

/** What a Future needs from the client that made it. */
export interface FutureOwner {
  /** Identifies the client in messages and errors. */
  readonly id: string;
  /** The shared state of a key (creates it if needed). */
  stateOf(key: Key): FutureState;
  /** One more Future holds this key. */
  retain(key: Key): void;
  /** One Future less holds this key; at zero the client tells the scheduler. */
  release(key: Key): void;
  /** Fetches the value of a finished key. */
  fetchValue(key: Key): Promise<unknown>;
  /** The value of this key will be fetched once it finishes; call the result when done. */
  expectValue(key: Key): () => void;
  /** Cancels keys on the cluster. */
  cancelKeys(keys: Key[], force?: boolean): Promise<void>;
  /** Reruns erred keys. */
  retryKeys(keys: Key[]): Promise<void>;
  /** Keeps keys running until they finish, even once no Future holds them. */
  fireAndForgetKeys(keys: Key[]): void;
}

/** What the finalization registry keeps for a Future: enough to release its key once. */
interface Hold {
  readonly owner: FutureOwner;
  readonly key: Key;
  released: boolean;
}

/** Releases the key of a Future that was garbage-collected without `release()`. */
const collected = new FinalizationRegistry<Hold>((hold) => {
  if (!hold.released) hold.owner.release(hold.key);
});

/**
 * A remote result. `await future` gives its value or throws its error.
 *
 * @example
 * ```ts
 * import { Client } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const future = client.submit((x: number, y: number) => x ** y, 10, 10);
 * console.log(future.status); // "pending"
 * console.log(await future); // 10000000000
 * console.log(future.status, future.done()); // "finished" true
 * // a Future is thenable: to pass one through a promise, hold it in an array or object
 * const [same] = await Promise.resolve([future]);
 * future.release(); // the cluster may free the result once no Future holds it
 * ```
 */
export class Future<T = unknown> implements PromiseLike<T> {
  readonly #owner: FutureOwner;
  readonly #state: FutureState;
  /** Shared with the finalization registry so `release()` is never counted twice. */
  readonly #hold: Hold;

  /** @internal Futures come from a Client (`submit`, `map`, `scatter`, ...). */
  constructor(readonly key: Key, owner: FutureOwner) {
    this.#owner = owner;
    this.#state = owner.stateOf(key);
    owner.retain(key);
    this.#hold = { owner, key, released: false };
    collected.register(this, this.#hold, this);
  }

  /** The client this Future belongs to. */
  get client(): FutureOwner {
    return this.#owner;
  }

  /** `pending`, `finished`, `error`, `cancelled` or `lost`. */
  get status(): FutureStatus {
    return this.#state.status;
  }

  /** The value's type name, once finished. */
  get type(): string | undefined {
    return this.#state.typeName;
  }

  /** True once the task ended, however it ended. */
  done(): boolean {
    return this.#state.isDone;
  }

  /** True if the task was cancelled. */
  cancelled(): boolean {
    return this.#state.status === "cancelled";
  }

  /**
   * Waits for the value. Throws the task's error (same name and message, remote stack, `key`),
   * a `CancelledError`, a `FutureLostError`, or a `TimeoutError` after `timeout` seconds.
   */
  async result(timeout?: number): Promise<T> {
    const expected = this.#owner.expectValue(this.key);
    try {
      const state = this.#state;
      if (!state.isDone) await (timeout === undefined ? state.done : this.#waitDone(timeout));
      if (state.status !== "finished") throw state.error;
      return await this.#owner.fetchValue(this.key) as T;
    } finally {
      expected();
    }
  }

  /** Waits for the task to end; resolves to its error, or `undefined` if it finished. */
  async exception(timeout?: number): Promise<Error | undefined> {
    await this.#waitDone(timeout);
    return this.#state.status === "finished" ? undefined : this.#state.error;
  }

  /** Waits for the task to end; resolves to the remote stack of its error, if it erred. */
  async traceback(timeout?: number): Promise<string | undefined> {
    await this.#waitDone(timeout);
    return this.#state.errorRecord?.stack ?? this.#state.error?.stack;
  }

  /** Cancels the task (and what depends on it) on the cluster. */
  cancel(options: { force?: boolean } = {}): Promise<void> {
    return this.#owner.cancelKeys([this.key], options.force);
  }

  /** Reruns the task if it erred. */
  retry(): Promise<void> {
    return this.#owner.retryKeys([this.key]);
  }

  /** Lets go of the result: when no Future holds the key, the cluster frees it. */
  release(): void {
    if (this.#hold.released) return;
    this.#hold.released = true;
    collected.unregister(this);
    this.#owner.release(this.key);
  }

  /** Calls `callback(this)` when the task ends (at once if it has). */
  addDoneCallback(callback: (future: Future<T>) => void): void {
    this.#state.onDone(() => callback(this));
  }

  /** Makes `await future` give the value. */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.result().then(onFulfilled, onRejected);
  }

  /** @internal Futures passed as task arguments become references to their keys. */
  toTaskRef(): TaskRef {
    return new TaskRef(this.key);
  }

  /** A Future tokenizes as its key. */
  [tokenizeSymbol](): string {
    return this.key;
  }

  /**
   * A Future in a value being encoded (one a task returns) travels as a reference to its key;
   * the task's thread keeps this Future, so the key stays alive while the result does.
   */
  [AS_TASK_REF](): Key {
    noteRef(this);
    return this.key;
  }

  /** `Future(key, status)`. */
  toString(): string {
    return `Future(${JSON.stringify(this.key)}, ${this.status})`;
  }

  /** How `console.log` shows a Future: key, status and, once finished, the value's type. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#repr();
  }

  #repr(): string {
    const type = this.#state.typeName === undefined ? "" : `, type: ${this.#state.typeName}`;
    return `<Future: status: ${this.status}${type}, key: ${this.key}>`;
  }

  /** How a notebook shows a Future: its status (coloured as Dask's) and key. */
  [jupyterDisplay](): MimeBundle {
    const color = STATUS_COLORS[this.status];
    const type = this.#state.typeName === undefined
      ? ""
      : `, <span>type:</span> ${escapeHtml(this.#state.typeName)}`;
    return {
      "text/plain": this.#repr(),
      "text/html": `<b>Future: ${escapeHtml(keyPrefix(this.key))}</b> ` +
        `<span style="color: ${color};">status: </span>` +
        `<span style="color: ${color};">${this.status}</span>${type}, ` +
        `<span>key:</span> ${escapeHtml(this.key)}`,
    };
  }

  async #waitDone(timeout?: number): Promise<void> {
    if (this.#state.isDone) return;
    if (timeout === undefined) return await this.#state.done;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new TimeoutError(
            `Future '${this.key}' did not finish within ${timeout} s; it keeps running — wait ` +
              `again, or cancel() it.`,
          ),
        );
      }, timeout * 1000);
    });
    try {
      await Promise.race([this.#state.done, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Dask's colours for a Future's status in a notebook. */
const STATUS_COLORS: Record<FutureStatus, string> = {
  pending: "var(--jp-ui-font-color2, gray)",
  finished: "var(--jp-success-color0, green)",
  error: "var(--jp-error-color0, red)",
  cancelled: "var(--jp-warn-color0, orange)",
  lost: "var(--jp-error-color0, red)",
};
