/**
 * `progress()`: per-prefix progress bars for local and distributed work — bars redrawn in place
 * when standard error is a terminal, a plain line every few seconds when it is not (CI logs,
 * pipes).
 *
 * - Futures (anything with a `key` and `addDoneCallback`, like the Client's `Future`) and
 *   collections persisted on a cluster (their results are Futures) are watched until done.
 * - Lazy collections are persisted here — computed on the scheduler the options name (default:
 *   as `compute` chooses) with one bar per task prefix of their whole graph — and returned
 *   persisted, so `await y.compute()` afterwards is immediate.
 *
 * @example
 * ```ts ignore
 * const futures = client.map(inc, range(1000));
 * await progress(futures);                       // distributed: waits, drawing bars
 * const [total] = await progress(bigSum);        // local: computes, drawing bars
 * console.log(await total.compute());
 * ```
 *
 * @module
 */

import type { Graph } from "../core/graph.ts";
import { type Key, keyPrefix } from "../core/task.ts";
import { collectGraph, type Collection, collectionSymbol, isCollection } from "./collection.ts";
import { type ComputeOptions, resolveExecutor } from "./compute.ts";
import { formatSeconds } from "./progress_bar.ts";
import { followTasks } from "./task_progress.ts";

/** Something that ends: the Client's `Future`, or anything shaped like it. */
export interface Trackable {
  /** The task's key; its prefix names the bar it counts in. */
  readonly key: Key;
  /** Calls back once it ended (at once if it has). */
  addDoneCallback(callback: () => void): void;
  /** `pending`, `finished`, `error`, `cancelled` or `lost`, when known. */
  readonly status?: string;
}

/** How {@link progress} draws. */
export interface ProgressOptions {
  /** Redraw bars in place (default: when standard error is a terminal). */
  terminal?: boolean;
  /** Least time between draws, ms (default 100 on a terminal, 2000 otherwise). */
  intervalMs?: number;
  /** Where the text goes (default: standard error). */
  write?: (text: string) => void;
  /** Where lazy collections run (as in `compute`). */
  scheduler?: ComputeOptions["scheduler"];
  /** Threads for the `threads` scheduler. */
  numWorkers?: number;
}

const BAR_WIDTH = 30;
/** Prefixes drawn one per line on a terminal; the rest are summed on one more line. */
const MAX_PREFIX_LINES = 12;

const encoder = new TextEncoder();
const toStderr = (text: string) => Deno.stderr.writeSync(encoder.encode(text));

interface PrefixCount {
  total: number;
  done: number;
  erred: number;
}

/** Draws per-prefix progress of a set of tasks; fed with what each task did. */
export class ProgressDisplay {
  readonly #prefixes = new Map<string, PrefixCount>();
  readonly #terminal: boolean;
  readonly #interval: number;
  readonly #write: (text: string) => void;
  readonly #start = performance.now();
  #total = 0;
  #done = 0;
  #erred = 0;
  #lastDraw = -Infinity;
  #linesDrawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #finished = false;

  constructor(options: ProgressOptions = {}) {
    this.#terminal = options.terminal ?? Deno.stderr.isTerminal();
    this.#interval = options.intervalMs ?? (this.#terminal ? 100 : 2000);
    this.#write = options.write ?? toStderr;
    // Time passes even when no task ends: keep the elapsed time (and plain lines) coming — once
    // there is something to count (a graph being submitted would read 100% of 0 tasks).
    this.#timer = setInterval(() => {
      if (this.#total > 0) this.draw();
    }, this.#interval);
    Deno.unrefTimer(this.#timer);
  }

  /** Counts these tasks in (once each). */
  expect(keys: Iterable<Key>): void {
    for (const key of keys) {
      const prefix = keyPrefix(key);
      let count = this.#prefixes.get(prefix);
      if (count === undefined) {
        count = { total: 0, done: 0, erred: 0 };
        this.#prefixes.set(prefix, count);
      }
      count.total++;
      this.#total++;
    }
  }

  /** One task ended (`erred`: with an error, or cancelled, or lost). */
  taskDone(key: Key, erred = false): void {
    const count = this.#prefixes.get(keyPrefix(key));
    if (count === undefined) return;
    count.done++;
    this.#done++;
    if (erred) {
      count.erred++;
      this.#erred++;
    }
    if (performance.now() - this.#lastDraw >= this.#interval) this.draw();
  }

  /** Draws the last picture and stops the timer. */
  finish(): void {
    if (this.#finished) return;
    this.draw();
    this.#finished = true;
    clearInterval(this.#timer);
  }

  /** Draws now. */
  draw(): void {
    if (this.#finished) return;
    this.#lastDraw = performance.now();
    if (this.#terminal) this.#drawBars();
    else this.#write(this.summaryLine() + "\n");
  }

  /** One line: overall percentage and counts, per-prefix counts, errors, elapsed time. */
  summaryLine(): string {
    const percent = this.#total === 0 ? 100 : Math.floor((100 * this.#done) / this.#total);
    const prefixes = [...this.#prefixes].map(([name, c]) => `${name} ${c.done}/${c.total}`);
    return `[${String(percent).padStart(3)}%] ${this.#done}/${this.#total} tasks | ` +
      prefixes.join(", ") + (this.#erred > 0 ? ` | ${this.#erred} erred` : "") +
      ` | ${formatSeconds(this.#elapsed())}`;
  }

  /** The bar lines a terminal shows. */
  barLines(): string[] {
    const entries = [...this.#prefixes];
    const shown = entries.length > MAX_PREFIX_LINES
      ? entries.slice(0, MAX_PREFIX_LINES - 1)
      : entries;
    const width = Math.max(5, ...shown.map(([name]) => Math.min(name.length, 24)));
    const lines = shown.map(([name, c]) => barLine(name.slice(0, 24).padEnd(width), c));
    if (shown.length < entries.length) {
      const rest = { total: 0, done: 0, erred: 0 };
      for (const [, c] of entries.slice(shown.length)) {
        rest.total += c.total;
        rest.done += c.done;
        rest.erred += c.erred;
      }
      lines.push(barLine(`+${entries.length - shown.length} more`.padEnd(width), rest));
    }
    lines.push(
      `${this.#done}/${this.#total} tasks` + (this.#erred > 0 ? `, ${this.#erred} erred` : "") +
        ` | ${formatSeconds(this.#elapsed())}`,
    );
    return lines;
  }

  #drawBars(): void {
    const lines = this.barLines();
    // Back to the top of the previous picture, then overwrite line by line.
    const up = this.#linesDrawn > 0 ? `\x1b[${this.#linesDrawn}F` : "";
    this.#write(up + lines.map((line) => `\x1b[2K${line}\n`).join(""));
    this.#linesDrawn = lines.length;
  }

  #elapsed(): number {
    return (performance.now() - this.#start) / 1000;
  }
}

function barLine(label: string, c: PrefixCount): string {
  const fraction = c.total === 0 ? 1 : c.done / c.total;
  const filled = Math.round(fraction * BAR_WIDTH);
  return `${label} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ` +
    `${String(Math.floor(fraction * 100)).padStart(3)}% ${c.done}/${c.total}` +
    (c.erred > 0 ? ` (${c.erred} erred)` : "");
}

function isTrackable(value: unknown): value is Trackable {
  return typeof value === "object" && value !== null &&
    typeof (value as Trackable).key === "string" &&
    typeof (value as Trackable).addDoneCallback === "function";
}

/** The Futures a collection persisted on a cluster stands for (none for a lazy one). */
function futuresOf(collection: Collection): Trackable[] {
  const graph = collectGraph([collection[collectionSymbol].layer()]);
  const found: Trackable[] = [];
  for (const task of graph.values()) {
    if (task.fn === null && isTrackable(task.args[0])) found.push(task.args[0]);
  }
  return found;
}

const FAILED = new Set(["error", "cancelled", "lost"]);

/** Resolves once every item ended, calling `onDone` for each as it does. */
function allDone(items: Trackable[], onDone: (item: Trackable) => void = () => {}): Promise<void> {
  return new Promise((resolve) => {
    let left = items.length;
    if (left === 0) resolve();
    for (const item of items) {
      item.addDoneCallback(() => {
        onDone(item);
        if (--left === 0) resolve();
      });
    }
  });
}

/** Waits for `items` while `display` counts them. */
function watch(items: Trackable[], display: ProgressDisplay): Promise<void> {
  display.expect(items.map((item) => item.key));
  return allDone(items, (item) => display.taskDone(item.key, FAILED.has(item.status ?? "")));
}

/** Runs a lazy collection's graph with a bar per prefix of all its tasks; returns it persisted. */
async function persistWithProgress<C extends Collection>(
  collection: C,
  display: ProgressDisplay,
  options: ProgressOptions,
): Promise<C> {
  const spec = collection[collectionSymbol];
  const graph: Graph = collectGraph([spec.layer()]);
  const outputs = [...new Set(spec.keys())];
  const executor = resolveExecutor(options);
  if (executor.taskProgress === undefined) {
    // a local executor: every task reports back to this process
    display.expect(graph.keys());
    const layer = await executor.persistGraph(graph, outputs, {
      numWorkers: options.numWorkers,
      onTaskDone: (key) => {
        if (key !== null) display.taskDone(key);
      },
    });
    return spec.rebuild(layer) as C;
  }
  const layer = await executor.persistGraph(graph, outputs, { scheduler: executor });
  const persisted = spec.rebuild(layer) as C;
  const futures = futuresOf(persisted);
  // Only the outputs report back to this process: the scheduler is asked about the rest.
  display.expect(graph.keys());
  const outputsDone = allDone(futures);
  await followTasks(
    executor.taskProgress.bind(executor),
    graph.keys(),
    (key, erred) => display.taskDone(key, erred),
    outputsDone,
  );
  await outputsDone;
  return persisted;
}

/**
 * Shows progress of futures and collections until all are done. Returns the items in order:
 * futures and persisted collections as they are, lazy collections persisted (computed).
 * Failures do not throw here: they are counted; awaiting a failed future or computing a failed
 * collection raises its error.
 */
export async function progress<T extends Trackable | Collection>(
  items: T | readonly T[],
  options: ProgressOptions = {},
): Promise<T[]> {
  const list = (Array.isArray(items) ? items : [items]) as T[];
  list.forEach((item, i) => {
    if (!isCollection(item) && !isTrackable(item)) {
      throw new TypeError(
        `progress() takes futures and collections; item ${i} is ${typeof item}. ` +
          `Pass the Futures from submit/map, or lazy/persisted collections.`,
      );
    }
  });
  const display = new ProgressDisplay(options);
  try {
    const out: T[] = list.slice();
    const waits: Promise<unknown>[] = [];
    const futures: Trackable[] = [];
    list.forEach((item, i) => {
      const held = isCollection(item) ? futuresOf(item) : [item as Trackable];
      if (held.length > 0) futures.push(...held);
      else {
        const persisting = persistWithProgress(item as Collection, display, options);
        waits.push(persisting.then((persisted) => out[i] = persisted as T));
      }
    });
    waits.push(watch(futures, display));
    await Promise.all(waits);
    return out;
  } finally {
    display.finish();
  }
}
