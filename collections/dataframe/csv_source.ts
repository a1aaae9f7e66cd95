/**
 * `readCsv`: a DataFrame over CSV files — one partition per file, or per block of about
 * `blocksize` bytes of a plain local file (lines never cut). The schema comes from the first
 * file's first rows (as Dask's `read_csv` reads a sample), overridden by `dtype`, and every block
 * is parsed with it so all partitions agree. Only the columns a query uses are parsed when
 * `columns` names them (projection pushed into the read).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { tokenize } from "../../core/tokenize.ts";
import { expandPaths, isUrl } from "../io/paths.ts";
import type { CsvBlock, CsvDtype } from "./csv_block.ts";
import type { DataFrame } from "./frame.ts";
import { dtypeOf } from "./meta.ts";
import { applySource } from "./creation.ts";
import { pl } from "./polars.ts";

/** Options of {@link readCsv}. */
export interface ReadCsvOptions {
  /**
   * Split plain local files into blocks of about this many bytes, one partition each. Default
   * 64 MB, as Dask; `null` for one partition per file. Gzip files and URLs are read whole.
   * Blocks are cut at newlines, so quoted fields holding newlines need `blocksize: null`.
   */
  blocksize?: number | null;
  /** Read only these columns (in this order). */
  columns?: readonly string[];
  /** Column types by name, overriding the sample's: `"float64"`, `"int64"`, `"string"`/`"object"`, `"bool"`. */
  dtype?: Record<string, string>;
  /**
   * Columns to parse as datetimes, or new datetime columns made of [year, month, day] columns
   * (pandas' `parse_dates={"Date": [0, 1, 2]}`; names or positions); those columns are dropped.
   */
  parseDates?: readonly string[] | Record<string, readonly (string | number)[]>;
  /** `"infer"` (default: gzip for `.gz`), `"gzip"`, or `null`. */
  compression?: "infer" | "gzip" | null;
  /** `true` (default): the first line names the columns; `false`: pass `names`. */
  header?: boolean;
  /** Column names when there is no header line. */
  names?: readonly string[];
  /** Field separator. Default `","`. */
  sep?: string;
  /** Strings read as null. Default `["", "NA", "NaN", "null"]`. */
  naValues?: readonly string[];
}

const DEFAULT_BLOCKSIZE = 64_000_000;
const SAMPLE_BYTES = 256_000;

function sampleText(path: string, gzip: boolean): string {
  if (isUrl(path)) {
    throw new Error(
      `readCsv: reading the schema of ${path} needs a local file; URLs are not sampled yet.`,
    );
  }
  let bytes: Uint8Array;
  try {
    if (gzip) {
      bytes = gunzipSync(Deno.readFileSync(path), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    } else {
      using file = Deno.openSync(path, { read: true });
      const buffer = new Uint8Array(SAMPLE_BYTES);
      let filled = 0;
      while (filled < buffer.length) {
        const n = file.readSync(buffer.subarray(filled));
        if (n === null) break;
        filled += n;
      }
      bytes = buffer.subarray(0, filled);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`readCsv: no such file: ${path}`);
    throw new Error(`readCsv: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const text = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, SAMPLE_BYTES)));
  const cut = text.length < SAMPLE_BYTES ? text.length : text.lastIndexOf("\n") + 1;
  return text.slice(0, cut);
}

function csvDtypeOf(dtype: pl.DataType): CsvDtype {
  const v = (dtype as { variant: string }).variant;
  if (/^(Int|UInt)/.test(v)) return "Int64";
  if (/^Float/.test(v)) return "Float64";
  if (v === "Bool") return "Boolean";
  return "String";
}

function csvDtypeFor(name: string): CsvDtype {
  const v = (dtypeOf(name, "readCsv dtype") as { variant: string }).variant;
  if (/^(Int|UInt)/.test(v)) return "Int64";
  if (/^Float/.test(v)) return "Float64";
  if (v === "Bool") return "Boolean";
  return "String";
}

/**
 * A DataFrame over CSV files: `paths` is a path, a glob (`data/*.csv`), or a list of them.
 */
export function readCsv(
  paths: string | readonly string[],
  options: ReadCsvOptions = {},
): DataFrame {
  const sep = options.sep ?? ",";
  const compression = options.compression === undefined ? "infer" : options.compression;
  const gzipOf = (p: string) =>
    compression === "gzip" || (compression === "infer" && p.toLowerCase().endsWith(".gz"));
  const blocksize = options.blocksize === undefined ? DEFAULT_BLOCKSIZE : options.blocksize;
  if (blocksize !== null && (!Number.isInteger(blocksize) || blocksize < 1)) {
    throw new RangeError(
      `readCsv: blocksize must be a positive integer or null; got ${blocksize}.`,
    );
  }
  const files = expandPaths(paths, "readCsv", { urls: true });
  const hasHeader = options.header ?? true;
  const nullValues = [...(options.naValues ?? ["", "NA", "NaN", "null"])];
  // the schema, from the first file's first rows
  let sample = sampleText(files[0], gzipOf(files[0]));
  let headerLine: string | null = null;
  if (hasHeader) {
    const nl = sample.indexOf("\n");
    headerLine = nl < 0 ? sample + "\n" : sample.slice(0, nl + 1);
  } else {
    if (options.names === undefined) throw new Error("readCsv: header: false needs names.");
    headerLine = options.names.join(sep) + "\n";
    sample = headerLine + sample;
  }
  if (headerLine.trim() === "") throw new Error(`readCsv: ${files[0]} is empty (no header line).`);
  let sampled;
  try {
    sampled = pl.readCSV(Buffer.from(sample), {
      sep,
      hasHeader: true,
      nullValues,
      inferSchemaLength: 1000,
    });
  } catch (error) {
    throw new Error(
      `readCsv: cannot parse the first rows of ${files[0]}: ${
        (error as Error).message.split("\n")[0]
      }`,
      { cause: error },
    );
  }
  const names = sampled.columns;
  const dtypes: Record<string, CsvDtype> = {};
  for (const column of sampled.getColumns()) dtypes[column.name] = csvDtypeOf(column.dtype);
  for (const [name, type] of Object.entries(options.dtype ?? {})) {
    if (!names.includes(name)) {
      throw new Error(
        `readCsv: dtype names ${JSON.stringify(name)}, which ${files[0]} has no column of.`,
      );
    }
    dtypes[name] = csvDtypeFor(type);
  }
  const parseDates: string[] = [];
  const combineDates: Record<string, string[]> = {};
  const columnName = (c: string | number) => typeof c === "number" ? names[c] : c;
  if (Array.isArray(options.parseDates)) parseDates.push(...options.parseDates as string[]);
  else if (options.parseDates !== undefined) {
    for (
      const [name, parts] of Object.entries(
        options.parseDates as Record<string, (string | number)[]>,
      )
    ) {
      combineDates[name] = parts.map(columnName);
    }
  }
  for (const c of [...parseDates, ...Object.values(combineDates).flat()]) {
    if (c === undefined || !names.includes(c)) {
      throw new Error(`readCsv: parseDates names a column the file does not have: ${String(c)}.`);
    }
  }
  // frame columns: pandas puts combined date columns first and drops their parts
  const consumed = new Set(Object.values(combineDates).flat());
  let columns = [...Object.keys(combineDates), ...names.filter((c) => !consumed.has(c))];
  if (options.columns !== undefined) {
    const missing = options.columns.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new Error(`readCsv: no column ${missing.join(", ")} in ${files[0]}.`);
    }
    columns = [...options.columns];
  }
  // How every block parses its rows; also part of the collection's name.
  const parsing = { columns, dtypes, parseDates, combineDates, sep, nullValues };
  const blocks: CsvBlock[] = [];
  const identity: unknown[] = [];
  for (const source of files) {
    const gzip = gzipOf(source);
    let size = Infinity;
    if (!isUrl(source)) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(source);
      } catch {
        throw new Error(`readCsv: no such file: ${source}`);
      }
      size = info.size;
      identity.push([source, info.size, info.mtime?.getTime() ?? null]);
    } else identity.push(source);
    const base: CsvBlock = {
      source,
      compression: gzip ? "gzip" : null,
      start: 0,
      end: null,
      headerLine: hasHeader ? null : headerLine,
      names,
      ...parsing,
    };
    if (blocksize === null || gzip || isUrl(source) || size <= blocksize) {
      blocks.push(base);
      continue;
    }
    for (let start = 0; start < size; start += blocksize) {
      const end = Math.min(start + blocksize, size);
      const header = start > 0 || !hasHeader ? headerLine : null;
      blocks.push({ ...base, start, end: end === size ? null : end, headerLine: header });
    }
  }
  const name = `readCsv-${
    tokenize(identity, blocks.map((b) => [b.start, b.end]), parsing, hasHeader)
  }`;
  return applySource(
    name,
    blocks.map((csv) => ({ csv })),
    [],
    csvMeta(columns, dtypes, parseDates, combineDates),
  );
}

function csvMeta(
  columns: readonly string[],
  dtypes: Record<string, CsvDtype>,
  parseDates: readonly string[],
  combineDates: Record<string, string[]>,
) {
  const type = (c: string) => {
    if (c in combineDates || parseDates.includes(c)) return pl.Datetime("us");
    return { Float64: pl.Float64, Int64: pl.Int64, String: pl.Utf8, Boolean: pl.Bool }[dtypes[c]];
  };
  return pl.DataFrame(columns.map((c) => pl.Series(c, [], type(c))));
}
