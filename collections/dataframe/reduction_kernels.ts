/**
 * Whole-column reductions inside tasks: each partition yields a small partial per column (counts,
 * sums, extremes, a mean and sum of squared deviations, distinct values, a quantile sketch), inner
 * tree tasks merge partials, and the root turns them into answers. Variance merges by Chan et
 * al.'s pairwise update, so it is as stable as a one-pass algorithm over all rows.
 *
 * Quantiles are approximate (as Dask's): each partition keeps at most {@link SKETCH_POINTS}
 * evenly spaced order statistics of its non-null values, each weighted by the rows it stands for;
 * the root sorts all points and interpolates the weighted empirical distribution. With at most
 * that many rows per partition the answer is exact (linear interpolation, as pandas).
 *
 * @module
 */

import { type Expr, type Frame, pl } from "./polars.ts";

/** The statistics a reduction asks for. */
export type Stat = "count" | "sum" | "min" | "max" | "mean" | "var" | "nunique" | "quantile";

/** What to compute over which columns. */
export interface ReduceSpec {
  columns: string[];
  stats: Stat[];
}

/** One column's partial result. */
export interface ColumnPartial {
  n: number;
  sum?: number;
  min?: unknown;
  max?: unknown;
  mean?: number;
  m2?: number;
  uniques?: unknown[];
  /** Sorted sample points and the rows each stands for. */
  sketch?: { points: number[]; weights: number[] };
}

/** A partition's (or a subtree's) partial: its row count and a partial per column. */
export interface Partial {
  rows: number;
  columns: Record<string, ColumnPartial>;
}

/** Sample points a partition keeps for quantiles. */
export const SKETCH_POINTS = 1000;

const SEP = "\u0000";

function partialExprs(column: string, stats: readonly Stat[]): Expr[] {
  const c = pl.col(column);
  const out: Expr[] = [c.count().alias(`${column}${SEP}n`)];
  const want = new Set(stats);
  if (want.has("sum") || want.has("mean")) out.push(c.sum().alias(`${column}${SEP}sum`));
  if (want.has("min")) out.push(c.min().alias(`${column}${SEP}min`));
  if (want.has("max")) out.push(c.max().alias(`${column}${SEP}max`));
  if (want.has("var")) {
    out.push(c.mean().alias(`${column}${SEP}mean`));
    out.push(c.sub(c.mean()).pow(2).sum().alias(`${column}${SEP}m2`));
  }
  return out;
}

/**
 * A column's values as they are ordered: numbers as Float64, dates and times as their integer
 * count as Float64, strings as they are (sorted by Polars' string order).
 */
export function sortableKey(expr: Expr, dtype: string): Expr {
  if (/^(Date|Datetime|Time|Duration)/.test(dtype)) return expr.cast(pl.Int64).cast(pl.Float64);
  if (/^(U?Int|Float|Bool)/.test(dtype)) return expr.cast(pl.Float64);
  return expr;
}

function sketchOf(frame: Frame, column: string): { points: number[]; weights: number[] } {
  const dtype = (frame.getColumn(column).dtype as { variant: string }).variant;
  const values = frame.select(sortableKey(pl.col(column), dtype).alias(column)).getColumn(column)
    .dropNulls().sort();
  const n = values.length;
  if (n <= SKETCH_POINTS) {
    return { points: [...values.toArray()] as number[], weights: new Array(n).fill(1) };
  }
  const step = n / SKETCH_POINTS;
  const index = Array.from({ length: SKETCH_POINTS }, (_, i) => Math.floor((i + 0.5) * step));
  return {
    points: [...values.gather(index).toArray()] as number[],
    weights: new Array(SKETCH_POINTS).fill(step),
  };
}

/** The partial of one partition. */
export function partialOf(frame: Frame, spec: ReduceSpec): Partial {
  const columns: Record<string, ColumnPartial> = {};
  if (spec.columns.length === 0) return { rows: frame.height, columns };
  const row = frame.select(...spec.columns.flatMap((c) => partialExprs(c, spec.stats)))
    .toRecords()[0] as Record<string, unknown>;
  for (const column of spec.columns) {
    const part: ColumnPartial = { n: Number(row[`${column}${SEP}n`]) };
    for (const field of ["sum", "min", "max", "mean", "m2"] as const) {
      const key = `${column}${SEP}${field}`;
      if (key in row) (part as unknown as Record<string, unknown>)[field] = numeric(row[key]);
    }
    if (spec.stats.includes("nunique")) {
      part.uniques = [...frame.getColumn(column).dropNulls().unique().toArray()];
    }
    if (spec.stats.includes("quantile")) part.sketch = sketchOf(frame, column);
    columns[column] = part;
  }
  return { rows: frame.height, columns };
}

function numeric(value: unknown): unknown {
  return typeof value === "bigint" ? Number(value) : value;
}

function pick(a: unknown, b: unknown, smaller: boolean): unknown {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  return (smaller ? b < a : b > a) ? b : a;
}

function mergeColumn(a: ColumnPartial, b: ColumnPartial): ColumnPartial {
  const n = a.n + b.n;
  const out: ColumnPartial = { n };
  if (a.sum !== undefined) out.sum = (a.sum ?? 0) + (b.sum ?? 0);
  if ("min" in a) out.min = pick(a.min, b.min, true);
  if ("max" in a) out.max = pick(a.max, b.max, false);
  if (a.m2 !== undefined) {
    if (a.n === 0) [out.mean, out.m2] = [b.mean, b.m2];
    else if (b.n === 0) [out.mean, out.m2] = [a.mean, a.m2];
    else {
      const delta = b.mean! - a.mean!;
      out.mean = a.mean! + delta * b.n / n;
      out.m2 = a.m2! + b.m2! + delta * delta * a.n * b.n / n;
    }
  }
  if (a.uniques !== undefined) out.uniques = [...new Set([...a.uniques, ...b.uniques!])];
  if (a.sketch !== undefined) out.sketch = mergeSketch(a.sketch, b.sketch!);
  return out;
}

function mergeSketch(
  a: { points: number[]; weights: number[] },
  b: { points: number[]; weights: number[] },
): { points: number[]; weights: number[] } {
  const points: number[] = [];
  const weights: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.points.length || j < b.points.length) {
    if (j >= b.points.length || (i < a.points.length && !(a.points[i] > b.points[j]))) {
      points.push(a.points[i]);
      weights.push(a.weights[i++]);
    } else {
      points.push(b.points[j]);
      weights.push(b.weights[j++]);
    }
  }
  return { points, weights };
}

/** Merges partials (in partition order). */
export function mergePartials(partials: readonly Partial[]): Partial {
  let out = partials[0];
  for (let k = 1; k < partials.length; k++) {
    const next = partials[k];
    const columns: Record<string, ColumnPartial> = {};
    for (const name of Object.keys(out.columns)) {
      columns[name] = mergeColumn(out.columns[name], next.columns[name]);
    }
    out = { rows: out.rows + next.rows, columns };
  }
  return out;
}

/** The `q` quantile of a sketch: linear interpolation over the weighted points. */
export function sketchQuantile(sketch: { points: number[]; weights: number[] }, q: number) {
  const { points, weights } = sketch;
  if (points.length === 0) return null;
  const total = weights.reduce((s, w) => s + w, 0);
  // position of each point in the full sorted data: its rows' centre, pandas-style (0-based)
  const target = q * (total - 1);
  let before = 0;
  let prevPos = -Infinity;
  let prevValue = points[0];
  for (let i = 0; i < points.length; i++) {
    const pos = before + (weights[i] - 1) / 2;
    if (target <= pos) {
      if (prevPos === -Infinity || typeof points[i] !== "number") return points[i];
      const t = (target - prevPos) / (pos - prevPos);
      return prevValue + t * (points[i] - prevValue);
    }
    prevPos = pos;
    prevValue = points[i];
    before += weights[i];
  }
  return points[points.length - 1];
}

/** One column's answer for a statistic. */
export function finishColumn(
  part: ColumnPartial,
  stat: Stat,
  options: { ddof?: number; q?: number } = {},
): unknown {
  switch (stat) {
    case "count":
      return part.n;
    case "sum":
      return part.sum ?? 0;
    case "min":
      return part.min ?? null;
    case "max":
      return part.max ?? null;
    case "mean":
      return part.n === 0 ? null : (part.sum ?? 0) / part.n;
    case "var": {
      const ddof = options.ddof ?? 1;
      return part.n - ddof <= 0 ? null : part.m2! / (part.n - ddof);
    }
    case "nunique":
      return part.uniques!.length;
    case "quantile":
      return sketchQuantile(part.sketch!, options.q ?? 0.5);
  }
}
