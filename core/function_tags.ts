/**
 * How task functions are declared to travel as code: {@link taskModule} (module references) and
 * {@link bindFunctions} (a factory applied to functions). Kept apart from the function codec
 * (function_codec.ts, which parses source with acorn) so that modules of task functions — loaded
 * in every task thread — do not load the parser: a thread that only runs tasks never parses.
 *
 * @module
 */
import type { TaskFunction } from "./task.ts";

interface ModuleTag {
  url: string;
  exportName: string;
}

/** Functions declared by {@link taskModule}, with where they can be imported from. */
export const moduleTags = new WeakMap<TaskFunction, ModuleTag>();

/**
 * Declares the task functions of a module so they travel as module references: pass the
 * module's own `import.meta.url` and an object of functions, and export each function under its
 * property name (or export the returned object):
 *
 * ```ts
 * export const { parseLine, score } = taskModule(import.meta.url, { parseLine, score });
 * ```
 *
 * Receiving threads `await import(url)` and take the export. Such functions may use anything
 * their module imports. `file:` URLs serve one machine or a shared file system; `https:` URLs
 * serve any cluster. A function declared twice keeps its first declaration.
 */
export function taskModule<T extends Record<string, TaskFunction>>(
  importMetaUrl: string,
  fns: T,
): T {
  try {
    new URL(importMetaUrl);
  } catch {
    throw new TypeError(
      `taskModule needs the module's own import.meta.url as its first argument, got ` +
        `${JSON.stringify(importMetaUrl)}.`,
    );
  }
  for (const [exportName, fn] of Object.entries(fns)) {
    if (typeof fn !== "function") {
      throw new TypeError(
        `taskModule(${importMetaUrl}): '${exportName}' is ${typeof fn}, not a function.`,
      );
    }
    if (!moduleTags.has(fn)) moduleTags.set(fn, { url: importMetaUrl, exportName });
  }
  return fns;
}

interface BoundTag {
  factory: TaskFunction;
  fns: TaskFunction[];
}

/** Functions made by {@link bindFunctions}, with the parts that rebuild them. */
export const boundTags = new WeakMap<TaskFunction, BoundTag>();

/**
 * Makes a task function out of other functions: returns `factory(...fns)`, and remembers how
 * to rebuild it on another thread — `factory` and each of `fns` travel as code (source or
 * module reference) and the receiving thread calls `factory(...fns)` once and caches the result.
 *
 * This is how user functions reach tasks of collections (task arguments never hold functions):
 *
 * ```ts
 * const mapPartition = (f) => (partition) => partition.map(f);
 * const task = bindFunctions(mapPartition, (x: number) => x + 1);
 * task([1, 2]); // [2, 3]
 * ```
 */
export function bindFunctions<F extends TaskFunction>(
  factory: (...fns: TaskFunction[]) => F,
  ...fns: TaskFunction[]
): F {
  const bound = factory(...fns);
  if (typeof bound !== "function") {
    throw new TypeError(
      `bindFunctions: the factory '${functionName(factory)}' must return a function.`,
    );
  }
  // a factory may hand back one of its inputs; give each binding its own identity
  const fn = boundTags.has(bound) || fns.includes(bound) || bound === factory
    ? (((...args: unknown[]) => bound(...args)) as F)
    : bound;
  boundTags.set(fn, { factory, fns });
  return fn;
}

/** A readable name for a function: its own name, or its taskModule export name. */
export function functionName(fn: TaskFunction): string {
  return fn.name || moduleTags.get(fn)?.exportName || "anonymous";
}
