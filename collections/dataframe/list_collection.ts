/**
 * A throwaway collection over some keys of a layer that computes to the list of their values:
 * how eager operations (head, toCsv, toParquet) compute a few tasks through the usual path.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import { type Collection, collectionSymbol, type Layer } from "../collection.ts";

/** The values of `keys` (tasks of `layer` or its dependencies), in order. */
export function listCollection(layer: Layer, keys: readonly Key[]): Collection<unknown[]> {
  return {
    [collectionSymbol]: {
      layer: () => layer,
      keys: () => keys,
      finalize: (values) => values,
      rebuild: () => {
        throw new Error("A list of task values is computed, not persisted.");
      },
    },
  };
}
