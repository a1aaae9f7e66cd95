/**
 * `readParquet` and `toParquet`: one partition per Parquet file. `columns` and `filters` are
 * pushed into each file's scan (as are the columns a later query uses, like readCsv's).
 *
 * @module
 */

import { resolve } from "node:path";
import { tokenize } from "../../core/tokenize.ts";
import type { Layer } from "../collection.ts";
import { computeCollections, type ComputeOptions } from "../compute.ts";
import { expandPaths } from "../io/paths.ts";
import { applySource } from "./creation.ts";
import type { DataFrame } from "./frame.ts";
import { partitionTasks } from "./plan.ts";
import { type Expr, exprToJson, pl } from "./polars.ts";
import { listCollection } from "./list_collection.ts";

/** A row filter, as Dask's: `[column, op, value]`, all of a list must hold. */
export type ParquetFilter = [
  string,
  "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in",
  unknown,
];

/** Options of {@link readParquet}. */
export interface ReadParquetOptions {
  /** Read only these columns. */
  columns?: readonly string[];
  /** Keep only rows that pass every filter (pushed into the scan). */
  filters?: readonly ParquetFilter[];
}

function filterExpr(filters: readonly ParquetFilter[]): Expr | null {
  let out: Expr | null = null;
  for (const [column, op, value] of filters) {
    const c = pl.col(column);
    const v = pl.lit(value as never);
    const e = op === "=="
      ? c.eq(v)
      : op === "!="
      ? c.neq(v)
      : op === "<"
      ? c.lt(v)
      : op === "<="
      ? c.ltEq(v)
      : op === ">"
      ? c.gt(v)
      : op === ">="
      ? c.gtEq(v)
      : op === "in"
      ? c.isIn(value as never[])
      : op === "not in"
      ? c.isIn(value as never[]).not()
      : undefined;
    if (e === undefined) {
      throw new Error(`readParquet: unknown filter operator ${JSON.stringify(op)}.`);
    }
    out = out === null ? e : out.and(e);
  }
  return out;
}

/** A DataFrame over Parquet files: a path, a glob, or a list of them (one partition per file). */
export function readParquet(
  paths: string | readonly string[],
  options: ReadParquetOptions = {},
): DataFrame {
  const files = expandPaths(paths, "readParquet", { urls: false });
  const identity = files.map((path) => {
    try {
      const info = Deno.statSync(path);
      return [path, info.size, info.mtime?.getTime() ?? null];
    } catch {
      throw new Error(`readParquet: no such file: ${path}`);
    }
  });
  let meta;
  try {
    meta = pl.scanParquet(files[0]).head(0).collectSync();
  } catch (error) {
    throw new Error(
      `readParquet: cannot read the schema of ${files[0]}: ${
        (error as Error).message.split("\n")[0]
      }`,
    );
  }
  const columns = options.columns === undefined ? meta.columns : [...options.columns];
  const missing = columns.filter((c) => !meta.columns.includes(c));
  if (missing.length > 0) {
    throw new Error(`readParquet: no column ${missing.join(", ")} in ${files[0]}.`);
  }
  const filter = filterExpr(options.filters ?? []);
  const filterJson = filter === null ? null : exprToJson(filter);
  const name = `readParquet-${tokenize(identity, columns, filterJson)}`;
  const sources = files.map((path) => ({ parquet: { path, columns, filter: filterJson } }));
  return applySource(name, sources, [], meta.select(...columns));
}

/** Writes one Parquet file per partition, `dir/part.{i}.parquet`; returns the paths. */
export async function toParquet(
  frame: DataFrame,
  dir: string,
  options: ComputeOptions = {},
): Promise<string[]> {
  const root = resolve(dir);
  const name = `toParquet-${tokenize(frame.name, root)}`;
  const tasks = partitionTasks(
    frame.plan,
    name,
    (i) => ({ kind: "writeParquet", path: `${root}/part.${i}.parquet` }),
  );
  const layer: Layer = { id: name, tasks, dependencies: frame.plan.layers };
  const [paths] = await computeCollections(
    [listCollection(layer, tasks.map((t) => t.key))],
    options,
  );
  return paths as string[];
}
