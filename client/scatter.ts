/**
 * Scatter: placing the client's data on workers so tasks can use it where it sits
 * (docs/protocol.md §8). Directly: the scheduler names target workers (`scatter-targets`), the
 * client sends each its values (`update-data`), then tells the scheduler what is where
 * (`scatter`). Through the scheduler (`direct: false`, or when workers cannot be reached from
 * the client): one `relay-scatter` request and the scheduler forwards the data.
 *
 * @module
 */

import { typeNameOf } from "../core/type_name.ts";
import type { Key } from "../core/task.ts";
import { encode, type Encoded, sizeOf } from "../core/value_codec.ts";
import type { ScatteredKey, WorkerAddress } from "../protocol/messages.ts";
import type { DataItem } from "../protocol/session.ts";
import type { PeerPool } from "../net/peer_pool.ts";

/** Options of `client.scatter`. */
export interface ScatterOptions {
  /** Worker names or addresses to place the data on. Default: the scheduler chooses. */
  workers?: string | readonly string[];
  /**
   * `true`: a copy of every value on every (chosen) worker; a number `n`: copies on `n` workers.
   * Default false (one copy).
   */
  broadcast?: boolean | number;
  /**
   * Send the data to the workers straight from the client (true), or through the scheduler
   * (false). Default: directly, falling back to the scheduler when a worker cannot be reached.
   */
  direct?: boolean;
  /** Key values by their content (true, the default) or by a random token (false). */
  hash?: boolean;
}

/** What scatter needs from the client. */
export interface ScatterContext {
  request<T>(method: string, params: Record<string, unknown>): Promise<T>;
  peers: PeerPool;
}

/** A value ready to travel: encoded once, sent as it is to every target. */
export function dataItem(key: Key, value: unknown): DataItem {
  const encoded: Encoded = encode(value, { rootName: `scattered value '${key}'` });
  return { key, value: encoded, nbytes: sizeOf(value), typeName: typeNameOf(value) };
}

/**
 * Places `items` on workers and returns where each went: `placed` were sent directly and the
 * caller must tell the scheduler (the `scatter` message); `relayed` went through the scheduler.
 */
export async function placeData(
  context: ScatterContext,
  items: readonly DataItem[],
  options: ScatterOptions,
): Promise<{ placed: ScatteredKey[]; relayed: ScatteredKey[] }> {
  const workers = options.workers === undefined
    ? undefined
    : typeof options.workers === "string"
    ? [options.workers]
    : [...options.workers];
  const copies = options.broadcast;
  if (
    copies !== undefined && typeof copies !== "boolean" && !(Number.isInteger(copies) && copies > 0)
  ) {
    throw new TypeError(
      `scatter: broadcast must be true, false or a number of copies (an integer ≥ 1), got ` +
        `${JSON.stringify(copies)}.`,
    );
  }
  const broadcast = copies === true || (typeof copies === "number" && copies > 1);
  if (options.direct === false) {
    const relayed = await relay(context, items, workers, broadcast);
    // n copies through the scheduler: every allowed worker got one; keep n
    if (typeof copies === "number") await trim(context, relayed, copies, workers);
    return { placed: [], relayed };
  }
  const params: Record<string, unknown> = { n: items.length, broadcast };
  if (workers !== undefined) params.workers = workers;
  const targets = await context.request<WorkerAddress[]>("scatter-targets", params);
  if (targets.length === 0) {
    throw new Error(
      workers === undefined
        ? "scatter: the cluster has no workers yet; start some (deno run -A worker/main.ts " +
          "<scheduler address>) or wait for them, then scatter again."
        : `scatter: none of the workers ${JSON.stringify(workers)} is connected to the ` +
          `scheduler; check their names or addresses (client.workers() lists them).`,
    );
  }
  const perWorker = new Map<WorkerAddress, DataItem[]>();
  const placedOn = new Map<Key, WorkerAddress[]>();
  // n copies: n consecutive targets from the item's own starting point
  const perItem = !broadcast
    ? 1
    : copies === true
    ? targets.length
    : Math.min(copies as number, targets.length);
  items.forEach((item, i) => {
    const destinations = perItem === targets.length
      ? targets
      : Array.from({ length: perItem }, (_, j) => targets[(i + j) % targets.length]);
    for (const worker of destinations) {
      let list = perWorker.get(worker);
      if (list === undefined) perWorker.set(worker, list = []);
      list.push(item);
    }
    placedOn.set(item.key, destinations);
  });
  const unreachable = new Set<WorkerAddress>();
  await Promise.all(
    [...perWorker].map(async ([worker, list]) => {
      try {
        await context.peers.updateData(worker, list, false);
      } catch (error) {
        if (options.direct === true) {
          throw new Error(
            `scatter: could not send data to worker ${worker} (${
              error instanceof Error ? error.message : error
            }). Workers may not be reachable from this machine: scatter with { direct: false } ` +
              `to send the data through the scheduler.`,
            { cause: error },
          );
        }
        unreachable.add(worker);
      }
    }),
  );
  const placed: ScatteredKey[] = [];
  const stranded: DataItem[] = [];
  for (const item of items) {
    const reached = placedOn.get(item.key)!.filter((worker) => !unreachable.has(worker));
    if (reached.length === 0) stranded.push(item);
    else {placed.push({
        key: item.key,
        nbytes: item.nbytes,
        typeName: item.typeName,
        workers: reached,
      });}
  }
  // What could not reach its workers from here goes through the scheduler.
  const relayed = stranded.length === 0 ? [] : await relay(context, stranded, workers, broadcast);
  return { placed, relayed };
}

/** Drops the copies of relayed keys beyond `n` (the scheduler's `replicate` with fewer copies). */
async function trim(
  context: ScatterContext,
  relayed: ScatteredKey[],
  n: number,
  workers: string[] | undefined,
): Promise<void> {
  const params: Record<string, unknown> = { keys: relayed.map((item) => item.key), n };
  if (workers !== undefined) params.workers = workers;
  await context.request("replicate", params);
}

function relay(
  context: ScatterContext,
  items: readonly DataItem[],
  workers: string[] | undefined,
  broadcast: boolean,
): Promise<ScatteredKey[]> {
  const params: Record<string, unknown> = { items, broadcast };
  if (workers !== undefined) params.workers = workers;
  return context.request<ScatteredKey[]>("relay-scatter", params);
}
