/**
 * Published datasets from the client's side (Dask's `publish_dataset` / `get_dataset`): a value
 * — Futures, or arrays and plain objects holding them — travels to the scheduler with its
 * Futures as references to their keys, and comes back in another client as Futures of that
 * client. The scheduler holds the keys while the dataset is published
 * (scheduler/coordination/datasets.ts).
 *
 * @module
 */

import { isCollection } from "../../collections/collection.ts";
import type { Encoded } from "../../core/value_codec.ts";
import { TimeoutError } from "../future_state.ts";
import {
  decodeShared,
  encodeShared,
  type SharedStateContext,
  withTimeoutError,
} from "./shared_values.ts";

/** What the dataset functions need of their client. */
export type DatasetContext = SharedStateContext;

/** Options of `getDataset`. */
export interface GetDatasetOptions {
  /**
   * Seconds to wait for the dataset to be published. Default: do not wait (fail at once when it
   * is not published).
   */
  timeout?: number;
}

/** Options of `publishDataset`. */
export interface PublishOptions {
  /** Replace a dataset already published under the same name. Default false. */
  override?: boolean;
}

/** Publishes each entry of `datasets` under its name. */
export async function publishDatasets(
  context: DatasetContext,
  datasets: Record<string, unknown>,
  options: PublishOptions = {},
): Promise<void> {
  const entries = Object.entries(datasets);
  if (entries.length === 0) {
    throw new TypeError("publishDataset() needs at least one { name: value } entry.");
  }
  const prepared = entries.map(([name, value]) => {
    if (isCollection(value)) {
      throw new TypeError(
        `publishDataset(): '${name}' is a collection; collections are published through the ` +
          `futures of their persisted results — publish client.persist(collection)'s futures ` +
          `(or client.compute(...)) instead.`,
      );
    }
    return { name, ...encodeShared(context, value, `dataset '${name}'`) };
  });
  for (const { name, keys, value } of prepared) {
    await context.request("publish-put", {
      name,
      keys,
      value,
      override: options.override === true,
    });
  }
}

/**
 * The dataset published under `name`, its Futures as Futures of this client. A dataset that is
 * one Future resolves to that Future's value (a Future is thenable, and a promise adopts what it
 * resolves to); publish `[future]` or `{ name: future }` to get the Future itself back.
 *
 * @throws {TimeoutError} when `timeout` is given and nothing was published in time.
 */
export async function getDataset<T = unknown>(
  context: DatasetContext,
  name: string,
  options: GetDatasetOptions = {},
): Promise<T> {
  checkName(name);
  const params: Record<string, unknown> = { name };
  if (options.timeout !== undefined) params.timeout = options.timeout;
  const dataset = await withTimeoutError(
    context.request<{ value: Encoded } | null>("publish-get", params),
    TimeoutError,
  );
  if (dataset === null) {
    const names = await listDatasets(context);
    throw new Error(
      `No dataset named '${name}' is published` +
        (names.length === 0 ? " (none is)" : ` (published: ${names.join(", ")})`) +
        `; wait for it with getDataset(name, { timeout: seconds }).`,
    );
  }
  return decodeShared(context, dataset.value) as T;
}

/** The names of the published datasets. */
export async function listDatasets(context: DatasetContext): Promise<string[]> {
  return await context.request<string[]>("publish-list", {});
}

/**
 * Unpublishes `name`; the scheduler frees its data once no client holds it.
 *
 * @throws when nothing is published under that name.
 */
export async function unpublishDataset(context: DatasetContext, name: string): Promise<void> {
  checkName(name);
  await context.request("publish-delete", { name });
}

function checkName(name: unknown): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `A dataset's name must be a non-empty string, got ${JSON.stringify(name)}.`,
    );
  }
}

/**
 * `client.datasets`: the published datasets as an asynchronous map (Dask's `client.datasets`
 * mapping; every operation asks the scheduler).
 *
 * @example
 * ```ts
 * import { Client, type Future } from "../../mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * await client.datasets.set("x", [client.submit((n: number) => n * 2, 21)]);
 * console.log(await client.datasets.keys()); // ["x"]
 * const [future] = await client.datasets.get<Future<number>[]>("x");
 * console.log(await future); // 42
 * await client.datasets.delete("x");
 * ```
 */
export class Datasets implements AsyncIterable<string> {
  readonly #context: DatasetContext;

  /** @internal Made by the Client (`client.datasets`). */
  constructor(context: unknown) {
    this.#context = context as DatasetContext;
  }

  /** The dataset `name` (see `Client.getDataset`). */
  get<T = unknown>(name: string, options: GetDatasetOptions = {}): Promise<T> {
    return getDataset<T>(this.#context, name, options);
  }

  /** Publishes (or replaces) `value` under `name`. */
  set(name: string, value: unknown): Promise<void> {
    return publishDatasets(this.#context, { [name]: value }, { override: true });
  }

  /** Unpublishes `name`. */
  delete(name: string): Promise<void> {
    return unpublishDataset(this.#context, name);
  }

  /** True when `name` is published. */
  async has(name: string): Promise<boolean> {
    return (await this.keys()).includes(name);
  }

  /** The published names. */
  keys(): Promise<string[]> {
    return listDatasets(this.#context);
  }

  /** How many datasets are published. */
  async size(): Promise<number> {
    return (await this.keys()).length;
  }

  /** `for await (const name of client.datasets)`. */
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (const name of await this.keys()) yield name;
  }
}
