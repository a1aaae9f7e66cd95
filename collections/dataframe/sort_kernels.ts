/**
 * Sorting inside tasks: splitting a partition by value ranges (the boundaries a sort sampled),
 * and sorting one output's rows. Nulls go last, as pandas' `na_position="last"`.
 *
 * @module
 */

import { type Frame, pl } from "./polars.ts";
import { sortableKey } from "./reduction_kernels.ts";
import { splitByBucket } from "./groupby_kernels.ts";

/**
 * Splits `frame` into `boundaries.length + 1` pieces by `column`: piece j holds the values in
 * (b[j-1], b[j]] (ascending; mirrored for descending) and the last piece also the nulls.
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
