/**
 * The Profile page's data and the call-stacks view, in Dask's profile shape (core/profile_tree.ts,
 * the same `ProfileNode` `client.profile` returns). The scheduler asks the workers when a page
 * asks (docs/architecture.md says why not with heartbeats): each worker merges its task threads'
 * sampled call trees of the range (threads/sampler.ts), the root's children being the task
 * prefixes, and the trees of all workers are merged here — a flame graph per prefix.
 *
 * Where no worker samples (no `sys: inspector` for task threads, or `--profile-interval 0`), the
 * tree is the task-stream fallback, labelled so: task time by prefix, then by worker.
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";
import type {
  CallStacksReplyMsg,
  ProfileReplyMsg,
  ProfileRequestMsg,
} from "../../protocol/profile.ts";
import {
  emptyProfile,
  mergeProfile,
  type ProfileNode,
  type ThreadStacks,
} from "../../core/profile_tree.ts";
import { errorMessage } from "../../core/errors.ts";

export type { ProfileNode } from "../../core/profile_tree.ts";

/** How the scheduler reaches its workers' samplers (its peer connections). */
export interface WorkerSamplers {
  profileOf(
    worker: string,
    request: Omit<ProfileRequestMsg, "requestId">,
  ): Promise<ProfileReplyMsg>;
  callStacksOf(worker: string): Promise<CallStacksReplyMsg>;
}

export interface ProfileView {
  /**
   * `"sampled"`: counts are call-stack samples of the workers' task threads; `"task-stream"`:
   * no worker samples, counts are task time in seconds by prefix, then by worker.
   */
  source: "sampled" | "task-stream";
  unit: "samples" | "s";
  /** The range, seconds (server clock). */
  start: number;
  stop: number;
  /** Task runs that overlap the range. */
  runs: number;
  /** Workers whose threads do not sample (their time is not in a sampled tree). */
  unsampled: string[];
  /** Workers that did not answer, with why. */
  unanswered: string[];
  root: ProfileNode;
}

/** The call-stacks view of one worker. */
export interface CallStacksView {
  address: string;
  sampling: boolean;
  threads: ThreadStacks[];
}

function child(node: ProfileNode, name: string): ProfileNode {
  let found = node.children[name];
  if (found === undefined) {
    found = {
      identifier: name,
      description: { name, filename: "", line_number: 0 },
      count: 0,
      children: {},
    };
    node.children[name] = found;
  }
  return found;
}

function allTasksRoot(): ProfileNode {
  const root = emptyProfile();
  root.description.name = "all tasks";
  return root;
}

/** Task time in `[start, stop]` (each run clipped to it) by prefix, then by worker. */
export function taskStreamProfile(
  state: SchedulerState,
  start: number,
  stop: number,
): { root: ProfileNode; runs: number } {
  const root = allTasksRoot();
  let runs = 0;
  for (const e of state.taskStream.since(0)) {
    const seconds = Math.min(e.stop, stop) - Math.max(e.start, start);
    if (seconds < 0 || e.stop < start || e.start > stop) continue;
    runs++;
    const prefix = child(root, e.prefix);
    const worker = child(prefix, e.worker);
    root.count += seconds;
    prefix.count += seconds;
    worker.count += seconds;
  }
  return { root, runs };
}

/**
 * The workers' sampled call trees of `[start, stop]` (seconds), by prefix; the task-stream tree
 * when no worker samples (or `samplers` is null: a dashboard without a scheduler server).
 */
export async function profileView(
  state: SchedulerState,
  samplers: WorkerSamplers | null,
  start: number,
  stop: number,
): Promise<ProfileView> {
  const stream = taskStreamProfile(state, start, stop);
  const fallback: ProfileView = {
    source: "task-stream",
    unit: "s",
    start,
    stop,
    runs: stream.runs,
    unsampled: [],
    unanswered: [],
    root: stream.root,
  };
  if (samplers === null) return fallback;
  const request = {
    op: "profile" as const,
    start: start * 1000,
    stop: stop * 1000,
    prefix: null,
    byPrefix: true,
  };
  const unanswered: string[] = [];
  const replies = await Promise.all([...state.workers.keys()].map(async (address) => {
    try {
      return { address, reply: await samplers.profileOf(address, request) };
    } catch (error) {
      unanswered.push(`${address}: ${errorMessage(error)}`);
      return null;
    }
  }));
  const answered = replies.filter((r) => r !== null);
  const sampled = answered.filter((r) => r.reply.sampling);
  if (sampled.length === 0) return { ...fallback, unanswered };
  const root = sampled.map((r) => r.reply.tree).reduce(mergeProfile, allTasksRoot());
  return {
    source: "sampled",
    unit: "samples",
    start,
    stop,
    runs: stream.runs,
    unsampled: answered.filter((r) => !r.reply.sampling).map((r) => r.address),
    unanswered,
    root,
  };
}

/** What `address`'s task threads run now (latest sampled stacks); null: no such worker. */
export async function callStacksView(
  state: SchedulerState,
  samplers: WorkerSamplers | null,
  address: string,
): Promise<CallStacksView | null> {
  if (!state.workers.has(address)) return null;
  if (samplers === null) return { address, sampling: false, threads: [] };
  const { sampling, threads } = await samplers.callStacksOf(address);
  return { address, sampling, threads };
}

/** One task's call stack now (the Task page): where it runs and, while it runs, its stack. */
export interface TaskCallStackView {
  key: string;
  /** The task's state on the scheduler; null when the scheduler does not know the key. */
  state: string | null;
  /** The worker running it (while processing), else null. */
  worker: string | null;
  /** Its thread and stack (innermost frame last), when its worker told it. */
  thread: ThreadStacks | null;
  sampling: boolean;
}

/**
 * The call stack of `key` while it runs, from its worker's call stacks (Dask's call-stack button
 * of a task); a task that is not processing has none.
 */
export async function taskCallStackView(
  state: SchedulerState,
  samplers: WorkerSamplers | null,
  key: string,
): Promise<TaskCallStackView> {
  const task = state.tasks.get(key);
  const worker = task?.state === "processing" ? task.processingOn?.address ?? null : null;
  const view: TaskCallStackView = {
    key,
    state: task?.state ?? null,
    worker,
    thread: null,
    sampling: false,
  };
  if (worker === null || samplers === null) return view;
  const { sampling, threads } = await samplers.callStacksOf(worker);
  view.sampling = sampling;
  for (const thread of threads) {
    const own = thread.tasks.filter((t) => t.key === key);
    if (own.length > 0) view.thread = { ...thread, tasks: own };
  }
  return view;
}
