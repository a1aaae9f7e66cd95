/**
 * A dataframe's plan: each partition's source and the element-wise steps applied to it, kept
 * unexpanded so that `readCsv → filter → assign → select → groupby` becomes one task per
 * partition (partition_tasks.ts). Tasks are made only when something needs them: the frame's
 * own partitions (compute, persist, another frame's shuffle) or the first level of a reduction,
 * groupby or write, whose first step then runs inside the same task.
 *
 * @module
 */

import {
  chunkKey,
  type Key,
  makeTask,
  type Task,
  type TaskFunction,
  TaskRef,
} from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { boundPartition, type SourceSpec, type Step, type Terminal } from "./partition_tasks.ts";
import { exprFromJson, type ExprJson, exprToJson } from "./polars.ts";

/** Where partitions come from and what is applied to them. */
export interface Plan {
  /** One source per partition. */
  readonly sources: readonly SourceSpec[];
  /** Layers the sources read (other tasks' tables). */
  readonly layers: readonly Layer[];
  /** Fused element-wise steps. */
  readonly steps: readonly Step[];
  /** User functions the steps call, by index (`mapPartitions`). */
  readonly fns: readonly TaskFunction[];
}

/** The same plan with one more step (and the functions it calls). */
export function withStep(plan: Plan, step: Step, fns: readonly TaskFunction[] = []): Plan {
  return { ...plan, steps: [...plan.steps, step], fns: [...plan.fns, ...fns] };
}

/** One task per listed partition, named `name[i]`, ending in `terminal(i)`. */
export function partitionTasks(
  plan: Plan,
  name: string,
  terminal: (i: number) => Terminal,
  partitions: Iterable<number> = plan.sources.keys(),
): Task[] {
  const fn = boundPartition(plan.fns);
  const tasks: Task[] = [];
  let needed: Set<string> | "all" | undefined;
  const { predicate, rest } = readFilters(plan.steps);
  for (const i of partitions) {
    const end = terminal(i);
    needed ??= neededColumns(plan.steps, end);
    const source = projected(plan.sources[i], needed);
    const filtered = predicate === null ? undefined : withFilter(source, predicate);
    tasks.push(
      filtered === undefined
        ? makeTask(chunkKey(name, i), fn, [source, plan.steps, end])
        : makeTask(chunkKey(name, i), fn, [filtered, rest, end]),
    );
  }
  return tasks;
}

/** True for a `select` that only keeps columns by name (a filter commutes with it). */
function keepsColumns(step: Step): boolean {
  return step.op === "select" &&
    step.exprs.every((e) => /^\{"Column":"(?:[^"\\]|\\.)*"\}$/.test(e));
}

/**
 * The row filters a read can evaluate itself (as dask-expr pushes predicates into its readers):
 * the filters before any step that changes rows' values or order, with plain column selections in
 * between (a filter commutes with them), joined into one predicate; and the steps left over.
 */
function readFilters(steps: readonly Step[]): { predicate: ExprJson | null; rest: Step[] } {
  const predicates: ExprJson[] = [];
  const rest: Step[] = [];
  let k = 0;
  for (; k < steps.length; k++) {
    const step = steps[k];
    if (step.op === "filter") predicates.push(step.predicate);
    else if (keepsColumns(step)) rest.push(step);
    else break;
  }
  if (predicates.length === 0) return { predicate: null, rest: [...steps] };
  return { predicate: conjunction(predicates), rest: [...rest, ...steps.slice(k)] };
}

function conjunction(predicates: readonly ExprJson[]): ExprJson {
  if (predicates.length === 1) return predicates[0];
  return exprToJson(predicates.map(exprFromJson).reduce((a, b) => a.and(b)));
}

/** The source with `predicate` evaluated inside its read, or undefined when it cannot be. */
function withFilter(source: SourceSpec, predicate: ExprJson): SourceSpec | undefined {
  if ("parquet" in source) {
    const own = source.parquet.filter;
    const filter = own === null ? predicate : conjunction([own, predicate]);
    return { parquet: { ...source.parquet, filter } };
  }
  if ("csv" in source) {
    const own = source.csv.filter ?? null;
    const filter = own === null ? predicate : conjunction([own, predicate]);
    return { csv: { ...source.csv, filter } };
  }
  return undefined;
}

/** Column names an expression reads, or "all" when it reads columns it does not name. */
function columnRefs(json: string): Set<string> | "all" {
  if (/"(Wildcard|Nth|Columns|DtypeColumn|Exclude|Selector)"/.test(json)) return "all";
  const out = new Set<string>();
  for (const match of json.matchAll(/"Column":"((?:[^"\\]|\\.)*)"/g)) {
    out.add(JSON.parse(`"${match[1]}"`));
  }
  return out;
}

function union(a: Set<string> | "all", b: Iterable<string> | "all"): Set<string> | "all" {
  if (a === "all" || b === "all") return "all";
  return new Set([...a, ...b]);
}

function refsOf(exprs: readonly string[]): Set<string> | "all" {
  let out: Set<string> | "all" = new Set();
  for (const e of exprs) out = union(out, columnRefs(e));
  return out;
}

/**
 * The source columns a task reads, from its terminal back through its steps: the projection
 * pushed into the read (a query over 3 of 23 CSV columns parses those 3).
 */
export function neededColumns(steps: readonly Step[], terminal: Terminal): Set<string> | "all" {
  let need: Set<string> | "all";
  switch (terminal.kind) {
    case "length":
      need = new Set();
      break;
    case "reduce":
      need = new Set(terminal.spec.columns);
      break;
    case "groupChunk":
      need = union(
        refsOf(terminal.spec.keys),
        terminal.spec.outputs.map((o) => o.column).filter((c) => c !== ""),
      );
      break;
    default:
      need = "all";
  }
  for (let k = steps.length - 1; k >= 0; k--) {
    const step = steps[k];
    switch (step.op) {
      case "select":
        need = refsOf(step.exprs);
        break;
      case "withColumns":
        need = union(need, refsOf(step.exprs));
        break;
      case "filter":
        need = union(need, columnRefs(step.predicate));
        break;
      case "dropNulls":
        need = union(need, step.subset ?? "all");
        break;
      case "sort":
        need = union(need, step.by);
        break;
      case "head":
      case "tail":
        break;
      case "map":
        need = "all";
        break;
    }
  }
  return need;
}

/** A CSV source narrowed to the columns the task needs (at least one, to count rows). */
function projected(source: SourceSpec, needed: Set<string> | "all"): SourceSpec {
  if (needed === "all") return source;
  if ("parquet" in source) {
    const columns = source.parquet.columns.filter((c) => needed.has(c));
    if (columns.length === source.parquet.columns.length) return source;
    const kept = columns.length > 0 ? columns : [source.parquet.columns[0]];
    return { parquet: { ...source.parquet, columns: kept } };
  }
  if (!("csv" in source)) return source;
  const columns = source.csv.columns.filter((c) => needed.has(c));
  if (columns.length === source.csv.columns.length) return source;
  return {
    csv: { ...source.csv, columns: columns.length > 0 ? columns : [source.csv.columns[0]] },
  };
}

/** True when the plan's partitions already exist as tables under other tasks' keys. */
export function storedKeys(plan: Plan): Key[] | undefined {
  if (plan.steps.length > 0) return undefined;
  const keys: Key[] = [];
  for (const source of plan.sources) {
    const table = "table" in source ? source.table : undefined;
    if (!(table instanceof TaskRef)) return undefined;
    keys.push(table.key);
  }
  return keys;
}
