/**
 * Graph optimization before a graph runs, as Dask's `optimize`: cull what the outputs do not
 * need, inline cheap literals into the tasks that read them, and fuse linear chains of tasks
 * into one task. Output keys stay the user's keys; only intermediate tasks disappear.
 *
 * Why: every task costs a scheduler round trip on a cluster and a hand-off on `threads`; a
 * chain `a -> b -> c` has no parallelism to lose, so running it as one task is pure gain.
 *
 * @module
 */

import { bindFunctions } from "./function_tags.ts";
import { buildIndex, type Graph, handOverIndex, type TaskIndex } from "./graph.ts";
import { DESCEND, type Key, makeTask, rewriteData, type Task, TaskRef } from "./task.ts";
import type { TaskFunction } from "./task.ts";

/**
 * Tasks fused into one at most: a deep chain becomes tasks of this many links, which keeps
 * each fused function's description (sent once per worker) small and progress visible.
 */
export const MAX_FUSED_CHAIN = 32;

/** What {@link optimizeGraph} did, for displays and tests. */
export interface OptimizeReport {
  /** Tasks dropped because no output needs them. */
  readonly culled: number;
  /** Literal tasks whose values were put into their readers' arguments. */
  readonly inlined: number;
  /** Tasks that became part of a later task of their chain. */
  readonly fused: number;
}

/**
 * The optimized graph for `outputs`: culled, cheap literals inlined, linear chains fused.
 * `graph` is not changed (it is returned itself when nothing changes). Iterative and linear in
 * tasks + dependencies.
 */
export function optimizeGraph(
  graph: Graph,
  outputs: readonly Key[],
): { graph: Graph; report: OptimizeReport } {
  const { graph: optimized, report } = optimizePass(graph, outputs);
  return { graph: optimized, report };
}

/**
 * The graph to run for `outputs`: optimized unless `optimize` is false (the `optimizeGraph`
 * option of compute, persist and client views). The one place every compute path asks. The
 * integer form the pass built goes with a graph it did not change, so the executor that runs
 * it does not build it again (core/graph.ts `handOverIndex`).
 */
export function graphToRun(graph: Graph, outputs: readonly Key[], optimize = true): Graph {
  if (!optimize) return graph;
  const optimized = optimizePass(graph, outputs);
  if (optimized.index !== undefined) handOverIndex(optimized.graph, optimized.index);
  return optimized.graph;
}

/**
 * The whole pass on the integer form of the graph (core/graph.ts `buildIndex`): one map of the
 * keys, then typed arrays — which tasks the outputs need, how many needed tasks read each one,
 * which literals are cheap, which task continues which chain — and a new graph only when one of
 * them changes something.
 */
function optimizePass(
  graph: Graph,
  outputs: readonly Key[],
): { graph: Graph; report: OptimizeReport; index?: TaskIndex } {
  const g = buildIndex(graph, false);
  const { tasks, depStart, deps } = g;
  const n = tasks.length;
  const isOutput = outputMarks(g, outputs);
  const needed = neededTasks(g, isOutput);
  let culled = 0;
  for (let t = 0; t < n; t++) culled += needed[t] ^ 1;

  const { current, cheap, inlined } = inlineLiterals(g, needed, isOutput);
  // a task that reads one other task may continue a chain; without one there is no chain
  const mayLink = (t: number) =>
    needed[t] && !cheap[t] && current[t].fn !== null && current[t].deps.length === 1;
  let t = 0;
  while (t < n && !mayLink(t)) t++;
  const readers = t < n ? countReaders(g, needed) : undefined;

  // next[a] = b + 1: a's only reader is b, and b reads only a (0: a ends its chain)
  const next = new Int32Array(readers === undefined ? 0 : n);
  const hasPrevious = new Uint8Array(next.length);
  let links = 0;
  for (; readers !== undefined && t < n; t++) {
    if (!mayLink(t)) continue;
    // its one dependency left after inlining (the first not inlined)
    let dep = -1;
    for (let p = depStart[t]; p < depStart[t + 1]; p++) {
      if (deps[p] < 0 || !cheap[deps[p]]) {
        dep = deps[p];
        break;
      }
    }
    if (dep < 0) continue;
    const previous = current[dep];
    if (
      previous.fn === null || previous.options !== undefined || isOutput[dep] ||
      readers[dep] !== 1
    ) continue;
    next[dep] = t + 1;
    hasPrevious[t] = 1;
    links++;
  }

  const report = { culled, inlined, fused: 0 };
  if (culled === 0 && inlined === 0 && links === 0) return { graph, report, index: g };

  // the tasks of each chain, cut into pieces of at most MAX_FUSED_CHAIN; each piece's last task
  const pieceOf = new Map<number, Task[]>();
  const inPiece = new Uint8Array(n);
  for (let first = 0; first < n && links > 0; first++) {
    if (hasPrevious[first] || next[first] === 0) continue;
    let piece: number[] = [];
    for (let k = first;; k = next[k] - 1) {
      piece.push(k);
      const last = next[k] === 0;
      if (piece.length === MAX_FUSED_CHAIN || last) {
        if (piece.length > 1) {
          pieceOf.set(k, piece.map((j) => current[j]));
          for (const j of piece) inPiece[j] = 1;
        }
        piece = [];
      }
      if (last) break;
    }
  }
  const result: Graph = new Map();
  for (let i = 0; i < n; i++) {
    if (!needed[i] || cheap[i]) continue;
    const piece = pieceOf.get(i);
    if (piece !== undefined) {
      result.set(g.keys[i], fuseTasks(piece));
      report.fused += piece.length - 1;
    } else if (!inPiece[i]) {
      result.set(g.keys[i], current[i]);
    }
  }
  return { graph: result, report };
}

/** How many needed tasks read each task (a task that names one key twice reads it once). */
function countReaders(g: TaskIndex, needed: Uint8Array): Int32Array {
  const { depStart, deps } = g;
  const n = g.tasks.length;
  const readers = new Int32Array(n);
  const lastReader = new Int32Array(n).fill(-1);
  for (let t = 0; t < n; t++) {
    if (!needed[t]) continue;
    for (let p = depStart[t]; p < depStart[t + 1]; p++) {
      const d = deps[p];
      if (d >= 0 && lastReader[d] !== t) {
        lastReader[d] = t;
        readers[d]++;
      }
    }
  }
  return readers;
}
/** Marks the outputs that are in the graph. */
function outputMarks(g: TaskIndex, outputs: readonly Key[]): Uint8Array {
  const isOutput = new Uint8Array(g.tasks.length);
  for (const key of outputs) {
    const o = g.index.get(key);
    if (o !== undefined) isOutput[o] = 1;
  }
  return isOutput;
}

/** Marks the tasks the outputs (marked in `isOutput`) need. */
function neededTasks(g: TaskIndex, isOutput: Uint8Array): Uint8Array {
  const { depStart, deps } = g;
  const n = g.tasks.length;
  const needed = new Uint8Array(n);
  // each task is pushed once at most
  const stack = new Int32Array(n);
  let top = 0;
  for (let o = 0; o < n; o++) {
    if (isOutput[o]) {
      needed[o] = 1;
      stack[top++] = o;
    }
  }
  while (top > 0) {
    const t = stack[--top];
    for (let p = depStart[t]; p < depStart[t + 1]; p++) {
      const d = deps[p];
      if (d >= 0 && !needed[d]) {
        needed[d] = 1;
        stack[top++] = d;
      }
    }
  }
  return needed;
}

/** The tasks `outputs` need, in the graph's order (the same graph when nothing is dropped). */
export function cull(graph: Graph, outputs: readonly Key[]): Graph {
  const g = buildIndex(graph, false);
  const needed = neededTasks(g, outputMarks(g, outputs));
  if (!needed.includes(0)) return graph;
  const result: Graph = new Map();
  for (let t = 0; t < g.tasks.length; t++) if (needed[t]) result.set(g.keys[t], g.tasks[t]);
  return result;
}

/** A literal worth copying into each reader: a value with no identity and little size. */
function isCheapLiteral(task: Task): boolean {
  if (task.fn !== null) return false;
  const value = task.args[0];
  return value === null || (typeof value !== "object" && typeof value !== "function");
}

/**
 * Cheap literal values (of needed tasks, not outputs) put into the arguments of the tasks that
 * read them: `current` holds each task as it is after that (its readers rewritten), `cheap`
 * marks the literals that go away.
 */
function inlineLiterals(
  g: TaskIndex,
  needed: Uint8Array,
  isOutput: Uint8Array,
): { current: readonly Task[]; cheap: Uint8Array; inlined: number } {
  const { tasks, depStart, deps } = g;
  const n = tasks.length;
  const cheap = new Uint8Array(n);
  let inlined = 0;
  for (let t = 0; t < n; t++) {
    if (needed[t] && !isOutput[t] && isCheapLiteral(tasks[t])) {
      cheap[t] = 1;
      inlined++;
    }
  }
  if (inlined === 0) return { current: tasks, cheap, inlined };
  const current = tasks.slice();
  for (let t = 0; t < n; t++) {
    const task = tasks[t];
    if (!needed[t] || task.fn === null) continue;
    let reads = false;
    for (let p = depStart[t]; p < depStart[t + 1] && !reads; p++) {
      reads = deps[p] >= 0 && cheap[deps[p]] === 1;
    }
    if (!reads) continue;
    const args = rewriteData(
      task.args,
      (v) => {
        if (!(v instanceof TaskRef)) return DESCEND;
        const i = g.index.get(v.key);
        return i !== undefined && cheap[i] ? tasks[i].args[0] : v;
      },
      "args",
    ) as unknown[];
    const rewritten = makeTask(task.key, task.fn, args, task.options);
    current[t] = task.parts === undefined ? rewritten : { ...rewritten, parts: task.parts };
  }
  return { current, cheap, inlined };
}

/** Where the previous link's result goes in each link's arguments: paths of array/object keys. */
type Holes = (string | number)[][][];

/** One task that runs `chain` in order, each link's result going where the next link read it. */
function fuseTasks(chain: readonly Task[]): Task {
  const holes: Holes = [[]];
  const argLists: unknown[][] = [chain[0].args as unknown[]];
  for (let i = 1; i < chain.length; i++) {
    const previousKey = chain[i - 1].key;
    const paths: (string | number)[][] = [];
    argLists.push(
      punchHoles(chain[i].args as unknown[], previousKey, paths) as unknown[],
    );
    holes.push(paths);
  }
  const last = chain[chain.length - 1];
  const fn = fusedFunction(chain.map((t) => t.fn!));
  // later links read only their previous link, so the refs found are the first link's deps
  const task = makeTask(last.key, fn, [holes, ...argLists], last.options);
  // a task fused before (a graph optimized twice) is named by its own parts
  return { ...task, parts: chain.flatMap((t) => t.parts ?? [t.key]) };
}

/** `args` with each reference to `key` replaced by null; the paths of the replaced places. */
function punchHoles(args: unknown[], key: Key, paths: (string | number)[][]): unknown {
  // the usual list is flat (plain values and references side by side): one loop, no closure
  // and no path arrays for the places that hold no reference (a cold parent fuses every chain)
  let flat = true;
  for (let i = 0; i < args.length && flat; i++) {
    const v = args[i];
    flat = v === null || typeof v !== "object" || v instanceof TaskRef;
  }
  if (!flat) return punchHolesDeep(args, key, paths);
  let out: unknown[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const v = args[i];
    if (!(v instanceof TaskRef) || v.key !== key) continue;
    paths.push([i]);
    (out ??= args.slice())[i] = null;
  }
  return out ?? args;
}

/** {@link punchHoles} through nested arrays and plain objects. */
function punchHolesDeep(args: unknown[], key: Key, paths: (string | number)[][]): unknown {
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (value instanceof TaskRef) {
      if (value.key !== key) return value;
      paths.push(path);
      return null;
    }
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const r = walk(value[i], [...path, i]);
        if (r !== value[i]) out ??= value.slice();
        if (out !== undefined) out[i] = r;
      }
      return out ?? value;
    }
    if (value !== null && typeof value === "object" && isPlain(value)) {
      let out: Record<string, unknown> | undefined;
      const record = value as Record<string, unknown>;
      for (const k in record) {
        const r = walk(record[k], [...path, k]);
        if (r !== record[k]) out ??= { ...record };
        if (out !== undefined) out[k] = r;
      }
      return out ?? value;
    }
    return value;
  };
  return walk(args, []);
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Runs a chain of functions: `(holes, args0, args1, …)` calls `fns[0](...args0)`, then puts
 * each result into the next link's arguments at its holes (copying the containers on the
 * path, so the arguments themselves are never changed) and calls the next function. Awaits a
 * link that returns a promise. Self-contained: it travels to worker threads as source.
 */
function fusedChain(...fns: TaskFunction[]): TaskFunction {
  const place = (args: unknown[], paths: (string | number)[][], value: unknown): unknown[] => {
    let root: unknown = args;
    for (const path of paths) {
      const copy = (c: unknown): Record<string | number, unknown> =>
        (Array.isArray(c) ? c.slice() : { ...(c as object) }) as Record<string | number, unknown>;
      const top = copy(root);
      let container = top;
      for (let i = 0; i < path.length - 1; i++) {
        const inner = copy(container[path[i]]);
        container[path[i]] = inner;
        container = inner;
      }
      container[path[path.length - 1]] = value;
      root = top;
    }
    return root as unknown[];
  };
  const isThenable = (v: unknown): v is PromiseLike<unknown> =>
    v !== null && (typeof v === "object" || typeof v === "function") &&
    typeof (v as PromiseLike<unknown>).then === "function";
  const finish = async (
    from: number,
    pending: PromiseLike<unknown>,
    holes: (string | number)[][][],
    argLists: unknown[][],
  ): Promise<unknown> => {
    let value = await pending;
    for (let i = from; i < fns.length; i++) {
      value = await fns[i](...place(argLists[i], holes[i], value));
    }
    return value;
  };
  const run = (holes: (string | number)[][][], ...argLists: unknown[][]): unknown => {
    let value = fns[0](...argLists[0]);
    for (let i = 1; i < fns.length; i++) {
      if (isThenable(value)) return finish(i, value, holes, argLists);
      value = fns[i](...place(argLists[i], holes[i], value));
    }
    return value;
  };
  return run as TaskFunction;
}

/** A trie node over sequences of functions: the fused function of the sequence ending here. */
interface FusedNode {
  readonly next: WeakMap<TaskFunction, FusedNode>;
  fused?: TaskFunction;
}

/** One fused function per sequence of functions, so equal chains share one description. */
const fusedRoot: FusedNode = { next: new WeakMap() };

function fusedFunction(fns: readonly TaskFunction[]): TaskFunction {
  let node = fusedRoot;
  for (const fn of fns) {
    let inner = node.next.get(fn);
    if (inner === undefined) {
      inner = { next: new WeakMap() };
      node.next.set(fn, inner);
    }
    node = inner;
  }
  return node.fused ??= bindFunctions(fusedChain, ...fns);
}
