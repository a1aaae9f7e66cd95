/**
 * `client.profile`: where the workers' task threads spent their time, as Dask's statistical
 * profiles. Each task thread samples itself (threads/sampler.ts); the client asks every worker
 * (or those named) for its threads' merged tree straight over its peer connections, and merges
 * the answers into one call tree in Dask's shape (core/profile_tree.ts).
 *
 * @module
 */

import { emptyProfile, mergeProfile, type ProfileNode } from "../core/profile_tree.ts";
import { errorMessage } from "../core/errors.ts";
import type { ProfileReplyMsg, ProfileRequestMsg } from "../protocol/profile.ts";

export type { ProfileFrame, ProfileNode } from "../core/profile_tree.ts";

/** What `client.profile` selects. */
export interface ProfileOptions {
  /** From this time (a Date, or milliseconds since the epoch). Default: as far back as kept. */
  start?: Date | number;
  /** Up to this time. Default: now. */
  stop?: Date | number;
  /**
   * Only tasks of this prefix: the key up to its last `-` (`slowSum` for `slowSum-1a2b…`), as
   * Dask's `key`. Default: every task.
   */
  key?: string;
  /** Only these workers (addresses or names). Default: every worker. */
  workers?: string[];
}

/** What profiling needs of a client. */
export interface ProfileHost {
  workers(): Promise<{ address: string; name: string }[]>;
  profileOf(
    worker: string,
    request: Omit<ProfileRequestMsg, "requestId">,
  ): Promise<ProfileReplyMsg>;
}

function millis(time: Date | number | undefined, option: string): number | null {
  if (time === undefined) return null;
  const ms = time instanceof Date ? time.getTime() : time;
  if (!Number.isFinite(ms)) {
    throw new TypeError(
      `client.profile(): '${option}' must be a Date or milliseconds since the epoch, got ` +
        `${String(time)}.`,
    );
  }
  return ms;
}

/** The merged profile of the selected workers' task threads. */
export async function gatherProfile(
  host: ProfileHost,
  options: ProfileOptions = {},
): Promise<ProfileNode> {
  const request: Omit<ProfileRequestMsg, "requestId"> = {
    op: "profile",
    start: millis(options.start, "start"),
    stop: millis(options.stop, "stop"),
    prefix: options.key ?? null,
  };
  if (request.prefix !== null && typeof request.prefix !== "string") {
    throw new TypeError(`client.profile(): 'key' must be a task prefix (a string).`);
  }
  const wanted = options.workers === undefined ? null : new Set(options.workers);
  const workers = (await host.workers()).filter((w) =>
    wanted === null || wanted.has(w.address) || wanted.has(w.name)
  );
  const trees = await Promise.all(workers.map(async (worker) => {
    try {
      return (await host.profileOf(worker.address, request)).tree;
    } catch (error) {
      throw new Error(
        `client.profile(): worker ${worker.address} did not answer (${errorMessage(error)}).`,
        { cause: error },
      );
    }
  }));
  return trees.reduce(mergeProfile, emptyProfile());
}
