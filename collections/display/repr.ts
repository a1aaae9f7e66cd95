/**
 * Short Dask-like one-line reprs of lazy collections, for `console.log` (`Deno.customInspect`):
 * what the value is, never its internal plan (which can be thousands of lines).
 *
 * @module
 */

/** The symbol Deno's `console.log` and `Deno.inspect` call for a custom text. */
export const inspectSymbol: unique symbol = Symbol.for("Deno.customInspect") as never;

/** `(3, 4)`, `(5,)`, `()` with `nan` for unknown lengths, as Python prints a shape tuple. */
export function formatTuple(xs: readonly number[]): string {
  const items = xs.map((n) => (Number.isNaN(n) ? "nan" : String(n)));
  return `(${items.join(", ")}${xs.length === 1 ? "," : ""})`;
}

/** `dask.array<name, shape=(…), dtype=…, chunksize=(…), chunktype=NDArray>`, as Dask's repr. */
export function arrayRepr(array: {
  name: string;
  shape: readonly number[];
  dtype: string;
  chunksize: readonly number[];
}): string {
  return `dask.array<${array.name}, shape=${formatTuple(array.shape)}, dtype=${array.dtype}, ` +
    `chunksize=${formatTuple(array.chunksize)}, chunktype=NDArray>`;
}

/** `dask.bag<name, npartitions=n>`, as Dask's repr. */
export function bagRepr(bag: { name: string; npartitions: number }): string {
  return `dask.bag<${bag.name}, npartitions=${bag.npartitions}>`;
}

/** `Delayed('key')`, as Dask's repr. */
export function delayedRepr(delayed: { key: string }): string {
  return `Delayed(${JSON.stringify(delayed.key)})`;
}

/** Division rows shown in a dataframe's structure before the middle ones are elided. */
const SHOWN_DIVISIONS = 8;

/** One row label per division: its value when known, blank otherwise (as Dask's table). */
function divisionLabels(divisions: readonly unknown[], known: boolean): string[] {
  const labels = divisions.map((d) => (known && d !== null && d !== undefined ? String(d) : ""));
  if (labels.length <= SHOWN_DIVISIONS) return labels;
  const head = labels.slice(0, SHOWN_DIVISIONS - 2);
  return [...head, "...", labels[labels.length - 1]];
}

/** Right-aligned columns of text, each as wide as its widest cell. */
function alignColumns(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ").trimEnd()
  ).join("\n");
}

/**
 * Dask's "Dask DataFrame Structure:" table: the columns with their dtypes in the first row, a
 * row per partition boundary (`...` for values not computed), the partitions and the name.
 */
export function dataframeRepr(frame: {
  name: string;
  columns: readonly string[];
  dtypes: Record<string, string>;
  npartitions: number;
  divisions: readonly unknown[];
  knownDivisions: boolean;
}): string {
  const labels = divisionLabels(frame.divisions, frame.knownDivisions);
  const rows = [
    ["", ...frame.columns],
    [`npartitions=${frame.npartitions}`, ...frame.columns.map(() => "")],
    [labels[0], ...frame.columns.map((c) => frame.dtypes[c])],
    ...labels.slice(1).map((label) => [label, ...frame.columns.map(() => "...")]),
  ];
  return `Dask DataFrame Structure:\n${alignColumns(rows)}\nDask Name: ${frame.name}, ` +
    `${frame.npartitions} partition${frame.npartitions === 1 ? "" : "s"}`;
}

/** Dask's "Dask Series Structure:" block: a row per partition boundary, name and dtype. */
export function seriesRepr(series: {
  name: string;
  dtype: string;
  npartitions: number;
  frameName: string;
}): string {
  const labels = divisionLabels(new Array(series.npartitions + 1).fill(null), false);
  const rows = [
    [`npartitions=${series.npartitions}`, ""],
    [labels[0], series.dtype],
    ...labels.slice(1).map((label) => [label, "..."]),
  ];
  return `Dask Series Structure:\n${alignColumns(rows)}\nName: ${series.name}, dtype: ` +
    `${series.dtype}\nDask Name: ${series.frameName}, ${series.npartitions} partition` +
    `${series.npartitions === 1 ? "" : "s"}`;
}
