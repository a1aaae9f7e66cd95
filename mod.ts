/**
 * A distributed, dynamic task scheduler for Deno, with Dask's semantics.
 *
 * Lazy collections ({@link delayed}) build task graphs; graphs run in this thread (`sync`), on a
 * pool of Web Workers (`threads`), or on a cluster.
 *
 * @example
 * ```ts
 * import { compute, delayed } from "./mod.ts";
 *
 * const inc = (x: number) => x + 1;
 * const add = (x: number, y: number) => x + y;
 * const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
 * console.log(await total.compute()); // 5
 * const [a, b] = await compute(total, delayed(inc)(total), { scheduler: "sync" });
 * ```
 *
 * @module
 */

import type { Collection, ResultOf } from "./collections/collection.ts";
import {
  computeCollections,
  type ComputeOptions,
  persistCollection,
  splitComputeArgs,
} from "./collections/compute.ts";

export { Delayed, delayed } from "./collections/delayed.ts";
export * as bag from "./collections/bag/mod.ts";
export * as array from "./collections/array/mod.ts";
export type {
  ArgumentValue,
  Bag,
  Compression,
  Field,
  FromSequenceOptions,
  KeyArgument,
  ReadTextOptions,
  ReductionOptions,
  StringAccessor as BagStringAccessor,
  TakeOptions,
  ToTextFilesOptions,
} from "./collections/bag/mod.ts";
export type {
  DelayedFunction,
  DelayedMembers,
  DelayedOptions,
  LazyDelayed,
  MaybeDelayed,
} from "./collections/delayed.ts";
export type {
  ComputeOptions,
  GraphExecutor,
  RunOptions,
  SchedulerName,
} from "./collections/compute.ts";
export { collectionSymbol } from "./collections/collection.ts";
export type { MimeBundle } from "./collections/display/notebook.ts";
export type {
  Collection,
  CollectionSpec,
  Layer,
  LazyValue,
  ResultOf,
} from "./collections/collection.ts";
export { resultType } from "./collections/collection.ts";
export { taskModule } from "./core/function_codec.ts";
export { shutdownThreads } from "./collections/local/threads.ts";
export { shutdownProcesses } from "./collections/local/processes.ts";
export { ProcessDiedError } from "./threads/process_exit.ts";
export { FreeVariableError, GraphError, UnserializableError } from "./core/errors.ts";
export { NDArray } from "./core/ndarray.ts";
export type { BigIntArray, DType, NumberArray, NumericArray } from "./core/ndarray.ts";
export type { Graph } from "./core/graph.ts";
export type { Key, Task, TaskFunction, TaskOptions } from "./core/task.ts";
export { Client, ClientClosedError } from "./client/client.ts";
export { fireAndForget } from "./client/fire_and_forget.ts";
export type { ClientOptions, ClientStatus, WorkerStatus } from "./client/client.ts";
export type { Gathered, GatherOptions } from "./client/gather.ts";
export type { ConnectTarget } from "./client/connect_target.ts";
export { ClientView, SubmitMethods } from "./client/client_view.ts";
export type {
  CollectionResult,
  FutureArgs,
  MaybeFuture,
  Scattered,
  Submitter,
} from "./client/client_view.ts";
export type { SubmitOptions } from "./client/submit_options.ts";
export type {
  AdminOptions,
  RebalanceOptions,
  ReplicateOptions,
  RetireOptions,
} from "./client/cluster_admin.ts";
export type { RebalanceResult } from "./protocol/session.ts";
export type { StoryEntry } from "./protocol/story.ts";
export type { TaskStreamEntry } from "./protocol/task_stream_entry.ts";
export { TaskStreamRecorder } from "./client/task_stream.ts";
export type { TaskStreamQuery } from "./client/task_stream.ts";
export type { ScatterOptions } from "./client/scatter.ts";
export { Datasets } from "./client/primitives/datasets.ts";
export { Lock, Semaphore } from "./client/primitives/semaphore.ts";
export type { AcquireOptions } from "./client/primitives/semaphore.ts";
export { Event } from "./client/primitives/event.ts";
export { Queue } from "./client/primitives/queue.ts";
export type { QueueOptions } from "./client/primitives/queue.ts";
export { MultiLock } from "./client/primitives/multi_lock.ts";
export { Pub, Sub } from "./client/primitives/pubsub.ts";
export { ActorLostError } from "./client/actors.ts";
export type { ActorHandle } from "./core/actor_ref.ts";
export type { ProfileFrame, ProfileNode, ProfileOptions } from "./client/profile.ts";
export { importUploaded, type UploadFileOptions } from "./client/uploads.ts";
export type { MultiLockAcquireOptions } from "./client/primitives/multi_lock.ts";
export { Variable } from "./client/primitives/variable.ts";
export { SharedObject } from "./client/primitives/context.ts";
export type { SharedStateOptions } from "./client/primitives/context.ts";
export type { GetDatasetOptions, PublishOptions } from "./client/primitives/datasets.ts";
export { LocalCluster } from "./deploy/local_cluster.ts";
export type { LocalClusterOptions } from "./deploy/local_cluster.ts";
export type { Security } from "./net/tls.ts";
export type { TaskGrants, TaskPermissionName, TaskPermissions } from "./core/task_permissions.ts";
export { ClusterManager } from "./deploy/cluster.ts";
export type {
  ClusterManagerOptions,
  ClusterWorker,
  ScaleTarget,
  WorkerShape,
} from "./deploy/cluster.ts";
export { Adaptive } from "./deploy/adaptive.ts";
export { SSHCluster } from "./deploy/ssh_cluster.ts";
export { JobQueueCluster } from "./deploy/job_queue.ts";
export type { JobCommands, JobQueueClusterOptions } from "./deploy/job_queue.ts";
export { SlurmCluster } from "./deploy/slurm_cluster.ts";
export { PBSCluster, SGECluster } from "./deploy/pbs_cluster.ts";
export type {
  SSHClusterOptions,
  SSHConnectOptions,
  SSHSchedulerOptions,
  SSHWorkerOptions,
} from "./deploy/ssh_cluster.ts";
export type { AdaptiveHost, AdaptOptions } from "./deploy/adaptive.ts";
export { SchedulerUnreachableError } from "./client/scheduler_connection.ts";
export { MissingDataError } from "./client/data_fetch.ts";
export { Future } from "./client/future.ts";
export type { FutureOwner } from "./client/future.ts";
export { CancelledError, FutureLostError, TimeoutError } from "./client/future_state.ts";
export type { FutureState, FutureStatus } from "./client/future_state.ts";
export { AsCompleted, asCompleted } from "./client/as_completed.ts";
export type { AsCompletedOptions, Completed } from "./client/as_completed.ts";
export { wait } from "./client/wait.ts";
export { getClient, rejoin, secede, workerClient } from "./client/task_client.ts";
export { progress } from "./collections/progress.ts";
export type { ProgressOptions, Trackable } from "./collections/progress.ts";
export { GraphPicture, visualizeGraph } from "./collections/visualize.ts";
export type { VisualizeOptions } from "./collections/visualize.ts";
export type { ReturnWhen, WaitOptions, WaitResult } from "./client/wait.ts";

/**
 * The results of computing a tuple of arguments: each collection's value, collections inside
 * arrays and plain objects replaced by theirs, other values as they are.
 */
export type ComputeResults<C extends readonly unknown[]> = {
  [I in keyof C]: Computed<C[I]>;
};

/** The value `compute` gives for an argument of type `T`. */
export type Computed<T> = T extends Collection ? ResultOf<T>
  : T extends readonly unknown[] ? { [I in keyof T]: Computed<T[I]> }
  : T extends Record<string, unknown> ? { [K in keyof T]: Computed<T[K]> }
  : T;

/**
 * Computes several collections at once; tasks they share run once. A trailing plain object
 * holds the {@link ComputeOptions}. As Dask's `compute`, collections inside arrays and plain
 * objects are computed in place, and other values pass through unchanged:
 * `compute(d, 10, [d2])` gives `[value of d, 10, [value of d2]]`.
 *
 * @example
 * ```ts
 * import { compute, delayed } from "./mod.ts";
 *
 * const double = (x: number) => 2 * x;
 * const shared = delayed(double)(21);
 * const [x, y] = await compute(shared, delayed(double)(shared), { scheduler: "threads" });
 * // x === 42, y === 84; `shared` ran once
 * ```
 */
export async function compute<C extends unknown[]>(
  ...args: [...C] | [...C, ComputeOptions]
): Promise<ComputeResults<C>> {
  const { collections, options, results } = splitComputeArgs(args);
  return results(await computeCollections(collections, options)) as ComputeResults<C>;
}

/**
 * Computes a collection and keeps its results in memory (locally, or on the cluster with a
 * Client); returns the same kind of collection backed by them.
 *
 * @example
 * ```ts
 * import { delayed, persist } from "./mod.ts";
 *
 * const slow = (x: number) => x * 10;
 * const kept = await persist(delayed(slow)(4));
 * console.log(await kept.compute()); // 40, without running `slow` again
 * ```
 */
export function persist<C extends Collection>(
  collection: C,
  options: ComputeOptions = {},
): Promise<C> {
  return persistCollection(collection, options);
}

// Types only (no Polars is loaded): `Bag.toDataframe` returns a DataFrame, and its documentation
// links to these. The dataframe functions themselves live in `./dataframe.ts`.
export type * from "./collections/dataframe/public_types.ts";
