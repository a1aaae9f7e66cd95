/**
 * The Status page: the task stream, progress per task prefix, bytes in memory per worker (spilled
 * apart) and processing per worker.
 *
 * @module
 */

import { formatBytes, formatCount, formatDuration } from "../../../core/display/format.js";
import { prefixColor } from "../../../core/display/palette.js";
import { TaskStream } from "./task_stream.js";

/**
 * A keyed list of rows that are created once and updated in place (no flicker, stable for tests).
 * @param {HTMLElement} container
 * @param {string[]} ids
 * @param {(id: string) => HTMLElement} create
 * @returns {Map<string, HTMLElement>}
 */
function syncRows(container, ids, create) {
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const child of /** @type {HTMLElement[]} */ ([...container.children])) {
    existing.set(child.dataset.id ?? "", child);
  }
  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  for (const id of ids) {
    let row = existing.get(id);
    if (row === undefined) {
      row = create(id);
      row.dataset.id = id;
    }
    rows.set(id, row);
  }
  // Re-inserting the same rows would still cost a style and layout pass: only on a change.
  let same = container.children.length === rows.size;
  let i = 0;
  for (const row of rows.values()) {
    if (!same) break;
    same = container.children[i++] === row;
  }
  if (!same) container.replaceChildren(...rows.values());
  return rows;
}

/**
 * Sets `element.textContent`, style or attribute values only where they changed: a write of the
 * same value still invalidates style and layout in some engines, and these run every update.
 * @param {HTMLElement} element
 * @param {string} text
 */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * @param {HTMLElement} element
 * @param {Record<string, string>} values
 */
function setData(element, values) {
  for (const name in values) {
    if (element.dataset[name] !== values[name]) element.dataset[name] = values[name];
  }
}

/**
 * @param {string} label
 * @returns {HTMLElement}
 */
function barRow(label) {
  const row = document.createElement("div");
  row.className = "row";
  const name = document.createElement("span");
  name.className = "label";
  name.textContent = label;
  name.title = label;
  const bar = document.createElement("div");
  bar.className = "bar";
  row.append(name, bar);
  return row;
}

/**
 * Sets a bar's segments: `[className, fraction, color?]`, plus an overlaid text.
 * @param {HTMLElement} bar
 * @param {[string, number, string?][]} segments
 * @param {string} text
 */
function setBar(bar, segments, text) {
  while (bar.children.length < segments.length + 1) bar.append(document.createElement("div"));
  segments.forEach(([cls, fraction, color], i) => {
    const seg = /** @type {HTMLElement} */ (bar.children[i]);
    const className = `seg ${cls}`;
    if (seg.className !== className) seg.className = className;
    // a tenth of a percent is finer than a pixel of these bars
    const width = `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(1)}%`;
    if (seg.style.width !== width) seg.style.width = width;
    if (seg.dataset.color !== (color ?? "")) {
      seg.dataset.color = color ?? "";
      seg.style.background = color ?? "";
    }
  });
  const label = /** @type {HTMLElement} */ (bar.children[segments.length]);
  if (label.className !== "text") label.className = "text";
  setText(label, text);
}

export class StatusPage {
  views = ["status"];

  constructor() {
    this.stream = new TaskStream(
      /** @type {HTMLCanvasElement} */ (document.getElementById("task-stream")),
      /** @type {HTMLElement} */ (document.getElementById("tooltip")),
      /** @type {HTMLElement} */ (document.getElementById("task-stream-legend")),
      /** @type {HTMLElement} */ (document.getElementById("task-stream-caption")),
    );
    this.progress = /** @type {HTMLElement} */ (document.getElementById("progress"));
    this.progressCaption = /** @type {HTMLElement} */ (document.getElementById("progress-caption"));
    this.memory = /** @type {HTMLElement} */ (document.getElementById("memory-bars"));
    this.processing = /** @type {HTMLElement} */ (document.getElementById("processing-bars"));
    /** @type {any} */
    this.status = null;
    this.statusDrawn = false;
  }

  /**
   * @param {string} event
   * @param {any} data
   */
  handle(event, data) {
    if (event === "status") {
      this.status = data;
      this.statusDrawn = false;
      this.stream.setWorkers(data.workers);
    } else if (event === "tasks") {
      this.stream.add(data);
    }
  }

  /**
   * Redraws the task stream unless its picture stands still, then applies the latest status
   * (once, however many came since the last frame). In that order: the stream reads the canvas's
   * width, which after the status's writes would force a layout of its own before the frame's.
   */
  render() {
    if (!this.stream.still()) this.stream.render();
    if (this.status !== null && !this.statusDrawn) {
      this.statusDrawn = true;
      this.#renderProgress(this.status);
      this.#renderWorkers(this.status.workers);
    }
  }

  /** Whether a redraw would change nothing: the status is drawn and the stream stands still. */
  still() {
    return (this.status === null || this.statusDrawn) && this.stream.still();
  }

  /** @param {any} status */
  #renderProgress(status) {
    /** @type {any[]} */
    const prefixes = status.prefixes;
    const rows = syncRows(this.progress, prefixes.map((p) => p.name), (name) => {
      const row = barRow(name);
      const count = document.createElement("span");
      count.className = "count";
      row.append(count);
      row.dataset.prefix = name;
      return row;
    });
    for (const p of prefixes) {
      const row = /** @type {HTMLElement} */ (rows.get(p.name));
      const color = prefixColor(p.name);
      const done = p.memory + p.released;
      setBar(/** @type {HTMLElement} */ (row.children[1]), [
        ["released", p.released / p.total, color + "80"],
        ["memory", p.memory / p.total, color],
        ["erred", p.erred / p.total],
        ["processing", p.processing / p.total],
      ], "");
      const count = /** @type {HTMLElement} */ (row.children[2]);
      setText(
        count,
        `${formatCount(done)} / ${formatCount(p.total)}` +
          (p.erred > 0 ? ` · ${formatCount(p.erred)} erred` : "") +
          (p.duration !== null ? ` · ${formatDuration(p.duration)}` : ""),
      );
      setData(row, {
        total: String(p.total),
        done: String(done),
        memory: String(p.memory),
        processing: String(p.processing),
        waiting: String(p.waiting),
        erred: String(p.erred),
      });
      const title = `${p.name}: ${p.memory} in memory, ${p.released} done and released, ` +
        `${p.processing} processing, ${p.waiting} waiting, ${p.erred} erred; ` +
        `${formatBytes(p.nbytes)} in memory`;
      if (row.title !== title) row.title = title;
    }
    const c = status.counts;
    const caption = prefixes.length === 0
      ? "no tasks"
      : `${formatCount(c.memory)} in memory · ${formatCount(c.processing)} processing · ` +
        `${formatCount(c.waiting + c.queued + c["no-worker"])} waiting · ` +
        `${formatCount(c.erred)} erred`;
    setText(this.progressCaption, caption);
  }

  /** @param {any[]} workers */
  #renderWorkers(workers) {
    const ids = workers.map((w) => w.address);
    const byAddress = new Map(workers.map((w) => [w.address, w]));
    let maxBytes = 1;
    let maxProcessing = 1;
    for (const w of workers) {
      maxBytes = Math.max(maxBytes, w.memoryLimit || 0, w.nbytes + w.spilled);
      maxProcessing = Math.max(maxProcessing, w.processing, w.nthreads);
    }
    const memoryRows = syncRows(this.memory, ids, (id) => barRow(byAddress.get(id).name));
    const processingRows = syncRows(this.processing, ids, (id) => barRow(byAddress.get(id).name));
    for (const w of workers) {
      const limit = w.memoryLimit > 0 ? w.memoryLimit : maxBytes;
      const mem = /** @type {HTMLElement} */ (memoryRows.get(w.address));
      const over = w.memoryLimit > 0 && w.nbytes > 0.8 * w.memoryLimit;
      setBar(
        /** @type {HTMLElement} */ (mem.children[1]),
        [[over ? "over-limit" : "memory-bytes", w.nbytes / limit], ["spilled", w.spilled / limit]],
        `${formatBytes(w.nbytes)}${w.spilled > 0 ? ` + ${formatBytes(w.spilled)} spilled` : ""}` +
          (w.memoryLimit > 0 ? ` / ${formatBytes(w.memoryLimit)}` : ""),
      );
      setData(mem, { worker: w.address, bytes: String(w.nbytes), spilled: String(w.spilled) });
      const proc = /** @type {HTMLElement} */ (processingRows.get(w.address));
      setBar(
        /** @type {HTMLElement} */ (proc.children[1]),
        [["busy", w.processing / maxProcessing]],
        `${w.processing} on ${w.nthreads} threads`,
      );
      setData(proc, { worker: w.address, processing: String(w.processing) });
    }
  }
}
