/**
 * The `threads` scheduler: runs a graph on a pool of Web Workers in this process.
 *
 * Ready tasks go out in batches sized by the measured duration of their task prefix (tiny tasks
 * travel hundreds to a message, slow ones one at a time), so threads stay busy without one
 * hoarding work. Results stay encoded (msgpack body + buffers) in this thread: they are passed
 * on to the threads that need them without being decoded here, and a buffer read for the last
 * time is handed over instead of copied. Only the outputs are decoded.
 *
 * @module
 */

import { errorFromRecord } from "../../core/errors.ts";
import { describeFunction } from "../../core/function_codec.ts";
import type { Graph } from "../../core/graph.ts";
import { keyPrefix } from "../../core/task.ts";
import type { Key } from "../../core/task.ts";
import { decode, encode, type Encoded } from "../../core/value_codec.ts";
import { type ThreadEnd, ThreadPool } from "../../threads/thread_pool.ts";
import { threadDiedError, timeoutError } from "../../threads/thread_end_errors.ts";
import type { RunItem, RunResult } from "../../threads/thread_protocol.ts";
import { localExecutor, type LocalRunOptions } from "./options.ts";
import type { GraphExecutor } from "../compute.ts";
import { RunState } from "./run_state.ts";

/** How much estimated work (ms) one batch carries, and how much a thread may have queued. */
const BATCH_MS = 2;
const QUEUED_MS = 2 * BATCH_MS;
const MAX_BATCH = 512;
/** Item ids carry their thread's index below this factor. */
const THREAD_SLOTS = 4096;
/** Idle pools are stopped after this long, so scripts can exit. */
const IDLE_SHUTDOWN_MS = 100;

/** A result held in encoded form, as a thread produced it. */
class EncodedResult {
  constructor(readonly encoded: Encoded) {}
}

/**
 * Encodings of values placed in graphs (literals, persisted results), kept while the value
 * lives: a persisted collection is encoded once, not at every computation that reads it.
 */
const literalEncodings = new WeakMap<object, Encoded>();

function encodeLiteral(value: unknown, key: Key): Encoded {
  const cacheable = typeof value === "object" && value !== null;
  let encoded = cacheable ? literalEncodings.get(value) : undefined;
  if (encoded === undefined) {
    encoded = encode(value, { rootName: `value of ${key}` });
    if (cacheable) literalEncodings.set(value, encoded);
  }
  return encoded;
}

/** Average duration (ms) of tasks per key prefix, learned as tasks finish. */
const prefixDurations = new Map<string, number>();

function estimateMs(prefix: string): number {
  return prefixDurations.get(prefix) ?? BATCH_MS; // unknown: assume a batch's worth, send alone
}

function learnDuration(prefix: string, ms: number): void {
  const old = prefixDurations.get(prefix);
  prefixDurations.set(prefix, old === undefined ? ms : 0.7 * old + 0.3 * ms);
}

/** A run's handlers for the results of the items it posted. */
interface RunSink {
  onResult(thread: number, result: RunResult): void;
  /**
   * `end.thread` was replaced; `ids` are this run's items that were posted to it and are lost
   * (the one that was running is `end.runId`).
   */
  onThreadEnded(end: ThreadEnd, ids: number[]): void;
  /** Hands ready tasks to threads with room; called whenever threads free up. */
  dispatch(): void;
  /** True once the run failed: its late results only free their threads' room. */
  readonly abandoned: boolean;
}

/** A thread pool shared by the computations of this process, stopped when idle. */
class SharedThreads {
  readonly pool: ThreadPool;
  /** Estimated ms of work posted to each thread and not yet returned. */
  readonly load: Float64Array;
  readonly inFlight: Int32Array;
  readonly #owners = new Map<number, { sink: RunSink; estimate: number }>();
  /** Runs in progress: all of them get a turn when any thread frees up. */
  readonly #runs = new Set<RunSink>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;

  constructor(size: number, private readonly onClosed: () => void) {
    this.load = new Float64Array(size);
    this.inFlight = new Int32Array(size);
    this.pool = new ThreadPool(size, (thread, results) => {
      for (const result of results) {
        const owner = this.#owners.get(result.id);
        if (owner === undefined) continue; // posted to a thread that died since
        this.#owners.delete(result.id);
        this.load[thread] -= owner.estimate;
        this.inFlight[thread]--;
        if (!owner.sink.abandoned) owner.sink.onResult(thread, result);
      }
      // the room freed may serve any run, not only the one whose results came back
      for (const run of this.#runs) run.dispatch();
    }, (end) => {
      const thread = end.thread;
      const lost = new Map<RunSink, number[]>();
      for (const [id, owner] of this.#owners) {
        if (id % THREAD_SLOTS !== thread) continue;
        this.#owners.delete(id);
        const ids = lost.get(owner.sink);
        if (ids === undefined) lost.set(owner.sink, [id]);
        else ids.push(id);
      }
      this.load[thread] = 0;
      this.inFlight[thread] = 0;
      for (const [sink, ids] of lost) if (!sink.abandoned) sink.onThreadEnded(end, ids);
      for (const run of this.#runs) run.dispatch();
    });
  }

  /** An id that records which thread an item went to (`id % THREAD_SLOTS`) and who owns it. */
  register(thread: number, sink: RunSink, estimate: number): number {
    const id = this.#nextId++ * THREAD_SLOTS + thread;
    this.#owners.set(id, { sink, estimate });
    this.load[thread] += estimate;
    this.inFlight[thread]++;
    return id;
  }

  /** Takes back items that were registered but never posted. */
  unregister(ids: readonly number[]): void {
    for (const id of ids) {
      const owner = this.#owners.get(id);
      if (owner === undefined) continue;
      this.#owners.delete(id);
      this.load[id % THREAD_SLOTS] -= owner.estimate;
      this.inFlight[id % THREAD_SLOTS]--;
    }
  }

  /** The thread with the least queued work, or -1 when all are full. */
  leastLoaded(): number {
    let best = -1;
    for (let t = 0; t < this.load.length; t++) {
      if (this.inFlight[t] > 0 && this.load[t] >= QUEUED_MS) continue;
      if (best < 0 || this.load[t] < this.load[best]) best = t;
    }
    return best;
  }

  acquire(run: RunSink): void {
    this.#runs.add(run);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  release(run: RunSink): void {
    this.#runs.delete(run);
    if (this.#runs.size > 0) return;
    this.#idleTimer = setTimeout(() => this.close(), IDLE_SHUTDOWN_MS);
  }

  close(): void {
    this.pool.close();
    this.onClosed();
  }
}

const pools = new Map<number, SharedThreads>();

function sharedThreads(size: number): SharedThreads {
  let shared = pools.get(size);
  if (shared === undefined || shared.pool.closed) {
    shared = new SharedThreads(size, () => pools.delete(size));
    pools.set(size, shared);
  }
  return shared;
}

/** Stops every idle thread pool now (tests and embedders that want a clean exit at once). */
export function shutdownThreads(): void {
  for (const shared of [...pools.values()]) shared.close();
}

/** The default number of threads: the machine's cores. */
export function defaultThreadCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** Copies of frames (each only its own bytes) for sending, and their buffers to transfer. */
function copyFrames(encoded: Encoded, transfer: ArrayBuffer[]): Encoded {
  if (encoded.frames.length === 0) return encoded;
  const frames = encoded.frames.map((f) => {
    const copy = f.slice();
    transfer.push(copy.buffer);
    return copy;
  });
  return { body: encoded.body, frames };
}

/** Frames handed over as they are (their buffers detach here). */
function handOverFrames(encoded: Encoded, transfer: ArrayBuffer[]): Encoded {
  for (const f of encoded.frames) {
    const buffer = f.buffer as ArrayBuffer;
    if (!transfer.includes(buffer)) transfer.push(buffer);
  }
  return encoded;
}

/** Computes `outputs` of `graph` on a pool of Web Workers; resolves to their values in order. */
export async function runThreads(
  graph: Graph,
  outputs: readonly Key[],
  options: LocalRunOptions = {},
): Promise<unknown[]> {
  const run = new RunState(graph, outputs);
  const tasks = run.tasks;
  // describe every function first: a function that cannot travel fails before anything runs
  const specs = tasks.map((task) => task.fn === null ? undefined : describeFunction(task.fn));
  const prefixes = tasks.map((task) => keyPrefix(task.key));
  const onTaskDone = options.onTaskDone;
  const timeoutMs = options.timeoutMs;
  const shared = sharedThreads(options.numWorkers ?? defaultThreadCount());

  return await new Promise<unknown[]>((resolve, reject) => {
    let failed = false;
    let settled = false;

    const encodedValueOf = (t: number, transfer: ArrayBuffer[], handOver: boolean): Encoded => {
      const value = run.valueAt(t);
      if (value instanceof EncodedResult) {
        return handOver
          ? handOverFrames(value.encoded, transfer)
          : copyFrames(value.encoded, transfer);
      }
      // the caller's own data is never handed over
      return copyFrames(encodeLiteral(value, tasks[t].key), transfer);
    };

    const finish = (t: number, value: unknown) => {
      run.finish(t, value);
      onTaskDone?.(tasks[t].key, run.total);
    };

    const fail = (error: unknown) => {
      if (failed || settled) return;
      failed = true;
      shared.release(sink);
      reject(error);
    };

    const complete = () => {
      if (settled || failed) return;
      settled = true;
      shared.release(sink);
      try {
        resolve(run.outputValues().map((v) => v instanceof EncodedResult ? decode(v.encoded) : v));
      } catch (error) {
        reject(error);
      }
    };

    const sink: RunSink = {
      get abandoned() {
        return failed;
      },
      dispatch: () => dispatch(),
      onResult(_thread, result) {
        if (failed) return;
        const t = itemTask.get(result.id)!;
        itemTask.delete(result.id);
        if (!result.ok) return fail(errorFromRecord(result.error));
        learnDuration(prefixes[t], result.stop - result.start);
        finish(t, new EncodedResult(result.value));
        if (run.remaining === 0) complete();
      },
      onThreadEnded(end, ids) {
        for (const id of ids) {
          const t = itemTask.get(id)!;
          itemTask.delete(id);
          // the task that ended its thread errs; those queued behind it run again
          if (id !== end.runId) run.requeue(t);
          else {
            const key = tasks[t].key;
            fail(errorFromRecord(
              end.cause === "timeout"
                ? timeoutError(key, timeoutMs!, "the threads scheduler")
                : threadDiedError(key, end.thread, "the threads scheduler", end.reason),
            ));
          }
        }
      },
    };

    /** Posted item id → task index. */
    const itemTask = new Map<number, number>();

    const makeItem = (t: number, thread: number, transfer: ArrayBuffer[]): RunItem => {
      const task = tasks[t];
      const depKeys = task.deps as Key[];
      const depValues = depKeys.map((key) => {
        const d = run.indexOf(key);
        const handOver = run.isLastReader(d) && tasks[d].fn !== null;
        return encodedValueOf(d, transfer, handOver);
      });
      const args = copyFrames(encode(task.args, { rootName: `args of ${task.key}` }), transfer);
      const estimate = estimateMs(prefixes[t]);
      const id = shared.register(thread, sink, estimate);
      itemTask.set(id, t);
      const item: RunItem = {
        id,
        key: task.key,
        fn: shared.pool.functionFor(thread, specs[t]!),
        args,
        depKeys,
        depValues,
      };
      if (timeoutMs !== undefined) item.timeoutMs = timeoutMs;
      return item;
    };

    const dispatch = () => {
      if (failed || settled) return;
      let unposted: number[] = [];
      try {
        while (run.readyCount > 0) {
          const thread = shared.leastLoaded();
          if (thread < 0) return;
          const batch: RunItem[] = [];
          const transfer: ArrayBuffer[] = [];
          let batchMs = 0;
          while (run.readyCount > 0 && batchMs < BATCH_MS && batch.length < MAX_BATCH) {
            const t = run.popReady();
            if (tasks[t].fn === null) {
              finish(t, tasks[t].args[0]);
              continue;
            }
            const item = makeItem(t, thread, transfer);
            unposted.push(item.id);
            batch.push(item);
            batchMs += estimateMs(prefixes[t]);
          }
          if (batch.length > 0) shared.pool.post(thread, batch, transfer);
          unposted = [];
        }
        if (run.remaining === 0) complete();
      } catch (error) {
        shared.unregister(unposted);
        fail(error);
      }
    };

    shared.acquire(sink);
    onTaskDone?.(null, run.total);
    dispatch();
  });
}

/** The `threads` scheduler as a `GraphExecutor` (`compute(x, { scheduler: "threads" })`). */
export const threadsExecutor: GraphExecutor = localExecutor(runThreads);
