/**
 * The task functions of the dataframe collection. Threads import this module by URL
 * (taskModule), so everything a dataframe task runs is reached from here.
 *
 * A partition's task is one call of {@link runPartition}: its source (a CSV block, records, or
 * another task's table), then every fused step (filters, new columns, projections, user
 * functions), then a terminal that decides what the task returns — the partition itself, or the
 * first step of whatever consumes it (a reduction's partial, a groupby's chunk, a shuffle's split,
 * a write). One task per partition however long the chain of element-wise steps.
 *
 * @module
 */

import { bindFunctions, taskModule } from "../../core/function_tags.ts";
import type { TaskFunction } from "../../core/task.ts";
import { arrayBlockFrame, type ArraySource } from "./array_block.ts";
import { type CsvBlock, readCsvBlock } from "./csv_block.ts";
import {
  groupChunk,
  groupCombine,
  groupFinish,
  type GroupSpec,
  hashSplit,
} from "./groupby_kernels.ts";
import { joinPieces, type JoinSpec } from "./join_kernels.ts";
import { rangeSplit, sortFrame } from "./sort_kernels.ts";
import { dtypeOf } from "./meta.ts";
import { handled, releaseNativeMemory } from "./native_garbage.ts";
import { readParquetFile } from "./parquet_file.ts";
import { asFrame, concatFrames, exprFromJson, type ExprJson, type Frame, pl } from "./polars.ts";
import {
  finishColumn,
  mergePartials,
  type Partial,
  partialOf,
  type ReduceSpec,
  type Stat,
} from "./reduction_kernels.ts";

/** Where a partition's rows come from. */
export type SourceSpec =
  | { csv: CsvBlock }
  | { parquet: ParquetSource }
  | { records: Record<string, unknown>[]; columns: string[]; dtypes?: Record<string, string> }
  | ArraySource
  | { table: unknown };

/** One Parquet file: the columns to read and a row filter Polars pushes into the scan. */
export interface ParquetSource {
  path: string;
  columns: string[];
  filter: ExprJson | null;
}

/** One fused element-wise step. */
export type Step =
  | { op: "filter"; predicate: ExprJson }
  | { op: "withColumns"; exprs: ExprJson[] }
  | { op: "select"; exprs: ExprJson[] }
  | { op: "dropNulls"; subset: string[] | null }
  | { op: "head"; n: number }
  | { op: "tail"; n: number }
  | { op: "map"; fn: number; args: unknown[] }
  | { op: "sort"; by: string[]; descending: boolean };

/** What a partition's task returns. */
export type Terminal =
  | { kind: "frame" }
  | { kind: "length" }
  | { kind: "reduce"; spec: ReduceSpec }
  | { kind: "groupChunk"; spec: GroupSpec; splitOut: number }
  | { kind: "hashSplit"; keys: ExprJson[]; n: number; sub?: number }
  | { kind: "writeCsv"; path: string; sep: string }
  | { kind: "rangeSplit"; column: string; boundaries: unknown[]; descending: boolean }
  | { kind: "slices"; n: number }
  | { kind: "records" }
  | { kind: "writeParquet"; path: string }
  | { kind: "applyGroups"; keys: string[]; fn: number };

async function sourceFrame(source: SourceSpec): Promise<Frame> {
  if ("csv" in source) return await readCsvBlock(source.csv);
  if ("parquet" in source) return readParquetFile(source.parquet);
  if ("arrayBlock" in source) return arrayBlockFrame(source);
  if ("records" in source) {
    const { records, columns, dtypes } = source;
    if (!Array.isArray(records)) {
      throw new TypeError(
        `toDataframe: a bag partition must be an array of objects; got ${typeof records}.`,
      );
    }
    const types = columns.map((c) =>
      dtypes?.[c] === undefined ? undefined : dtypeOf(dtypes[c], "meta")
    );
    if (records.length === 0) {
      return pl.DataFrame(columns.map((c, i) => pl.Series(c, [], types[i])));
    }
    const rows = records.map((r) => Object.fromEntries(columns.map((c) => [c, r?.[c] ?? null])));
    const schema = dtypes === undefined
      ? undefined
      : Object.fromEntries(columns.map((c, i) => [c, types[i]!]));
    return pl.DataFrame(
      rows,
      schema === undefined ? { inferSchemaLength: rows.length } : { schema },
    );
  }
  return asFrame(source.table);
}

function applyStep(frame: Frame, step: Step, fns: readonly TaskFunction[]): Frame {
  switch (step.op) {
    case "filter":
      return frame.filter(exprFromJson(step.predicate));
    case "withColumns":
      return frame.withColumns(...step.exprs.map(exprFromJson));
    case "select":
      return frame.select(...step.exprs.map(exprFromJson));
    case "dropNulls":
      return step.subset === null ? frame.dropNulls() : frame.dropNulls(step.subset);
    case "head":
      return frame.head(step.n);
    case "tail":
      return frame.tail(step.n);
    case "map":
      return asFrame(fns[step.fn](frame, ...step.args));
    case "sort":
      return frame.sort(step.by, step.descending, true, true);
  }
}

/** Element-wise steps run through Polars' lazy engine together, so it can plan them as one. */
function applySteps(frame: Frame, steps: readonly Step[], fns: readonly TaskFunction[]): Frame {
  let lazy = frame.lazy();
  let pending = false;
  for (const step of steps) {
    if (step.op === "filter") lazy = lazy.filter(exprFromJson(step.predicate));
    else if (step.op === "withColumns") lazy = lazy.withColumns(...step.exprs.map(exprFromJson));
    else if (step.op === "select") lazy = lazy.select(...step.exprs.map(exprFromJson));
    else {
      frame = applyStep(pending ? lazy.collectSync() : frame, step, fns);
      lazy = frame.lazy();
      pending = false;
      continue;
    }
    pending = true;
  }
  return pending ? lazy.collectSync() : frame;
}

async function finish(frame: Frame, terminal: Terminal): Promise<unknown> {
  switch (terminal.kind) {
    case "frame":
      return frame;
    case "length":
      return frame.height;
    case "reduce":
      return partialOf(frame, terminal.spec);
    case "groupChunk": {
      const chunk = groupChunk(frame, terminal.spec);
      return terminal.splitOut > 1
        ? hashSplit(chunk, terminal.spec.keyNames.map((k) => pl.col(k)), terminal.splitOut)
        : chunk;
    }
    case "hashSplit": {
      // with `sub`, output j's piece is a list of `sub` sub-pieces (one hash split into n × sub)
      const { n, sub = 1 } = terminal;
      const pieces = hashSplit(frame, terminal.keys.map(exprFromJson), n * sub);
      if (sub === 1) return pieces;
      return Array.from(
        { length: n },
        (_, j) => Array.from({ length: sub }, (_, s) => pieces[s * n + j]),
      );
    }
    case "rangeSplit":
      return rangeSplit(frame, terminal.column, terminal.boundaries, terminal.descending);
    case "slices":
      return Array.from({ length: terminal.n }, (_, j) => {
        const start = Math.floor((j * frame.height) / terminal.n);
        const stop = Math.floor(((j + 1) * frame.height) / terminal.n);
        return frame.slice(start, stop - start);
      });
    case "records":
      return frame.toRecords();
    case "writeParquet": {
      await Deno.mkdir(dirname(terminal.path), { recursive: true });
      frame.writeParquet(terminal.path, { compression: "snappy" });
      return terminal.path;
    }
    case "applyGroups":
      throw new Error("applyGroups runs in groupApply, not as a partition terminal.");
    case "writeCsv": {
      await Deno.mkdir(dirname(terminal.path), { recursive: true });
      frame.writeCSV(terminal.path, { separator: terminal.sep });
      return terminal.path;
    }
  }
}

function dirname(path: string): string {
  const at = path.lastIndexOf("/");
  return at <= 0 ? "/" : path.slice(0, at);
}

/** `runPartition` for tasks whose steps call user functions (`mapPartitions`). */
export function partitionFactory(...fns: TaskFunction[]) {
  return async (source: SourceSpec, steps: readonly Step[], terminal: Terminal) => {
    try {
      const frame = await sourceFrame(source);
      handled([frame]);
      return await finish(applySteps(frame, steps, fns), terminal);
    } finally {
      await releaseNativeMemory();
    }
  };
}

/** One partition's task: source, fused steps, terminal. */
export const runPartition = partitionFactory();

/** Binds the user functions a partition's steps call. */
export function boundPartition(fns: readonly TaskFunction[]): TaskFunction {
  return fns.length === 0 ? runPartition : bindFunctions(partitionFactory, ...fns);
}

/** Merges reduction partials (an inner node of the tree). */
export function mergeReduce(partials: Partial[]): Partial {
  return mergePartials(partials);
}

/** What the root of a reduction answers. */
export interface ReduceAnswer {
  /** `scalar`: one column's value; `row`: a one-row frame; `describe`: pandas' summary. */
  shape: "scalar" | "row" | "describe";
  stat: Stat | "length";
  ddof?: number;
  q?: number;
  /** The square root of the answer (`std` is `var` with this). */
  sqrt?: boolean;
  /** Several quantiles of one column at once (a sort's boundaries). */
  qs?: number[];
}

const DESCRIBE_ROWS: [string, Stat, number?][] = [
  ["count", "count"],
  ["mean", "mean"],
  ["std", "var"],
  ["min", "min"],
  ["25%", "quantile", 0.25],
  ["50%", "quantile", 0.5],
  ["75%", "quantile", 0.75],
  ["max", "max"],
];

/** The root of a reduction tree: merges the last partials and computes the answer. */
export function finishReduce(answer: ReduceAnswer, partials: Partial[]): unknown {
  const merged = mergePartials(partials);
  if (answer.stat === "length") return merged.rows;
  const names = Object.keys(merged.columns);
  const stat = answer.stat;
  const value = (name: string, s: Stat, q?: number): unknown => {
    const v = finishColumn(merged.columns[name], s, { ddof: answer.ddof, q: q ?? answer.q });
    const root = s === "var" && (answer.sqrt || answer.shape === "describe");
    return root && typeof v === "number" ? Math.sqrt(v) : v;
  };
  if (answer.qs !== undefined) {
    return {
      quantiles: answer.qs.map((q) => value(names[0], "quantile", q)),
      min: value(names[0], "min"),
      max: value(names[0], "max"),
    };
  }
  if (answer.shape === "scalar") return value(names[0], stat);
  if (answer.shape === "row") {
    return pl.DataFrame(names.map((name) => pl.Series(name, [value(name, stat)])));
  }
  return pl.DataFrame([
    pl.Series("statistic", DESCRIBE_ROWS.map(([label]) => label)),
    ...names.map((name) =>
      pl.Series(name, DESCRIBE_ROWS.map(([, s, q]) => Number(value(name, s, q))), pl.Float64)
    ),
  ]);
}

/** Combines groupby chunks; the root also finishes them. */
export async function combineGroups(
  spec: GroupSpec,
  isRoot: boolean,
  frames: unknown[],
): Promise<Frame> {
  try {
    const chunks = inputs(frames);
    const combined = groupCombine(chunks, spec);
    return isRoot ? groupFinish(combined, spec) : combined;
  } finally {
    await releaseNativeMemory();
  }
}

/** Task inputs as frames, counted as handled. */
function inputs(values: unknown[]): Frame[] {
  const frames = values.map(asFrame);
  handled(frames);
  return frames;
}

/** A join's inputs: each a partition, or a shuffle piece's list of sub-pieces. */
function subPieces(values: unknown[]): Frame[][] {
  return values.map((value) => inputs(Array.isArray(value) ? value : [value]));
}

/** A join of the left and right tables one output gathers. */
export async function joinTables(
  spec: JoinSpec,
  lefts: unknown[],
  rights: unknown[],
): Promise<Frame> {
  try {
    return joinPieces(spec, subPieces(lefts), subPieces(rights));
  } finally {
    await releaseNativeMemory();
  }
}

/** One output of a sort: its pieces concatenated and sorted. */
export async function sortTables(
  by: string[],
  descending: boolean,
  pieces: unknown[],
): Promise<Frame> {
  try {
    return sortFrame(concatFrames(inputs(pieces)), by, descending);
  } finally {
    await releaseNativeMemory();
  }
}

/** `groupby().apply(fn)` on one output of a key shuffle: `fn` on every group, concatenated. */
export function groupApplyFactory(fn: TaskFunction) {
  return async (keys: string[], pieces: unknown[]): Promise<Frame> => {
    try {
      const frame = concatFrames(inputs(pieces));
      if (frame.height === 0) return asFrame(fn(frame));
      const groups = frame.partitionBy(keys, true, true);
      return concatFrames(groups.map((group) => asFrame(fn(group))));
    } finally {
      await releaseNativeMemory();
    }
  };
}

/** Piece `j` of a split partition (the shuffle's per-(input, output) task). */
export function pickPiece(pieces: unknown[], j: number): unknown {
  return pieces[j];
}

/** Partitions joined end to end. */
export function concatTables(frames: unknown[]): Frame {
  return concatFrames(frames.map(asFrame));
}

taskModule(import.meta.url, {
  partitionFactory,
  runPartition,
  mergeReduce,
  finishReduce,
  combineGroups,
  pickPiece,
  concatTables,
  joinTables,
  sortTables,
  groupApplyFactory,
});
