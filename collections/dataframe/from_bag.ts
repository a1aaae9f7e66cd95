/**
 * `bag.toDataframe()`: a DataFrame whose partitions are a bag's partitions of plain objects. The
 * schema comes from `meta` (column → dtype) or, as Dask does without it, from the first
 * partition's first records, computed now.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { TaskRef } from "../../core/task.ts";
import type { Bag } from "../bag/bag.ts";
import type { ComputeOptions } from "../compute.ts";
import { applySource } from "./creation.ts";
import type { DataFrame } from "./frame.ts";
import { dtypeName, dtypeOf } from "./meta.ts";
import { type Frame, pl } from "./polars.ts";

/** Options of `bag.toDataframe`. */
export interface ToDataframeOptions extends ComputeOptions {
  /** Column types (`{ name: "string", n: "int64" }`, in column order), or an empty Polars frame. */
  meta?: Record<string, string> | Frame;
}

/** The DataFrame of a bag of plain objects. */
export async function bagToDataframe(
  bag: Bag<Record<string, unknown>>,
  options: ToDataframeOptions = {},
): Promise<DataFrame> {
  let meta: Frame;
  if (options.meta === undefined) {
    const { meta: _meta, ...computeOptions } = options;
    const sample = await bag.take(100, { ...computeOptions, npartitions: 1, warn: false });
    if (sample.length === 0) {
      throw new Error(
        "toDataframe: the first partition is empty; pass { meta } with the columns' types.",
      );
    }
    meta = pl.DataFrame(sample as Record<string, unknown>[], { inferSchemaLength: sample.length })
      .head(0);
  } else if (pl.DataFrame.isDataFrame(options.meta)) {
    meta = (options.meta as Frame).head(0);
  } else {
    const types = options.meta as Record<string, string>;
    meta = pl.DataFrame(
      Object.entries(types).map(([c, t]) => pl.Series(c, [], dtypeOf(t, "toDataframe meta"))),
    );
  }
  const columns = meta.columns;
  const dtypes = Object.fromEntries(
    meta.getColumns().map((s) => [s.name, dtypeName(s.dtype).toLowerCase()]),
  );
  const keys = bag.partitionKeys();
  const name = `toDataframe-${tokenize(bag.name, columns, dtypes)}`;
  const sources = keys.map((key) => ({ records: new TaskRef(key) as never, columns, dtypes }));
  return applySource(name, sources, [bag.layer()], meta);
}
