/**
 * Cluster administration from a client: restart every worker, retire workers, run a function in
 * every worker process, replicate keys, rebalance memory. Each is one scheduler request
 * (docs/protocol.md §8, "Requests"); these functions build the parameters and read the answers,
 * given a way to send a request, so the Client only wires them as methods:
 *
 * ```ts
 * const request: SchedulerRequest = (method, params) => session.request(method, params);
 * await restartWorkers(request);
 * ```
 *
 * @module
 */

import { errorFromRecord } from "../core/errors.ts";
import { TimeoutError } from "./future_state.ts";
import { describeFunction } from "../core/function_codec.ts";
import type { Key, TaskFunction } from "../core/task.ts";
import { decode, encode } from "../core/value_codec.ts";
import type {
  RebalanceResult,
  ReplicateResult,
  RestartResult,
  RetireResult,
  RunOutcomes,
} from "../protocol/session.ts";

/** A worker as {@link Client.workers} describes it. */
export interface WorkerStatus {
  /** Where the worker listens for data, `tcp://host:port`: its identity. */
  address: string;
  /** Its name, for `workers` restrictions. */
  name: string;
  /** Threads running tasks. */
  nthreads: number;
  /** Bytes it may hold; 0 for no limit. */
  memoryLimit: number;
  /** Bytes it holds. */
  memory: number;
  /** Tasks running there now. */
  executing: number;
  /** Keys it holds. */
  inMemory: number;
  /**
   * What its last heartbeat reported: `memory` (bytes of values, counting dataframe partitions
   * kept live in their thread), `live` (those partitions' bytes), `rss`, `spilled`,
   * `tableConversions` (tables converted to or from Arrow IPC, ever), … (`HeartbeatMsg`).
   */
  metrics?: Record<string, number>;
}

/** Sends one request to the scheduler and resolves with its result (rejects with its error). */
export type SchedulerRequest = <T>(method: string, params: Record<string, unknown>) => Promise<T>;

/** Options shared by requests that wait for the cluster. */
export interface AdminOptions {
  /** Seconds the scheduler waits for the operation before answering anyway. Default 60. */
  timeout?: number;
}

/**
 * Restarts every worker: all tasks are forgotten (every future of every client is cancelled),
 * workers drop their data and threads (a runaway task stops) and register again. Resolves once
 * as many workers are back, with how many there are.
 *
 * @throws {TimeoutError} when not every worker is back within `options.timeout` seconds.
 */
export async function restartWorkers(
  request: SchedulerRequest,
  options: AdminOptions = {},
): Promise<number> {
  try {
    const result = await request<RestartResult>("restart", withTimeout({}, options));
    return result.workers;
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") {
      throw new TimeoutError(error.message);
    }
    throw error;
  }
}

/** Which workers {@link retireWorkers} retires. */
export interface RetireOptions extends AdminOptions {
  /** Worker names or addresses. */
  workers?: string[];
  /** Or: this many workers, those holding the least data. */
  n?: number;
}

/**
 * Retires workers gracefully: they get no new tasks, the data only they hold is copied to other
 * workers first, then they close (their processes exit). Resolves with the retired addresses.
 *
 * @throws when a worker is unknown, or when its unique data could go nowhere.
 */
export async function retireWorkers(
  request: SchedulerRequest,
  options: RetireOptions,
): Promise<string[]> {
  if (options.workers === undefined && options.n === undefined) {
    throw new TypeError("retireWorkers(): name the workers ({ workers: [...] }) or a count (n)");
  }
  const params: Record<string, unknown> = {};
  if (options.workers !== undefined) params.workers = options.workers;
  if (options.n !== undefined) params.n = options.n;
  const result = await request<RetireResult>("retire-workers", withTimeout(params, options));
  return result.retired;
}

/**
 * Calls `fn(...args)` once in every worker process (or in those named), outside the task
 * threads, and resolves with each worker's result by address. `fn` travels like a task function
 * (self-contained source, or a module function).
 *
 * @throws the first worker's error, with the worker's address in its message.
 */
export async function runOnWorkers<T>(
  request: SchedulerRequest,
  fn: TaskFunction,
  args: unknown[] = [],
  options: { workers?: string[] } = {},
): Promise<Record<string, T>> {
  const params: Record<string, unknown> = { fn: describeFunction(fn), args: encode(args) };
  if (options.workers !== undefined) params.workers = options.workers;
  const outcomes = await request<RunOutcomes>("run", params);
  const results: Record<string, T> = {};
  for (const [address, outcome] of Object.entries(outcomes)) {
    if (!outcome.ok) {
      const error = errorFromRecord(outcome.error);
      error.message = `on worker ${address}: ${error.message}`;
      throw error;
    }
    results[address] = decode(outcome.value) as T;
  }
  return results;
}

/** How {@link replicateKeys} copies. */
export interface ReplicateOptions extends AdminOptions {
  /** Copies wanted per key. Default: one on every (allowed) worker. */
  n?: number;
  /** Worker names or addresses that may hold the copies. */
  workers?: string[];
}

/**
 * Copies keys that are in memory to `n` workers (a tree broadcast: copies double each round, no
 * worker serves many at once); keys with more copies than `n` lose the extras. Resolves with the
 * number of copies per key.
 */
export async function replicateKeys(
  request: SchedulerRequest,
  keys: readonly Key[],
  options: ReplicateOptions = {},
): Promise<Record<Key, number>> {
  const params: Record<string, unknown> = { keys: [...keys] };
  if (options.n !== undefined) params.n = options.n;
  if (options.workers !== undefined) params.workers = options.workers;
  return await request<ReplicateResult>("replicate", withTimeout(params, options));
}

/** What {@link rebalanceKeys} considers. */
export interface RebalanceOptions extends AdminOptions {
  /** Only these keys move (default: any key in memory). */
  keys?: readonly Key[];
  /** Only between these workers (names or addresses; default: every running worker). */
  workers?: string[];
}

/**
 * Moves copies from the workers holding the most bytes to those holding the fewest until every
 * worker is near the mean. Resolves with the copies and bytes moved.
 */
export async function rebalanceKeys(
  request: SchedulerRequest,
  options: RebalanceOptions = {},
): Promise<RebalanceResult> {
  const params: Record<string, unknown> = {};
  if (options.keys !== undefined) params.keys = [...options.keys];
  if (options.workers !== undefined) params.workers = options.workers;
  return await request<RebalanceResult>("rebalance", withTimeout(params, options));
}

function withTimeout(
  params: Record<string, unknown>,
  options: AdminOptions,
): Record<string, unknown> {
  if (options.timeout !== undefined) params.timeout = options.timeout;
  return params;
}
