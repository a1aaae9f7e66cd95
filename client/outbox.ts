/**
 * The client's outgoing messages to the scheduler, batched per tick.
 *
 * Everything the client says in one tick (10,000 `submit` calls in a loop, the releases of a
 * garbage-collected list of futures) leaves as few messages as possible: a message of the same
 * kind as the last queued one is merged into it, so order between kinds is kept (a release
 * queued after a submit of the same key still arrives after it) while a loop of submits
 * becomes one `update-graph`. The queue is written in a microtask, or kept while the client is
 * disconnected and written once it is registered again.
 *
 * A barrier holds back everything queued after it until it is lifted: scatter places its data
 * on workers first, and only then may the scheduler hear of the keys (and of tasks reading
 * them, or their release).
 *
 * @module
 */

import { FunctionSender } from "../core/function_link.ts";
import type { Key } from "../core/task.ts";
import type {
  ClientToSchedulerMsg,
  GraphTaskSpec,
  ScatteredKey,
  UpdateGraphMsg,
  WorkerAddress,
} from "../protocol/messages.ts";

/**
 * An `update-graph` stops taking independent submissions at this many tasks, so a map over a
 * million items does not become one message the size of the whole graph. A single graph is
 * never split (its tasks must arrive together). Small enough that the objects one message
 * decodes into die young on the scheduler: at 50,000 they outlived V8's young generation, and a
 * million-task map left the scheduler at 1.8–2.2 KB of peak RSS per task instead of 1.2–1.45.
 */
export const MAX_TASKS_PER_MESSAGE = 5_000;

/** Writes one message; false when there is no connection to write to. */
export type SendMessage = (msg: ClientToSchedulerMsg) => boolean;

/** A place in the queue that later messages wait behind; lifted with a message or none. */
class Barrier {
  lifted = false;
  msg: ClientToSchedulerMsg | undefined;
  /** Called once the barrier's place in the queue is written. */
  written: (() => void) | undefined;
  constructor(readonly keys: readonly Key[]) {}
}

type Queued = ClientToSchedulerMsg | Barrier;

/** Queues client → scheduler messages and writes them once per tick, merged by kind. */
export class Outbox {
  readonly #send: SendMessage;
  #queue: Queued[] = [];
  #scheduled = false;
  #paused = false;

  /** @param send writes one message to the scheduler; false when disconnected */
  readonly #awaited: ReadonlyMap<Key, unknown>;

  /**
   * `awaited`: keys whose values the client is waiting to fetch; their tasks go out asking for
   * tiny results to come back with `key-in-memory`.
   */
  constructor(send: SendMessage, awaited: ReadonlyMap<Key, unknown> = new Map()) {
    this.#send = send;
    this.#awaited = awaited;
  }

  /** Messages waiting to be written. */
  get size(): number {
    return this.#queue.length;
  }

  /**
   * Submits tasks and holds `keys`. The tasks of one call travel in one message (a graph is
   * never split); calls within a tick share messages up to {@link MAX_TASKS_PER_MESSAGE} tasks.
   */
  submit(tasks: readonly GraphTaskSpec[], keys: readonly Key[]): void {
    const last = this.#last("update-graph") as UpdateGraphMsg | undefined;
    if (last !== undefined && last.tasks.length + tasks.length <= MAX_TASKS_PER_MESSAGE) {
      for (let i = 0; i < tasks.length; i++) last.tasks.push(tasks[i]);
      for (let i = 0; i < keys.length; i++) last.keys.push(keys[i]);
    } else {
      this.#startMessage({ op: "update-graph", tasks: tasks.slice(), keys: keys.slice() });
    }
    this.#schedule();
  }

  /** Submits one task and holds its key (the common case of submit and map, without arrays). */
  submitOne(task: GraphTaskSpec): void {
    const last = this.#last("update-graph") as UpdateGraphMsg | undefined;
    if (last !== undefined && last.tasks.length < MAX_TASKS_PER_MESSAGE) {
      last.tasks.push(task);
      last.keys.push(task.key);
    } else {
      this.#startMessage({ op: "update-graph", tasks: [task], keys: [task.key] });
    }
    this.#schedule();
  }

  /**
   * Queues a new update-graph. When the one before it is full, what is queued goes now: a
   * million submissions in one loop then become bytes on their way as they are made, instead
   * of a million task objects alive until the end of the tick.
   */
  #startMessage(msg: UpdateGraphMsg): void {
    if (this.#last("update-graph") !== undefined) this.flush();
    this.#push(msg);
  }

  /** Holds keys that need no task (the scheduler knows them). */
  hold(keys: readonly Key[]): void {
    this.submit([], keys);
  }

  /** Records data placed on workers by this client, and holds its keys. */
  scatter(data: readonly ScatteredKey[]): void {
    const last = this.#last("scatter");
    if (last !== undefined && last.op === "scatter") {
      for (const item of data) {
        last.data.push(item);
      }
    } else this.#push({ op: "scatter", data: data.slice() });
    this.#schedule();
  }

  /** The client dropped its last Future of `key`. */
  release(key: Key): void {
    this.#keys("client-releases-keys", [key]);
  }

  /** The client holds futures for these existing keys. */
  desire(keys: readonly Key[]): void {
    this.#keys("client-desires-keys", keys);
  }

  /** Keeps these keys running until they finish. */
  fireAndForget(keys: readonly Key[]): void {
    this.#keys("fire-and-forget", keys);
  }

  /** Reruns erred keys. */
  retry(keys: readonly Key[]): void {
    this.#keys("retry", keys);
  }

  /** Cancels keys (and their dependents). */
  cancel(keys: readonly Key[], force: boolean): void {
    const last = this.#last("cancel");
    if (last !== undefined && last.op === "cancel" && (last.force === true) === force) {
      for (const key of keys) last.keys.push(key);
    } else {
      this.#push(
        force ? { op: "cancel", keys: keys.slice(), force } : {
          op: "cancel",
          keys: keys.slice(),
        },
      );
    }
    this.#schedule();
  }

  /** `errantWorker` did not give `keys` when this client fetched them (client/data_fetch.ts). */
  missingData(keys: readonly Key[], errantWorker: WorkerAddress): void {
    this.#push({ op: "missing-data", keys: keys.slice(), errantWorker });
    this.#schedule();
  }

  /**
   * Holds back every message queued from now on until the returned function is called, with
   * the message to send in the barrier's place (or none). `keys` are the keys the barrier's
   * message will hold.
   */
  barrier(keys: readonly Key[]): (msg?: ClientToSchedulerMsg) => void {
    const barrier = new Barrier(keys);
    this.#push(barrier);
    return (msg) => {
      barrier.lifted = true;
      barrier.msg = msg;
      this.#schedule();
    };
  }

  /**
   * True when a message written now would overtake something queued that {@link flush} cannot
   * write yet: the outbox is paused (disconnected), or a barrier is in the queue. Otherwise a
   * flush writes the whole queue at once, and a request may go right after it.
   */
  get holdsBack(): boolean {
    return this.#paused || this.#queue.some((entry) => entry instanceof Barrier);
  }

  /**
   * Resolves once everything queued so far has been written — barriers included: a request
   * sent then reaches the scheduler after the keys of earlier scatters.
   */
  written(): Promise<void> {
    const marker = new Barrier([]);
    marker.lifted = true;
    const done = new Promise<void>((resolve) => marker.written = resolve);
    this.#push(marker);
    this.#schedule();
    return done;
  }

  /** Keys that queued submissions (and unlifted barriers) will hold once written. */
  heldKeys(): Set<Key> {
    const keys = new Set<Key>();
    for (const msg of this.#queue) {
      if (msg instanceof Barrier) {
        for (const key of msg.keys) keys.add(key);
      } else if (msg.op === "update-graph") {
        for (const key of msg.keys) keys.add(key);
      } else if (msg.op === "scatter") {
        for (const item of msg.data) keys.add(item.key);
      }
    }
    return keys;
  }

  /** Keeps messages queued (the connection is down). */
  pause(): void {
    this.#paused = true;
  }

  /** Writes what is queued, after `first` (sent before anything queued). */
  resume(first?: ClientToSchedulerMsg): void {
    this.#paused = false;
    if (first !== undefined) this.#queue.unshift(first);
    this.flush();
  }

  /** Writes every queued message now (unless paused). */
  flush(): void {
    this.#scheduled = false;
    if (this.#paused) return;
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length; i++) {
      const entry = queue[i];
      if (entry instanceof Barrier && !entry.lifted) {
        this.#queue = queue.slice(i).concat(this.#queue); // the rest waits for the barrier
        return;
      }
      if (entry instanceof Barrier) entry.written?.();
      let msg = entry instanceof Barrier ? entry.msg : entry;
      if (msg?.op === "update-graph") {
        if (this.#awaited.size > 0) askForValues(msg, this.#awaited);
        msg = withSharedFunctions(msg);
      }
      if (msg !== undefined && !this.#send(msg)) {
        // the connection went away mid-flush: keep the rest, in order, for the next one
        this.#queue = queue.slice(i).concat(this.#queue);
        this.#paused = true;
        return;
      }
    }
  }

  /** Drops everything queued (the client is closing). */
  clear(): void {
    // whoever waits for the queue to be written goes on (and finds the client closed)
    for (const entry of this.#queue) if (entry instanceof Barrier) entry.written?.();
    this.#queue = [];
  }

  #keys(
    op: "client-releases-keys" | "client-desires-keys" | "fire-and-forget" | "retry",
    keys: readonly Key[],
  ): void {
    const last = this.#last(op) as { keys: Key[] } | undefined;
    if (last !== undefined) { for (const key of keys) last.keys.push(key); }
    else this.#push({ op, keys: keys.slice() } as ClientToSchedulerMsg);
    this.#schedule();
  }

  #last(op: ClientToSchedulerMsg["op"]): ClientToSchedulerMsg | undefined {
    const last = this.#queue[this.#queue.length - 1];
    return last !== undefined && !(last instanceof Barrier) && last.op === op ? last : undefined;
  }

  #push(msg: Queued): void {
    this.#queue.push(msg);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }
}

/**
 * The message with each function spec given in full only once: later tasks of the same
 * function carry its id (docs/protocol.md §2), so a map over a million items does not encode,
 * send and decode the function's source a million times. The specs themselves are not changed
 * (a message kept for a reconnection is shared again from scratch).
 */
export function withSharedFunctions(msg: UpdateGraphMsg): UpdateGraphMsg {
  // the link is the message: the scheduler keeps no function table per client between them
  const sender = new FunctionSender();
  let tasks: GraphTaskSpec[] | undefined;
  for (let i = 0; i < msg.tasks.length; i++) {
    const task = msg.tasks[i];
    const fn = sender.shrink(task.fn);
    const shared = fn === task.fn ? undefined : { ...task, fn };
    if (shared !== undefined && tasks === undefined) tasks = msg.tasks.slice(0, i);
    if (tasks !== undefined) tasks.push(shared ?? task);
  }
  return tasks === undefined ? msg : { ...msg, tasks };
}

/** Marks the tasks whose values the client already waits for (a result() or gather pending). */
function askForValues(msg: UpdateGraphMsg, awaited: ReadonlyMap<Key, unknown>): void {
  for (const spec of msg.tasks) if (awaited.has(spec.key)) spec.returnValue = true;
}
