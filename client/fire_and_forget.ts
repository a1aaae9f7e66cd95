/**
 * `fireAndForget`: futures whose tasks run to the end even once nothing holds them.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { typeNameOf } from "../core/type_name.ts";
import { Future, type FutureOwner } from "./future.ts";

/**
 * Keeps futures' tasks running until they finish, even once no Future holds them: for tasks
 * run for their effects (writing files), whose results nobody fetches.
 *
 * @example
 * ```ts
 * import { Client, fireAndForget } from "./mod.ts";
 *
 * await using client = await Client.local({ nWorkers: 1 });
 * const save = (day: number) => Deno.writeTextFile(`day-${day}.txt`, String(day));
 * for (let day = 1; day <= 3; day++) fireAndForget(client.submit(save, day));
 * ```
 */
export function fireAndForget(futures: Future | Iterable<Future>): void {
  const list = futures instanceof Future ? [futures] : [...futures];
  const byOwner = new Map<FutureOwner, Key[]>();
  for (const future of list) {
    if (!(future instanceof Future)) {
      throw new TypeError(`fireAndForget() takes Futures, got ${typeNameOf(future)}.`);
    }
    let keys = byOwner.get(future.client);
    if (keys === undefined) byOwner.set(future.client, keys = []);
    keys.push(future.key);
  }
  for (const [owner, keys] of byOwner) owner.fireAndForgetKeys(keys);
}
