/**
 * Running a graph on a shared pool of task runners: the one run loop of the `threads` scheduler
 * (Web Worker threads) and the `processes` scheduler (Deno subprocesses).
 *
 * Ready tasks go out in batches sized by the measured duration of their task prefix (tiny tasks
 * travel hundreds to a message, slow ones one at a time), so runners stay busy without one
 * hoarding work. Results stay encoded (msgpack body + buffers) in this thread: they are passed
 * on to the runners that need them without being decoded here, and for threads a buffer read
 * for the last time is handed over instead of copied. Only the outputs are decoded.
 *
 * @module
 */

import { errorFromRecord } from "../../core/errors.ts";
import { describeFunction, type FunctionSpec } from "../../core/function_codec.ts";
import type { Graph } from "../../core/graph.ts";
import { fusedPrefix, keyPrefix, TaskRef } from "../../core/task.ts";
import type { Key } from "../../core/task.ts";
import { decode, encode, type Encoded } from "../../core/value_codec.ts";
import { ProcessDiedError } from "../../threads/process_exit.ts";
import {
  NOT_SENT,
  type Positions,
  type RunItem,
  type RunResult,
} from "../../threads/thread_protocol.ts";
import type { GraphExecutor } from "../compute.ts";
import { localExecutor, type LocalRun, type LocalRunOptions } from "./options.ts";
import {
  THREAD_DIED,
  threadDiedError,
  TIMED_OUT,
  timeoutError,
} from "../../threads/thread_end_errors.ts";
import { RunState } from "./run_state.ts";
import { LiveResult, RunLiveTables } from "./live_results.ts";
import { BATCH_MS, type RunSink, type SharedPools } from "./shared_pool.ts";

const MAX_BATCH = 512;

/** A result held in encoded form, as a runner produced it. */
class EncodedResult {
  constructor(readonly encoded: Encoded) {}
}

/**
 * The value recorded for a task whose result stayed in the runner that made it, read there by
 * later tasks of its batch (`RunItem.localReaders`): nothing here ever reads it.
 */
const KEPT_IN_RUNNER = Symbol("kept in its runner");

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

/** Positions of this many or more travel as an `Int32Array`, fewer as the array they are. */
const TYPED_POSITIONS = 16;

/**
 * The first `count` positions of `list` as they travel: many as one `Int32Array` (one buffer for
 * the codec, where each number costs it a call), a few as a plain array (a typed array's buffer
 * costs more than a few numbers).
 */
function positions(list: Int32Array, count: number): Positions {
  return count >= TYPED_POSITIONS ? list.slice(0, count) : Array.from(list.subarray(0, count));
}

/**
 * A list of positions written into an `Int32Array` that grows as needed: cold, a typed array
 * takes numbers for less than a growing JS array, and travels without a conversion.
 */
class PositionList {
  list: Int32Array;
  count = 0;
  constructor(capacity: number) {
    this.list = new Int32Array(Math.max(capacity, 4));
  }
  push(a: number): void {
    if (this.count === this.list.length) this.#grow();
    this.list[this.count++] = a;
  }
  #grow(): void {
    const bigger = new Int32Array(this.list.length * 2);
    bigger.set(this.list);
    this.list = bigger;
  }
  get positions(): Positions {
    return positions(this.list, this.count);
  }
  /** The positions pushed so far (a view). */
  get pushed(): Int32Array {
    return this.list.subarray(0, this.count);
  }
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

/** How a kind of pool is used by a run. */
export interface PoolKind {
  /** The pools of this kind, one per size. */
  pools: SharedPools;
  /** Default slot count. */
  defaultSize(): number;
  /**
   * Whether posting hands buffers over (threads: transfer, so frames are copied or detached)
   * or copies them out anyway (processes: written to a pipe, sent as they are).
   */
  transfers: boolean;
  /** What a runner is called in errors: "thread" or "process". */
  noun: string;
  /**
   * Whether a batch of several tasks goes as one item that runs them as a subgraph
   * (`RunItem.members`): one id, one message entry and one report for all of them.
   */
  subgraphs: boolean;
}

/** A posted item that runs a subgraph: its members (task indices, in run order), exports. */
interface PostedGroup {
  members: number[];
  /** The members whose values come back, by position in `members`, ascending. */
  exports: Int32Array;
}

/** The run function of a pool scheduler (`threads`, `processes`). */
export function poolRun(kind: PoolKind): LocalRun {
  return (graph, outputs, options = {}) => runOnPool(kind, graph, outputs, options);
}

/**
 * A pool scheduler as a `GraphExecutor`: its pool starts when a computation begins, so its
 * runners boot while the graph is built and optimized.
 */
export function poolExecutor(kind: PoolKind): GraphExecutor {
  return {
    ...localExecutor(poolRun(kind)),
    prepare: (options) => kind.pools.hold(options.numWorkers ?? kind.defaultSize()),
  };
}

/** Computes `outputs` of `graph` on a shared pool; resolves to their values in order. */
async function runOnPool(
  kind: PoolKind,
  graph: Graph,
  outputs: readonly Key[],
  options: LocalRunOptions,
): Promise<unknown[]> {
  const run = new RunState(graph, outputs);
  const tasks = run.tasks;
  // describe every function first: a function that cannot travel fails before anything runs
  const specs = tasks.map((task) => task.fn === null ? undefined : describeFunction(task.fn));
  const prefixes = tasks.map((task) => keyPrefix(task.key));
  const onTaskDone = options.onTaskDone;
  const timeoutMs = options.timeoutMs;
  const shared = kind.pools.get(options.numWorkers ?? kind.defaultSize());
  const send = (encoded: Encoded, transfer: ArrayBuffer[]) =>
    kind.transfers ? copyFrames(encoded, transfer) : encoded;

  return await new Promise<unknown[]>((resolve, reject) => {
    let failed = false;
    let settled = false;

    const encodedValueOf = (t: number, transfer: ArrayBuffer[], handOver: boolean): Encoded => {
      const value = run.valueAt(t);
      if (value === KEPT_IN_RUNNER || value instanceof LiveResult) {
        throw new Error(`internal: the result of ${tasks[t].key} was kept in its runner`);
      }
      if (value instanceof EncodedResult) {
        return handOver && kind.transfers
          ? handOverFrames(value.encoded, transfer)
          : send(value.encoded, transfer);
      }
      // the caller's own data is never handed over
      return send(encodeLiteral(value, tasks[t].key), transfer);
    };

    const finish = (t: number, value: unknown) => {
      run.finish(t, value);
      live?.finished(t);
      onTaskDone?.(tasks[t].key, run.total);
    };

    const fail = (error: unknown) => {
      if (failed || settled) return;
      failed = true;
      shared.release(sink);
      live?.releaseAll();
      reject(error);
    };

    const complete = () => {
      if (settled || failed) return;
      // outputs whose tables stay in their threads are exported first
      if (live?.exportOutputs(complete)) return;
      settled = true;
      shared.release(sink);
      live?.releaseAll();
      try {
        resolve(run.outputValues().map((v) => v instanceof EncodedResult ? decode(v.encoded) : v));
      } catch (error) {
        reject(error);
      }
    };

    /** Posted item id → task index, or the tasks of an item that runs a subgraph. */
    const itemTask = new Map<number, number | PostedGroup>();
    /** Tasks that were in a batch whose runner died: each runs in a batch of its own. */
    const alone = new Uint8Array(tasks.length);
    /** Tasks whose result their runner keeps for the rest of their batch (no value comes). */
    const keptInRunner = new Uint8Array(tasks.length);
    const takeItem = (id: number): number | PostedGroup => {
      const t = itemTask.get(id)!;
      itemTask.delete(id);
      return t;
    };
    /** Puts a lost item's tasks back; `suspect`: each runs alone from now on. */
    const requeue = (posted: number | PostedGroup, suspect: boolean) => {
      for (const t of typeof posted === "number" ? [posted] : posted.members) {
        keptInRunner[t] = 0;
        if (suspect) alone[t] = 1;
        run.requeue(t);
      }
    };
    /** Records the results of an item that ran a subgraph. */
    const finishGroup = (
      slot: number,
      { members, exports }: PostedGroup,
      result: RunResult & { ok: true },
    ) => {
      const durations = result.durations, exported = result.exported ?? [];
      const liveExports = result.liveExports ?? [];
      let next = 0, nextLive = 0;
      for (let i = 0; i < members.length; i++) {
        const t = members[i];
        if (durations !== undefined) learnDuration(prefixes[t], durations[i]);
        let value: unknown = KEPT_IN_RUNNER;
        if (exports[next] === i) {
          // a pinned table's size is not reported apart: it counts as the item's bytes
          value = liveExports[nextLive] === next
            ? (nextLive++, live!.pinned(t, slot, result.nbytes))
            : new EncodedResult(exported[next]);
          next++;
        }
        finish(t, value);
      }
    };

    const sink: RunSink = {
      get abandoned() {
        return failed;
      },
      dispatch: () => dispatch(),
      onResult(slot, result) {
        if (failed) return;
        const t = takeItem(result.id);
        if (!result.ok) return fail(errorFromRecord(result.error));
        if (typeof t !== "number") finishGroup(slot, t, result);
        else {
          learnDuration(prefixes[t], result.stop - result.start);
          finish(
            t,
            keptInRunner[t]
              ? KEPT_IN_RUNNER
              : result.live
              ? live!.pinned(t, slot, result.nbytes)
              : new EncodedResult(result.value),
          );
        }
        if (run.remaining === 0) complete();
      },
      onLateResult(slot, result) {
        const t = itemTask.get(result.id);
        itemTask.delete(result.id);
        if (t === undefined || live === undefined) return;
        const exported = typeof t === "number"
          ? [tasks[t].key]
          : Array.from(t.exports, (i) => tasks[t.members[i]].key);
        live.late(slot, exported, result);
      },
      onExported(id, values) {
        live?.exported(id, values);
        dispatch();
      },
      onSlotReplaced(slot, error) {
        live?.slotReplaced(slot, error);
      },
      onSlotDied(_slot, error) {
        fail(
          new Error(`A task ${kind.noun} died while running tasks (${error.message}).`, {
            cause: error,
          }),
        );
      },
      onItemCrashed(id, error) {
        const t = takeItem(id);
        // a subgraph's tasks run again each alone, so that a crash names its task
        if (typeof t !== "number") return requeue(t, true);
        const key = tasks[t].key;
        // a thread that ended under its task, or a task stopped at its timeout (threads.ts)
        if (error.name === TIMED_OUT) {
          return fail(errorFromRecord(timeoutError(key, timeoutMs ?? 0, "the threads scheduler")));
        }
        if (error.name === THREAD_DIED) {
          const thread = (error as { thread?: number }).thread ?? -1;
          return fail(
            errorFromRecord(threadDiedError(key, thread, "the threads scheduler", error.message)),
          );
        }
        const died = error instanceof ProcessDiedError ? error : undefined;
        fail(
          new ProcessDiedError(
            `The worker ${kind.noun} running task '${key}' ended: ${error.message}\n` +
              `The pool started a new ${kind.noun}; other computations go on.`,
            key,
            died?.exitCode ?? 1,
            died?.signal ?? null,
          ),
        );
      },
      onItemsLost(ids, suspect) {
        for (const id of ids) requeue(takeItem(id), suspect);
      },
    };

    /** Table results stay in their threads until they move (threads that keep live tables). */
    const live = shared.keepsLiveTables
      ? new RunLiveTables(
        run,
        shared,
        sink,
        (t, encoded) => run.replaceValue(t, new EncodedResult(encoded)),
        (t) => run.requeue(t),
        fail,
      )
      : undefined;

    /** An item's results stay in its runner until they move; `liveDeps`: inputs read there. */
    const markLive = (item: RunItem, liveDeps: Key[] | undefined) => {
      if (live === undefined) return;
      item.keepLive = true;
      item.liveScope = live.scope;
      if (liveDeps !== undefined) item.liveDeps = liveDeps;
    };

    /** The number of the batch each task went out in (the batch being built: `batchNumber`). */
    const batchOf = new Int32Array(tasks.length);
    let batchNumber = 0;
    const inThisBatch = (j: number) => batchOf[j] === batchNumber && !run.isDone(j);

    const makeItem = (t: number, slot: number, transfer: ArrayBuffer[]): RunItem => {
      const task = tasks[t];
      const depKeys: Key[] = [];
      const depValues: Encoded[] = [];
      let batchDepKeys: Key[] | undefined;
      let liveDeps: Key[] | undefined;
      for (const key of task.deps as Key[]) {
        const d = run.indexOf(key);
        if (inThisBatch(d)) {
          (batchDepKeys ??= []).push(key);
          continue;
        }
        if (live?.readsLive(d, slot)) {
          depKeys.push(key);
          depValues.push(NOT_SENT);
          (liveDeps ??= []).push(key);
          continue;
        }
        const handOver = run.isLastReader(d) && tasks[d].fn !== null;
        depKeys.push(key);
        depValues.push(encodedValueOf(d, transfer, handOver));
      }
      const args = send(encode(task.args, { rootName: `args of ${task.key}` }), transfer);
      const estimate = estimateMs(prefixes[t]);
      const id = shared.register(slot, sink, estimate);
      itemTask.set(id, t);
      const item: RunItem = {
        id,
        key: task.key,
        fn: shared.pool.functionFor(slot, specs[t]!),
        args,
        depKeys,
        depValues,
      };
      if (batchDepKeys !== undefined) item.batchDepKeys = batchDepKeys;
      markLive(item, liveDeps);
      // a fused task's samples are filed under its parts (`inc×2+add`), as on a cluster
      if (task.parts !== undefined) item.group = fusedPrefix(task.parts);
      if (timeoutMs !== undefined) item.timeoutMs = timeoutMs;
      batchOf[t] = batchNumber;
      return item;
    };

    /** Marks inputs already taken into the subgraph being built (by batch number). */
    const takenIn = new Int32Array(tasks.length);
    /** Each member's position in the subgraph being built (valid for its members only). */
    const memberAt = new Int32Array(tasks.length);

    /**
     * A member's arguments as they travel: an argument that is an earlier member's value itself
     * goes as null plus a triple in `memberRefs` (its key already travels in `members.keys`).
     * Returns whether other arguments may hold references, to be searched by key in the runner.
     */
    const memberArgs = (
      i: number,
      t: number,
      args: (readonly unknown[])[],
      refs: PositionList,
    ) => {
      const own = tasks[t].args;
      let copy: unknown[] | undefined;
      let byKey = false;
      for (let p = 0; p < own.length; p++) {
        const v = own[p];
        if (v === null || typeof v !== "object") continue;
        const d = v instanceof TaskRef ? run.dependencyIndex(t, v.key) : -1;
        if (d < 0 || !inThisBatch(d) || memberAt[d] >= i) {
          byKey = true;
          continue;
        }
        (copy ??= own.slice())[p] = null;
        refs.push(i);
        refs.push(p);
        refs.push(memberAt[d]);
      }
      args[i] = copy ?? own;
      return byKey;
    };

    /** One item that runs the tasks `members` (in run order) as a subgraph. */
    const makeGroup = (
      members: number[],
      slot: number,
      estimate: number,
      transfer: ArrayBuffer[],
    ): RunItem => {
      const n = members.length;
      const keys: Key[] = new Array(n);
      const args: (readonly unknown[])[] = new Array(n);
      const exports = new PositionList(n);
      const readers = new PositionList(n);
      const depKeys: Key[] = [];
      const depValues: Encoded[] = [];
      // a triple per argument that is an earlier member's value (two per member in a tree)
      const memberRefs = new PositionList(n);
      let liveDeps: Key[] | undefined;
      let groups: (string | null)[] | undefined;
      for (let i = 0; i < n; i++) memberAt[members[i]] = i;
      for (let i = 0; i < n; i++) {
        const t = members[i];
        const task = tasks[t];
        keys[i] = task.key;
        if (task.parts !== undefined) {
          (groups ??= new Array(n).fill(null))[i] = fusedPrefix(task.parts);
        }
        if (task.deps.length === 0) args[i] = task.args;
        else if (memberArgs(i, t, args, memberRefs)) readers.push(i);
        run.forEachDependency(t, (d) => {
          if (inThisBatch(d) || takenIn[d] === batchNumber) return;
          takenIn[d] = batchNumber;
          depKeys.push(tasks[d].key);
          if (live?.readsLive(d, slot)) {
            depValues.push(NOT_SENT);
            (liveDeps ??= []).push(tasks[d].key);
            return;
          }
          depValues.push(encodedValueOf(d, transfer, run.isLastReader(d) && tasks[d].fn !== null));
        });
        if (run.localReaders(t, inThisBatch) === 0) exports.push(i);
      }
      const encodedArgs = send(encodeArgs(members, args), transfer);
      // only once nothing can fail: the link then counts these functions as sent to the slot
      // each distinct function once (members of a subgraph mostly share a few)
      const fns: (FunctionSpec | string)[] = [];
      const fnOf = new Int32Array(n);
      const fnAt = new Map<FunctionSpec, number>();
      for (let i = 0; i < n; i++) {
        const spec = specs[members[i]]!;
        let f = fnAt.get(spec);
        if (f === undefined) {
          fnAt.set(spec, f = fns.length);
          fns.push(shared.pool.functionFor(slot, spec));
        }
        fnOf[i] = f;
      }
      const id = shared.register(slot, sink, estimate);
      itemTask.set(id, { members, exports: exports.pushed });
      const item: RunItem = {
        id,
        key: keys[n - 1],
        fn: fns[fnOf[n - 1]],
        args: encodedArgs,
        depKeys,
        depValues,
        members: {
          keys,
          fns,
          ...(fns.length === n ? {} : { fnOf: positions(fnOf, n) }),
          exports: exports.positions,
          readers: readers.positions,
          ...(memberRefs.count === 0 ? {} : { memberRefs: memberRefs.positions }),
          ...(groups === undefined ? {} : { groups }),
        },
      };
      markLive(item, liveDeps);
      return item;
    };

    /** One encoding of every member's arguments; a failure names the task whose they are. */
    const encodeArgs = (members: number[], args: (readonly unknown[])[]): Encoded => {
      try {
        return encode(args, { rootName: "args" });
      } catch (error) {
        for (const t of members) encode(tasks[t].args, { rootName: `args of ${tasks[t].key}` });
        throw error;
      }
    };

    const dispatch = () => {
      if (failed || settled) return;
      let unposted: number[] = [];
      try {
        while (run.readyCount > 0) {
          let slot = shared.leastLoaded();
          if (slot < 0) return;
          const members: number[] = [];
          let batchMs = 0;
          batchNumber++;
          const room = () => batchMs < BATCH_MS && members.length < MAX_BATCH;
          const add = (t: number) => {
            batchOf[t] = batchNumber;
            members.push(t);
            batchMs += estimateMs(prefixes[t]);
          };
          /** Tasks in this batch whose dependents may follow them in it. */
          const chainFrom: number[] = [];
          const chain = (d: number) => {
            if (!room() || alone[d] || tasks[d].fn === null || live?.blocks(d, slot)) return;
            run.handOutEarly(d);
            add(d);
            chainFrom.push(d);
          };
          while (run.readyCount > 0 && room()) {
            const t = run.popReady();
            if (tasks[t].fn === null) {
              finish(t, tasks[t].args[0]);
              continue;
            }
            if (alone[t] && members.length > 0) {
              run.requeue(t); // it starts the next batch
              break;
            }
            if (live !== undefined) {
              // a reader of live tables goes where they are, or waits for them to be exported
              const where = live.place(t, slot);
              if (where !== slot) {
                if (members.length > 0) {
                  run.requeue(t); // it starts the next batch, on its tables' thread
                  break;
                }
                slot = where;
              }
              if (live.awaitInputs(t, slot)) continue;
            }
            add(t);
            if (alone[t]) break;
            // dependents whose last input is now in this batch follow it: no round trip
            chainFrom.push(t);
            while (chainFrom.length > 0) run.forEachChainable(chainFrom.pop()!, inThisBatch, chain);
          }
          if (members.length === 0) continue;
          const transfer: ArrayBuffer[] = [];
          // several tasks go as one subgraph where the kind can; a task with a time limit goes
          // alone (the runner stops the item that overruns, and names its task)
          if (kind.subgraphs && members.length > 1 && timeoutMs === undefined) {
            const item = makeGroup(members, slot, batchMs, transfer);
            unposted.push(item.id);
            shared.pool.post(slot, [item], transfer);
            unposted = [];
            continue;
          }
          const batch: RunItem[] = [];
          for (const t of members) {
            const item = makeItem(t, slot, transfer);
            unposted.push(item.id);
            batch.push(item);
          }
          // results read only inside this batch stay in the runner (their report comes with
          // their last reader's, so a lost reader means they are lost too)
          for (let i = 0; i < batch.length; i++) {
            const t = members[i];
            const readers = run.localReaders(t, inThisBatch);
            if (readers === 0) continue;
            batch[i].localReaders = readers;
            keptInRunner[t] = 1;
          }
          shared.pool.post(slot, batch, transfer);
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
