/**
 * `client.profile` and the dashboard's Profile page and call stacks, peer to peer: a client (or
 * the scheduler, for its dashboard) asks each worker for its task threads' merged profile, or
 * for the latest sampled stack of what they run now (threads/sampler.ts).
 *
 * @module
 */

import type { ProfileNode, ThreadStacks } from "../core/profile_tree.ts";

/** The profile of `[start, stop]` (ms since the epoch; null: open) of tasks of `prefix`. */
export interface ProfileRequestMsg {
  op: "profile";
  requestId: number;
  start: number | null;
  stop: number | null;
  prefix: string | null;
  /** The root's children are the task prefixes, their call trees below them (the dashboard). */
  byPrefix?: boolean;
}

/** The answer to {@link ProfileRequestMsg}: Dask's call tree. */
export interface ProfileReplyMsg {
  op: "profile-reply";
  requestId: number;
  tree: ProfileNode;
  /** Whether any of the worker's threads samples (`sys: inspector`, sampling on). */
  sampling: boolean;
}

/** What the worker's task threads run now: each task's latest sampled stack. */
export interface CallStacksRequestMsg {
  op: "call-stacks";
  requestId: number;
}

/** The answer to {@link CallStacksRequestMsg}. */
export interface CallStacksReplyMsg {
  op: "call-stacks-reply";
  requestId: number;
  threads: ThreadStacks[];
  sampling: boolean;
}
