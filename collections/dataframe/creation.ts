/**
 * Making DataFrames from data in memory and from other collections: `fromRecords`,
 * `fromArrow`, `fromDelayed`, and the constructor every source shares.
 *
 * @module
 */

import { tokenize } from "../../core/tokenize.ts";
import { TaskRef } from "../../core/task.ts";
import { ArrowIPC, tableCodec } from "../../core/table_codec.ts";
import type { Layer } from "../collection.ts";
import type { Delayed } from "../delayed.ts";
import { DataFrame } from "./frame.ts";
import type { SourceSpec } from "./partition_tasks.ts";
import { asFrame, type Frame, pl } from "./polars.ts";

/** A DataFrame over per-partition sources. */
export function applySource(
  name: string,
  sources: SourceSpec[],
  layers: Layer[],
  meta: Frame,
): DataFrame {
  return new DataFrame(name, { sources, layers, steps: [], fns: [] }, meta.head(0));
}

/** Options of {@link fromRecords}. */
export interface FromRecordsOptions {
  /** Number of partitions (default: one per 100,000 records, at least 1). */
  npartitions?: number;
}

/**
 * A DataFrame of plain objects, one row each (pandas' `DataFrame.from_records`), split into
 * `npartitions` consecutive partitions. Columns are the first record's keys plus any others in
 * order of appearance; a missing key is null.
 */
export function fromRecords(
  records: readonly Record<string, unknown>[],
  options: FromRecordsOptions = {},
): DataFrame {
  const n = options.npartitions ?? Math.max(1, Math.ceil(records.length / 100_000));
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`fromRecords: npartitions must be a positive integer; got ${n}.`);
  }
  const columnSet = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) columnSet.add(key);
  const columns = [...columnSet];
  const filled = records.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null])));
  const meta = records.length === 0
    ? pl.DataFrame({})
    : pl.DataFrame(filled, { inferSchemaLength: records.length }).head(0);
  const name = `fromRecords-${tokenize(filled, n)}`;
  const tables: Frame[] = [];
  for (let i = 0; i < n; i++) {
    const start = Math.floor((i * records.length) / n);
    const stop = Math.floor(((i + 1) * records.length) / n);
    const part = filled.slice(start, stop);
    tables.push(part.length === 0 ? meta : pl.DataFrame(part, { schema: meta.schema }));
  }
  return fromTables(name, tables, meta);
}

/**
 * Tables given in memory travel inside their partition's task, in their wire form (as Dask's
 * `from_pandas` puts the data in the graph; Polars frames look like plain objects to code that
 * walks task arguments, such as the client's future substitution, an ArrowIPC does not).
 */
function fromTables(name: string, tables: readonly Frame[], meta: Frame): DataFrame {
  const sources = tables.map((table) => ({ table: tableCodec()!.toIPC(table) }));
  return applySource(name, sources, [], meta);
}

/**
 * A DataFrame whose partitions are tables given in memory: Polars DataFrames or Arrow IPC
 * streams (`Uint8Array`, e.g. from `apache-arrow`'s `tableToIPC(table, "stream")`).
 */
export function fromArrow(tables: readonly (Frame | Uint8Array)[]): DataFrame {
  if (tables.length === 0) throw new RangeError("fromArrow needs at least one table.");
  const frames = tables.map((t) =>
    t instanceof Uint8Array ? asFrame(new ArrowIPC("frame", t)) : asFrame(t)
  );
  const meta = frames[0].head(0);
  frames.forEach((f, i) => {
    if (JSON.stringify(f.schema) !== JSON.stringify(meta.schema)) {
      throw new Error(
        `fromArrow: table ${i} has schema ${JSON.stringify(f.schema)}, table 0 has ${
          JSON.stringify(meta.schema)
        }.`,
      );
    }
  });
  const ipcs = frames.map((f) => tableCodec()!.toIPC(f)!);
  const name = `fromArrow-${tokenize(ipcs.map((ipc) => ipc.bytes))}`;
  return applySource(name, ipcs.map((table) => ({ table })), [], meta);
}

/**
 * A DataFrame whose partitions are the values of Delayed objects (each must compute to a Polars
 * DataFrame). `meta` (an empty frame with their schema) is required, as nothing is computed here.
 */
export function fromDelayed(parts: readonly Delayed<Frame>[], options: { meta: Frame }): DataFrame {
  if (parts.length === 0) throw new RangeError("fromDelayed needs at least one Delayed.");
  if (options?.meta === undefined) {
    throw new Error(
      "fromDelayed: pass { meta }, an empty Polars DataFrame with the parts' schema.",
    );
  }
  const name = `fromDelayed-${tokenize(parts.map((p) => p.key))}`;
  return applySource(
    name,
    parts.map((p) => ({ table: new TaskRef(p.key) })),
    [...parts],
    options.meta,
  );
}
