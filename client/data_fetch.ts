/**
 * Fetching results from workers, batched: every fetch asked for in one tick (a `gather`, many
 * `future.result()` calls) becomes one `get-data` request per worker, sent straight to the
 * workers' data listeners. The first attempt trusts the holders the scheduler named in
 * `key-in-memory`; keys without known holders, and every retry, ask the scheduler (`who-has`).
 * A holder that did not give a key (it died, restarted or dropped it, and the scheduler may not
 * have heard yet) is reported after each failed attempt (`missing-data`, as workers report
 * peers): the scheduler drops that copy, and a key left without one is computed again — its
 * future goes pending, and the fetcher leaves it to the caller to wait for.
 * Values arrive as the `Encoded` the worker stored; decoding is the caller's.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { Encoded } from "../core/value_codec.ts";
import type { WorkerAddress } from "../protocol/messages.ts";
import type { PeerPool } from "../net/peer_pool.ts";

/** Asks the scheduler which workers hold each key. */
export type WhoHas = (keys: Key[]) => Promise<Record<Key, WorkerAddress[]>>;

/** The holders of a key as last told by the scheduler, if any (they may be out of date). */
export type KnownHolders = (key: Key) => readonly WorkerAddress[] | undefined;

/** Keys no worker could give, after retries: their data is gone or moving. */
export class MissingDataError extends Error {
  /** Always `"MissingDataError"`. */
  override name = "MissingDataError";
  /** The keys that could not be fetched. */
  readonly keys: readonly Key[];
  /**
   * Names the keys and why they could not be fetched.
   *
   * @param keys the keys that could not be fetched
   * @param detail why, from the last attempt
   */
  constructor(keys: readonly Key[], detail: string) {
    const shown = keys.slice(0, 3).map((k) => `'${k}'`).join(", ") +
      (keys.length > 3 ? ` and ${keys.length - 3} more` : "");
    super(
      `Could not fetch ${shown} from the workers (${detail}). The workers holding the data ` +
        `may have left; the scheduler recomputes lost results that it can — wait for the ` +
        `future again, or submit the task again.`,
    );
    this.keys = keys;
  }
}

/**
 * Fetching through the scheduler (`relay-gather`), for a client that does not reach workers
 * itself (a client identity, docs/security.md): `active()` says whether to.
 */
export interface GatherRelay {
  active(): boolean;
  gather(keys: Key[]): Promise<{ key: Key; value: Encoded }[]>;
}

/**
 * Tells the scheduler of holders that did not give keys, and hears back: what a fetcher needs so
 * a lost result is computed again instead of failing the fetch.
 */
export interface MissingReports {
  /** `errant` did not give `keys`: it did not hold them, or could not be reached. */
  report(errant: WorkerAddress, keys: Key[]): void;
  /**
   * False once the scheduler no longer has `key` in memory for this client (it said `lost`,
   * `cancelled`, …): retrying is over, the caller waits for the key or reports its end.
   */
  inMemory(key: Key): boolean;
}

/** Keys per `who-has` request, so a million-key gather does not make one giant message. */
const WHO_HAS_CHUNK = 100_000;
/** Keys per `get-data` request to one worker. */
const GET_DATA_CHUNK = 20_000;
/** Attempts for keys missing from every holder (data moving, a worker leaving). */
const ATTEMPTS = 4;
const FIRST_RETRY_MS = 50;

/** What a fetch got: the values, and the keys no worker could give after a few attempts. */
export interface FetchResult {
  values: Map<Key, Encoded>;
  missing: Key[];
  /** Why keys are missing, from the last attempt. */
  reason: string;
  /** Keys among `missing` that the scheduler took back while they were fetched (recomputed). */
  taken: ReadonlySet<Key>;
}

const NONE: ReadonlySet<Key> = new Set();

interface FetchRequest {
  keys: readonly Key[];
  resolve: (result: FetchResult) => void;
  reject: (error: Error) => void;
}

/** Batches fetches per tick and runs them against the scheduler and the workers. */
export class DataFetcher {
  readonly #whoHas: WhoHas;
  readonly #peers: PeerPool;
  readonly #knownHolders: KnownHolders;
  readonly #relay: GatherRelay | undefined;
  readonly #reports: MissingReports | undefined;
  #batch: FetchRequest[] = [];

  /**
   * @param whoHas asks the scheduler which workers hold keys
   * @param peers the connections to the workers' data listeners
   * @param knownHolders holders already known, tried first without asking the scheduler
   * @param relay fetching through the scheduler instead, when it is active
   * @param reports where holders that did not give keys are reported (none: only retried)
   */
  constructor(
    whoHas: WhoHas,
    peers: PeerPool,
    knownHolders: KnownHolders = () => undefined,
    relay?: GatherRelay,
    reports?: MissingReports,
  ) {
    this.#relay = relay;
    this.#reports = reports;
    this.#whoHas = whoHas;
    this.#peers = peers;
    this.#knownHolders = knownHolders;
  }

  /**
   * The stored values of `keys`, and those no worker could give after a few attempts. Joins
   * every other fetch of this tick.
   */
  fetch(keys: readonly Key[]): Promise<FetchResult> {
    return new Promise((resolve, reject) => {
      if (this.#batch.length === 0) queueMicrotask(() => this.#run());
      this.#batch.push({ keys, resolve, reject });
    });
  }

  async #run(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    const wanted = new Set<Key>();
    for (const request of batch) for (const key of request.keys) wanted.add(key);
    const values = new Map<Key, Encoded>();
    const taken = new Set<Key>();
    let failure: string | undefined;
    try {
      failure = await this.#fetchAll([...wanted], values, taken);
    } catch (error) {
      // the scheduler could not be asked (closed client): every request fails alike
      const err = error instanceof Error ? error : new Error(String(error));
      for (const request of batch) request.reject(err);
      return;
    }
    const reason = failure ?? "";
    for (const request of batch) {
      const missing = request.keys.filter((key) => !values.has(key));
      if (request.keys.length === values.size && missing.length === 0) {
        request.resolve({ values, missing, reason, taken: NONE });
        continue;
      }
      const own = new Map<Key, Encoded>();
      for (const key of request.keys) {
        const value = values.get(key);
        if (value !== undefined) own.set(key, value);
      }
      request.resolve({ values: own, missing, reason, taken: taken.size > 0 ? taken : NONE });
    }
  }

  /**
   * Fills `values`, and `taken` with the keys the scheduler took back meanwhile (reported lost,
   * computed again: not retried); returns why keys are still missing, if some are.
   */
  async #fetchAll(
    keys: Key[],
    values: Map<Key, Encoded>,
    taken: Set<Key>,
  ): Promise<string | undefined> {
    let missing = keys;
    let reason: string | undefined;
    let delay = FIRST_RETRY_MS;
    const reports = this.#reports;
    for (let attempt = 0; attempt < ATTEMPTS && missing.length > 0; attempt++) {
      if (attempt > 0) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
      // retries ask the scheduler: the holders named earlier may have left or dropped the key
      reason = await this.#fetchRound(missing, values, attempt === 0);
      missing = missing.filter((key) => {
        if (values.has(key)) return false;
        if (reports === undefined || reports.inMemory(key)) return true;
        taken.add(key);
        return false;
      });
    }
    return missing.length > 0 ? reason : undefined;
  }

  /** One round: who holds what (known, or asked), then one request per worker. */
  async #fetchRound(
    keys: Key[],
    values: Map<Key, Encoded>,
    trustKnown: boolean,
  ): Promise<string | undefined> {
    if (this.#relay?.active()) {
      for (let start = 0; start < keys.length; start += GET_DATA_CHUNK) {
        const items = await this.#relay.gather(keys.slice(start, start + GET_DATA_CHUNK));
        for (const item of items) values.set(item.key, item.value);
      }
      return "the scheduler could not fetch them from the workers";
    }
    const byWorker = new Map<WorkerAddress, Key[]>();
    let unheld = 0;
    const assign = (key: Key, workers: readonly WorkerAddress[] | undefined) => {
      if (workers === undefined || workers.length === 0) {
        unheld++;
        return;
      }
      // spread the load over the holders of replicated keys
      const worker = workers.length === 1
        ? workers[0]
        : workers[Math.floor(Math.random() * workers.length)];
      let list = byWorker.get(worker);
      if (list === undefined) byWorker.set(worker, list = []);
      list.push(key);
    };
    let unknown = keys;
    if (trustKnown) {
      unknown = [];
      for (const key of keys) {
        const known = this.#knownHolders(key);
        if (known !== undefined && known.length > 0) assign(key, known);
        else unknown.push(key);
      }
    }
    for (let start = 0; start < unknown.length; start += WHO_HAS_CHUNK) {
      const chunk = start === 0 && unknown.length <= WHO_HAS_CHUNK
        ? unknown
        : unknown.slice(start, start + WHO_HAS_CHUNK);
      const holders = await this.#whoHas(chunk);
      for (const key of chunk) assign(key, holders[key]);
    }
    const failures: string[] = [];
    const requests: Promise<void>[] = [];
    const reports = this.#reports;
    for (const [worker, workerKeys] of byWorker) {
      for (let start = 0; start < workerKeys.length; start += GET_DATA_CHUNK) {
        const chunk = workerKeys.length <= GET_DATA_CHUNK
          ? workerKeys
          : workerKeys.slice(start, start + GET_DATA_CHUNK);
        requests.push(
          this.#peers.getData(worker, chunk).then(
            (reply) => {
              for (const item of reply.items) values.set(item.key, item.value);
              if (reply.items.length === chunk.length || reports === undefined) return;
              const denied = chunk.filter((key) => !values.has(key));
              if (denied.length > 0) reports.report(worker, denied);
            },
            (error) => {
              failures.push(`${worker}: ${error instanceof Error ? error.message : error}`);
              reports?.report(worker, chunk);
            },
          ),
        );
      }
    }
    await Promise.all(requests);
    if (failures.length > 0) return failures.join("; ");
    if (unheld > 0) return `the scheduler knows no holder of ${unheld} of them`;
    return "the workers said they do not hold them";
  }
}
