/**
 * Shape checks for messages arriving at the scheduler, so that a confused or hostile peer is
 * disconnected with a reason instead of corrupting the state machine's books. The messages of a
 * `batch` are checked one by one, each as if it came on its own. Each check returns
 * what is wrong (for the log line) or null. Checks are O(size of the message) and look only at
 * the fields the state machine reads; encoded payloads (`fn`, `args`) stay opaque.
 *
 * @module
 */

import type { Encoded } from "../core/value_codec.ts";
import { isLogLines } from "../core/recent_lines.ts";
import type { DataItem } from "./session.ts";

type Fields = Record<string, unknown>;

/** True for an `Encoded` payload: a body and a list of frames, all bytes. */
export function isEncoded(value: unknown): value is Encoded {
  const v = value as Encoded | null;
  return v !== null && typeof v === "object" && v.body instanceof Uint8Array &&
    Array.isArray(v.frames) && v.frames.every((f) => f instanceof Uint8Array);
}

/** True for one item of `get-data` / `update-data` (docs/protocol.md §8). */
export function isDataItem(value: unknown): value is DataItem {
  const v = value as DataItem | null;
  return v !== null && typeof v === "object" && typeof v.key === "string" &&
    isEncoded(v.value) && typeof v.nbytes === "number" && typeof v.typeName === "string";
}

const isObject = (v: unknown): v is Fields =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const isKeyList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((k) => typeof k === "string");
const isNumberRecord = (v: unknown): boolean =>
  isObject(v) && Object.values(v).every((n) => typeof n === "number");

/**
 * What is wrong with a `batch` that reached a per-message check: a well-formed one is unpacked
 * before (net/wire.ts `unbatch`), so it is either malformed or nested in another batch.
 */
function batchProblem(msg: Fields): string {
  return Array.isArray(msg.msgs)
    ? "a batch inside a batch"
    : "a batch without a list of messages (msgs)";
}

function taskOptionsProblem(options: unknown, key: string): string | null {
  if (options === undefined) return null;
  if (!isObject(options)) return `task ${key} has options that are not an object`;
  if (options.priority !== undefined && typeof options.priority !== "number") {
    return `task ${key} has a priority that is not a number`;
  }
  if (options.retries !== undefined && typeof options.retries !== "number") {
    return `task ${key} has retries that are not a number`;
  }
  if (options.retryDelay !== undefined && typeof options.retryDelay !== "number") {
    return `task ${key} has a retryDelay that is not a number of seconds`;
  }
  if (
    options.timeoutMs !== undefined &&
    !(typeof options.timeoutMs === "number" && options.timeoutMs > 0)
  ) {
    return `task ${key} has a timeoutMs that is not a positive number of milliseconds`;
  }
  if (options.actor !== undefined && typeof options.actor !== "boolean") {
    return `task ${key} has an actor option that is not a boolean`;
  }
  if (options.workers !== undefined && !isKeyList(options.workers)) {
    return `task ${key} has workers that are not a list of names`;
  }
  if (options.resources !== undefined && !isNumberRecord(options.resources)) {
    return `task ${key} has resources that are not {name: amount}`;
  }
  return null;
}

function updateGraphProblem(msg: Fields): string | null {
  if (!Array.isArray(msg.tasks)) return "update-graph without a list of tasks";
  if (!isKeyList(msg.keys)) return "update-graph without a list of keys";
  if (msg.priority !== undefined && typeof msg.priority !== "number") {
    return "update-graph with a priority that is not a number";
  }
  for (const task of msg.tasks) {
    if (!isObject(task) || typeof task.key !== "string") return "update-graph with a keyless task";
    if (!isKeyList(task.deps)) return `task ${task.key} has no list of deps`;
    if (!("fn" in task) || !("args" in task)) return `task ${task.key} lacks fn or args`;
    const problem = taskOptionsProblem(task.options, task.key);
    if (problem !== null) return problem;
    if (task.parts !== undefined && !(isKeyList(task.parts) && task.parts.length > 0)) {
      return `task ${task.key} has parts that are not a list of keys`;
    }
  }
  return null;
}

/** `missing-data`, from a worker or a client: the keys, and the worker that did not give them. */
function missingDataProblem(msg: Fields): string | null {
  return isKeyList(msg.keys) && typeof msg.errantWorker === "string"
    ? null
    : "missing-data without keys or errantWorker";
}

/** What is wrong with a message on a client connection, or null (requests included). */
export function clientMessageProblem(msg: unknown): string | null {
  if (!isObject(msg)) return "a message that is not an object";
  switch (msg.op) {
    case "update-graph":
      return updateGraphProblem(msg);
    case "scatter":
      if (!Array.isArray(msg.data)) return "scatter without a list of data";
      for (const item of msg.data) {
        if (
          !isObject(item) || typeof item.key !== "string" || typeof item.nbytes !== "number" ||
          typeof item.typeName !== "string" || !isKeyList(item.workers)
        ) return "scatter with an item that is not {key, nbytes, typeName, workers}";
      }
      return null;
    case "client-releases-keys":
    case "client-desires-keys":
    case "fire-and-forget":
    case "retry":
      return isKeyList(msg.keys) ? null : `${msg.op} without a list of keys`;
    case "missing-data":
      return missingDataProblem(msg);
    case "cancel":
      if (!isKeyList(msg.keys)) return "cancel without a list of keys";
      return msg.force === undefined || typeof msg.force === "boolean"
        ? null
        : "cancel with a force that is not a boolean";
    case "request":
      if (typeof msg.requestId !== "number") return "a request without a numeric requestId";
      if (typeof msg.method !== "string") return "a request without a method";
      return msg.params === undefined || isObject(msg.params)
        ? null
        : "a request whose params are not an object";
    case "batch":
      return batchProblem(msg);
    default:
      return `unknown operation ${JSON.stringify(msg.op)}`;
  }
}

/** What is wrong with a message on a registered worker's connection, or null. */
export function workerMessageProblem(msg: unknown): string | null {
  if (!isObject(msg)) return "a message that is not an object";
  switch (msg.op) {
    case "task-finished":
      return typeof msg.key === "string" && typeof msg.runId === "number" &&
          typeof msg.nbytes === "number" && typeof msg.typeName === "string" &&
          (msg.value === undefined || isEncoded(msg.value))
        ? null
        : "task-finished without key, runId, nbytes or typeName (or with a value that is not " +
          "an encoded value)";
    case "task-erred": {
      const error = msg.error;
      return typeof msg.key === "string" && typeof msg.runId === "number" && isObject(error) &&
          typeof error.name === "string" && typeof error.message === "string"
        ? null
        : "task-erred without key, runId or an error {name, message}";
    }
    case "add-keys":
      return Array.isArray(msg.keys) &&
          msg.keys.every((k) => isObject(k) && typeof k.key === "string")
        ? null
        : "add-keys without a list of {key, nbytes}";
    case "missing-data":
      return missingDataProblem(msg);
    case "steal-response":
      return typeof msg.key === "string" && typeof msg.stealId === "number" &&
          (msg.state === null || typeof msg.state === "string")
        ? null
        : "steal-response without key, stealId or state";
    case "release-worker-data":
      return isKeyList(msg.keys) ? null : "release-worker-data without a list of keys";
    case "long-running":
      return typeof msg.key === "string" && typeof msg.runId === "number"
        ? null
        : "long-running without key or runId";
    case "heartbeat":
      if (!isNumberRecord(msg.metrics)) return "heartbeat without numeric metrics";
      if (msg.logs !== undefined && !isLogLines(msg.logs)) {
        return "heartbeat whose logs are not [time, text] pairs";
      }
      return msg.transfers === undefined ||
          (isObject(msg.transfers) && isNumberRecord(msg.transfers.peers) &&
            isNumberRecord(msg.transfers.types))
        ? null
        : "heartbeat whose transfers are not {peers, types} byte counts";
    case "worker-leaving":
      return typeof msg.reason === "string" ? null : "worker-leaving without a reason";
    case "worker-terminated":
      return typeof msg.reason === "string" ? null : "worker-terminated without a reason";
    case "worker-status":
      return msg.status === "running" || msg.status === "paused" || msg.status === "exhausted"
        ? null
        : "worker-status whose status is not running, paused or exhausted";
    case "delegate-task":
      return typeof msg.requestId === "number" && typeof msg.key === "string"
        ? null
        : "delegate-task without a requestId and a key";
    case "run-result":
      if (typeof msg.runRequestId !== "number") return "run-result without a runRequestId";
      if (msg.ok === true) return isObject(msg.value) ? null : "run-result without a value";
      return msg.ok === false && isObject(msg.error) && typeof msg.error.message === "string"
        ? null
        : "run-result without ok and a value or an error";
    case "batch":
      return batchProblem(msg);
    default:
      return `unknown operation ${JSON.stringify(msg.op)}`;
  }
}

/** Threads one worker may declare; more is a mistake (1e9 threads would make placement absurd). */
export const MAX_WORKER_THREADS = 4096;

/** What is wrong with a `register-worker` message, or null. */
export function registerWorkerProblem(msg: unknown): string | null {
  if (!isObject(msg) || msg.op !== "register-worker") {
    return `the first message of a worker must be register-worker, got ${
      JSON.stringify(isObject(msg) ? msg.op : msg)
    }`;
  }
  if (typeof msg.address !== "string") return "register-worker without an address";
  if (typeof msg.name !== "string") return "register-worker without a name";
  if (!Number.isInteger(msg.nthreads) || (msg.nthreads as number) < 1) {
    return "register-worker without a positive whole nthreads";
  }
  if ((msg.nthreads as number) > MAX_WORKER_THREADS) {
    return `register-worker with nthreads ${msg.nthreads}: a worker runs at most ` +
      `${MAX_WORKER_THREADS} threads; start more workers instead`;
  }
  if (typeof msg.memoryLimit !== "number") return "register-worker without a memoryLimit";
  if (!(msg.memoryLimit >= 0 && msg.memoryLimit <= Number.MAX_SAFE_INTEGER)) {
    return `register-worker with memoryLimit ${msg.memoryLimit}: give bytes, from 0 (no limit) ` +
      `to ${Number.MAX_SAFE_INTEGER}`;
  }
  if (msg.batches !== undefined && typeof msg.batches !== "boolean") {
    return "register-worker with batches that is not a boolean";
  }
  if (msg.resources !== undefined && !isNumberRecord(msg.resources)) {
    return "register-worker with resources that are not {name: amount}";
  }
  for (const [name, amount] of Object.entries(msg.resources ?? {})) {
    if (!(amount >= 0 && amount < Infinity)) {
      return `register-worker with resource ${JSON.stringify(name)} of ${amount}: give a ` +
        `finite amount ≥ 0`;
    }
  }
  if (
    msg.keys !== undefined &&
    !(Array.isArray(msg.keys) && msg.keys.every((k) => isObject(k) && typeof k.key === "string"))
  ) return "register-worker with keys that are not a list of {key, nbytes, typeName}";
  return null;
}
