/**
 * The Workers page: one table row per worker — name, address, threads, memory by kind (managed,
 * unmanaged, spilled) against its limit, tasks processing / in memory, CPU, transfers, time since
 * its last message — and charts over the last minutes: the cluster's memory by kind, processing
 * and occupancy per worker.
 *
 * @module
 */

import { formatBytes, formatCount, formatDuration } from "../../../core/display/format.js";
import { prefixColor } from "../../../core/display/palette.js";
import { serverNow } from "./live.js";
import { drawTimeChart } from "./time_chart.js";
import { cell, linkCell, patchRows } from "./dom.js";

/** The memory kinds' colours, as Dask draws them (unmanaged lighter, spilled apart). */
export const MEMORY_COLORS = Object.freeze({
  managed: "#4c78a8",
  unmanaged: "#9ecae9",
  spilled: "#f0a030",
});
/** Seconds of history the charts show. */
const HISTORY_WINDOW_S = 300;
/** Fewest seconds the charts show. */
const MIN_WINDOW_S = 20;
/** Samples kept per worker (the server samples once a second). */
const HISTORY_KEEP = 600;
/**
 * Least time between two redraws of what changes only with time (the charts' axis moves a
 * pixel in about a second; "last seen … ago"), ms: the page redraws five times a second.
 */
const SLOW_REDRAW_MS = 1000;

export class WorkersPage {
  views = ["workers"];

  constructor() {
    this.body = /** @type {HTMLElement} */ (
      document.querySelector("#workers-table tbody")
    );
    this.caption = /** @type {HTMLElement} */ (document.getElementById("workers-caption"));
    /** @type {any[]} */
    this.workers = [];
    /** @type {any} */
    this.bandwidth = null;
    this.pairsTable = /** @type {HTMLElement} */ (document.getElementById("bandwidth-pairs"));
    this.typesBody = /** @type {HTMLElement} */ (
      document.querySelector("#bandwidth-types tbody")
    );
    this.bandwidthCaption = /** @type {HTMLElement} */ (
      document.getElementById("bandwidth-caption")
    );
    /** Per worker, `[time, managed, unmanaged, spilled, processing, occupancy]`, oldest first. */
    /** @type {Map<string, number[][]>} */
    this.history = new Map();
    this.memoryChart = /** @type {HTMLCanvasElement} */ (document.getElementById("memory-history"));
    this.processingChart = /** @type {HTMLCanvasElement} */ (
      document.getElementById("processing-history")
    );
    this.occupancyChart = /** @type {HTMLCanvasElement} */ (
      document.getElementById("occupancy-history")
    );
    /** What came since the last redraw. */
    this.changed = { workers: true };
    this.lastTable = -Infinity;
    this.lastCharts = -Infinity;
  }

  /**
   * @param {string} event
   * @param {any} data
   */
  handle(event, data) {
    if (event === "workers") {
      this.workers = data.workers;
      this.bandwidth = data.bandwidth;
      this.changed.workers = true;
    }
    if (event === "history") {
      for (const [address, ...sample] of data.samples) {
        let rows = this.history.get(address);
        if (rows === undefined) this.history.set(address, rows = []);
        rows.push(sample);
        if (rows.length > 2 * HISTORY_KEEP) rows.splice(0, HISTORY_KEEP);
      }
    }
  }

  /** @param {number} now */
  #renderCharts(now) {
    const names = new Map(this.workers.map((w) => [w.address, w.name]));
    // Cluster totals per sample time (every worker is sampled at the same moment).
    /** @type {Map<number, number[]>} */
    const totals = new Map();
    for (const rows of this.history.values()) {
      for (const [t, managed, unmanaged, spilled] of rows) {
        const sum = totals.get(t) ?? [0, 0, 0];
        sum[0] += managed;
        sum[1] += unmanaged;
        sum[2] += spilled;
        totals.set(t, sum);
      }
    }
    const times = [...totals.keys()].sort((a, b) => a - b);
    const kind = (
      /** @type {number} */ i,
    ) => /** @type {[number, number][]} */ (times.map((
      t,
    ) => [t, /** @type {number[]} */ (totals.get(t))[i]]));
    // A young cluster's history fills the chart rather than a sliver at its right edge.
    let first = now;
    for (const rows of this.history.values()) {
      if (rows.length > 0) first = Math.min(first, rows[0][0]);
    }
    const windowS = Math.min(HISTORY_WINDOW_S, Math.max(MIN_WINDOW_S, now - first));
    const options = { now, windowS };
    const memoryMax = drawTimeChart(this.memoryChart, [
      { label: "managed", color: MEMORY_COLORS.managed, points: kind(0) },
      { label: "unmanaged", color: MEMORY_COLORS.unmanaged, points: kind(1) },
      { label: "spilled", color: MEMORY_COLORS.spilled, points: kind(2) },
    ], { ...options, stacked: true, format: formatBytes });
    const perWorker = (/** @type {number} */ column) =>
      [...this.history.entries()].filter(([address]) => names.has(address)).map((
        [address, rows],
      ) => ({
        label: names.get(address) ?? address,
        color: prefixColor(names.get(address) ?? address),
        points: /** @type {[number, number][]} */ (rows.map((r) => [r[0], r[column]])),
      }));
    const processingMax = drawTimeChart(this.processingChart, perWorker(4), {
      ...options,
      stacked: false,
      format: (v) => (v < 10 ? v.toFixed(1) : formatCount(Math.round(v))),
    });
    const occupancyMax = drawTimeChart(this.occupancyChart, perWorker(5), {
      ...options,
      stacked: false,
      format: formatDuration,
    });
    this.memoryChart.dataset.samples = String(times.length);
    this.memoryChart.dataset.max = String(memoryMax);
    this.processingChart.dataset.max = String(processingMax);
    this.occupancyChart.dataset.max = String(occupancyMax);
  }

  /** Redraws what changed, and what moves with time alone about once a second. */
  render() {
    const now = serverNow();
    const at = performance.now();
    // Tables at most once a second: a table's layout is the page's dearest part (5–6 ms each
    // here), and workers' figures change with every update while tasks run.
    if (at - this.lastTable >= SLOW_REDRAW_MS) {
      this.lastTable = at;
      this.#renderTable(now);
      if (this.changed.workers) this.#renderBandwidth();
      this.changed.workers = false;
    }
    // Charts at most once a second too: each redraw reads the whole history (minutes of samples),
    // and a second is finer than a pixel of their five-minute window.
    if (at - this.lastCharts >= SLOW_REDRAW_MS) {
      this.lastCharts = at;
      this.#renderCharts(now);
    }
  }

  /** @param {number} now */
  #renderTable(now) {
    const rows = this.workers.slice().sort((a, b) => (a.name < b.name ? -1 : 1)).map((w) => {
      const tr = document.createElement("tr");
      tr.dataset.worker = w.address;
      tr.append(
        linkCell(w.name, `/worker?address=${encodeURIComponent(w.address)}`),
        cell(w.address, "muted"),
        cell(String(w.nthreads), "num"),
        memoryCell(w),
        cell(w.spilled > 0 ? formatBytes(w.spilled) : "–", "num"),
        cell(formatCount(w.processing), "num"),
        cell(formatCount(w.inMemory), "num"),
        cell(formatCount(w.finished), "num"),
        cell(w.cpu === null ? "–" : `${Math.round(w.cpu)} %`, "num"),
        cell(w.inFlight > 0 ? String(w.inFlight) : "–", "num"),
        cell(`${formatDuration(Math.max(0, now - w.lastSeen))} ago`, "num"),
      );
      return tr;
    });
    patchRows(this.body, rows);
    let threads = 0;
    for (const w of this.workers) threads += w.nthreads;
    const caption = `${this.workers.length} workers, ${threads} threads`;
    if (this.caption.textContent !== caption) this.caption.textContent = caption;
  }

  /**
   * Bytes per second between workers (receiver rows, sender columns, with each worker's total in
   * and out) and by type; a cell's shade grows with its rate.
   */
  #renderBandwidth() {
    const bw = this.bandwidth;
    if (bw === null || bw === undefined) return;
    const workers = this.workers.slice().sort((a, b) => (a.name < b.name ? -1 : 1));
    const names = new Map(workers.map((w) => [w.address, w.name]));
    /** @type {Map<string, any>} */
    const pairs = new Map(bw.pairs.map((/** @type {any} */ p) => [`${p.to} ${p.from}`, p]));
    const perWorker = new Map(bw.workers.map((/** @type {any} */ w) => [w.address, w]));
    let max = 0;
    for (const p of bw.pairs) max = Math.max(max, p.rate);
    const perSecond = (/** @type {number} */ rate) =>
      rate > 0 ? `${formatBytes(Math.max(1, Math.round(rate)))}/s` : "–";
    const head = document.createElement("tr");
    head.append(cell("to ← from"), ...workers.map((w) => cell(w.name, "num")), cell("in", "num"));
    const rows = workers.map((to) => {
      const tr = document.createElement("tr");
      tr.dataset.worker = to.address;
      tr.append(cell(to.name));
      for (const from of workers) {
        const pair = pairs.get(`${to.address} ${from.address}`);
        const td = cell(pair === undefined ? "–" : perSecond(pair.rate), "num");
        if (pair !== undefined) {
          Object.assign(td.dataset, { from: from.address, rate: String(pair.rate) });
          td.dataset.total = String(pair.total);
          td.title = `${names.get(from.address)} → ${to.name}: ${formatBytes(pair.total)} in all`;
          if (max > 0 && pair.rate > 0) {
            td.style.background = `rgba(76, 120, 168, ${
              (0.15 + 0.6 * pair.rate / max).toFixed(2)
            })`;
          }
        }
        tr.append(td);
      }
      tr.append(cell(perSecond(perWorker.get(to.address)?.in ?? 0), "num"));
      return tr;
    });
    const out = document.createElement("tr");
    out.append(
      cell("out"),
      ...workers.map((w) => cell(perSecond(perWorker.get(w.address)?.out ?? 0), "num")),
      cell(""),
    );
    patchRows(this.pairsTable, [head, ...rows, out]);
    patchRows(
      this.typesBody,
      bw.types.map((/** @type {any} */ t) => {
        const tr = document.createElement("tr");
        tr.dataset.type = t.type;
        tr.dataset.total = String(t.total);
        tr.append(cell(t.type), cell(perSecond(t.rate), "num"), cell(formatBytes(t.total), "num"));
        return tr;
      }),
    );
    const caption = bw.pairs.length === 0
      ? "no transfers between workers yet"
      : `bytes/s over the last ${bw.windowS} s`;
    if (this.bandwidthCaption.textContent !== caption) this.bandwidthCaption.textContent = caption;
  }
}

/**
 * A worker's memory as a table cell: a bar of managed, unmanaged and spilled bytes against its
 * limit, the amounts in its `data-` attributes.
 * @param {any} w a workers-table row
 */
export function memoryCell(w) {
  const memory = document.createElement("td");
  memory.className = "mem";
  const bar = document.createElement("div");
  bar.className = "bar";
  const used = w.managed + w.unmanaged;
  // Against the limit when there is one, else against what the worker holds in all.
  const scale = w.memoryLimit > 0 ? w.memoryLimit : Math.max(1, used + w.spilled);
  for (const kind of /** @type {const} */ (["managed", "unmanaged", "spilled"])) {
    const seg = document.createElement("div");
    seg.className = `seg kind-${kind}`;
    seg.style.width = `${Math.min(1, w[kind] / scale) * 100}%`;
    seg.style.background = w.memoryLimit > 0 && used > 0.8 * w.memoryLimit && kind !== "spilled"
      ? "#d62728"
      : MEMORY_COLORS[kind];
    bar.append(seg);
  }
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = `${formatBytes(used)} / ` +
    (w.memoryLimit > 0 ? formatBytes(w.memoryLimit) : "no limit");
  bar.append(text);
  bar.title = `managed ${formatBytes(w.managed)} · unmanaged ${formatBytes(w.unmanaged)} · ` +
    `spilled ${formatBytes(w.spilled)}`;
  Object.assign(memory.dataset, {
    managed: String(w.managed),
    unmanaged: String(w.unmanaged),
    spilled: String(w.spilled),
  });
  memory.append(bar);
  return memory;
}
