/**
 * The statistical profiler of a task thread (`client.profile`): V8's own sampling CPU profiler,
 * reached through `node:inspector` inside the thread (it samples this thread's isolate only),
 * every 10 ms while the thread runs tasks. Every second (at the next turn of the event loop) the
 * profile is taken and turned into call trees, one per task prefix, by matching each sample's
 * time to the task that ran then; the last {@link KEEP_CYCLES} busy seconds are kept. A thread
 * idle for a whole cycle stops the profiler, so idle workers pay nothing.
 *
 * Needs `sys: inspector` (granted to task threads by core/task_permissions.ts); without it the
 * thread does not profile and answers empty trees.
 *
 * @module
 */

import { keyPrefix } from "../core/task.ts";
import {
  addStack,
  emptyProfile,
  mergeProfile,
  type ProfileNode,
  type V8ProfileNode,
  v8Stacks,
} from "../core/profile_tree.ts";

/** Microseconds between samples (Dask samples every 10 ms). */
const SAMPLE_INTERVAL_US = 10_000;
/** Milliseconds of one profile cycle. */
const CYCLE_MS = 1000;
/** Busy cycles kept: about ten minutes of work. */
const KEEP_CYCLES = 600;

/** The trees of one cycle, by task prefix, and when it ran (ms since the epoch). */
interface Cycle {
  start: number;
  stop: number;
  byPrefix: Map<string, ProfileNode>;
}

interface V8Profile {
  nodes: V8ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

interface InspectorSession {
  connect(): void;
  post(
    method: string,
    params: object,
    callback: (error: Error | null, result?: unknown) => void,
  ): void;
}

const now = () => performance.timeOrigin + performance.now();

/** The runtime's own frames (the thread entry, this file) are left out of the trees. */
const OWN_FILES = [
  new URL("./thread_entry.ts", import.meta.url).href,
  new URL("./sampler.ts", import.meta.url).href,
  new URL("../core/task_context.ts", import.meta.url).href,
];
const isOwnFile = (url: string) => OWN_FILES.includes(url);

export class ThreadSampler {
  #session: InspectorSession | null | undefined = undefined;
  #running = false;
  #cycleStart = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Task runs of the current cycle: [start, stop, key] (ms since the epoch). */
  #runs: [number, number, string][] = [];
  readonly #cycles: Cycle[] = [];
  #busy = false;
  /** Tasks running now, by key: their start. */
  readonly #open = new Map<string, number>();

  /** A batch of tasks arrived: profile (start the profiler if it is stopped). */
  async busy(): Promise<void> {
    this.#busy = true;
    if (this.#running) return;
    const session = await this.#sessionNow();
    if (session === null || this.#running) return;
    this.#running = true;
    await post(session, "Profiler.start");
    this.#cycleStart = now();
    this.#timer = setInterval(() => void this.#cycle(), CYCLE_MS);
  }

  /** A task started (ms since the epoch): samples until it ends are its own. */
  began(key: string, start: number): void {
    this.#open.set(key, start);
  }

  /** A task ran from `start` to `stop` (ms since the epoch). */
  ran(key: string, start: number, stop: number): void {
    this.#open.delete(key);
    if (this.#running) this.#runs.push([start, stop, key]);
  }

  /**
   * The merged tree of the cycles overlapping `[start, stop]` (ms since the epoch; open ends
   * when null), of tasks whose prefix is `prefix` (all when null). The running cycle is taken
   * first, so work up to now counts.
   */
  async query(
    start: number | null,
    stop: number | null,
    prefix: string | null,
  ): Promise<ProfileNode> {
    if (this.#running) await this.#cycle();
    const tree = emptyProfile();
    for (const cycle of this.#cycles) {
      if ((start !== null && cycle.stop < start) || (stop !== null && cycle.start > stop)) continue;
      for (const [name, part] of cycle.byPrefix) {
        if (prefix === null || name === prefix) mergeProfile(tree, part);
      }
    }
    return tree;
  }

  async #sessionNow(): Promise<InspectorSession | null> {
    if (this.#session !== undefined) return this.#session;
    try {
      const { Session } = await import("node:inspector");
      const session = new Session() as unknown as InspectorSession;
      session.connect();
      await post(session, "Profiler.enable");
      await post(session, "Profiler.setSamplingInterval", { interval: SAMPLE_INTERVAL_US });
      this.#session = session;
    } catch {
      this.#session = null; // no `sys: inspector` here: this thread does not profile
    }
    return this.#session;
  }

  /** Takes the profile of the cycle that ends now; starts the next one if the thread was busy. */
  async #cycle(): Promise<void> {
    const session = this.#session;
    if (!this.#running || session === null || session === undefined) return;
    const start = this.#cycleStart;
    const runs = this.#runs;
    this.#runs = [];
    const { profile } = await post(session, "Profiler.stop") as { profile: V8Profile };
    const stop = now();
    // tasks still running own their samples of this cycle too
    for (const [key, began] of this.#open) runs.push([began, stop, key]);
    runs.sort((a, b) => a[0] - b[0]);
    const keepGoing = this.#busy || runs.length > 0;
    this.#busy = false;
    if (keepGoing) {
      await post(session, "Profiler.start");
      this.#cycleStart = now();
    } else {
      this.#running = false;
      clearInterval(this.#timer);
    }
    if (runs.length === 0) return;
    const byPrefix = treesByPrefix(profile, start, runs);
    if (byPrefix.size === 0) return;
    this.#cycles.push({ start, stop, byPrefix });
    if (this.#cycles.length > KEEP_CYCLES) this.#cycles.shift();
  }
}

/** Each sample goes to the tree of the task running at its time (samples between tasks go). */
function treesByPrefix(
  profile: V8Profile,
  start: number,
  runs: readonly [number, number, string][],
): Map<string, ProfileNode> {
  const stacks = v8Stacks(profile.nodes, isOwnFile);
  const trees = new Map<string, ProfileNode>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = start;
  let r = 0;
  for (let i = 0; i < samples.length; i++) {
    at += (deltas[i] ?? 0) / 1000;
    while (r < runs.length && runs[r][1] < at) r++;
    if (r >= runs.length) break;
    if (runs[r][0] > at) continue;
    const stack = stacks.get(samples[i]);
    if (stack === undefined || stack.length === 0) continue;
    const prefix = keyPrefix(runs[r][2]);
    let tree = trees.get(prefix);
    if (tree === undefined) trees.set(prefix, tree = emptyProfile());
    addStack(tree, stack);
  }
  return trees;
}

function post(session: InspectorSession, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => error ? reject(error) : resolve(result))
  );
}
