/**
 * The Profile page's data, in Dask's profile shape: a tree of nodes `{ identifier, description,
 * count, children }` whose counts add up along the tree. Workers do not sample their threads'
 * call stacks yet, so the tree is what the scheduler knows: task time from the task stream in a
 * chosen time range, by task prefix and then by worker — which prefix takes the biggest share of
 * the cluster's compute time. `source` says where the counts come from and `unit` what they
 * count; a page reads any tree of this shape, so sampled stacks can join under each prefix.
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";

/** A node of a profile tree (Dask's `profile.process` shape). */
export interface ProfileNode {
  identifier: string;
  description: string;
  /** This node's weight: the sum of its children's, or its own when it has none. */
  count: number;
  children: Record<string, ProfileNode>;
}

export interface ProfileView {
  /** `"task-stream"`: counts are task time in `unit`. */
  source: "task-stream";
  unit: "s";
  /** The range, seconds (server clock). */
  start: number;
  stop: number;
  /** Task runs that overlap the range. */
  runs: number;
  root: ProfileNode;
}

function child(node: ProfileNode, identifier: string, description: string): ProfileNode {
  let found = node.children[identifier];
  if (found === undefined) {
    found = { identifier, description, count: 0, children: {} };
    node.children[identifier] = found;
  }
  return found;
}

/** Task time in `[start, stop]` (each run clipped to it) by prefix, then by worker. */
export function profileView(state: SchedulerState, start: number, stop: number): ProfileView {
  const root: ProfileNode = {
    identifier: "root",
    description: "all tasks",
    count: 0,
    children: {},
  };
  let runs = 0;
  for (const e of state.taskStream.since(0)) {
    const seconds = Math.min(e.stop, stop) - Math.max(e.start, start);
    if (seconds < 0 || e.stop < start || e.start > stop) continue;
    runs++;
    const prefix = child(root, e.prefix, e.prefix);
    const worker = child(prefix, e.worker, e.worker);
    root.count += seconds;
    prefix.count += seconds;
    worker.count += seconds;
  }
  return { source: "task-stream", unit: "s", start, stop, runs, root };
}
