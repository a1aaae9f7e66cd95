/**
 * The task spec: what one node of a task graph is.
 *
 * A task is a function applied to arguments. Arguments are plain data that may hold
 * {@link TaskRef}s (references to other tasks' results) anywhere inside arrays and plain
 * objects. A task without a function is a literal: its value is `args[0]`.
 *
 * @module
 */

import { MAX_NESTING_DEPTH } from "./codec_kinds.ts";
import { endlessValueError, TooDeep } from "./value_path.ts";

/** A task's name in a graph: `prefix-hash` for content-addressed tasks. */
export type Key = string;

/** A reference to another task's result, placed inside a task's arguments. */
export class TaskRef {
  /** @param key the referenced task's key */
  constructor(readonly key: Key) {}
}

/**
 * Objects that travel as a reference to a key — a client's Future returned from a task, say —
 * have a method under this symbol that gives the key; the value codec writes them as a
 * {@link TaskRef}. (A symbol of the global registry, so a second copy of the library agrees.)
 */
export const AS_TASK_REF: unique symbol = Symbol.for("dask-deno.asTaskRef") as never;

/** A function that a task applies. Any JS function; see core/function_codec.ts for how it travels. */
// deno-lint-ignore no-explicit-any
export type TaskFunction = (...args: any[]) => unknown;

/** Where and how a task may run; every field mirrors a Dask keyword of the same meaning. */
export interface TaskOptions {
  /** Higher runs first; ties are broken by graph order. */
  priority?: number;
  /** How many times a failing task reruns before its error is final. */
  retries?: number;
  /** Seconds to wait before each rerun that `retries` allows (0: rerun at once). */
  retryDelay?: number;
  /** Worker names or addresses this task may run on. */
  workers?: string[];
  /** With `workers`: the restriction is a preference, not a rule. */
  allowOtherWorkers?: boolean;
  /** Abstract resources the task holds while it runs, e.g. `{ GPU: 1 }`. */
  resources?: Record<string, number>;
  /**
   * Milliseconds one run of the task may take; past it the run is stopped (its thread is
   * terminated and replaced) and the task errs with a `TimeoutError`.
   */
  timeoutMs?: number;
  /** The task builds an actor (`new fn(...args)`) that stays on its worker. */
  actor?: boolean;
}

/** One node of a task graph. */
export interface Task {
  /** The task's name in its graph. */
  readonly key: Key;
  /** The function to apply, or `null` for a literal whose value is `args[0]`. */
  readonly fn: TaskFunction | null;
  /** Arguments: plain data, with {@link TaskRef}s where other tasks' results go. */
  readonly args: readonly unknown[];
  /** The distinct keys referenced by `args`, computed once when the task is made. */
  readonly deps: readonly Key[];
  /** Placement and retry options. */
  readonly options?: TaskOptions;
  /**
   * For a task graph optimization fused from a linear chain (core/optimize.ts): the keys of the
   * chain's tasks in the order they run, the last being `key`. Displays name the task by them.
   */
  readonly parts?: readonly Key[];
}

/** Makes a task, finding its dependencies in `args`. */
export function makeTask(
  key: Key,
  fn: TaskFunction,
  args: readonly unknown[],
  options?: TaskOptions,
): Task {
  return options === undefined
    ? { key, fn, args, deps: findRefs(args) }
    : { key, fn, args, deps: findRefs(args), options };
}

/** Makes a literal task: a value placed in the graph under `key`. */
export function makeLiteral(key: Key, value: unknown): Task {
  return { key, fn: null, args: [value], deps: NO_DEPS };
}

const NO_DEPS: readonly Key[] = Object.freeze([]);

/** True for arrays and objects whose prototype is `Object.prototype` or `null`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The distinct keys of the {@link TaskRef}s inside `args` (arrays and plain objects are searched).
 *
 * @throws {UnserializableError} naming the path of the cycle when `args` contains itself.
 */
export function findRefs(args: readonly unknown[]): readonly Key[] {
  // the common argument lists (values and references side by side) are read without a walk: a
  // graph makes one of these per task, so no closure and no growing array is made for them
  let first: Key | undefined;
  let second: Key | undefined;
  let found: Key[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (value === null || typeof value !== "object") continue;
    if (!(value instanceof TaskRef)) {
      found = refsInside(args, value, found ?? startList(first, second));
      continue;
    }
    const key = value.key;
    if (found !== undefined) {
      if (!found.includes(key)) found.push(key);
    } else if (first === undefined) first = key;
    else if (key === first || key === second) continue;
    else if (second === undefined) second = key;
    else found = [first, second, key];
  }
  // a grown array keeps spare capacity; an exact copy matters for million-task graphs
  if (found !== undefined) return found.length === 0 ? NO_DEPS : found.slice();
  if (first === undefined) return NO_DEPS;
  return second === undefined ? [first] : [first, second];
}

/** The keys found so far as a list to grow. */
function startList(first: Key | undefined, second: Key | undefined): Key[] {
  return first === undefined ? [] : second === undefined ? [first] : [first, second];
}

/** Adds the keys of the references inside `value` (an argument) to `found`; returns it. */
function refsInside(args: readonly unknown[], value: object, found: Key[]): Key[] {
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== "object") return;
    if (depth > MAX_NESTING_DEPTH) throw endlessValueError(args, "args");
    if (value instanceof TaskRef) {
      if (!found.includes(value.key)) found.push(value.key);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) visit(value[i], depth + 1);
    } else if (isPlainObject(value)) {
      for (const k in value) visit(value[k], depth + 1);
    }
  };
  visit(value, 1);
  return found;
}

/** Returned by a {@link rewriteData} callback to keep a value and look inside it. */
export const DESCEND: unique symbol = Symbol("descend");

/**
 * Copy-on-write walk of task arguments: `replace` sees every object inside arrays and plain
 * objects (outermost first) and returns its replacement, or {@link DESCEND} to keep it and walk
 * into it. Containers in which nothing was replaced are returned as they are (no copy).
 *
 * @param rootName how errors name `value`, e.g. `args`
 * @throws {UnserializableError} naming the path of the cycle when `value` contains itself.
 */
export function rewriteData(
  value: unknown,
  replace: (value: object) => unknown,
  rootName = "value",
): unknown {
  if (value === null || typeof value !== "object") return value;
  try {
    return rewriteLevel(value, replace, 0);
  } catch (error) {
    throw error instanceof TooDeep ? endlessValueError(value, rootName) : error;
  }
}

function rewriteLevel(value: unknown, replace: (value: object) => unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_NESTING_DEPTH) throw new TooDeep();
  const replaced = replace(value);
  if (replaced !== DESCEND) return replaced;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const r = rewriteLevel(v, replace, depth + 1);
      if (r !== v && out === undefined) out = value.slice(0, i);
      if (out !== undefined) out.push(r);
    }
    return out ?? value;
  }
  if (isPlainObject(value)) {
    let out: Record<string, unknown> | undefined;
    for (const k in value) {
      const v = value[k];
      const r = rewriteLevel(v, replace, depth + 1);
      if (r !== v && out === undefined) out = { ...value };
      if (out !== undefined) out[k] = r;
    }
    return out ?? value;
  }
  return value;
}

/** Replaces every {@link TaskRef} inside `value` by `lookup(key)` (see {@link rewriteData}). */
export function substituteRefs(
  value: unknown,
  lookup: (key: Key) => unknown,
  rootName = "value",
): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof TaskRef) return lookup(value.key);
  if (Array.isArray(value)) {
    // the common arguments (references and plain values side by side) without a walk: every
    // task's arguments pass here when it runs
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === null || typeof v !== "object") continue;
      if (!(v instanceof TaskRef)) return rewriteData(value, replaceRef(lookup), rootName);
      out ??= value.slice();
      out[i] = lookup(v.key);
    }
    return out ?? value;
  }
  return rewriteData(value, replaceRef(lookup), rootName);
}

/** The {@link rewriteData} callback that puts `lookup(key)` in place of each reference. */
function replaceRef(lookup: (key: Key) => unknown): (value: object) => unknown {
  return (v) => v instanceof TaskRef ? lookup(v.key) : DESCEND;
}

/**
 * Key of one chunk of a collection: `name[i]`, `name[i,j]`. `name` is itself `prefix-hash`.
 */
export function chunkKey(name: string, index: number | readonly number[]): Key {
  return `${name}[${typeof index === "number" ? index : index.join(",")}]`;
}

/**
 * The prefix of a key (`inc-3f2a…` → `inc`, `sum-ab12[0,3]` → `sum`), used to group tasks in
 * statistics and displays.
 */
export function keyPrefix(key: Key): string {
  const bracket = key.indexOf("[");
  const name = bracket >= 0 ? key.slice(0, bracket) : key;
  const dash = name.lastIndexOf("-");
  return dash > 0 ? name.slice(0, dash) : name;
}

/**
 * The name a fused task is shown and grouped by: its parts' prefixes in the order they run,
 * joined by `+`, a run of one prefix counted (`[inc-1, inc-2, add-3]` → `inc×2+add`), as Dask
 * names a fused task after its parts. The fused task's own key stays the chain's last key.
 */
export function fusedPrefix(parts: readonly Key[]): string {
  let name = "";
  let previous = "";
  let run = 0;
  const close = () => {
    if (run === 0) return;
    name += (name === "" ? "" : "+") + previous + (run > 1 ? `×${run}` : "");
  };
  for (const part of parts) {
    const prefix = keyPrefix(part);
    if (prefix === previous) {
      run++;
      continue;
    }
    close();
    previous = prefix;
    run = 1;
  }
  close();
  return name;
}
