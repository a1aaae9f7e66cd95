/**
 * Computing and persisting collections: gathers their graphs into one (shared intermediates
 * appear once, so they run once) and hands it to a scheduler — `sync`, `threads`, or the
 * default distributed client when one is connected.
 *
 * @module
 */

import type { Graph } from "../core/graph.ts";
import { makeLiteral } from "../core/task.ts";
import type { Key } from "../core/task.ts";
import {
  collectGraph,
  type Collection,
  collectionSymbol,
  isCollection,
  type Layer,
  leafLayer,
} from "./collection.ts";
import { runSync } from "./local/sync.ts";
import { runThreads } from "./local/threads.ts";
import type { LocalRunOptions } from "./local/options.ts";
import { progressReporter } from "./progress_bar.ts";

/** Something that runs graphs: the distributed Client implements this. */
export interface GraphExecutor {
  /** Computes the outputs and returns their values in order. */
  computeGraph(graph: Graph, outputs: readonly Key[], options: ComputeOptions): Promise<unknown[]>;
  /** Computes the outputs and keeps them where they are; returns a layer that stands for them. */
  persistGraph(graph: Graph, outputs: readonly Key[], options: ComputeOptions): Promise<Layer>;
  /**
   * Where each of `keys` stands (protocol/messages.ts `TASK_*` codes), for executors whose
   * intermediate tasks do not report back on their own (a cluster): progress displays ask it.
   */
  taskProgress?(keys: readonly Key[]): Promise<ArrayLike<number>>;
}

/** Options of `compute` and `persist`. */
export interface ComputeOptions {
  /**
   * Where to run: `"sync"` (this thread, for debugging), `"threads"` (a pool of Web Workers),
   * or a `Client`. Default: the newest connected Client, else `"threads"`.
   */
  scheduler?: "sync" | "threads" | GraphExecutor;
  /** Threads for the `threads` scheduler; default: the machine's cores. */
  numWorkers?: number;
  /** Draw a progress bar on stderr (plain periodic lines when stderr is not a terminal). */
  progress?: boolean;
}

let defaultExecutor: GraphExecutor | undefined;

/** Makes `executor` the scheduler `compute` uses when none is named (`undefined` to clear). */
export function setDefaultExecutor(executor: GraphExecutor | undefined): void {
  defaultExecutor = executor;
}

/** The executor `compute` uses by default, if a client set one. */
export function getDefaultExecutor(): GraphExecutor | undefined {
  return defaultExecutor;
}

function localOptions(options: ComputeOptions): LocalRunOptions {
  const local: LocalRunOptions = {};
  if (options.numWorkers !== undefined) local.numWorkers = options.numWorkers;
  if (options.progress) local.onTaskDone = progressReporter();
  return local;
}

/** Runs a graph on the scheduler the options name. */
export function runGraph(
  graph: Graph,
  outputs: readonly Key[],
  options: ComputeOptions = {},
): Promise<unknown[]> {
  const scheduler = options.scheduler ?? defaultExecutor ?? "threads";
  if (scheduler === "sync") return runSync(graph, outputs, localOptions(options));
  if (scheduler === "threads") return runThreads(graph, outputs, localOptions(options));
  if (typeof scheduler === "object" && typeof scheduler.computeGraph === "function") {
    return scheduler.computeGraph(graph, outputs, options);
  }
  throw new TypeError(
    `Unknown scheduler ${JSON.stringify(scheduler)}: use "sync", "threads" or a Client.`,
  );
}

/** Computes several collections together; shared tasks run once. */
export async function computeCollections(
  collections: readonly Collection[],
  options: ComputeOptions = {},
): Promise<unknown[]> {
  const specs = collections.map((c) => c[collectionSymbol]);
  const graph = collectGraph(specs.map((s) => s.layer()));
  const keyLists = specs.map((s) => s.keys());
  const outputs = [...new Set(keyLists.flat())];
  const values = await runGraph(graph, outputs, options);
  const byKey = new Map<Key, unknown>();
  outputs.forEach((key, i) => byKey.set(key, values[i]));
  return specs.map((s, i) => s.finalize(keyLists[i].map((key) => byKey.get(key))));
}

/** Computes a collection and keeps its results, returning the same collection over them. */
export async function persistCollection<C extends Collection>(
  collection: C,
  options: ComputeOptions = {},
): Promise<C> {
  const spec = collection[collectionSymbol];
  const graph = collectGraph([spec.layer()]);
  const outputs = [...new Set(spec.keys())];
  const scheduler = options.scheduler ?? defaultExecutor ?? "threads";
  let layer: Layer;
  if (typeof scheduler === "object") {
    layer = await scheduler.persistGraph(graph, outputs, options);
  } else {
    const values = await runGraph(graph, outputs, options);
    const id = `persisted-${outputs[0] ?? "empty"}-${crypto.randomUUID()}`;
    layer = leafLayer(id, outputs.map((key, i) => makeLiteral(key, values[i])));
  }
  return spec.rebuild(layer) as C;
}

const OPTION_NAMES = new Set(["scheduler", "numWorkers", "progress"]);

function isOptions(value: unknown): value is ComputeOptions {
  if (typeof value !== "object" || value === null || isCollection(value)) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.keys(value).every((k) => OPTION_NAMES.has(k));
}

/**
 * Splits `compute(a, b, options?)` arguments: a trailing plain object whose keys are all option
 * names is the options. As Dask's `compute`, collections may sit inside arrays and plain
 * objects (they are computed together and put back in place) and other values pass through
 * unchanged; `results(values)` rebuilds the arguments from the collections' values.
 */
export function splitComputeArgs(
  args: readonly unknown[],
): {
  collections: Collection[];
  options: ComputeOptions;
  results: (values: readonly unknown[]) => unknown[];
} {
  const last = args[args.length - 1];
  const options = args.length > 0 && isOptions(last) ? last : {};
  const rest = options === last ? args.slice(0, -1) : args;
  const collections: Collection[] = [];
  const find = (value: unknown): void => {
    if (isLazy(value)) collections.push(value);
    else if (Array.isArray(value)) value.forEach(find);
    else if (isPlainRecord(value)) Object.values(value).forEach(find);
  };
  rest.forEach(find);
  const results = (values: readonly unknown[]) => {
    let next = 0;
    const put = (value: unknown): unknown => {
      if (isLazy(value)) return values[next++];
      if (Array.isArray(value)) return value.map(put);
      if (isPlainRecord(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, put(v)]));
      }
      return value;
    };
    return rest.map(put);
  };
  return { collections, options, results };
}

/** A collection, also a lazy attribute of a Delayed (a callable proxy). */
function isLazy(value: unknown): value is Collection {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    collectionSymbol in value;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
