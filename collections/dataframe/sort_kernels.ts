/**
 * Sorting inside tasks: splitting a partition by value ranges (the boundaries a sort sampled),
 * and sorting one output's rows. Nulls go last, as pandas' `na_position="last"`.
 *
 * @module
 */

import { type Expr, type Frame, pl } from "./polars.ts";
import { sortableKey } from "./reduction_kernels.ts";
import { splitByBucket } from "./groupby_kernels.ts";

/** Dtypes whose own sort order is the order of their sortable key (`sortableKey`). */
const ORDERED_BY_KEY = /^(U?Int|Float|Bool|Date|Datetime|Time|Duration|String|Utf8)/;

/**
 * Splits `frame` into `boundaries.length + 1` pieces by `column`: piece j holds the values in
 * (b[j-1], b[j]] (ascending; mirrored for descending) and the last piece also the nulls.
 *
 * The frame is sorted by `column` first (stable, nulls last) and the pieces are slices of it: the
 * output that gathers them sorts a concatenation of sorted runs, which Polars' stable sort merges
 * in about half the time of sorting unordered rows (4 partitions of 1,000,000 rows, one thread,
 * 2026-12-05: 350–480 ms against 450–830 ms), and slicing costs nothing where cutting by a bucket
 * column cost a pass over every row. Ties keep their input order, as they did.
 */
export function rangeSplit(
  frame: Frame,
  column: string,
  boundaries: readonly unknown[],
  descending: boolean,
): Frame[] {
  const n = boundaries.length + 1;
  const dtype = (frame.getColumn(column).dtype as { variant: string }).variant;
  const key = sortableKey(pl.col(column), dtype);
  if (!ORDERED_BY_KEY.test(dtype)) return bucketSplit(frame, column, key, boundaries, descending);
  const sorted = sortFrame(frame, [column], descending);
  if (boundaries.length === 0) return [sorted];
  // rows before piece j + 1: the values at or below b[j] (ascending) / at or above (descending)
  const ends = sorted.select(
    ...boundaries.map((b, i) =>
      (descending ? key.gtEq(pl.lit(b as never)) : key.ltEq(pl.lit(b as never))).sum()
        .alias(`${i}`)
    ),
  ).row(0).map(Number);
  const offsets = [0, ...ends, sorted.height];
  return Array.from(
    { length: n },
    (_, j) => sorted.slice(offsets[j], Math.max(0, offsets[j + 1] - offsets[j])),
  );
}

/** `rangeSplit` by a bucket column, for dtypes whose sort order is not their key's. */
function bucketSplit(
  frame: Frame,
  column: string,
  key: Expr,
  boundaries: readonly unknown[],
  descending: boolean,
): Frame[] {
  const n = boundaries.length + 1;
  let expr = pl.lit(0);
  for (const b of boundaries) {
    const past = descending ? key.lt(pl.lit(b as never)) : key.gt(pl.lit(b as never));
    expr = expr.add(past.cast(pl.Int32));
  }
  const bucket = frame.select(
    pl.when(pl.col(column).isNull()).then(pl.lit(n - 1)).otherwise(expr).cast(pl.UInt32).alias(
      "bucket",
    ),
  );
  return splitByBucket(frame, bucket.getColumn("bucket"), n);
}

/** `frame` sorted by `by`, nulls last, ties in their input order. */
export function sortFrame(frame: Frame, by: string[], descending: boolean): Frame {
  return frame.sort(by, descending, true, true);
}
