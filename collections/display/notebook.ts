/**
 * Notebook displays (`deno jupyter`): Deno's kernel shows a cell's value through its
 * `Symbol.for("Jupyter.display")` method, a MIME bundle. Arrays show Dask's table (bytes, shape,
 * chunks, dtype) beside an SVG of their chunk grid; bags and delayed values their tasks and
 * layers; dataframes their columns, dtypes and partitions. Every bundle has `text/plain` too
 * (the `console.log` repr), for front ends without HTML.
 *
 * @module
 */

import { formatBytes } from "../../core/display/format.js";
import { keyPrefix } from "../../core/task.ts";
import type { Layer } from "../collection.ts";
import { formatTuple } from "./repr.ts";

/** The symbol Deno's Jupyter kernel calls for a value's MIME bundle. */
export const jupyterDisplay: unique symbol = Symbol.for("Jupyter.display") as never;

/**
 * What a value shows in a notebook (`deno jupyter`): MIME type → content, as its
 * `Symbol.for("Jupyter.display")` method returns it.
 *
 * @example
 * ```ts
 * import { array, type MimeBundle } from "./mod.ts";
 *
 * const x = array.ones([4000, 4000], { chunks: [500, 500] });
 * const shown = (x as unknown as { [k: symbol]: () => MimeBundle })[Symbol.for("Jupyter.display")]();
 * console.log(Object.keys(shown)); // ["text/plain", "text/html", "image/svg+xml"]
 * ```
 */
export type MimeBundle = Record<string, string>;

/** `&`, `<`, `>`, `"` escaped for HTML text and attributes. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Rows of (header, cells…) as a small HTML table; a row of one cell spans the columns. */
export function htmlTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = head.length;
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map(([label, ...cells]) => {
    const tds = cells.length === 1 && width > 2
      ? `<td colspan="${width - 1}">${escapeHtml(cells[0])}</td>`
      : cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("");
    return `<tr><th>${escapeHtml(label)}</th>${tds}</tr>`;
  }).join("");
  const thead = head.every((h) => h === "") ? "" : `<thead><tr>${th}</tr></thead>`;
  return `<table style="border-collapse: collapse;">${thead}<tbody>${body}</tbody></table>`;
}

// ---- arrays ------------------------------------------------------------------------------

/** What an array display needs. */
export interface ArrayDisplayInfo {
  name: string;
  shape: readonly number[];
  chunks: readonly (readonly number[])[];
  chunksize: readonly number[];
  dtype: string;
  itemsize: number;
  numblocks: readonly number[];
}

/** Largest side of the chunk grid picture, px (Dask draws at most 120). */
const GRID_SIZE = 120;
/** Chunk lines drawn per axis before the grid is drawn as a filled band instead. */
const MAX_LINES = 100;

/** Where the chunk boundaries of one axis fall, scaled to `size` px. */
function boundaries(chunks: readonly number[], size: number): number[] {
  const total = chunks.reduce((a, b) => a + (Number.isNaN(b) ? 1 : b), 0) || 1;
  const out = [0];
  let at = 0;
  for (const c of chunks) {
    at += Number.isNaN(c) ? 1 : c;
    out.push((at / total) * size);
  }
  return out;
}

/** An SVG of an array's chunk grid: the last two axes as a grid, a 1-D array as a bar. */
export function chunkGridSvg(info: ArrayDisplayInfo): string {
  const ndim = info.shape.length;
  if (ndim === 0) return "";
  const rows = ndim === 1 ? [1] : info.chunks[ndim - 2];
  const cols = info.chunks[ndim - 1];
  const height0 = ndim === 1 ? 1 : info.shape[ndim - 2] || 1;
  const width0 = info.shape[ndim - 1] || 1;
  // keep the aspect ratio, within limits so a long thin array still shows
  const ratio = Math.min(8, Math.max(1 / 8, height0 / width0));
  const width = ratio <= 1 ? GRID_SIZE : Math.max(12, GRID_SIZE / ratio);
  const height = ndim === 1 ? 25 : ratio <= 1 ? Math.max(12, GRID_SIZE * ratio) : GRID_SIZE;
  const xs = boundaries(cols, width);
  const ys = ndim === 1 ? [0, height] : boundaries(rows, height);
  const lines: string[] = [];
  const pad = 10;
  const line = (x1: number, y1: number, x2: number, y2: number, edge: boolean) =>
    `<line x1="${(x1 + pad).toFixed(1)}" y1="${(y1 + pad).toFixed(1)}" ` +
    `x2="${(x2 + pad).toFixed(1)}" y2="${(y2 + pad).toFixed(1)}" ` +
    `style="stroke-width:${edge ? 2 : 1}" />`;
  const yLines = ys.length - 1 > MAX_LINES ? [0, height] : ys;
  const xLines = xs.length - 1 > MAX_LINES ? [0, width] : xs;
  for (const [i, y] of yLines.entries()) {
    lines.push(line(0, y, width, y, i === 0 || i === yLines.length - 1));
  }
  for (const [i, x] of xLines.entries()) {
    lines.push(line(x, 0, x, height, i === 0 || i === xLines.length - 1));
  }
  const label = (text: string, x: number, y: number, rotate = false) =>
    `<text x="${(x + pad).toFixed(1)}" y="${(y + pad).toFixed(1)}" font-size="1.0rem" ` +
    `font-weight="100" text-anchor="middle"` +
    (rotate ? ` transform="rotate(-90,${(x + pad).toFixed(1)},${(y + pad).toFixed(1)})"` : "") +
    `>${text}</text>`;
  const labels = [label(String(info.shape[ndim - 1]), width / 2, height + 20)];
  if (ndim >= 2) labels.push(label(String(info.shape[ndim - 2]), width + 20, height / 2, true));
  if (ndim >= 3) {
    labels.push(
      label(`(${info.shape.slice(0, ndim - 2).join(", ")}) ×`, width / 2, -2),
    );
  }
  const w = width + 2 * pad + 30;
  const h = height + 2 * pad + 30;
  return `<svg width="${w.toFixed(0)}" height="${h.toFixed(0)}" style="stroke:rgb(0,0,0);" ` +
    `xmlns="http://www.w3.org/2000/svg">` +
    `<polygon points="${pad},${pad} ${(width + pad).toFixed(1)},${pad} ` +
    `${(width + pad).toFixed(1)},${(height + pad).toFixed(1)} ${pad},${
      (height + pad).toFixed(1)
    }" ` +
    `style="fill:#ECB172A0;stroke-width:0"/>` +
    lines.join("") + labels.join("") + `</svg>`;
}

/** Dask's array display: the table of bytes, shape, chunks and dtype, the chunk grid beside. */
export function arrayDisplay(info: ArrayDisplayInfo, plain: string): MimeBundle {
  const size = info.shape.reduce((a, b) => a * b, 1);
  const chunkSize = info.chunksize.reduce((a, b) => a * b, 1);
  const blocks = info.numblocks.reduce((a, b) => a * b, 1);
  const unknown = info.shape.some(Number.isNaN);
  const table = htmlTable(["", "Array", "Chunk"], [
    [
      "Bytes",
      unknown ? "unknown" : formatBytes(size * info.itemsize),
      formatBytes(chunkSize * info.itemsize),
    ],
    ["Shape", formatTuple(info.shape), formatTuple(info.chunksize)],
    ["Dask graph", `${blocks} chunk${blocks === 1 ? "" : "s"} in ${info.name}`],
    ["Data type", `${info.dtype} NDArray`],
  ]);
  const svg = chunkGridSvg(info);
  const html = `<table><tr><td>${table}</td><td>${svg}</td></tr></table>`;
  const bundle: MimeBundle = { "text/plain": plain, "text/html": html };
  if (svg !== "") bundle["image/svg+xml"] = svg;
  return bundle;
}

// ---- graphs of layers (bags, delayed values) ----------------------------------------------

/** Each distinct layer under `top` (dependencies first) with its task count. */
export function layerSummary(top: Layer): { name: string; tasks: number }[] {
  const seen = new Set<string>();
  const out: { name: string; tasks: number }[] = [];
  const stack: { layer: Layer; expanded: boolean }[] = [{ layer: top, expanded: false }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.expanded) {
      const first = entry.layer.tasks[0];
      out.push({
        name: first === undefined ? entry.layer.id : keyPrefix(first.key),
        tasks: entry.layer.tasks.length,
      });
      continue;
    }
    if (seen.has(entry.layer.id)) continue;
    seen.add(entry.layer.id);
    stack.push({ layer: entry.layer, expanded: true });
    for (const dep of entry.layer.dependencies) {
      if (!seen.has(dep.id)) stack.push({ layer: dep, expanded: false });
    }
  }
  return out;
}

/** A graph's display: what it is, its task and layer counts, and the layers. */
export function graphDisplay(title: string, top: Layer, plain: string): MimeBundle {
  const layers = layerSummary(top);
  const tasks = layers.reduce((sum, l) => sum + l.tasks, 0);
  const shown = layers.length > 20 ? [...layers.slice(0, 10), ...layers.slice(-10)] : layers;
  const rows = shown.map((
    l,
    i,
  ) => [String(i + 1 === shown.length ? layers.length : i + 1), l.name, String(l.tasks)]);
  const table = htmlTable(["Layer", "Name", "Tasks"], rows.map(([n, name, t]) => [n, name, t]));
  const html = `<div><strong>${escapeHtml(title)}</strong>` +
    `<p>${tasks} task${tasks === 1 ? "" : "s"} in ${layers.length} ` +
    `layer${layers.length === 1 ? "" : "s"}</p>${table}</div>`;
  return { "text/plain": plain, "text/html": html };
}

// ---- dataframes --------------------------------------------------------------------------

/** A dataframe's display: its columns with their dtypes, its partitions and divisions. */
export function dataframeDisplay(frame: {
  name: string;
  columns: readonly string[];
  dtypes: Record<string, string>;
  npartitions: number;
  knownDivisions: boolean;
  divisions: readonly unknown[];
}, plain: string): MimeBundle {
  const head = `<tr><th></th>${
    frame.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")
  }</tr>`;
  const dtypeRow = `<tr><th>npartitions=${frame.npartitions}</th>` +
    frame.columns.map((c) => `<td>${escapeHtml(frame.dtypes[c])}</td>`).join("") + "</tr>";
  const shown = frame.divisions.length > 8
    ? [...frame.divisions.slice(0, 6), "…", frame.divisions[frame.divisions.length - 1]]
    : frame.divisions;
  const divisionRows = shown.slice(1).map((d) =>
    `<tr><th>${frame.knownDivisions && d !== null ? escapeHtml(String(d)) : ""}</th>` +
    frame.columns.map(() => "<td>...</td>").join("") + "</tr>"
  ).join("");
  const html = `<div><strong>Dask DataFrame Structure:</strong>` +
    `<table><thead>${head}</thead><tbody>${dtypeRow}${divisionRows}</tbody></table>` +
    `<div>Dask Name: ${escapeHtml(frame.name)}, ${frame.npartitions} partition` +
    `${frame.npartitions === 1 ? "" : "s"}</div></div>`;
  return { "text/plain": plain, "text/html": html };
}
