/**
 * The table library of dataframe partitions: Polars (`npm:nodejs-polars`, pinned), loaded once
 * per thread, and its tables registered with the value codec so that a partition travels as an
 * uncompressed Arrow IPC stream in an out-of-band frame (core/table_codec.ts). The choice and its
 * measured reasons are in docs/architecture.md.
 *
 * @module
 */

import "./polars_threads.ts";
import pl from "npm:nodejs-polars@0.25.2";
import { Buffer } from "node:buffer";
import { ArrowIPC, registerTableCodec } from "../../core/table_codec.ts";

export { pl };

/** A Polars table (a partition of a DataFrame). */
export type Frame = pl.DataFrame;
/** A Polars column. */
export type PlSeries = pl.Series;
/** A Polars expression. */
export type Expr = pl.Expr;

const isFrame = (value: unknown): value is Frame => pl.DataFrame.isDataFrame(value);
const isSeries = (value: unknown): value is PlSeries => pl.Series.isSeries(value);

function ipcBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function writeIPC(frame: Frame): Uint8Array {
  const buffer = frame.writeIPCStream();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Bytes a frame's columns hold, from their dtypes (strings counted at their average length). */
function frameBytes(frame: Frame): number {
  let total = 0;
  for (const column of frame.getColumns()) total += seriesBytes(column);
  return total;
}

function seriesBytes(series: PlSeries): number {
  const n = series.length;
  const dtype = series.dtype.variant;
  if (dtype === "String" || dtype === "Utf8") {
    const sample = series.head(100).str.lengths().mean() ?? 0;
    return n * (Number(sample) + 4);
  }
  if (dtype === "Int8" || dtype === "UInt8" || dtype === "Bool") return n;
  if (dtype === "Int16" || dtype === "UInt16") return n * 2;
  if (dtype === "Int32" || dtype === "UInt32" || dtype === "Float32" || dtype === "Date") {
    return n * 4;
  }
  return n * 8;
}

registerTableCodec({
  toIPC(value) {
    if (isFrame(value)) return new ArrowIPC("frame", writeIPC(value));
    if (isSeries(value)) return new ArrowIPC("series", writeIPC(pl.DataFrame([value])));
    return undefined;
  },
  fromIPC(ipc) {
    const frame = pl.readIPCStream(ipcBuffer(ipc.bytes));
    return ipc.kind === "frame" ? frame : frame.getColumns()[0];
  },
  sizeOf(value) {
    if (isFrame(value)) return frameBytes(value);
    if (isSeries(value)) return seriesBytes(value);
    return undefined;
  },
});

/** A partition as a Polars frame (a task input may arrive as its wire form). */
export function asFrame(value: unknown): Frame {
  if (isFrame(value)) return value;
  // a series' wire form is a one-column frame too
  if (value instanceof ArrowIPC) return pl.readIPCStream(ipcBuffer(value.bytes));
  if (isSeries(value)) return pl.DataFrame([value]);
  throw new TypeError(
    `A dataframe partition must be a Polars DataFrame; got ${describe(value)}. ` +
      `(mapPartitions functions and fromDelayed parts must return Polars DataFrames.)`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? (value.constructor?.name ?? "an object") : typeof value;
}

/** An expression in its travelling form (Polars' own JSON serialization). */
export type ExprJson = string;

/** Serializes an expression for a task's arguments. */
export function exprToJson(expr: Expr): ExprJson {
  return expr.serialize("json").toString();
}

/** Rebuilds an expression inside a task. */
export function exprFromJson(json: ExprJson): Expr {
  return pl.Expr.deserialize(Buffer.from(json), "json");
}

/** Concatenates partitions (vertical), keeping the column order of the first. */
export function concatFrames(frames: readonly Frame[]): Frame {
  const nonEmpty = frames.filter((f) => f.height > 0);
  if (nonEmpty.length === 0) return frames.length > 0 ? frames[0] : pl.DataFrame({});
  if (nonEmpty.length === 1) return nonEmpty[0];
  return pl.concat(nonEmpty, { how: "vertical" });
}
