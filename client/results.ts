/**
 * The values of a Client's finished keys: waited for, taken from the scheduler's message when
 * tiny or fetched from the workers (client/data_fetch.ts), decoded, and finalized for `compute`
 * Futures; and `gather`, which gives a structure of Futures back with their values.
 *
 * @module
 */

import { type ActorTransport, decodingFor } from "../core/actor_ref.ts";
import { DESCEND, type Key, rewriteData, TaskRef } from "../core/task.ts";
import { decode, type Encoded, taskRefCount } from "../core/value_codec.ts";
import { DataFetcher, MissingDataError } from "./data_fetch.ts";
import type { PeerPool } from "../net/peer_pool.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import type { SchedulerRequest } from "./cluster_admin.ts";
import type { Future } from "./future.ts";
import type { FutureKeys } from "./future_keys.ts";
import { collectFutures, type Gathered, type GatherOptions, rebuild, waitEnded } from "./gather.ts";
import type { HeldKeys } from "./held_keys.ts";

/** What {@link Results} needs of its client. */
export interface ResultsHost {
  readonly keys: HeldKeys;
  readonly futures: FutureKeys;
  /** Links to workers, which the values are fetched from. */
  readonly peers: PeerPool;
  /** A request to the scheduler, after everything the client queued. */
  readonly request: SchedulerRequest;
  /** False when this client must not reach workers itself (a client identity). */
  direct(): boolean;
  /** Where actor handles inside values call through. */
  readonly actors: ActorTransport;
  /** Throws when the client is closed. */
  checkOpen(): void;
  /** Tells the scheduler that `errant` did not give `keys` (`missing-data`). */
  reportMissing(errant: WorkerAddress, keys: Key[]): void;
}

/**
 * Times one fetch lets a key be lost and computed again before it gives up: a key lost again
 * and again (the workers computing it keep dying or dropping it) fails instead of looping.
 */
export const MAX_RECOMPUTATIONS = 3;

/** What {@link Results.valueAtHand} gives for a value that is to be fetched. */
export const NOT_AT_HAND: unique symbol = Symbol("not at hand");

/** Fetching and finishing the values of one client's keys. */
export class Results {
  /** Turns fetched values of `compute` Futures into the collection's result, by key. */
  readonly finalizers = new Map<Key, (value: unknown) => unknown>();

  readonly #fetcher: DataFetcher;

  constructor(readonly host: ResultsHost) {
    const { request } = host;
    this.#fetcher = new DataFetcher(
      (keys) => request<Record<Key, WorkerAddress[]>>("who-has", { keys }),
      host.peers,
      (key) => host.keys.get(key)?.workers,
      {
        // a client identity's data comes through the scheduler (docs/security.md, tenancy)
        active: () => !host.direct(),
        gather: (keys) => request("relay-gather", { keys }),
      },
      {
        report: (errant, keys) => host.reportMissing(errant, keys),
        inMemory: (key) => host.keys.get(key)?.status === "finished",
      },
    );
  }

  /** Forgets what a released key's value would have been turned into. */
  forget(key: Key): void {
    this.finalizers.delete(key);
  }

  /**
   * Waits for futures and fetches their values; gives the structure with values.
   *
   * @throws the first error among the futures unless `errors: "skip"`.
   */
  async gather<S>(futures: S, options: GatherOptions): Promise<Gathered<S>> {
    this.host.checkOpen();
    const errors = options.errors ?? "raise";
    if (errors !== "raise" && errors !== "skip") {
      throw new TypeError(
        `gather(): errors must be "raise" or "skip", got ${JSON.stringify(errors)}.`,
      );
    }
    const leaves: Future[] = [];
    collectFutures(futures, leaves);
    for (const future of leaves) this.host.futures.checkOwn(future);
    const expected = this.host.keys.expect(leaves.map((future) => future.key));
    try {
      await waitEnded(leaves, errors === "raise");
      const good: Key[] = [];
      const bad = new Set<Key>();
      if (errors === "raise") {
        // the first that failed, wherever it sits: earlier futures may still be pending
        const failed = leaves.find((future) => future.done() && future.status !== "finished");
        if (failed !== undefined) throw await failed.exception();
      }
      for (const future of leaves) {
        if (future.status === "finished") good.push(future.key);
        else bad.add(future.key);
      }
      const values = await this.fetchValues(good);
      return rebuild(futures, values, bad) as Gathered<S>;
    } finally {
      expected();
    }
  }

  /**
   * Values of finished keys, decoded (and finalized for `compute` Futures). Data lost while
   * being fetched (the fetcher reports the holders that did not give it) is waited for again
   * while the scheduler recomputes it, up to {@link MAX_RECOMPUTATIONS} times a key.
   *
   * @throws the key's error when the scheduler could not bring it back (scattered data, lost
   *   lineage); {@link MissingDataError} when no holder gives it though the scheduler still
   *   names some, or when it was lost more than {@link MAX_RECOMPUTATIONS} times.
   */
  async fetchValues(keys: readonly Key[]): Promise<Map<Key, unknown>> {
    const held = this.host.keys;
    const values = new Map<Key, unknown>();
    /** How many times each key was taken back (lost, computed again) during this fetch. */
    let recomputed: Map<Key, number> | undefined;
    let wanted = keys.length === 1 ? [keys[0]] : [...new Set(keys)];
    const put = (key: Key, encoded: Encoded) => values.set(key, this.#decoded(key, encoded));
    while (wanted.length > 0) {
      this.host.checkOpen();
      const toFetch: Key[] = [];
      for (const key of wanted) {
        const hold = held.get(key);
        if (hold === undefined) {
          throw new Error(
            `The future '${key}' was released; its value is gone from the cluster.`,
          );
        }
        if (!hold.isDone) await hold.done;
        if (hold.status !== "finished") throw hold.error;
        if (hold.value === undefined) toFetch.push(key);
        else {
          put(key, hold.value);
          hold.value = undefined;
        }
      }
      if (toFetch.length === 0) break;
      const fetched = await this.#fetcher.fetch(toFetch);
      for (const [key, encoded] of fetched.values) put(key, encoded);
      if (fetched.missing.length === 0) break;
      this.host.checkOpen();
      // Keys the scheduler took back are waited for again (pending: computed again) or end
      // with its word (the next pass throws it); the others no holder gave.
      const stuck: Key[] = [];
      const lostAgain: Key[] = [];
      for (const key of fetched.missing) {
        if (fetched.taken.has(key) || held.get(key)?.status !== "finished") {
          const times = ((recomputed ??= new Map()).get(key) ?? 0) + 1;
          recomputed.set(key, times);
          if (times > MAX_RECOMPUTATIONS) lostAgain.push(key);
        } else stuck.push(key);
      }
      if (stuck.length > 0) throw new MissingDataError(stuck, fetched.reason);
      if (lostAgain.length > 0) {
        throw new MissingDataError(
          lostAgain,
          `lost ${MAX_RECOMPUTATIONS + 1} times while being fetched, computed again each time; ` +
            `the workers computing them may keep dying or dropping data: see their logs`,
        );
      }
      wanted = fetched.missing;
    }
    return values;
  }

  /**
   * The value of one finished key whose tiny result came with its `key-in-memory` (a
   * `result()` was waiting), decoded and finalized now; {@link NOT_AT_HAND} when it is to be
   * fetched ({@link fetchValues}). `result()` goes this way first: a fresh client's round trip
   * then takes no async call, promise or Map between the scheduler's word and the caller.
   */
  valueAtHand(key: Key): unknown {
    const hold = this.host.keys.get(key);
    if (hold === undefined || hold.status !== "finished" || hold.value === undefined) {
      return NOT_AT_HAND;
    }
    this.host.checkOpen();
    const encoded = hold.value;
    hold.value = undefined;
    return this.#decoded(key, encoded);
  }

  /** A fetched value decoded (actor handles bound, Futures made) and finalized. */
  #decoded(key: Key, encoded: Encoded): unknown {
    const refsBefore = taskRefCount();
    let value = decodingFor(this.host.actors, () => decode(encoded));
    // Futures a task returned come back as Futures of this client
    if (taskRefCount() !== refsBefore) value = this.#futuresIn(value);
    const finalize = this.finalizers.get(key);
    return finalize === undefined ? value : finalize(value);
  }

  /** `value` with a Future of this client wherever it holds a reference to a key. */
  #futuresIn(value: unknown): unknown {
    return rewriteData(
      value,
      (v) => v instanceof TaskRef ? this.host.futures.futureOf(v.key) : DESCEND,
    );
  }
}
