/**
 * Computing and persisting collections: gathers their graphs into one (shared intermediates
 * appear once, so they run once) and hands it to a {@link GraphExecutor} — the `sync`,
 * `threads` or `processes` local scheduler, or the default distributed client when one is
 * connected. Every executor runs graphs the same way; a collection's result is always made from
 * its outputs' values by its own `finalize`, on the caller's side ({@link planCompute}).
 *
 * @module
 */

import { timeoutMsOf } from "../core/timeout.ts";
import type { Graph } from "../core/graph.ts";
import { GraphError } from "../core/errors.ts";
import { checkOptionNames, nearestName, optionNames } from "../core/option_names.ts";
import { graphToRun } from "../core/optimize.ts";
import type { Key } from "../core/task.ts";
import { collectGraph, type Collection, collectionSymbol, isCollection } from "./collection.ts";
import type { Layer } from "./collection.ts";
import { syncExecutor } from "./local/sync.ts";
import { threadsExecutor } from "./local/threads.ts";
import { processesExecutor } from "./local/processes.ts";

/**
 * Something that runs graphs: the local schedulers (`sync`, `threads`, `processes`) and the
 * distributed Client implement this.
 */
export interface GraphExecutor {
  /** Computes the outputs and returns their values in order. */
  computeGraph(graph: Graph, outputs: readonly Key[], options: RunOptions): Promise<unknown[]>;
  /** Computes the outputs and keeps them where they are; returns a layer that stands for them. */
  persistGraph(graph: Graph, outputs: readonly Key[], options: RunOptions): Promise<Layer>;
  /**
   * Where each of `keys` stands (protocol/messages.ts `TASK_*` codes), for executors whose
   * intermediate tasks do not report back on their own (a cluster): progress displays ask it.
   */
  taskProgress?(keys: readonly Key[]): Promise<ArrayLike<number>>;
  /**
   * Starts what running will need (the `threads` scheduler's pool) while the caller builds the
   * graph; the caller calls the returned function once the run is over, failed or not.
   */
  prepare?(options: RunOptions): () => void;
}

/** The local schedulers `compute` knows by name. */
export type SchedulerName = "sync" | "threads" | "processes";

/** Options of `compute` and `persist`. */
export interface ComputeOptions {
  /**
   * Where to run: `"sync"` (this thread, for debugging), `"threads"` (a pool of Web Workers),
   * `"processes"` (a pool of Deno subprocesses: a task that crashes or exhausts memory fails
   * alone, and tasks share no process-wide state), or a `Client`. Default: the newest connected
   * Client, else `"threads"`.
   */
  scheduler?: SchedulerName | GraphExecutor;
  /** Threads (or processes) of the `threads` (`processes`) scheduler; default: the cores. */
  numWorkers?: number;
  /** Draw a progress bar on stderr (plain periodic lines when stderr is not a terminal). */
  progress?: boolean;
  /**
   * How long each task may run, in milliseconds or as a duration like `"30s"`: a task past it
   * is stopped (its thread is terminated and replaced) and the computation fails with a
   * `TimeoutError` naming the task. Applies on a Client and the `threads` scheduler; the `sync`
   * scheduler runs tasks on the caller's own thread, which nothing can stop, so it ignores it.
   */
  timeout?: number | string;
  /**
   * Optimize the graph first, as Dask's `optimize_graph`: drop tasks the results do not need,
   * put cheap literals into the tasks that read them, and fuse linear chains into one task
   * (output keys stay). Default `true`; `false` runs every task as built, e.g. to see each one
   * on the dashboard.
   */
  optimizeGraph?: boolean;
}

/** What an executor is handed: the compute options, plus a per-task callback for displays. */
export interface RunOptions extends ComputeOptions {
  /**
   * Called with `(null, total)` before the first task, then with each finished task's key, by
   * executors whose tasks report back to this process (the local ones). Progress displays use
   * it instead of drawing the default bar.
   */
  onTaskDone?: (key: Key | null, total: number) => void;
}

/** The executors behind the scheduler names, so a new local scheduler is one entry here. */
const namedExecutors: Record<SchedulerName, GraphExecutor> = {
  sync: syncExecutor,
  threads: threadsExecutor,
  processes: processesExecutor,
};

let defaultExecutor: GraphExecutor | undefined;

/** Makes `executor` the scheduler `compute` uses when none is named (`undefined` to clear). */
export function setDefaultExecutor(executor: GraphExecutor | undefined): void {
  defaultExecutor = executor;
}

/** The executor `compute` uses by default, if a client set one. */
export function getDefaultExecutor(): GraphExecutor | undefined {
  return defaultExecutor;
}

/** The executor the options name: a scheduler name, an executor, or the default. */
export function resolveExecutor(options: ComputeOptions): GraphExecutor {
  const scheduler = options.scheduler ?? defaultExecutor ?? "threads";
  if (typeof scheduler === "string" && Object.hasOwn(namedExecutors, scheduler)) {
    return namedExecutors[scheduler];
  }
  if (typeof scheduler === "object" && scheduler !== null) {
    if (typeof scheduler.computeGraph === "function") return scheduler;
  }
  const names = Object.keys(namedExecutors).map((n) => JSON.stringify(n)).join(", ");
  throw new TypeError(
    `Unknown scheduler ${JSON.stringify(scheduler) ?? String(scheduler)}: use ${names} or a ` +
      `Client.`,
  );
}

/** Runs a graph on the scheduler the options name. */
export function runGraph(
  graph: Graph,
  outputs: readonly Key[],
  options: RunOptions = {},
): Promise<unknown[]> {
  return resolveExecutor(options).computeGraph(graph, outputs, options);
}

/** Computing some collections together: one graph, its outputs, each collection's result. */
export interface ComputePlan {
  /** The collections' tasks merged (shared layers once). */
  readonly graph: Graph;
  /** Every collection's output keys, each once, in first-seen order. */
  readonly outputs: readonly Key[];
  /** The output keys of each collection, in the order its `finalize` expects. */
  readonly keyLists: readonly (readonly Key[])[];
  /** The result of collection `i` from the values of its `keyLists[i]`, in that order. */
  finalize(i: number, values: unknown[]): unknown;
}

/**
 * The plan every compute path follows (`compute()`, `Client.compute`): the graph to run and
 * how each collection's result is made — always by its own `finalize`, here on the caller's
 * side, since a finalize may be a closure that cannot travel.
 *
 * @throws {GraphError} naming the argument that is not a collection.
 */
export function planCompute(
  collections: readonly unknown[],
  caller = "compute()",
  optimize = true,
): ComputePlan {
  const specs = checkCollections(collections, caller).map((c) => c[collectionSymbol]);
  const keyLists = specs.map((s) => s.keys());
  const outputs = [...new Set(keyLists.flat())];
  const graph = collectGraph(specs.map((s) => s.layer()));
  return {
    graph: graphToRun(graph, outputs, optimize),
    outputs,
    keyLists,
    finalize: (i, values) => specs[i].finalize(values),
  };
}

/** The values, checked to be collections; an error names the first that is not. */
function checkCollections(values: readonly unknown[], caller: string): Collection[] {
  values.forEach((c, i) => {
    if (!isCollection(c)) {
      throw new GraphError(
        `${caller} argument ${i} is not a lazy collection (Delayed, Bag or Array); ` +
          `wrap plain values with delayed(value) or leave them out.`,
      );
    }
  });
  return values as Collection[];
}

/** Computes several collections together; shared tasks run once. */
export async function computeCollections(
  collections: readonly Collection[],
  options: ComputeOptions = {},
): Promise<unknown[]> {
  checkComputeOptions(options);
  const done = resolveExecutor(options).prepare?.(options);
  let values: unknown[];
  let plan: ComputePlan;
  try {
    plan = planCompute(collections, "compute()", options.optimizeGraph !== false);
    values = await runGraph(plan.graph, plan.outputs, options);
  } finally {
    done?.();
  }
  const byKey = new Map<Key, unknown>();
  plan.outputs.forEach((key, i) => byKey.set(key, values[i]));
  return plan.keyLists.map((keys, i) => plan.finalize(i, keys.map((key) => byKey.get(key))));
}

/** Computes a collection and keeps its results, returning the same collection over them. */
export async function persistCollection<C extends Collection>(
  collection: C,
  options: ComputeOptions = {},
): Promise<C> {
  checkComputeOptions(options, "persist()");
  const spec = collection[collectionSymbol];
  const outputs = [...new Set(spec.keys())];
  const executor = resolveExecutor(options);
  const done = executor.prepare?.(options);
  try {
    const collected = collectGraph([spec.layer()]);
    const graph = graphToRun(collected, outputs, options.optimizeGraph !== false);
    const layer = await executor.persistGraph(graph, outputs, options);
    return spec.rebuild(layer) as C;
  } finally {
    done?.();
  }
}

const OPTION_NAMES = optionNames<ComputeOptions>({
  scheduler: true,
  numWorkers: true,
  progress: true,
  timeout: true,
  optimizeGraph: true,
});

/** Checks the options of `compute` and `persist` (a misspelt one names the nearest). */
export function checkComputeOptions(options: ComputeOptions, where = "compute()"): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${where} takes an object of options, got ${String(options)}.`);
  }
  checkOptionNames(options, OPTION_NAMES, where);
  if (options.timeout !== undefined) timeoutMsOf(options.timeout);
}

/**
 * In last place, `compute`'s options: a plain object (not a collection, holding none) whose keys
 * are each an option name or a near miss of one (a typo is then reported, not passed through).
 */
function isOptions(value: unknown): value is ComputeOptions {
  if (!isPlainRecord(value) || isLazy(value)) return false;
  const keys = Object.keys(value);
  if (Object.values(value).some(isLazy)) return false;
  return keys.every((k) => (OPTION_NAMES as string[]).includes(k) || nearestName(k, OPTION_NAMES));
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
  checkComputeOptions(options);
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
