/**
 * Published datasets (Dask's `publish_dataset`): named values — usually structures of futures —
 * that any client of the scheduler can get back. The scheduler keeps each dataset's keys alive
 * under a holder of its own (`published-<name>`, see {@link datasetHolder}), so the data outlives
 * the client that published it until someone unpublishes it.
 *
 * A pure record: the scheduler server turns what it says into state-machine events (holding and
 * releasing the keys) and sets the timers of waiting `get`s.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import type { Encoded } from "../../core/value_codec.ts";

/** One published dataset: its value (encoded, Futures as references) and the keys it holds. */
export interface Dataset {
  keys: Key[];
  value: Encoded;
}

/** A request about coordination state the client got wrong; answered, the connection stays. */
export class CoordinationError extends Error {
  /** Always `"CoordinationError"`. */
  override name = "CoordinationError";
}

/** The pseudo-client id under which a dataset's keys are held on the scheduler. */
export function datasetHolder(name: string): string {
  return `published-${name}`;
}

/** Named datasets, and who waits for a name to be published. */
export class DatasetStore {
  readonly #datasets = new Map<string, Dataset>();
  readonly #waiters = new Map<string, Set<(dataset: Dataset) => void>>();

  /** The names published, in publishing order. */
  names(): string[] {
    return [...this.#datasets.keys()];
  }

  get(name: string): Dataset | undefined {
    return this.#datasets.get(name);
  }

  /**
   * Publishes `dataset` under `name`; gives the dataset it replaced (whose keys the caller must
   * release), if any.
   *
   * @throws {CoordinationError} when the name is taken and `override` is not set.
   */
  put(name: string, dataset: Dataset, override: boolean): Dataset | undefined {
    const old = this.#datasets.get(name);
    if (old !== undefined && !override) {
      throw new CoordinationError(
        `A dataset named '${name}' is already published; unpublish it first, or publish with ` +
          `{ override: true } to replace it.`,
      );
    }
    this.#datasets.set(name, dataset);
    const waiters = this.#waiters.get(name);
    if (waiters !== undefined) {
      this.#waiters.delete(name);
      for (const wake of waiters) wake(dataset);
    }
    return old;
  }

  /**
   * Removes `name`; gives the removed dataset.
   *
   * @throws {CoordinationError} when nothing is published under that name.
   */
  delete(name: string): Dataset {
    const old = this.#datasets.get(name);
    if (old === undefined) throw missingDataset(name, this.names());
    this.#datasets.delete(name);
    return old;
  }

  /** Calls `wake` once `name` is published; returns a function that stops waiting. */
  whenPublished(name: string, wake: (dataset: Dataset) => void): () => void {
    let waiters = this.#waiters.get(name);
    if (waiters === undefined) this.#waiters.set(name, waiters = new Set());
    waiters.add(wake);
    return () => {
      waiters.delete(wake);
      if (waiters.size === 0 && this.#waiters.get(name) === waiters) this.#waiters.delete(name);
    };
  }

  /** Forgets every dataset (the scheduler restarted its workers: their data is gone). */
  clear(): Dataset[] {
    const all = [...this.#datasets.values()];
    this.#datasets.clear();
    return all;
  }
}

/** No dataset of that name: says which names there are. */
export function missingDataset(name: string, names: readonly string[]): CoordinationError {
  return new CoordinationError(
    `No dataset named '${name}' is published` +
      (names.length === 0 ? " (none is)." : ` (published: ${names.join(", ")}).`) +
      ` Publish it with client.publishDataset({ ${JSON.stringify(name)}: futures }), or wait ` +
      `for it with getDataset(name, { timeout }).`,
  );
}
