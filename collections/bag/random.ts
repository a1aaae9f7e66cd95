/**
 * Random samples of bags, as `dask.bag.random`: uniform, exact, and computed as tree
 * reductions (each partition keeps a sample of its own and the tree merges them), so no task
 * holds more than `k` elements per input.
 *
 * @module
 */

import type { Bag, ReductionOptions } from "./bag.ts";
import { randomSample } from "./reductions.ts";

/** `k` distinct elements chosen uniformly at random (a bag of one partition), in random order. */
export function sample<T>(population: Bag<T>, k: number, options: ReductionOptions = {}): Bag<T> {
  return randomSample(population, "sample", k, options);
}

/** `k` elements drawn uniformly at random with replacement (a bag of one partition). */
export function choices<T>(population: Bag<T>, k = 1, options: ReductionOptions = {}): Bag<T> {
  return randomSample(population, "choices", k, options);
}
