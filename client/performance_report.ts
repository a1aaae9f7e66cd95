/**
 * A performance report: one standalone HTML file (no scripts, no network) with the task stream
 * of some work and where its compute time went, per task prefix. The client records the
 * scheduler's task stream around a block of work (`client.performanceReport(path, fn)`) and
 * hands the runs to {@link writePerformanceReport}.
 *
 * The task stream is drawn as SVG: one row per worker thread, one bar per run coloured by its
 * prefix (erred runs black), with a tooltip each. Runs closer together than a pixel merge into
 * one bar, so a report of 100,000 runs stays a few megabytes at most.
 *
 * @module
 */

import type { TaskStreamEntry } from "../protocol/task_stream_entry.ts";
import { prefixColor } from "../core/display/palette.js";
import { formatBytes, formatCount, formatDuration } from "../core/display/format.js";
import type { TaskStreamRecorder } from "./task_stream.ts";

export interface PerformanceRecords {
  /** Task runs, as the scheduler's task stream records them. */
  taskStream: readonly TaskStreamEntry[];
  /** Shown as the report's heading. */
  title?: string;
  /** When the work began and ended, seconds (default: the first start and last stop). */
  start?: number;
  stop?: number;
  /** Workers, for their names and thread counts (default: as seen in the runs). */
  workers?: readonly { address: string; name?: string; nthreads: number }[];
  /** Bytes the work moved between workers, if known. */
  bytesTransferred?: number;
}

/** Compute time spent per task prefix. */
export interface PrefixTime {
  prefix: string;
  runs: number;
  erred: number;
  seconds: number;
  mean: number;
  max: number;
}

const STREAM_WIDTH = 1100;
const LABEL_WIDTH = 150;
const ROW_HEIGHT_MAX = 18;

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Compute time per prefix, the most expensive first. */
export function prefixTimes(runs: readonly TaskStreamEntry[]): PrefixTime[] {
  const byPrefix = new Map<string, PrefixTime>();
  for (const run of runs) {
    let p = byPrefix.get(run.prefix);
    if (p === undefined) {
      p = { prefix: run.prefix, runs: 0, erred: 0, seconds: 0, mean: 0, max: 0 };
      byPrefix.set(run.prefix, p);
    }
    const seconds = Math.max(0, run.stop - run.start);
    p.runs++;
    p.seconds += seconds;
    if (seconds > p.max) p.max = seconds;
    if (run.status === "erred") p.erred++;
  }
  const out = [...byPrefix.values()];
  for (const p of out) p.mean = p.seconds / p.runs;
  return out.sort((a, b) => b.seconds - a.seconds);
}

interface Row {
  worker: string;
  thread: number;
  label: string;
}

function rowsOf(records: PerformanceRecords): { rows: Row[]; index: Map<string, number> } {
  const rows: Row[] = [];
  const index = new Map<string, number>();
  const add = (worker: string, thread: number, name: string) => {
    const id = `${worker}#${thread}`;
    if (index.has(id)) return;
    index.set(id, rows.length);
    rows.push({ worker, thread, label: `${name} #${thread}` });
  };
  for (const w of records.workers ?? []) {
    for (let t = 0; t < w.nthreads; t++) add(w.address, t, w.name ?? w.address);
  }
  const seen = [...new Set(records.taskStream.map((r) => `${r.worker}#${r.thread ?? 0}`))].sort();
  for (const id of seen) {
    const cut = id.lastIndexOf("#");
    const worker = id.slice(0, cut);
    add(worker, Number(id.slice(cut + 1)), worker.replace(/^[a-z]+:\/\//, ""));
  }
  return { rows, index };
}

function taskStreamSvg(records: PerformanceRecords, start: number, stop: number): string {
  const { rows, index } = rowsOf(records);
  const rowHeight = Math.max(
    3,
    Math.min(ROW_HEIGHT_MAX, Math.floor(480 / Math.max(1, rows.length))),
  );
  const plot = STREAM_WIDTH - LABEL_WIDTH;
  const span = Math.max(stop - start, 1e-6);
  const scale = plot / span;
  const pixel = 1 / scale;
  const height = rows.length * rowHeight + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${STREAM_WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${STREAM_WIDTH} ${height}" font-size="10" font-family="sans-serif">`,
  ];
  rows.forEach((row, r) => {
    if (r % 2 === 0) {
      out.push(
        `<rect x="${LABEL_WIDTH}" y="${r * rowHeight}" width="${plot}" height="${rowHeight}" ` +
          `fill="#f4f5f7"/>`,
      );
    }
    if (rowHeight >= 9) {
      out.push(
        `<text x="4" y="${r * rowHeight + rowHeight / 2 + 3}" fill="#6a737d">` +
          `${escapeHtml(row.label.slice(-26))}</text>`,
      );
    }
  });
  // Per row, in start order; runs of one prefix less than a pixel apart merge into one bar.
  const perRow: TaskStreamEntry[][] = rows.map(() => []);
  for (const run of records.taskStream) {
    perRow[index.get(`${run.worker}#${run.thread ?? 0}`)!].push(run);
  }
  for (let r = 0; r < perRow.length; r++) {
    const runs = perRow[r].sort((a, b) => a.start - b.start);
    let i = 0;
    while (i < runs.length) {
      const first = runs[i];
      let last = first;
      let count = 1;
      while (
        i + count < runs.length && runs[i + count].prefix === first.prefix &&
        runs[i + count].status === first.status && runs[i + count].start - last.stop < pixel
      ) {
        last = runs[i + count];
        count++;
      }
      const x = LABEL_WIDTH + (first.start - start) * scale;
      const w = Math.max(0.5, (last.stop - first.start) * scale);
      const fill = first.status === "erred" ? "#111111" : prefixColor(first.prefix);
      const title = count === 1
        ? `${first.key}: ${formatDuration(first.stop - first.start)}` +
          (first.status === "erred" ? " (erred)" : "")
        : `${count} × ${first.prefix}: ${formatDuration(last.stop - first.start)}`;
      out.push(
        `<rect x="${x.toFixed(2)}" y="${r * rowHeight + 1}" width="${w.toFixed(2)}" ` +
          `height="${Math.max(1, rowHeight - 2)}" fill="${fill}"><title>${escapeHtml(title)}` +
          `</title></rect>`,
      );
      i += count;
    }
  }
  const axisY = rows.length * rowHeight;
  out.push(`<rect x="${LABEL_WIDTH}" y="${axisY}" width="${plot}" height="1" fill="#6a737d"/>`);
  for (let k = 0; k <= 5; k++) {
    const x = LABEL_WIDTH + (plot * k) / 5;
    out.push(
      `<rect x="${x - 0.5}" y="${axisY}" width="1" height="4" fill="#6a737d"/>` +
        `<text x="${x}" y="${axisY + 15}" text-anchor="${k === 5 ? "end" : "middle"}" ` +
        `fill="#6a737d">${escapeHtml(formatDuration((span * k) / 5))}</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n");
}

function prefixChartSvg(times: PrefixTime[]): string {
  const shown = times.slice(0, 30);
  const barHeight = 18;
  const width = 760;
  const labelWidth = 170;
  const max = Math.max(1e-9, ...shown.map((p) => p.seconds));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" ` +
    `height="${shown.length * (barHeight + 4) + 4}" font-size="11" font-family="sans-serif">`,
  ];
  shown.forEach((p, i) => {
    const y = 4 + i * (barHeight + 4);
    const w = ((width - labelWidth - 120) * p.seconds) / max;
    out.push(
      `<text x="${labelWidth - 6}" y="${y + 13}" text-anchor="end">${escapeHtml(p.prefix)}</text>` +
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" ` +
        `fill="${prefixColor(p.prefix)}"><title>${escapeHtml(p.prefix)}: ` +
        `${formatDuration(p.seconds)} over ${p.runs} runs</title></rect>` +
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 13}" fill="#444">` +
        `${escapeHtml(formatDuration(p.seconds))}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}

/** The report as one HTML document. */
export function renderPerformanceReport(records: PerformanceRecords): string {
  const runs = records.taskStream;
  let first = Infinity;
  let last = -Infinity;
  for (const run of runs) {
    if (run.start < first) first = run.start;
    if (run.stop > last) last = run.stop;
  }
  const start = records.start ?? (runs.length > 0 ? first : 0);
  const stop = records.stop ?? (runs.length > 0 ? last : start);
  const wall = Math.max(0, stop - start);
  const times = prefixTimes(runs);
  const compute = times.reduce((sum, p) => sum + p.seconds, 0);
  const erred = times.reduce((sum, p) => sum + p.erred, 0);
  const workers = new Set(runs.map((r) => r.worker));
  for (const w of records.workers ?? []) workers.add(w.address);
  const threads = records.workers?.reduce((sum, w) => sum + w.nthreads, 0) ??
    new Set(runs.map((r) => `${r.worker}#${r.thread ?? 0}`)).size;
  const title = records.title ?? "Performance report";
  const facts: [string, string][] = [
    ["Wall time", formatDuration(wall)],
    ["Task runs", formatCount(runs.length) + (erred > 0 ? ` (${formatCount(erred)} erred)` : "")],
    ["Compute time", formatDuration(compute)],
    ["Parallelism", wall > 0 ? `${(compute / wall).toFixed(2)} threads busy on average` : "–"],
    ["Workers", `${workers.size} (${threads} threads)`],
    ["Started", new Date(start * 1000).toISOString()],
  ];
  if (records.bytesTransferred !== undefined) {
    facts.push(["Transferred", formatBytes(records.bytesTransferred)]);
  }
  const tableRows = times.map((p) =>
    `<tr><td><span class="swatch" style="background:${prefixColor(p.prefix)}"></span>` +
    `${escapeHtml(p.prefix)}</td><td class="num">${formatCount(p.runs)}</td>` +
    `<td class="num">${formatCount(p.erred)}</td><td class="num">${
      formatDuration(p.seconds)
    }</td>` +
    `<td class="num">${(compute > 0 ? (100 * p.seconds) / compute : 0).toFixed(1)} %</td>` +
    `<td class="num">${formatDuration(p.mean)}</td><td class="num">${
      formatDuration(p.max)
    }</td></tr>`
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; font-size: 14px; color: #1f2328; margin: 24px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dt { color: #6a737d; } dd { margin: 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e1e4e8; padding: 4px 10px; text-align: left; }
th { background: #f3f4f6; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.muted { color: #6a737d; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<dl>
${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("\n")}
</dl>
<h2>Task stream</h2>
<p class="muted">One row per worker thread; hover a bar for its task. Black bars erred.</p>
${runs.length > 0 ? taskStreamSvg(records, start, stop) : "<p>No task ran.</p>"}
<h2>Compute time per task prefix</h2>
${times.length > 0 ? prefixChartSvg(times) : ""}
<table id="prefixes">
<thead><tr><th>Prefix</th><th class="num">Runs</th><th class="num">Erred</th>
<th class="num">Total</th><th class="num">Share</th><th class="num">Mean</th>
<th class="num">Max</th></tr></thead>
<tbody>
${tableRows}
</tbody>
</table>
</body>
</html>
`;
}

/** Writes the report to `path` (an `.html` file viewable offline). */
export async function writePerformanceReport(
  path: string,
  records: PerformanceRecords,
): Promise<void> {
  await Deno.writeTextFile(path, renderPerformanceReport(records));
}

/** Where {@link recordPerformanceReport} reads the cluster. */
export interface ReportSource {
  /** Starts recording the scheduler's task stream. */
  taskStream(): Promise<TaskStreamRecorder>;
  /** The workers, for their names and thread counts. */
  workers(): Promise<readonly { address: string; name: string; nthreads: number }[]>;
}

/**
 * Runs `work` while recording the cluster's task stream, then writes the report of what ran
 * meanwhile to `path` (also when `work` failed). Resolves to `work`'s result.
 */
export async function recordPerformanceReport<T>(
  source: ReportSource,
  path: string,
  work: () => Promise<T>,
): Promise<T> {
  const recorder = await source.taskStream();
  const start = Date.now() / 1000;
  try {
    return await work();
  } finally {
    const entries = await recorder.collect();
    const workers = (await source.workers()).map(({ address, name, nthreads }) => ({
      address,
      name,
      nthreads,
    }));
    await writePerformanceReport(path, {
      taskStream: entries,
      start,
      stop: Date.now() / 1000,
      workers,
      title: `Performance report (${entries.length} task runs)`,
    });
  }
}
