/**
 * The statistical profiler of a task thread (`client.profile`): V8's own sampling CPU profiler,
 * reached through `node:inspector` inside the thread (it samples this thread's isolate only),
 * every 10 ms while the thread runs tasks. Every second (at the next turn of the event loop)
 * the profile recorded so far is taken and turned into call trees, one per task prefix, by
 * matching each sample's time to the task that ran then; the last {@link KEEP_CYCLES} busy
 * seconds are kept. Profiles are rotated with `console.profile` / `console.profileEnd`, the
 * next one starting before the last ends: once no profile records, V8 forgets the code compiled
 * so far, and a function optimized earlier then shows up as its caller (seen here with
 * `Profiler.stop` / `Profiler.start`). A thread starts sampling when sampling is turned on
 * ({@link ThreadSampler.warm}), not with its first task. A thread that ran no task for
 * {@link IDLE_STOP_MS} stops sampling (an idle thread costs nothing) and starts again with its
 * next task; the
 * samples after that may name an inlined function's caller until V8 recompiles it (seen here in
 * about one run in three when it stopped after one idle second), so short pauses between tasks
 * keep it recording.
 *
 * It also keeps each running task's latest sampled stack: the call-stacks view of what runs now
 * (the dashboard's worker page).
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
  type ProfileFrame,
  type ProfileNode,
  type TaskStack,
  type V8ProfileNode,
  v8Stacks,
} from "../core/profile_tree.ts";

/** Milliseconds between a worker's samples unless `--profile-interval` says (Dask: 10 ms). */
export const DEFAULT_SAMPLE_INTERVAL_MS = 10;
/** Milliseconds of one profile cycle. */
const CYCLE_MS = 1000;
/** How long a finished profile may take to arrive (it comes as an inspector event). */
const FINISH_WAIT_MS = 1000;
/** Milliseconds without a task after which a thread stops sampling. */
const IDLE_STOP_MS = 30_000;
/** Busy cycles kept: about ten minutes of work. */
const KEEP_CYCLES = 600;

/**
 * A task's run: start, stop (ms since the epoch), key, and its group (a fused task's name) when
 * it has one; else its samples go under its key's prefix, worked out only for a run a sample
 * fell in (most tiny tasks have none).
 */
type Run = [number, number, string, string | undefined];

/** The trees of one cycle, by task prefix, and when it ran (ms since the epoch). */
interface Cycle {
  start: number;
  stop: number;
  byPrefix: Map<string, ProfileNode>;
}

export interface V8Profile {
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

/** The runtime's code around a task: the thread entry and this file. */
const RUNTIME_FILES = [
  new URL("./thread_entry.ts", import.meta.url).href,
  new URL("./sampler.ts", import.meta.url).href,
];
/** Where the runtime calls a task's function (`runInTask`): below it, the task's own frames. */
const TASK_ENTRY_FILE = new URL("../core/task_context.ts", import.meta.url).href;
/** The runtime's own frames (the thread entry, this file) are left out of the trees. */
const OWN_FILES = [...RUNTIME_FILES, TASK_ENTRY_FILE];
/** Whether a script URL is the task runtime's own (its frames are left out of stacks). */
export const isOwnFile = (url: string): boolean => OWN_FILES.includes(url);

/**
 * The profile nodes of the runtime's own work around a task — decoding its arguments, encoding
 * its result, posting it — called by the thread entry but not through `runInTask`: their samples
 * are no task's, though they fall in a task's run. (A task's awaits resume in stacks without the
 * runtime's frames: those are the task's.)
 */
export function runtimeWork(nodes: readonly V8ProfileNode[]): Set<number> {
  const byId = new Map<number, V8ProfileNode>();
  for (const node of nodes) byId.set(node.id, node);
  const work = new Set<number>();
  /** "task" below `runInTask` (the runtime's frames there, the call's own arrow, stay the task's). */
  const walk = (id: number, above: "none" | "runtime" | "task"): void => {
    const node = byId.get(id);
    if (node === undefined) return;
    const { url } = node.callFrame;
    const here = above === "task" || url === TASK_ENTRY_FILE
      ? "task"
      : above === "runtime" || RUNTIME_FILES.includes(url)
      ? "runtime"
      : "none";
    if (here === "runtime") work.add(id);
    for (const child of node.children ?? []) walk(child, here);
  };
  const children = new Set(nodes.flatMap((node) => node.children ?? []));
  for (const node of nodes) if (!children.has(node.id)) walk(node.id, "none");
  return work;
}

export class ThreadSampler {
  #session: InspectorSession | null | undefined = undefined;
  #starting: Promise<void> | null = null;
  #cycleStart = 0;
  /** The title of the profile recording now (profiles are rotated, never all stopped). */
  #title = "";
  #nextTitle = 1;
  /** Profiles finished by `console.profileEnd`, waited for by title. */
  readonly #finished = new Map<string, (profile: V8Profile) => void>();
  /**
   * Task runs of the current cycle: [start, stop, key, name its samples are filed under] (ms
   * since the epoch).
   */
  #runs: Run[] = [];
  readonly #cycles: Cycle[] = [];
  /** Tasks running now, by key: their start. */
  readonly #open = new Map<string, number>();
  /** The group of each task running now that has one (a fused task's), by key. */
  readonly #openGroups = new Map<string, string>();
  /** The latest sampled stack of each task running now, by key. */
  readonly #latest = new Map<string, { at: number; frames: ProfileFrame[] }>();
  /** The cycle timer; null while idle (no profile records then). */
  #timer: ReturnType<typeof setInterval> | null = null;

  /**
   * Microseconds between samples; 0: this thread does not sample. Off until its owner turns it
   * on (the pool's `sampling` message): a worker's threads as it starts them, a local `threads`
   * pool's only when asked (collections/local/threads.ts `sampleThreads`) — a V8 profiler
   * recording in every thread costs the tiny tasks of a local graph about a third more CPU, for
   * a profile nobody reads.
   */
  intervalUs = 0;
  /** Milliseconds without a task after which sampling stops until the next task. */
  idleStopMs = IDLE_STOP_MS;
  /** When a task last ran (ms since the epoch). */
  #lastActive = 0;
  #profilesTaken = 0;

  /** How many profiles were ended and read so far. */
  get profilesTaken(): number {
    return this.#profilesTaken;
  }

  /** Whether this thread samples (sampling is on and it has `sys: inspector`). */
  get sampling(): boolean {
    if (this.intervalUs <= 0 || this.#session === null) return false;
    return this.#session !== undefined || inspectorGranted();
  }

  /** Whether a profile records now (false before the first task and while idle). */
  get recording(): boolean {
    return this.#timer !== null;
  }

  /**
   * Sampling was turned on: the profiler starts now, before the thread's first task, and stops
   * again if no task comes within {@link idleStopMs}. Starting V8's profiler takes 30–100 ms (it
   * records every function compiled so far; 2026-12-06) — a first task, such as one moved off a
   * dead worker, would otherwise wait that long before it begins.
   */
  warm(): Promise<void> | void {
    return this.busy();
  }

  /** A batch of tasks arrived: the profiler runs from then on (again, after being idle). */
  busy(): Promise<void> | void {
    if (this.intervalUs <= 0) return;
    if (this.#session === undefined) return this.#starting ??= this.#start();
    if (this.#session !== null && this.#timer === null) this.#record();
  }

  /**
   * A task started (ms since the epoch): samples until it ends are its own, filed under `group`
   * (a fused task's name by its parts, `inc×2+add`) or else under its key's prefix.
   */
  began(key: string, start: number, group?: string): void {
    if (this.intervalUs <= 0) return; // not sampling: nothing reads what runs
    this.#open.set(key, start);
    if (group !== undefined) this.#openGroups.set(key, group);
  }

  /** A task ran from `start` to `stop` (ms since the epoch); `group` as in {@link began}. */
  ran(key: string, start: number, stop: number, group?: string): void {
    if (this.#open.size > 0 && this.#open.delete(key)) {
      this.#openGroups.delete(key);
      this.#latest.delete(key);
    }
    if (this.#session) this.#runs.push([start, stop, key, group]);
  }

  /**
   * The merged tree of the cycles overlapping `[start, stop]` (ms since the epoch; open ends
   * when null), of tasks whose prefix is `prefix` (all when null). The running cycle is taken
   * first, so work up to now counts. With `byPrefix` the root's children are the prefixes
   * (a node each, named by the prefix) and the call trees hang below them (the dashboard's
   * flame graph per prefix).
   */
  async query(
    start: number | null,
    stop: number | null,
    prefix: string | null,
    byPrefix = false,
  ): Promise<ProfileNode> {
    await this.#cycle();
    const tree = emptyProfile();
    for (const cycle of this.#cycles) {
      if ((start !== null && cycle.stop < start) || (stop !== null && cycle.start > stop)) continue;
      for (const [name, part] of cycle.byPrefix) {
        if (prefix !== null && name !== prefix) continue;
        mergeProfile(tree, byPrefix ? underPrefix(name, part) : part);
      }
    }
    return tree;
  }

  /** The latest sampled stack of every task running now (the running cycle is taken first). */
  async stacks(): Promise<TaskStack[]> {
    await this.#cycle();
    return [...this.#open].map(([key, began]) => {
      const latest = this.#latest.get(key);
      return { key, began, at: latest?.at ?? null, frames: latest?.frames ?? [] };
    });
  }

  async #start(): Promise<void> {
    try {
      if (!inspectorGranted()) {
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
      await post(session, "Profiler.setSamplingInterval", { interval: this.intervalUs });
      this.#session = session;
      this.#record();
    } catch {
      this.#session = null; // no `sys: inspector` here: this thread does not profile
    }
  }

  /** Starts recording (the first time, and again after being idle). */
  #record(): void {
    this.#lastActive = now();
    this.#title = this.#newTitle();
    console.profile(this.#title);
    this.#cycleStart = now();
    this.#timer = setInterval(() => void this.#cycle(), CYCLE_MS);
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
    if (!this.#session || this.#timer === null) return;
    const idle = this.#runs.length === 0 && this.#open.size === 0;
    if (idle && now() - this.#lastActive < this.idleStopMs) {
      // Nothing ran since this profile began: it goes on recording. Ending it would cost the
      // thread the profile's serialization and parsing each second it idles (~8 ms a second,
      // 2026-12-06), for samples that belong to no task.
      return;
    }
    this.#profilesTaken++;
    const start = this.#cycleStart;
    const runs = this.#runs;
    this.#runs = [];
    const ending = this.#title;
    const finished = new Promise<V8Profile | null>((resolve) => {
      this.#finished.set(ending, resolve);
      setTimeout(() => resolve(null), FINISH_WAIT_MS);
    });
    if (runs.length > 0 || this.#open.size > 0) this.#lastActive = now();
    if (now() - this.#lastActive >= this.idleStopMs) {
      // no task ran for a whole cycle: stop sampling until the next one (busy())
      clearInterval(this.#timer);
      this.#timer = null;
    } else {
      this.#title = this.#newTitle();
      console.profile(this.#title);
    }
    console.profileEnd(ending);
    const stop = now();
    this.#cycleStart = stop;
    const profile = await finished;
    this.#finished.delete(ending);
    // tasks still running own their samples of this cycle too
    for (const [key, began] of this.#open) {
      runs.push([began, stop, key, this.#openGroups.get(key)]);
    }
    if (profile === null || runs.length === 0) return;
    runs.sort((a, b) => a[0] - b[0]);
    const { byPrefix, latest } = treesByPrefix(profile, start, runs);
    // a profile that recorded idle seconds first covers, for queries, only from its first run on
    const covered = Math.max(start, runs[0][0]);
    for (const [key, stack] of latest) {
      if (this.#open.has(key)) this.#latest.set(key, stack);
    }
    if (byPrefix.size === 0) return;
    this.#cycles.push({ start: covered, stop, byPrefix });
    if (this.#cycles.length > KEEP_CYCLES) this.#cycles.shift();
  }
}

/** `part` one level down, below a node standing for task prefix `name`. */
function underPrefix(name: string, part: ProfileNode): ProfileNode {
  const node: ProfileNode = {
    ...part,
    identifier: name,
    description: { name, filename: "", line_number: 0 },
  };
  return { ...emptyProfile(), count: part.count, children: { [name]: node } };
}

/**
 * Each sample goes to the tree of the task running at its time (samples between tasks go, and
 * those of the runtime's own work, {@link runtimeWork}); the last sample of each task is its
 * latest stack.
 */
export function treesByPrefix(
  profile: V8Profile,
  start: number,
  runs: readonly Run[],
): {
  byPrefix: Map<string, ProfileNode>;
  latest: Map<string, { at: number; frames: ProfileFrame[] }>;
} {
  // worked out once a sample falls in a run (most of a tiny task's cycles have none)
  let stacks: Map<number, ProfileFrame[]> | undefined;
  let runtime: Set<number> | undefined;
  const trees = new Map<string, ProfileNode>();
  const latest = new Map<string, { at: number; frames: ProfileFrame[] }>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = start;
  let r = 0;
  for (let i = 0; i < samples.length; i++) {
    at += (deltas[i] ?? 0) / 1000;
    while (r < runs.length && runs[r][1] < at) r++;
    if (r >= runs.length) break;
    if (runs[r][0] > at) continue;
    runtime ??= runtimeWork(profile.nodes);
    if (runtime.has(samples[i])) continue;
    stacks ??= v8Stacks(profile.nodes, isOwnFile);
    const stack = stacks.get(samples[i]);
    if (stack === undefined || stack.length === 0) continue;
    const prefix = runs[r][3] ?? keyPrefix(runs[r][2]);
    let tree = trees.get(prefix);
    if (tree === undefined) trees.set(prefix, tree = emptyProfile());
    addStack(tree, stack);
    latest.set(runs[r][2], { at, frames: stack });
  }
  return { byPrefix: trees, latest };
}

/** Never prompts for it (a script under the local `threads` scheduler, on a terminal). */
function inspectorGranted(): boolean {
  const { state } = Deno.permissions.querySync({ name: "sys", kind: "inspector" as "hostname" });
  return state === "granted";
}

function post(session: InspectorSession, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => error ? reject(error) : resolve(result))
  );
}
