/**
 * `client.profile`, peer to peer: a client asks each worker for its task threads' merged
 * profile (threads/sampler.ts) and merges the answers.
 *
 * @module
 */

import type { ProfileNode } from "../core/profile_tree.ts";

/** The profile of `[start, stop]` (ms since the epoch; null: open) of tasks of `prefix`. */
export interface ProfileRequestMsg {
  op: "profile";
  requestId: number;
  start: number | null;
  stop: number | null;
  prefix: string | null;
}

/** The answer to {@link ProfileRequestMsg}: Dask's call tree. */
export interface ProfileReplyMsg {
  op: "profile-reply";
  requestId: number;
  tree: ProfileNode;
}
