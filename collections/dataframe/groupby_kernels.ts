/**
 * Grouped aggregations inside tasks, in three steps as Dask's `groupby().agg()`: each partition
 * aggregates its own rows into partial columns per group (`chunk`), partials are concatenated
 * and aggregated again (`combine`, any number of times: a tree), and the root computes the
 * answers from the combined partials (`finish`). Means and variances travel as sums, sums of
 * squares and counts. Rows whose key is null are left out, as pandas' `dropna=True`.
 *
 * @module
 */

import { concatFrames, type Expr, exprFromJson, type ExprJson, type Frame, pl } from "./polars.ts";

/** Aggregations a groupby computes. */
export type GroupAgg =
  | "count"
  | "sum"
  | "mean"
  | "min"
  | "max"
  | "first"
  | "last"
  | "size"
  | "nunique"
  | "var"
  | "std";

/** One output column: `how` of `column`, named `name`. */
export interface GroupOutput {
  column: string;
  how: GroupAgg;
  name: string;
}

/** A grouped aggregation: the keys (expressions named `keyNames`) and the outputs. */
export interface GroupSpec {
  keys: ExprJson[];
  keyNames: string[];
  outputs: GroupOutput[];
  ddof: number;
}

/** The partial fields an aggregation needs and how partials of each field combine. */
const FIELDS: Record<GroupAgg, readonly Field[]> = {
  count: ["n"],
  sum: ["s"],
  mean: ["s", "n"],
  min: ["min"],
  max: ["max"],
  first: ["first"],
  last: ["last"],
  size: ["size"],
  nunique: ["u"],
  var: ["s", "ss", "n"],
  std: ["s", "ss", "n"],
};
type Field = "n" | "s" | "ss" | "min" | "max" | "first" | "last" | "size" | "u";

const SEP = "\u0000";
const fieldName = (column: string, field: Field) => `${column}${SEP}${field}`;

function fieldsOf(spec: GroupSpec): [string, Field][] {
  const seen = new Map<string, [string, Field]>();
  for (const out of spec.outputs) {
    for (const field of FIELDS[out.how]) {
      const column = field === "size" ? "" : out.column;
      seen.set(fieldName(column, field), [column, field]);
    }
  }
  return [...seen.values()];
}

function chunkExpr(column: string, field: Field): Expr {
  const c = pl.col(column);
  const name = fieldName(column, field);
  switch (field) {
    case "n":
      return c.count().alias(name);
    case "s":
      return c.sum().alias(name);
    case "ss":
      return c.cast(pl.Float64).pow(2).sum().alias(name);
    case "min":
      return c.min().alias(name);
    case "max":
      return c.max().alias(name);
    case "first":
      return c.first().alias(name);
    case "last":
      return c.last().alias(name);
    case "size":
      return pl.len().cast(pl.Int64).alias(name);
    case "u":
      return c.dropNulls().unique().alias(name);
  }
}

function combineExpr(column: string, field: Field): Expr {
  const c = pl.col(fieldName(column, field));
  switch (field) {
    case "n":
    case "s":
    case "ss":
    case "size":
      return c.sum();
    case "min":
      return c.min();
    case "max":
      return c.max();
    case "first":
      return c.first();
    case "last":
      return c.last();
    case "u":
      return c.explode().dropNulls().unique();
  }
}

function listLength(expr: Expr): Expr {
  const e = expr as unknown as { lst?: { lengths(): Expr }; list: { lengths(): Expr } };
  return (e.lst ?? e.list).lengths();
}

function finishExpr(out: GroupOutput, ddof: number): Expr {
  const f = (field: Field) => pl.col(fieldName(out.how === "size" ? "" : out.column, field));
  const n = f("n");
  let expr: Expr;
  switch (out.how) {
    case "count":
      expr = n;
      break;
    case "sum":
      expr = f("s");
      break;
    case "mean":
      expr = pl.when(n.gt(0)).then(f("s").cast(pl.Float64).div(n)).otherwise(pl.lit(null));
      break;
    case "min":
    case "max":
    case "first":
    case "last":
    case "size":
      expr = f(out.how);
      break;
    case "nunique":
      expr = listLength(f("u"));
      break;
    case "var":
    case "std": {
      const s = f("s").cast(pl.Float64);
      const variance = f("ss").sub(s.mul(s).div(n)).div(n.sub(ddof));
      const clipped = pl.when(n.gt(ddof)).then(variance).otherwise(pl.lit(null));
      expr = out.how === "std" ? clipped.pow(0.5) : clipped;
      break;
    }
  }
  return expr.alias(out.name);
}

/** Each group's partial fields over one partition's rows. */
export function groupChunk(frame: Frame, spec: GroupSpec): Frame {
  const keyed = frame.withColumns(
    ...spec.keys.map((k, i) => exprFromJson(k).alias(spec.keyNames[i])),
  )
    .filter(pl.allHorizontal(spec.keyNames.map((k) => pl.col(k).isNotNull())));
  return keyed.groupBy(spec.keyNames).agg(...fieldsOf(spec).map(([c, f]) => chunkExpr(c, f)));
}

/** Partials of several chunks combined into one partial per group. */
export function groupCombine(frames: readonly Frame[], spec: GroupSpec): Frame {
  return concatFrames(frames).groupBy(spec.keyNames).agg(
    ...fieldsOf(spec).map(([c, f]) => combineExpr(c, f).alias(fieldName(c, f))),
  );
}

/** The answers from combined partials, sorted by key. */
export function groupFinish(combined: Frame, spec: GroupSpec): Frame {
  return combined.select(
    ...spec.keyNames.map((k) => pl.col(k)),
    ...spec.outputs.map((out) => finishExpr(out, spec.ddof)),
  ).sort(spec.keyNames);
}

/** Splits a partial by a hash of its keys into `n` frames (output `j` of a `splitOut` groupby). */
export function hashSplit(frame: Frame, keyNames: readonly string[], n: number): Frame[] {
  const bucket = "\u0000bucket";
  // fixed seeds: every process sends a key to the same output
  const hashes = frame.select(...keyNames).hashRows(42, 7, 1, 3).alias(bucket);
  const hashed = frame.withColumns(hashes).withColumns(
    pl.col(bucket).rem(pl.lit(n).cast(pl.UInt64)).alias(bucket),
  );
  return Array.from(
    { length: n },
    (_, j) => hashed.filter(pl.col(bucket).eq(j)).drop(bucket),
  );
}
