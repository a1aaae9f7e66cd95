/**
 * The statistical profiler of a task thread (`client.profile`): V8's own sampling CPU profiler,
 * reached through `node:inspector` inside the thread (it samples this thread's isolate only),
 * every 10 ms from the thread's first task on. Every second (at the next turn of the event loop)
 * the profile recorded so far is taken and turned into call trees, one per task prefix, by
 * matching each sample's time to the task that ran then; the last {@link KEEP_CYCLES} busy
 * seconds are kept. Profiles are rotated with `console.profile` / `console.profileEnd`, the
 * next one starting before the last ends: once no profile records, V8 forgets the code compiled
 * so far, and a function optimized earlier then shows up as its caller (seen here with
 * `Profiler.stop` / `Profiler.start`).
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
/** How long a finished profile may take to arrive (it comes as an inspector event). */
const FINISH_WAIT_MS = 1000;
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
  on(event: string, listener: (message: { params: unknown }) => void): void;
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
  #starting: Promise<void> | null = null;
  #cycleStart = 0;
  /** The title of the profile recording now (profiles are rotated, never all stopped). */
  #title = "";
  #nextTitle = 1;
  /** Profiles finished by `console.profileEnd`, waited for by title. */
  readonly #finished = new Map<string, (profile: V8Profile) => void>();
  /** Task runs of the current cycle: [start, stop, key] (ms since the epoch). */
  #runs: [number, number, string][] = [];
  readonly #cycles: Cycle[] = [];
  /** Tasks running now, by key: their start. */
  readonly #open = new Map<string, number>();

  /** A batch of tasks arrived: the profiler runs from the first one on. */
  busy(): Promise<void> | void {
    if (this.#session !== undefined) return;
    return this.#starting ??= this.#start();
  }

  /** A task started (ms since the epoch): samples until it ends are its own. */
  began(key: string, start: number): void {
    this.#open.set(key, start);
  }

  /** A task ran from `start` to `stop` (ms since the epoch). */
  ran(key: string, start: number, stop: number): void {
    this.#open.delete(key);
    if (this.#session) this.#runs.push([start, stop, key]);
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
    await this.#cycle();
    const tree = emptyProfile();
    for (const cycle of this.#cycles) {
      if ((start !== null && cycle.stop < start) || (stop !== null && cycle.start > stop)) continue;
      for (const [name, part] of cycle.byPrefix) {
        if (prefix === null || name === prefix) mergeProfile(tree, part);
      }
    }
    return tree;
  }

  async #start(): Promise<void> {
    try {
      // never prompt for it (a script under the local `threads` scheduler, on a terminal)
      const granted = Deno.permissions.querySync({ name: "sys", kind: "inspector" as "hostname" });
      if (granted.state !== "granted") {
        this.#session = null;
        return;
      }
      const { Session } = await import("node:inspector");
      const session = new Session() as unknown as InspectorSession;
      session.connect();
      session.on("Profiler.consoleProfileFinished", (message) => {
        const { title, profile } = message.params as { title: string; profile: V8Profile };
        this.#finished.get(title)?.(profile);
        this.#finished.delete(title);
      });
      await post(session, "Profiler.enable");
      await post(session, "Profiler.setSamplingInterval", { interval: SAMPLE_INTERVAL_US });
      this.#title = this.#newTitle();
      console.profile(this.#title);
      this.#cycleStart = now();
      this.#session = session;
      setInterval(() => void this.#cycle(), CYCLE_MS);
    } catch {
      this.#session = null; // no `sys: inspector` here: this thread does not profile
    }
  }

  #newTitle(): string {
    return `dask-deno-sampler-${this.#nextTitle++}`;
  }

  /**
   * Takes the profile of the cycle that ends now. The next profile starts before this one
   * ends: V8 forgets code compiled earlier (optimized functions then show up as their caller)
   * once no profile is recording, so one always is.
   */
  async #cycle(): Promise<void> {
    if (!this.#session) return;
    const start = this.#cycleStart;
    const runs = this.#runs;
    this.#runs = [];
    const ending = this.#title;
    const finished = new Promise<V8Profile | null>((resolve) => {
      this.#finished.set(ending, resolve);
      setTimeout(() => resolve(null), FINISH_WAIT_MS);
    });
    this.#title = this.#newTitle();
    console.profile(this.#title);
    console.profileEnd(ending);
    const stop = now();
    this.#cycleStart = stop;
    const profile = await finished;
    this.#finished.delete(ending);
    // tasks still running own their samples of this cycle too
    for (const [key, began] of this.#open) runs.push([began, stop, key]);
    if (profile === null || runs.length === 0) return;
    runs.sort((a, b) => a[0] - b[0]);
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
