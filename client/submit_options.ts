/**
 * The options of `submit`, `map`, `compute`, `persist` and `scatter`: every keyword Dask's
 * `Client.submit` takes, typed, and how they become the task options the scheduler reads.
 *
 * @module
 */

import type { TaskOptions } from "../core/task.ts";
import { checkOptionNames, optionNames } from "../core/option_names.ts";
import { timeoutMsOf } from "../core/timeout.ts";

/**
 * Where and how submitted tasks run, as Dask's `submit` keywords. Pass them with
 * `client.with(options)`.
 */
export interface SubmitOptions {
  /**
   * For `submit`: the task's key. For `map`: a prefix for the keys (`${key}-${token}`), or one
   * key per item. Default: the function's name and a hash of the function and arguments.
   */
  key?: string | readonly string[];
  /**
   * True when the function always gives the same result for the same arguments: equal calls
   * share one key and run once. Default true, as in Dask; use false for functions with side
   * effects or randomness.
   */
  pure?: boolean;
  /** Higher runs first, among tasks ready at the same time. Default 0. */
  priority?: number;
  /** Worker names or addresses the tasks may run on. */
  workers?: string | readonly string[];
  /** With `workers`: the restriction is a preference, not a rule. */
  allowOtherWorkers?: boolean;
  /** Abstract resources each task holds while it runs, e.g. `{ GPU: 1 }`. */
  resources?: Record<string, number>;
  /** How many times a failing task reruns before its error is final. Default 0. */
  retries?: number;
  /** Seconds to wait before each rerun of a failing task. Default 0. */
  retryDelay?: number;
  /**
   * How long one run of a task may take, in milliseconds or as a duration like `"30s"`. Past
   * it the worker stops the run (terminating and replacing its thread) and the task errs with
   * a `TimeoutError` naming it (rerun first when `retries` allow).
   */
  timeout?: number | string;
  /**
   * For `compute` and `persist`: optimize the graph first (cull, inline cheap literals, fuse
   * linear chains), as Dask's `optimize_graph`. Default true.
   */
  optimizeGraph?: boolean;
  /**
   * For `submit` of a class: build an actor — `new Class(...args)` on one worker, which stays
   * there — and give a Future of its handle (see `client.actor`, the typed form). An actor is
   * never pure: each submit builds a new one.
   */
  actor?: boolean;
}

const OPTION_NAMES = optionNames<SubmitOptions>({
  key: true,
  pure: true,
  priority: true,
  workers: true,
  allowOtherWorkers: true,
  resources: true,
  retries: true,
  retryDelay: true,
  timeout: true,
  optimizeGraph: true,
  actor: true,
});

/**
 * True for what looks like submit options passed as the last argument (the Dask habit
 * `submit(fn, x, retries=2)`): a plain object whose keys, at least one, are all option names.
 */
export function looksLikeSubmitOptions(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const names = Object.keys(value);
  return names.length > 0 && names.every((n) => (OPTION_NAMES as string[]).includes(n));
}

/**
 * Checks options given to `client.with(...)`, so a misspelt option fails where it is written.
 *
 * @throws {TypeError} naming the option and what it should be.
 */
export function checkSubmitOptions(options: SubmitOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`client.with() takes an object of options, got ${String(options)}.`);
  }
  checkOptionNames(options, OPTION_NAMES, "client.with()");
  const { key, pure, priority, workers, allowOtherWorkers, resources, retries, retryDelay } =
    options;
  const fail = (name: string, what: string, value: unknown) => {
    throw new TypeError(`Option '${name}' must be ${what}, got ${JSON.stringify(value)}.`);
  };
  if (key !== undefined && typeof key !== "string" && !isStringArray(key)) {
    fail("key", "a string or an array of strings", key);
  }
  if (pure !== undefined && typeof pure !== "boolean") fail("pure", "a boolean", pure);
  if (priority !== undefined && !Number.isFinite(priority)) fail("priority", "a number", priority);
  if (workers !== undefined && typeof workers !== "string" && !isStringArray(workers)) {
    fail("workers", "a worker name or address, or an array of them", workers);
  }
  if (allowOtherWorkers !== undefined && typeof allowOtherWorkers !== "boolean") {
    fail("allowOtherWorkers", "a boolean", allowOtherWorkers);
  }
  if (resources !== undefined) {
    const valid = typeof resources === "object" && resources !== null &&
      Object.values(resources).every((n) => typeof n === "number" && n >= 0);
    if (!valid) fail("resources", "an object of non-negative numbers, e.g. { GPU: 1 }", resources);
  }
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    fail("retries", "a non-negative integer", retries);
  }
  if (retryDelay !== undefined && !(Number.isFinite(retryDelay) && retryDelay >= 0)) {
    fail("retryDelay", "a non-negative number of seconds", retryDelay);
  }
  if (options.timeout !== undefined) timeoutMsOf(options.timeout);
  if (options.actor !== undefined && typeof options.actor !== "boolean") {
    fail("actor", "a boolean", options.actor);
  }
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/** The {@link TaskOptions} that submit options stand for, or undefined when none is set. */
export function taskOptionsOf(options: SubmitOptions): TaskOptions | undefined {
  // as in Dask: letting a task run elsewhere only means something next to where it should run
  if (options.allowOtherWorkers === true && options.workers === undefined) {
    throw new TypeError(
      "Option 'allowOtherWorkers' only applies together with 'workers' (the workers the task " +
        "prefers); give 'workers' too, or leave 'allowOtherWorkers' out.",
    );
  }
  const out: TaskOptions = {};
  let any = false;
  if (options.priority !== undefined) {
    out.priority = options.priority;
    any = true;
  }
  if (options.retries !== undefined) {
    out.retries = options.retries;
    any = true;
  }
  if (options.retryDelay !== undefined) {
    out.retryDelay = options.retryDelay;
    any = true;
  }
  if (options.timeout !== undefined) {
    out.timeoutMs = timeoutMsOf(options.timeout);
    any = true;
  }
  if (options.workers !== undefined) {
    out.workers = typeof options.workers === "string" ? [options.workers] : [...options.workers];
    any = true;
  }
  if (options.allowOtherWorkers !== undefined) {
    out.allowOtherWorkers = options.allowOtherWorkers;
    any = true;
  }
  if (options.resources !== undefined) {
    out.resources = { ...options.resources };
    any = true;
  }
  if (options.actor === true) {
    out.actor = true;
    any = true;
  }
  return any ? out : undefined;
}
