/**
 * Statistical profiles as Dask shapes them (`distributed.profile`): a call tree whose nodes have
 * an `identifier` (`name;file;line`), a `description` of the frame, a `count` of the samples that
 * passed through them, and `children` by identifier. Pure functions: building a tree from a V8
 * CPU profile's samples, and merging trees.
 *
 * @module
 */

/** What a frame was. */
export interface ProfileFrame {
  /** The function's name, `(anonymous)` when it has none. */
  name: string;
  /** The script's URL or path. */
  filename: string;
  /** 1-based line of the function. */
  line_number: number;
}

/** One node of a profile: Dask's `{ identifier, description, count, children }`. */
export interface ProfileNode {
  /** `name;filename;line_number`, or `root` for the tree's root. */
  identifier: string;
  /** The frame this node stands for. */
  description: ProfileFrame;
  /** Samples that went through this frame (itself and what it called). */
  count: number;
  /** The frames it called, by identifier. */
  children: Record<string, ProfileNode>;
}

/** The latest sampled stack of a task running now (ms since the epoch; frames outermost first). */
export interface TaskStack {
  key: string;
  /** When the task began. */
  began: number;
  /** When the stack was sampled; null: no sample of it yet (it has just begun). */
  at: number | null;
  frames: ProfileFrame[];
  /** The task's function name (given for a thread busy in synchronous code). */
  fn?: string;
}

/** What one task thread runs now: its tasks' latest stacks. */
export interface ThreadStacks {
  thread: number;
  /**
   * False: the thread did not answer in time — it runs synchronous code. Its running task is
   * then told from outside: `busy` says whether its stack was read by pausing the thread for a
   * moment through the worker's inspector (worker/thread_inspector.ts), or why it could not be.
   */
  answered: boolean;
  busy?: { paused: true } | { paused: false; reason: string };
  tasks: TaskStack[];
}

/** An empty tree: the root of every profile. */
export function emptyProfile(): ProfileNode {
  return {
    identifier: "root",
    description: { name: "root", filename: "", line_number: 0 },
    count: 0,
    children: {},
  };
}

/** Adds one sample's stack (outermost frame first) to `tree`, `weight` times. */
export function addStack(tree: ProfileNode, stack: readonly ProfileFrame[], weight = 1): void {
  tree.count += weight;
  let node = tree;
  for (const frame of stack) {
    const identifier = `${frame.name};${frame.filename};${frame.line_number}`;
    let child = node.children[identifier];
    if (child === undefined) {
      child = node.children[identifier] = {
        identifier,
        description: frame,
        count: 0,
        children: {},
      };
    }
    child.count += weight;
    node = child;
  }
}

/** Adds `from` into `into` (counts summed, children merged by identifier). */
export function mergeProfile(into: ProfileNode, from: ProfileNode): ProfileNode {
  into.count += from.count;
  for (const [identifier, child] of Object.entries(from.children)) {
    const mine = into.children[identifier];
    if (mine === undefined) into.children[identifier] = structuredClone(child);
    else mergeProfile(mine, child);
  }
  return into;
}

/** A node of V8's `Profiler.stop` answer (Chrome DevTools Protocol `Profiler.ProfileNode`). */
export interface V8ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** V8's pseudo-frames that are no code of a task. */
const PSEUDO = new Set(["(root)", "(program)", "(idle)", "(garbage collector)"]);

/**
 * The stack of each V8 profile node, outermost first, without V8's pseudo-frames and without
 * frames of files `skip` says are the runtime's own (the thread entry), so a task's tree starts
 * at the task's function.
 */
export function v8Stacks(
  nodes: readonly V8ProfileNode[],
  skip: (url: string) => boolean,
): Map<number, ProfileFrame[]> {
  const parent = new Map<number, number>();
  const byId = new Map<number, V8ProfileNode>();
  for (const node of nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const stacks = new Map<number, ProfileFrame[]>();
  const stackOf = (id: number): ProfileFrame[] => {
    const known = stacks.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const above = up === undefined ? [] : stackOf(up);
    const { functionName, url, lineNumber } = node.callFrame;
    const own = PSEUDO.has(functionName) || url.startsWith("ext:") || url === "" || skip(url)
      ? above
      : [...above, {
        name: functionName || "(anonymous)",
        filename: url,
        line_number: lineNumber + 1,
      }];
    stacks.set(id, own);
    return own;
  };
  for (const node of nodes) stackOf(node.id);
  return stacks;
}
