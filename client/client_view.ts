/**
 * The submitting half of the Client: `submit`, `map`, `compute`, `persist` and `scatter`,
 * carrying {@link SubmitOptions}. `client.with(options)` returns a view whose calls apply
 * those options (Dask passes them as keyword arguments); a `Client` is the view without any.
 *
 * @module
 */

import type { Collection, ResultOf } from "../collections/collection.ts";
import type { Delayed } from "../collections/delayed.ts";
import type { TaskFunction } from "../core/task.ts";
import type { Future } from "./future.ts";
import type { ActorHandle } from "../core/actor_ref.ts";
import type { ScatterOptions } from "./scatter.ts";
import { checkSubmitOptions, type SubmitOptions } from "./submit_options.ts";

/**
 * An argument as `submit` and `map` accept it: the value, a Future or Delayed of it, or (for
 * arrays and plain objects) the same with Futures and Delayed values inside.
 */
export type MaybeFuture<T> =
  | T
  | Future<T>
  | Delayed<T>
  | (T extends readonly (infer E)[] ? readonly MaybeFuture<E>[]
    : T extends Record<string, unknown> ? { [K in keyof T]: MaybeFuture<T[K]> }
    : never);

/** The arguments of a function, each of which may be a Future (see {@link MaybeFuture}). */
export type FutureArgs<A extends readonly unknown[]> = { [I in keyof A]: MaybeFuture<A[I]> };

/** The result type of a collection. */
export type CollectionResult<C> = ResultOf<C>;

/**
 * What `scatter` gives for its data: one Future per item of an array (or Set, generator or other
 * iterable), one per object entry, else one.
 */
export type Scattered<D> = D extends readonly (infer T)[] ? Future<T>[]
  : D extends string | Map<unknown, unknown> | ArrayBufferView ? Future<D>
  : D extends Iterable<infer T> ? Future<T>[]
  : D extends Record<string, unknown> ? { [K in keyof D]: Future<D[K]> }
  : Future<D>;

/** The operations a view forwards to its client, with the view's options. */
export interface Submitter {
  /** Submits `fn(...args)`. */
  submit(fn: TaskFunction, args: unknown[], options: SubmitOptions): Future;
  /** Submits `fn` over zipped iterables. */
  map(
    fn: TaskFunction,
    iterables: (Iterable<unknown> | AsyncIterable<unknown>)[],
    options: SubmitOptions,
  ): Future[] | Promise<Future[]>;
  /** Submits the graphs of collections; one Future per collection. */
  compute(collections: readonly Collection[], options: SubmitOptions): Future[];
  /** Submits the graphs of collections; the collections rebuilt over their Futures. */
  persist(collections: readonly Collection[], options: SubmitOptions): Collection[];
  /** Places data on workers; Futures in the shape of `data`. */
  scatter(data: unknown, options: ScatterOptions & SubmitOptions): unknown;
}

/**
 * What a Client and its views share: `submit`, `map`, `compute`, `persist`, `scatter` and
 * `with`, each carrying the options of the object it is called on. A {@link ClientView} holds
 * its client's {@link Submitter} and its options; the `Client` is the one without options.
 *
 * @example
 * ```ts
 * import { Client, type SubmitMethods } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const square = (on: SubmitMethods, x: number) => on.submit((v: number) => v * v, x);
 * console.log(await square(client, 3), await square(client.with({ priority: 1 }), 4)); // 9 16
 * ```
 */
export abstract class SubmitMethods {
  /** @internal Where the calls go: the client's submission. */
  protected abstract get submitter(): Submitter;

  /** The options applied to every task submitted through this object. */
  abstract get options(): Readonly<SubmitOptions>;

  /**
   * A view applying `options` (merged over this view's) to every task it submits: `key`,
   * `pure`, `priority`, `workers`, `allowOtherWorkers`, `resources`, `retries`.
   *
   * @throws {TypeError} for an unknown option or a value of the wrong kind.
   */
  with(options: SubmitOptions): ClientView {
    checkSubmitOptions(options);
    return new ClientView(this.submitter, { ...this.options, ...options });
  }

  /**
   * Runs `fn(...args)` on the cluster at once and returns a Future of its result. Futures
   * among the arguments (also inside arrays and plain objects) are replaced by their values on
   * the worker, whose data comes from the other workers directly. A pure call (the default)
   * is keyed by its function and arguments: submitting it again gives the same key and runs
   * once.
   *
   * A class submitted with the `actor` option (`client.with({ actor: true }).submit(Counter)`,
   * Dask's `submit(Counter, actor=True)`) builds an actor: the Future's value is its handle
   * (`client.actor` is the shorter form).
   *
   * @throws {FreeVariableError} when `fn` reads variables it does not define.
   * @throws {UnserializableError} when an argument cannot travel; its path says where.
   */
  submit<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...args: FutureArgs<A>
  ): Future<Awaited<R>>;
  /** A class with the `actor` option: a Future of the actor's handle. */
  submit<A extends unknown[], T>(
    actorClass: new (...args: A) => T,
    ...args: FutureArgs<A>
  ): Future<ActorHandle<T>>;
  submit(fn: TaskFunction | (new (...args: never[]) => unknown), ...args: unknown[]): Future {
    return this.submitter.submit(fn as TaskFunction, args, this.options);
  }

  /**
   * Applies `fn` to each item of `iterables` (zipped, like `map(fn, xs, ys)` in Python),
   * submitting one task per item; returns their Futures in order. With an async iterable
   * among them, returns a promise of the Futures, each task submitted as its item arrives.
   * The `key` option is a prefix for the keys, or an array of one key per item.
   */
  map<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...iterables: { [I in keyof A]: Iterable<MaybeFuture<A[I]>> }
  ): Future<Awaited<R>>[];
  /** Maps over iterables of which some are async: resolves once every item was submitted. */
  map<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...iterables: { [I in keyof A]: Iterable<MaybeFuture<A[I]>> | AsyncIterable<A[I]> }
  ): Promise<Future<Awaited<R>>[]>;
  map(
    fn: TaskFunction,
    ...iterables: (Iterable<unknown> | AsyncIterable<unknown>)[]
  ): Future[] | Promise<Future[]> {
    return this.submitter.map(fn, iterables, this.options);
  }

  /**
   * Starts computing a collection (or several, sharing their common tasks) on the cluster and
   * returns a Future of its result (or one per collection).
   */
  compute<C extends Collection>(collection: C): Future<CollectionResult<C>>;
  /** Computes several collections; shared tasks run once. */
  compute<const C extends readonly Collection[]>(
    collections: C,
  ): { -readonly [I in keyof C]: Future<CollectionResult<C[I]>> };
  compute(input: Collection | readonly Collection[]): Future | Future[] {
    const single = !Array.isArray(input);
    const futures = this.submitter.compute(
      single ? [input as Collection] : input as readonly Collection[],
      this.options,
    );
    return single ? futures[0] : futures;
  }

  /**
   * Starts computing a collection on the cluster and returns the same collection backed by
   * the results, which stay in the cluster's memory while the collection is referenced.
   */
  persist<C extends Collection>(collection: C): C;
  /** Persists several collections; shared tasks run once. */
  persist<const C extends readonly Collection[]>(collections: C): C;
  persist(input: Collection | readonly Collection[]): Collection | Collection[] {
    const single = !Array.isArray(input);
    const out = this.submitter.persist(
      single ? [input as Collection] : input as readonly Collection[],
      this.options,
    );
    return single ? out[0] : out;
  }

  /**
   * Places data on the workers and returns Futures of it at once: one per item of an array (or
   * of a Set, a generator, any iterable but a string, Map or typed array), one per entry of a
   * plain object (keyed by the entry's name, as Dask does), or one for any other value (to
   * scatter an array as one value, wrap it: `scatter([array])[0]`). The futures are pending
   * until the scheduler knows where the data is; tasks may use them right away. Other keys are
   * `${typeName}-${hash of the value}`, so scattering equal data twice gives the same keys. A
   * key already in memory on the cluster keeps its value (another client's data is never
   * overwritten). Buffers are sent from your memory: do not modify them until the futures are
   * finished.
   *
   * @throws {UnserializableError} when a value cannot travel; its path says where.
   */
  scatter<D>(data: D, options: ScatterOptions = {}): Scattered<D> {
    const merged = { ...this.options, ...options };
    return this.submitter.scatter(data, merged) as Scattered<D>;
  }
}

/**
 * A client with options applied to every task it submits. Made by `client.with(options)`; it
 * holds the client's submitter (composition), so a view is as cheap as an object and sees the
 * client's state.
 *
 * @example
 * ```ts
 * import { Client } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 2 });
 * const urgent = client.with({ priority: 10, retries: 2 });
 * const f = urgent.submit((x: number) => x + 1, 1);
 * const g = client.with({ key: "my-key", pure: false }).submit(Math.sqrt, 16);
 * console.log(await f, await g); // 2 4
 * ```
 */
export class ClientView extends SubmitMethods {
  readonly #submitter: Submitter;
  readonly #options: Readonly<SubmitOptions>;

  /** @internal Views come from `client.with(options)`. */
  constructor(submitter: Submitter, options: SubmitOptions) {
    super();
    this.#submitter = submitter;
    this.#options = Object.freeze({ ...options });
  }

  /** @internal */
  protected get submitter(): Submitter {
    return this.#submitter;
  }

  /** The options this view applies. */
  get options(): Readonly<SubmitOptions> {
    return this.#options;
  }
}
