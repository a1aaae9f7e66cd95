/**
 * Reading one CSV partition inside a task: a byte range of a file (cut at line boundaries) or a
 * whole (possibly gzip) file, parsed by Polars with the frame's schema so every partition has the
 * same dtypes, then dates parsed and booleans read as pandas does. Errors name the file, and for a
 * row with too many or too few fields, its line.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { parse as parsePath } from "node:path";
import { type Expr, exprFromJson, type ExprJson, type Frame, pl } from "./polars.ts";

/** Column types a CSV read can produce (see `dtypeOf`). */
export type CsvDtype = "Float64" | "Int64" | "String" | "Boolean";

/** One partition of `readCsv`. */
export interface CsvBlock {
  /** Absolute local path or http(s) URL. */
  source: string;
  compression: "gzip" | null;
  /** Byte range `[start, end)`: the block holds the lines that start in `(start, end]` (and 0). */
  start: number;
  end: number | null;
  /** The header line (with its newline) to put in front: blocks that start mid-file, files
   * without a header. */
  headerLine: string | null;
  /** Column names (the header's, or given). */
  names: string[];
  /** The columns to parse (projection pushed into the read), in the frame's order. */
  columns: string[];
  /** Every column's read type (the frame's schema from a sample, overridden by `dtype`). */
  dtypes: Record<string, CsvDtype>;
  /** Columns to parse as dates, and new date columns made of [year, month, day] columns. */
  parseDates: string[];
  combineDates: Record<string, string[]>;
  sep: string;
  nullValues: string[];
  /**
   * A row filter evaluated inside the read (pushed down from the plan's leading filters): rows
   * are dropped right after parsing, before the block's dates are built or the partition kept.
   */
  filter?: ExprJson | null;
}

const NEWLINE = 0x0a;
const READ_CHUNK = 1 << 16;

async function fetchAll(source: string): Promise<Uint8Array> {
  const response = await fetch(source);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads `[from, to)` of a file plus the rest of the line `to` falls in (all of it for null). */
async function readRange(path: string, from: number, to: number | null): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  if (to === null) {
    await file.seek(from, Deno.SeekMode.Start);
    return new Uint8Array(await new Response(file.readable).arrayBuffer());
  }
  const chunks: Uint8Array[] = [];
  let size = to - from;
  await file.seek(from, Deno.SeekMode.Start);
  const main = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await file.read(main.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  chunks.push(main.subarray(0, filled));
  // finish the line the range ends inside (a range ending just after a newline is complete)
  for (let done = filled < size || main[filled - 1] === NEWLINE; !done;) {
    const more = new Uint8Array(READ_CHUNK);
    const n = await file.read(more);
    if (n === null) break;
    const nl = more.subarray(0, n).indexOf(NEWLINE);
    chunks.push(more.subarray(0, nl < 0 ? n : nl + 1));
    size += nl < 0 ? n : nl + 1;
    done = nl >= 0;
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The block's own lines: a block not at the file's start drops the line it starts inside. */
function ownLines(bytes: Uint8Array, block: CsvBlock): Uint8Array {
  if (block.start === 0) return bytes;
  // the byte before `start` decides: read from start - 1 so a line starting exactly at start stays
  const nl = bytes.indexOf(NEWLINE);
  return nl < 0 ? bytes.subarray(bytes.length) : bytes.subarray(nl + 1);
}

async function blockBytes(block: CsvBlock): Promise<Uint8Array> {
  const isUrl = /^https?:\/\//i.test(block.source);
  let bytes = isUrl
    ? await fetchAll(block.source)
    : await readRange(block.source, Math.max(0, block.start - 1), block.end);
  if (block.compression === "gzip") bytes = await gunzip(bytes);
  bytes = ownLines(bytes, block);
  if (block.headerLine === null) return bytes;
  return concatBytes([new TextEncoder().encode(block.headerLine), bytes]);
}

const POLARS_TYPE = {
  Float64: pl.Float64,
  Int64: pl.Int64,
  String: pl.Utf8,
  Boolean: pl.Utf8, // read as text, then mapped as pandas maps True/False/1/0
} as const;

function booleanOf(name: string): Expr {
  const text = pl.col(name).str.toLowerCase().str.strip();
  return pl.when(text.isIn(["true", "1", "1.0", "t", "yes"])).then(pl.lit(true))
    .when(text.isIn(["false", "0", "0.0", "f", "no"])).then(pl.lit(false))
    .otherwise(pl.lit(null)).cast(pl.Bool).alias(name);
}

function dateOf(name: string): Expr {
  return pl.col(name).str.strptime(pl.Datetime).cast(pl.Datetime("us")).alias(name);
}

function combinedDate(name: string, parts: readonly string[]): Expr {
  const [year, month, day] = parts.map((p) => pl.col(p).cast(pl.Utf8));
  return pl.concatString([year, month, day], "-").str.strptime(pl.Datetime, "%Y-%m-%d")
    .cast(pl.Datetime("us")).alias(name);
}

/**
 * The path of a block Polars can read itself: a whole local, uncompressed file with its own
 * header, named so that Polars takes the string for a path (its `readCSV` parses any other string
 * as CSV text). Polars maps the file and parses it where it lies: measured 2026-12-05 on a 6.7 MB,
 * 500,000-row file in one thread, 25 ms against 86 ms for reading its bytes into JS and parsing
 * those.
 */
function wholeFilePath(block: CsvBlock): string | null {
  if (block.compression !== null || block.start !== 0 || block.end !== null) return null;
  if (block.headerLine !== null || /^[a-z][a-z0-9+.-]*:\/\//i.test(block.source)) return null;
  const { base, ext, name } = parsePath(block.source);
  return base !== "" && name !== "" && (ext === ".csv" || ext === ".tsv") ? block.source : null;
}

/** The block's bytes, or its path when Polars reads the file itself (and it is not empty). */
async function blockInput(block: CsvBlock): Promise<Uint8Array | string> {
  try {
    const path = wholeFilePath(block);
    if (path !== null && (await Deno.stat(path)).size > 0) return path;
    return await blockBytes(block);
  } catch (error) {
    throw new Error(`readCsv: cannot read ${block.source}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Reads a block's rows into a frame with the block's columns and types. */
export async function readCsvBlock(block: CsvBlock): Promise<Frame> {
  const input = await blockInput(block);
  const combineSources = Object.values(block.combineDates).flat();
  const readColumns = [
    ...new Set([...block.columns.filter((c) => !(c in block.combineDates)), ...combineSources]),
  ];
  const dtypes: Record<string, pl.DataType> = {};
  for (const name of readColumns) dtypes[name] = POLARS_TYPE[block.dtypes[name] ?? "String"];
  let frame: Frame;
  try {
    const empty = typeof input !== "string" && input.byteLength === 0;
    frame = empty ? emptyFrame(readColumns, dtypes) : pl.readCSV(
      typeof input === "string"
        ? input
        : Buffer.from(input.buffer, input.byteOffset, input.byteLength),
      {
        hasHeader: true,
        sep: block.sep,
        columns: readColumns,
        dtypes,
        nullValues: block.nullValues,
        missingIsNull: true,
        truncateRaggedLines: false,
      },
    );
  } catch (error) {
    const bytes = typeof input === "string" ? await blockBytes(block) : input;
    throw csvError(block, bytes, error as Error);
  }
  // one lazy plan, so Polars evaluates a pushed-down filter before building columns it does not
  // read (combined dates are parsed only for the rows that pass)
  let lazy = frame.lazy();
  const steps: Expr[] = [];
  for (const name of readColumns) {
    if (block.dtypes[name] === "Boolean") steps.push(booleanOf(name));
  }
  for (const name of block.parseDates) if (readColumns.includes(name)) steps.push(dateOf(name));
  if (steps.length > 0) lazy = lazy.withColumns(...steps);
  const combined = Object.entries(block.combineDates).filter(([name]) =>
    block.columns.includes(name)
  );
  if (combined.length > 0) {
    lazy = lazy.withColumns(...combined.map(([name, parts]) => combinedDate(name, parts)));
  }
  if (block.filter != null) lazy = lazy.filter(exprFromJson(block.filter));
  return lazy.select(...block.columns).collectSync();
}

function emptyFrame(columns: readonly string[], dtypes: Record<string, pl.DataType>): Frame {
  return pl.DataFrame(columns.map((name) => pl.Series(name, [], dtypes[name])));
}

/** Splits a CSV line into fields (quotes respected) only to count them, for error messages. */
function countFields(line: string, sep: string): number {
  let fields = 1;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === sep) fields++;
  }
  return fields;
}

/** A parse error that names the file and, for a ragged row, its line number in the file. */
function csvError(block: CsvBlock, bytes: Uint8Array, cause: Error): Error {
  const where = block.start > 0 ? ` (block starting at byte ${block.start})` : "";
  const text = new TextDecoder().decode(bytes);
  const lines = text.split("\n");
  const expected = block.names.length;
  let quoted = false;
  let record = "";
  for (let i = 0; i < lines.length; i++) {
    record = quoted ? `${record}\n${lines[i]}` : lines[i];
    quoted = (record.split('"').length - 1) % 2 === 1;
    if (quoted || record.replace(/\r$/, "") === "") continue;
    const fields = countFields(record.replace(/\r$/, ""), block.sep);
    if (fields !== expected) {
      const line = block.start > 0 ? `line ${i} of the block${where}` : `line ${i + 1}`;
      return new Error(
        `readCsv: ${block.source}, ${line}: expected ${expected} fields, found ${fields}: ` +
          `${JSON.stringify(record.slice(0, 200))}`,
        { cause },
      );
    }
  }
  return new Error(
    `readCsv: cannot parse ${block.source}${where}: ${cause.message.split("\n")[0]}. ` +
      `If a column's type was guessed wrong from the first rows, name it in \`dtype\` ` +
      `(e.g. dtype: { col: "float64" }).`,
    { cause },
  );
}
