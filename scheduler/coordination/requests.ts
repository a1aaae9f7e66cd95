/**
 * The scheduler's answers to the shared-state requests of clients (docs/protocol.md,
 * "Datasets"): `publish-put`, `publish-get`, `publish-list`, `publish-delete`. The records are
 * pure (./datasets.ts); this is the edge that checks parameters, holds and releases keys
 * through the state machine (as events the server feeds) and times waiting requests out.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import { isEncoded } from "../../protocol/message_checks.ts";
import type { ClientToSchedulerMsg } from "../../protocol/messages.ts";
import { CoordinationError, type Dataset, datasetHolder, DatasetStore } from "./datasets.ts";

/** What the requests need of the scheduler: a way to send the state machine a client's message. */
export interface CoordinationHost {
  /** Feeds `msg` as sent by the (pseudo-)client `holder`. */
  asClient(holder: string, msg: ClientToSchedulerMsg): void;
  /** The (pseudo-)client `holder` is gone: everything it held is released. */
  forget(holder: string): void;
}

/** The methods this module answers. */
export const COORDINATION_METHODS: ReadonlySet<string> = new Set([
  "publish-put",
  "publish-get",
  "publish-list",
  "publish-delete",
]);

/** A waiting request past its timeout; the client raises its own `TimeoutError`. */
class WaitTimeoutError extends Error {
  override name = "TimeoutError";
}

export class CoordinationRequests {
  readonly datasets = new DatasetStore();

  constructor(readonly host: CoordinationHost) {}

  /** Answers one of {@link COORDINATION_METHODS}. */
  answer(method: string, params: Record<string, unknown>): unknown | Promise<unknown> {
    switch (method) {
      case "publish-put": {
        const name = nameOf(params, method);
        const keys = params.keys;
        if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
          throw new CoordinationError(`${method} needs params {name, keys: string[], value}`);
        }
        if (!isEncoded(params.value)) {
          throw new CoordinationError(`${method} needs an encoded value`);
        }
        const dataset: Dataset = { keys: keys as Key[], value: params.value };
        const holder = datasetHolder(name);
        const old = this.datasets.put(name, dataset, params.override === true);
        // the new keys are held before the old ones go, so a key in both stays
        this.host.asClient(holder, { op: "client-desires-keys", keys: dataset.keys });
        if (old !== undefined) {
          const kept = new Set(dataset.keys);
          const gone = old.keys.filter((key) => !kept.has(key));
          if (gone.length > 0) {
            this.host.asClient(holder, { op: "client-releases-keys", keys: gone });
          }
        }
        return null;
      }
      case "publish-get":
        return this.#get(nameOf(params, method), params.timeout);
      case "publish-list":
        return this.datasets.names();
      case "publish-delete": {
        const name = nameOf(params, method);
        this.datasets.delete(name);
        this.host.forget(datasetHolder(name));
        return null;
      }
    }
    throw new CoordinationError(`unknown coordination request ${JSON.stringify(method)}`);
  }

  /**
   * The dataset `name`: at once when published, else once it is (within `timeout` seconds; no
   * timeout: answers null at once, which the client turns into its "not published" error).
   */
  #get(name: string, timeout: unknown): Dataset | null | Promise<Dataset> {
    const found = this.datasets.get(name);
    if (found !== undefined) return found;
    if (timeout === undefined || timeout === null) return null;
    if (typeof timeout !== "number" || !(timeout >= 0)) {
      throw new CoordinationError("publish-get: timeout must be a number of seconds ≥ 0");
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(
          new WaitTimeoutError(
            `No dataset named '${name}' was published within ${timeout} s.`,
          ),
        );
      }, timeout * 1000);
      const stop = this.datasets.whenPublished(name, (dataset) => {
        clearTimeout(timer);
        stop();
        resolve(dataset);
      });
    });
  }
}

function nameOf(params: Record<string, unknown>, method: string): string {
  const name = params.name;
  if (typeof name !== "string" || name === "") {
    throw new CoordinationError(`${method} needs params {name: a non-empty string}`);
  }
  return name;
}
