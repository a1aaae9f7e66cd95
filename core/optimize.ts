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
import type { Graph } from "./graph.ts";
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
 * `graph` is not changed. Iterative and linear in tasks + dependencies.
 */
export function optimizeGraph(
  graph: Graph,
  outputs: readonly Key[],
): { graph: Graph; report: OptimizeReport } {
  const keep = new Set(outputs);
  let readers = countReaders(graph);
  let result = graph;
  // in a DAG every task leads to one nobody reads: when all of those are outputs, all is needed
  let unneeded = false;
  for (const key of graph.keys()) {
    if (!readers.has(key) && !keep.has(key)) {
      unneeded = true;
      break;
    }
  }
  if (unneeded) {
    result = cull(graph, outputs);
    readers = countReaders(result);
  }
  const culled = graph.size - result.size;
  const inlined = inlineLiterals(result, keep);
  if (inlined.inlined > 0) readers = countReaders(inlined.graph);
  const fused = fuseChains(inlined.graph, keep, readers);
  return {
    graph: fused.graph,
    report: { culled, inlined: inlined.inlined, fused: fused.fused },
  };
}

/**
 * The graph to run for `outputs`: optimized unless `optimize` is false (the `optimizeGraph`
 * option of compute, persist and client views). The one place every compute path asks.
 */
export function graphToRun(graph: Graph, outputs: readonly Key[], optimize = true): Graph {
  return optimize ? optimizeGraph(graph, outputs).graph : graph;
}

/** How many tasks read each task (a key read twice by one task counts once). */
function countReaders(graph: Graph): Map<Key, number> {
  const readers = new Map<Key, number>();
  for (const task of graph.values()) {
    const deps = task.deps;
    for (let i = 0; i < deps.length; i++) {
      readers.set(deps[i], (readers.get(deps[i]) ?? 0) + 1);
    }
  }
  return readers;
}

/** The tasks `outputs` need, in the graph's order (the same graph when nothing is dropped). */
export function cull(graph: Graph, outputs: readonly Key[]): Graph {
  const needed = new Set<Key>();
  const stack: Key[] = [];
  for (const key of outputs) {
    if (!needed.has(key) && graph.has(key)) {
      needed.add(key);
      stack.push(key);
    }
  }
  while (stack.length > 0) {
    const task = graph.get(stack.pop()!)!;
    for (const dep of task.deps) {
      if (!needed.has(dep) && graph.has(dep)) {
        needed.add(dep);
        stack.push(dep);
      }
    }
  }
  if (needed.size === graph.size) return graph;
  const result: Graph = new Map();
  for (const [key, task] of graph) if (needed.has(key)) result.set(key, task);
  return result;
}

/** A literal worth copying into each reader: a value with no identity and little size. */
function isCheapLiteral(task: Task): boolean {
  if (task.fn !== null) return false;
  const value = task.args[0];
  return value === null || (typeof value !== "object" && typeof value !== "function");
}

/** Puts cheap literal values (not outputs) into the arguments of the tasks that read them. */
function inlineLiterals(graph: Graph, keep: ReadonlySet<Key>): { graph: Graph; inlined: number } {
  let values: Map<Key, unknown> | undefined;
  for (const [key, task] of graph) {
    if (task.fn === null && !keep.has(key) && isCheapLiteral(task)) {
      (values ??= new Map()).set(key, task.args[0]);
    }
  }
  if (values === undefined) return { graph, inlined: 0 };
  const cheap = values;
  const result: Graph = new Map();
  for (const [key, task] of graph) {
    if (cheap.has(key)) continue;
    if (task.fn === null || !task.deps.some((dep) => cheap.has(dep))) {
      result.set(key, task);
      continue;
    }
    const args = rewriteData(
      task.args,
      (v) => v instanceof TaskRef ? (cheap.has(v.key) ? cheap.get(v.key) : v) : DESCEND,
      "args",
    ) as unknown[];
    const rewritten = makeTask(key, task.fn, args, task.options);
    result.set(key, task.parts === undefined ? rewritten : { ...rewritten, parts: task.parts });
  }
  return { graph: result, inlined: cheap.size };
}

/**
 * Fuses linear chains: a task whose only reader reads nothing else joins that reader. The
 * fused task has the chain's last key, its first task's dependencies and its last task's
 * options, and names its parts (`Task.parts`); tasks with options of their own (placement,
 * retries) stay apart.
 */
function fuseChains(
  graph: Graph,
  keep: ReadonlySet<Key>,
  readers: ReadonlyMap<Key, number>,
): { graph: Graph; fused: number } {
  // next.get(a) = b: a's only reader is b, and b reads only a
  const next = new Map<Key, Key>();
  const hasPrevious = new Set<Key>();
  for (const [key, task] of graph) {
    if (task.fn === null || task.deps.length !== 1) continue;
    const dep = task.deps[0];
    const previous = graph.get(dep);
    if (
      previous === undefined || previous.fn === null || previous.options !== undefined ||
      keep.has(dep) || readers.get(dep) !== 1
    ) continue;
    next.set(dep, key);
    hasPrevious.add(key);
  }
  if (next.size === 0) return { graph, fused: 0 };

  // the tasks of each chain, cut into pieces of at most MAX_FUSED_CHAIN; each piece's last key
  const pieceOf = new Map<Key, Task[]>();
  const inPiece = new Set<Key>();
  for (const key of graph.keys()) {
    if (hasPrevious.has(key) || !next.has(key)) continue;
    let piece: Task[] = [];
    for (let k: Key | undefined = key; k !== undefined; k = next.get(k)) {
      piece.push(graph.get(k)!);
      if (piece.length === MAX_FUSED_CHAIN || !next.has(k)) {
        if (piece.length > 1) {
          pieceOf.set(k, piece);
          for (const t of piece) inPiece.add(t.key);
        }
        piece = [];
      }
    }
  }
  const result: Graph = new Map();
  let fused = 0;
  for (const [key, task] of graph) {
    const piece = pieceOf.get(key);
    if (piece !== undefined) {
      result.set(key, fuseTasks(piece));
      fused += piece.length - 1;
    } else if (!inPiece.has(key)) {
      result.set(key, task);
    }
  }
  return { graph: result, fused };
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
