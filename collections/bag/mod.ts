/**
 * The `bag` namespace: lazy, partitioned sequences of JavaScript values, as `dask.bag`.
 *
 * @example
 * ```ts
 * import { bag } from "../../mod.ts";
 *
 * const records = bag.readText("data/*.jsonl.gz").map(JSON.parse);
 * const top = await records.pluck("type").frequencies().topk(10, 1).compute();
 * ```
 *
 * @module
 */

export { Bag, isBag } from "./bag.ts";
export type { ArgumentValue, ReductionOptions } from "./bag.ts";
export type { KeyArgument } from "./arguments.ts";
export type { Field } from "./partition_ops.ts";
export { concat, fromDelayed, fromSequence, range, zip } from "./creation.ts";
export type { FromSequenceOptions } from "./creation.ts";
export { readText } from "./text_io.ts";
export { map, mapPartitions } from "./functions.ts";
export { StringAccessor } from "./string_methods.ts";
export type { Compression, ReadTextOptions, ToTextFilesOptions } from "./text_io.ts";
export type { TakeOptions } from "./reshape.ts";
export * as random from "./random.ts";
