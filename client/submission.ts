/**
 * The submitting side of a Client: `submit`, `map`, `compute`, `persist` and `scatter` with a
 * view's {@link SubmitOptions}, turning calls and collections into `update-graph` specs in the
 * client's outbox and Futures held by the client. The Client gives it what it needs as a
 * {@link SubmissionHost}; Client and ClientView reach it as their `Submitter`.
 *
 * @module
 */

import {
  collectGraph,
  type Collection,
  collectionSymbol,
  isCollection,
  type Layer,
  leafLayer,
} from "../collections/collection.ts";
import { planCompute } from "../collections/compute.ts";
import { graphToRun } from "../core/optimize.ts";
import { Delayed } from "../collections/delayed.ts";
import { recordFromError } from "../core/errors.ts";
import { describeFunction, functionName } from "../core/function_codec.ts";
import type { Graph } from "../core/graph.ts";
import {
  isPlainObject,
  type Key,
  makeLiteral,
  makeTask,
  type TaskFunction,
  TaskRef,
} from "../core/task.ts";
import { tokenize, uniqueToken } from "../core/tokenize.ts";
import { typeNameOf } from "../core/type_name.ts";
import type { DataItem } from "../protocol/session.ts";
import type { PeerPool } from "../net/peer_pool.ts";
import type { Submitter } from "./client_view.ts";
import type { Future } from "./future.ts";
import { CancelledError, type FutureState } from "./future_state.ts";
import { callSpec, type FutureKey, graphSpecs, replaceFutures } from "./graph_submission.ts";
import type { Outbox } from "./outbox.ts";
import { actorRecordOf, bindActorHandle } from "../core/actor_ref.ts";
import { actorTransport } from "./actors.ts";
import { dataItem, placeData, type ScatterOptions } from "./scatter.ts";
import { looksLikeSubmitOptions, type SubmitOptions, taskOptionsOf } from "./submit_options.ts";

/** What submission needs of its client. */
export interface SubmissionHost {
  /** Throws when the client is closed. */
  checkOpen(): void;
  /** A new Future of a key this client already holds and the cluster still has, if any. */
  heldFuture(key: Key): Future | undefined;
  /** A new Future of `key`, pending again if the scheduler had dropped it for this client. */
  newFuture(key: Key): Future;
  /** Checks a Future may go into this client's tasks; gives its key (throws CancelledError for a cancelled one). */
  futureKey: FutureKey;
  /** Keeps other clients' Futures read while building `future`'s submission until it ends. */
  keepBorrowed(future: Future): void;
  /** A Future of `key` cancelled at once, never sent (a task reading a cancelled future). */
  cancelledFuture(key: Key, error: CancelledError): Future;
  /** Where the client's messages to the scheduler queue. */
  outbox: Outbox;
  /** Turns fetched values of `compute` Futures into the collection's result, by key. */
  finalizers: Map<Key, (value: unknown) => unknown>;
  /** The shared state of a key this client holds. */
  holdOf(key: Key): FutureState | undefined;
  /** A request to the scheduler, after everything queued before it. */
  request<T>(method: string, params: Record<string, unknown>): Promise<T>;
  /** Links to workers, for scattering to them directly. */
  peers: PeerPool;
  /** False when this client must not reach workers itself (a client identity). */
  direct(): boolean;
}

/**
 * The task that brings a collection's outputs together on one worker (Dask's finalize task):
 * its value is the array of their values, which the collection's own `finalize` turns into
 * the result on the client.
 */
const collectValues = (...values: unknown[]) => values;

/** Submits calls, collections and data for one client. */
export class Submission implements Submitter {
  readonly #host: SubmissionHost;

  constructor(host: SubmissionHost) {
    this.#host = host;
  }

  submit(fn: TaskFunction, args: unknown[], options: SubmitOptions): Future {
    this.#host.checkOpen();
    checkFunction(fn, "submit");
    if (options.actor !== true && isClass(fn)) {
      throw new TypeError(
        `submit(): ${functionName(fn)} is a class; to build an object on a worker and call it ` +
          `there, make it an actor: client.actor(${functionName(fn)}, ...args) or ` +
          `client.with({ actor: true }).submit(${functionName(fn)}, ...args).`,
      );
    }
    if (args.length > 0) refuseOptionsArgument(args[args.length - 1], "submit");
    if (Array.isArray(options.key)) {
      throw new TypeError(
        "submit(): the option 'key' must be a string; an array of keys is for map().",
      );
    }
    const layers: Layer[] = [];
    let taskArgs: unknown[];
    try {
      taskArgs = replaceFutures(args, this.#host.futureKey, layers) as unknown[];
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
      const key = (options.key as string | undefined) ?? `${functionName(fn)}-${uniqueToken()}`;
      return this.#host.cancelledFuture(key, error);
    }
    const pure = options.pure !== false && options.actor !== true; // each actor is a new one
    const key = (options.key as string | undefined) ??
      `${functionName(fn)}-${pure ? tokenize(fn, ...taskArgs) : uniqueToken()}`;
    // the same pure call is already held: share it, as Dask does
    const held = this.#host.heldFuture(key);
    if (held !== undefined) return held;
    const spec = callSpec(key, fn, taskArgs, taskOptionsOf(options));
    if (options.actor === true) this.#bindActor(key);
    if (layers.length === 0) {
      const future = this.#host.newFuture(key);
      this.#host.keepBorrowed(future);
      this.#host.outbox.submitOne(spec);
      return future;
    }
    const graph = collectGraph(layers);
    const depSpecs = graphSpecs(
      graph,
      layers.map((l) => (l as Delayed).key),
      this.#host.futureKey,
      taskOptionsOf(options),
    );
    const future = this.#host.newFuture(key);
    this.#host.keepBorrowed(future);
    depSpecs.push(spec);
    this.#host.outbox.submit(depSpecs, [key]);
    return future;
  }

  /**
   * The handle an actor's Future gives calls through this client and keeps a Future of the
   * actor's key (so the actor lives while the handle does).
   */
  #bindActor(key: Key): void {
    const peers = this.#host.peers;
    const transport = actorTransport({
      actorRequest: (worker, request) => peers.actor(worker, request),
    });
    this.#host.finalizers.set(key, (handle) => {
      if (actorRecordOf(handle) !== undefined) {
        bindActorHandle(handle as object, transport, this.#host.newFuture(key));
      }
      return handle;
    });
  }

  map(
    fn: TaskFunction,
    iterables: (Iterable<unknown> | AsyncIterable<unknown>)[],
    options: SubmitOptions,
  ): Future[] | Promise<Future[]> {
    this.#host.checkOpen();
    checkFunction(fn, "map");
    if (iterables.length > 0) refuseOptionsArgument(iterables[iterables.length - 1], "map");
    iterables.forEach((it, i) => {
      const iterable = typeof it === "object" && it !== null &&
        (Symbol.iterator in it || Symbol.asyncIterator in it);
      if (!iterable && typeof it !== "string") {
        throw new TypeError(
          `map(): argument ${i + 1} after the function is not iterable (got ` +
            `${typeNameOf(it)}); pass one array (or other iterable) of values per parameter ` +
            `of the function.`,
        );
      }
    });
    if (iterables.length === 0) {
      throw new TypeError("map() needs at least one iterable of arguments after the function.");
    }
    describeFunction(fn); // a function that cannot travel fails before anything is sent
    const isAsync = iterables.some((it) => typeof it !== "string" && !(Symbol.iterator in it));
    const keys = options.key;
    const prefix = typeof keys === "string" ? keys : functionName(fn);
    const taskOptions = taskOptionsOf(options);
    const pure = options.pure !== false;
    const one = (args: unknown[], i: number): Future => {
      const noLayers: Layer[] = [];
      let taskArgs: unknown[];
      try {
        taskArgs = replaceFutures(args, this.#host.futureKey, noLayers) as unknown[];
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        const key = Array.isArray(keys) ? keys[i] as string : `${prefix}-${uniqueToken()}`;
        return this.#host.cancelledFuture(key, error);
      }
      if (noLayers.length > 0) {
        throw new TypeError("map(): Delayed values cannot be map items; compute them first.");
      }
      const key = Array.isArray(keys)
        ? keys[i] as string
        : `${prefix}-${pure ? tokenize(fn, ...taskArgs) : uniqueToken()}`;
      const held = this.#host.heldFuture(key);
      if (held !== undefined) return held;
      const spec = callSpec(key, fn, taskArgs, taskOptions);
      const future = this.#host.newFuture(key);
      this.#host.keepBorrowed(future);
      this.#host.outbox.submitOne(spec);
      return future;
    };
    if (Array.isArray(keys)) {
      // one key per item: count the items before anything is submitted
      const submitAll = (items: unknown[][]): Future[] => {
        if (items.length !== keys.length) {
          throw new TypeError(
            `map(): ${keys.length} keys were given for ${items.length} items; give one per item.`,
          );
        }
        return items.map(one);
      };
      return isAsync
        ? zipAsync(iterables, (args) => args).then(submitAll)
        : submitAll([...zip(iterables as Iterable<unknown>[])]);
    }
    if (isAsync) return zipAsync(iterables, one);
    const futures: Future[] = [];
    for (const args of zip(iterables as Iterable<unknown>[])) {
      futures.push(one(args, futures.length));
    }
    return futures;
  }

  compute(collections: readonly Collection[], options: SubmitOptions): Future[] {
    this.#host.checkOpen();
    const plan = planCompute(collections, "client.compute()", options.optimizeGraph !== false);
    const graph = new Map(plan.graph);
    const outputs: Key[] = [];
    const finalizers: [Key, (value: unknown) => unknown][] = [];
    plan.keyLists.forEach((keys, i) => {
      if (collections[i] instanceof Delayed) {
        outputs.push(keys[0]);
        return;
      }
      // A Future stands for one key: the outputs meet in one task on a worker (Dask's finalize
      // task), and the plan's finalize turns that list into the result here, when fetched.
      const key = `finalize-${tokenize(keys)}`;
      if (!graph.has(key)) {
        graph.set(key, makeTask(key, collectValues, keys.map((k) => new TaskRef(k))));
      }
      outputs.push(key);
      finalizers.push([key, (values) => plan.finalize(i, values as unknown[])]);
    });
    const futures = this.submitGraph(graph, outputs, options);
    for (const [key, finalize] of finalizers) this.#host.finalizers.set(key, finalize);
    return futures;
  }

  persist(collections: readonly Collection[], options: SubmitOptions): Collection[] {
    this.#host.checkOpen();
    return collections.map((collection, i) => {
      if (!isCollection(collection)) {
        throw new TypeError(`persist(): item ${i} is not a collection (Delayed, Bag or Array).`);
      }
      const spec = collection[collectionSymbol];
      const outputs = [...new Set(spec.keys())];
      const graph = collectGraph([spec.layer()]);
      const layer = this.persistLayer(
        graphToRun(graph, outputs, options.optimizeGraph !== false),
        outputs,
        options,
      );
      return spec.rebuild(layer);
    });
  }

  persistLayer(graph: Graph, outputs: readonly Key[], options: SubmitOptions): Layer {
    const futures = this.submitGraph(graph, outputs, options);
    const tasks = outputs.map((key, i) => makeLiteral(key, futures[i]));
    return leafLayer(`persisted-${uniqueToken()}`, tasks);
  }

  /** Submits a graph holding `outputs`; returns their Futures in order. */
  submitGraph(graph: Graph, outputs: readonly Key[], options: SubmitOptions): Future[] {
    this.#host.checkOpen();
    const specs = graphSpecs(graph, outputs, this.#host.futureKey, taskOptionsOf(options));
    const futures = outputs.map((key) => this.#host.newFuture(key));
    if (futures.length > 0) this.#host.keepBorrowed(futures[0]);
    this.#host.outbox.submit(specs, outputs);
    return futures;
  }

  /**
   * Futures for `data` at once, pending until the data is on the workers. Placement runs in
   * the background; whatever this client says after it waits behind it (an outbox barrier),
   * so tasks reading the keys reach the scheduler after the keys do.
   */
  scatter(data: unknown, options: ScatterOptions & SubmitOptions): unknown {
    this.#host.checkOpen();
    const hash = options.hash !== false;
    const keyOf = (value: unknown) =>
      `${typeNameOf(value)}-${hash ? tokenize(value) : uniqueToken()}`;
    const { shape, values, names } = scatterShape(data);
    // as in Dask: the names of an object's entries are the keys of its data
    const keys = names ?? values.map(keyOf);
    // encoded now: a value that cannot travel throws here, with its path
    const items = new Map<Key, DataItem>();
    values.forEach((value, i) => {
      if (!items.has(keys[i])) items.set(keys[i], dataItem(keys[i], value));
    });
    const futures = keys.map((key) => this.#host.newFuture(key));
    const lift = this.#host.outbox.barrier([...items.keys()]);
    placeData(
      { request: (method, params) => this.#host.request(method, params), peers: this.#host.peers },
      [...items.values()],
      this.#host.direct() ? options : { ...options, direct: false },
    ).then(({ placed }) => {
      // Direct placements are the client's to report; the scheduler recorded relayed ones.
      // The futures finish on the scheduler's `key-in-memory`, once it knows where the data is.
      lift(placed.length > 0 ? { op: "scatter", data: placed } : undefined);
    }).catch((error) => {
      lift();
      const record = recordFromError(error);
      for (const key of items.keys()) {
        const hold = this.#host.holdOf(key);
        if (hold !== undefined && !hold.isDone) hold.fail(record);
      }
    });
    if (shape === "single") return futures[0];
    if (shape === "array") return futures;
    const out: Record<string, Future> = {};
    names!.forEach((name, i) => out[name] = futures[i]);
    return out;
  }
}

/**
 * How `scatter` reads its data: an array, a generator or any other iterable but a string, Map
 * or typed array gives a list; a plain object gives its entries, keyed by their names; anything
 * else is one value.
 */
function scatterShape(
  data: unknown,
): { shape: "array" | "object" | "single"; values: unknown[]; names?: string[] } {
  if (Array.isArray(data)) return { shape: "array", values: data };
  if (isPlainObject(data)) {
    return { shape: "object", values: Object.values(data), names: Object.keys(data) };
  }
  const listLike = typeof data === "object" && data !== null && Symbol.iterator in data &&
    !(data instanceof Map) && !ArrayBuffer.isView(data);
  if (listLike) return { shape: "array", values: [...(data as Iterable<unknown>)] };
  return { shape: "single", values: [data] };
}

/** Whether each function submitted so far is a class, by function. */
const classes = new WeakMap<TaskFunction, boolean>();

/**
 * Whether `fn` is a `class` declaration or expression (calling one without `new` throws). Its
 * source is read once per function: `toString` copies the source out at every call, ~1 % of a
 * fresh client's CPU over its first hundred `submit`s (2026-12-06). Arrow functions and methods
 * have no own `prototype` and are never classes.
 */
function isClass(fn: TaskFunction): boolean {
  if (!Object.hasOwn(fn, "prototype")) return false;
  let known = classes.get(fn);
  if (known === undefined) {
    known = /^class\b/.test(Function.prototype.toString.call(fn));
    classes.set(fn, known);
  }
  return known;
}

function checkFunction(fn: unknown, method: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`${method}(): the first argument must be a function, got ${typeof fn}.`);
  }
}

/**
 * Refuses submit options given as the last argument (Dask's `submit(fn, x, retries=2)`): here
 * they would silently become an argument of the task.
 */
function refuseOptionsArgument(last: unknown, method: string): void {
  if (!looksLikeSubmitOptions(last)) return;
  const given = JSON.stringify(last);
  throw new TypeError(
    `${method}(): the last argument ${given} looks like options; options go through ` +
      `client.with(${given}).${method}(fn, ...). If the object really is an argument of the ` +
      `function, pass it as delayed(value) or scatter it first.`,
  );
}

/** The items of iterables side by side, up to the shortest (Python's `zip`). */
function* zip(iterables: Iterable<unknown>[]): Generator<unknown[]> {
  const iterators = iterables.map((it) => it[Symbol.iterator]());
  for (;;) {
    const args = new Array<unknown>(iterators.length);
    for (let i = 0; i < iterators.length; i++) {
      const r = iterators[i].next();
      if (r.done) {
        for (const it of iterators) it.return?.();
        return;
      }
      args[i] = r.value;
    }
    yield args;
  }
}

/** Zips async (and sync) iterables, calling `each` per item as the items arrive. */
async function zipAsync<T>(
  iterables: (Iterable<unknown> | AsyncIterable<unknown>)[],
  each: (args: unknown[], i: number) => T,
): Promise<T[]> {
  const iterators = iterables.map((it) =>
    typeof it === "object" && Symbol.asyncIterator in it
      ? (it as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (it as Iterable<unknown>)[Symbol.iterator]()
  );
  const out: T[] = [];
  for (;;) {
    const results = await Promise.all(iterators.map((it) => it.next()));
    if (results.some((r) => r.done)) {
      for (const it of iterators) void it.return?.();
      return out;
    }
    out.push(each(results.map((r) => r.value), out.length));
  }
}
