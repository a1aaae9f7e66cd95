/**
 * The task stream: one row per worker thread, one bar per task run coloured by its prefix, over
 * the last seconds (or, when the cluster is idle, around its last activity). Erred runs are
 * black; transfers into a worker (red) and spills (orange) / reads back from disk (purple) mark
 * the top of the worker's first row.
 *
 * Zoom: dragging across the plot shows the time range selected (the stream then stays on it
 * while new runs keep arriving), the wheel pans it, a double-click returns to the live window.
 *
 * @module
 */

import { formatDuration } from "../../../core/display/format.js";
import { serverNow } from "./live.js";
import { MARK_COLORS, prefixColor } from "../../../core/display/palette.js";
import { sizedContext } from "./canvas.js";
import { runsOfColumns } from "./task_columns.js";

/** @typedef {import("./task_columns.js").TaskColumns} TaskColumns */
import { showTooltip } from "./tooltip.js";

const WINDOW_SECONDS = 15;
const LABEL_WIDTH = 140;
const AXIS_HEIGHT = 18;
const MAX_ENTRIES = 60_000;
/** Runs arrive in the order they finished, give or take clock skew between workers. */
const ORDER_SLACK_SECONDS = 5;
/** Narrowest range a drag can zoom to. */
const MIN_ZOOM_SECONDS = 0.005;
/** A drag shorter than this many pixels is a click, not a selection. */
const MIN_DRAG_PX = 4;

/**
 * A round step for axis ticks: about `span / 4`, as 1, 2 or 5 times a power of ten.
 * @param {number} span
 */
function tickStep(span) {
  const raw = span / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** @param {number} seconds */
function formatOffset(seconds) {
  const abs = Math.abs(seconds);
  const digits = abs >= 10 || Number.isInteger(abs) ? 0 : abs >= 1 ? 1 : abs >= 0.1 ? 2 : 3;
  return `-${abs.toFixed(digits)} s`;
}

/**
 * A run, or several runs of one prefix one after the other on a thread that the server sent
 * coalesced while tasks flooded in (`count` of them, `key` the latest's):
 * @typedef {{ key: string, prefix: string, worker: string, thread: number, row: string,
 *   start: number, stop: number, erred: boolean, count: number }} Run
 * @typedef {[number, string, string, number, number, number]} Mark
 * @typedef {{ address: string, name: string, nthreads: number }} WorkerInfo
 */

export class TaskStream {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {HTMLElement} tooltip
   * @param {HTMLElement} legend
   * @param {HTMLElement} caption
   */
  constructor(canvas, tooltip, legend, caption) {
    this.canvas = canvas;
    this.tooltip = tooltip;
    this.legend = legend;
    this.caption = caption;
    /** @type {Run[]} */
    this.runs = [];
    /** @type {Map<number, Mark>} */
    this.marks = new Map();
    /** @type {WorkerInfo[]} */
    this.workers = [];
    this.nextSeq = 0;
    this.lastStop = 0;
    /** @type {[number, number, number, number, Run, number][]} bars drawn: box, run, runs */
    this.hits = [];
    /** @type {Map<string, string>} */
    this.colors = new Map();
    this.legendText = "";
    /** @type {{ start: number, end: number } | null} the zoomed range; null: live */
    this.zoom = null;
    /** @type {{ from: number, to: number } | null} a drag in progress, in CSS pixels */
    this.drag = null;
    /** The time range last drawn, so that pixels map back to times. */
    this.drawn = { start: 0, end: WINDOW_SECONDS };
    /** Whether runs, marks or workers came since the last redraw. */
    this.changed = true;
    /** Whether the last redraw showed a settled picture (see {@link TaskStream.still}). */
    this.drawnSettled = false;
    /** The workers' rows as last set, to tell a change. */
    this.workersKey = "";
    // A new width needs a new picture, even one that stands still.
    addEventListener("resize", () => (this.changed = true));
    canvas.addEventListener("mousemove", (e) => this.#hover(e));
    canvas.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
    canvas.addEventListener("mousedown", (e) => {
      const x = this.#plotX(e);
      if (x === null || e.button !== 0) return;
      e.preventDefault();
      this.drag = { from: x, to: x };
    });
    addEventListener("mousemove", (e) => {
      if (this.drag === null) return;
      this.drag.to = this.#clampX(e);
      this.render();
    });
    addEventListener("mouseup", (e) => {
      if (this.drag === null) return;
      const { from } = this.drag;
      const to = this.#clampX(e);
      this.drag = null;
      if (Math.abs(to - from) >= MIN_DRAG_PX) {
        const a = this.#timeAt(Math.min(from, to));
        const b = this.#timeAt(Math.max(from, to));
        this.zoom = { start: a, end: Math.max(b, a + MIN_ZOOM_SECONDS) };
      }
      this.render();
    });
    canvas.addEventListener("dblclick", () => {
      this.zoom = null;
      this.render();
    });
    canvas.addEventListener("wheel", (e) => {
      if (this.zoom === null) return;
      e.preventDefault();
      const span = this.zoom.end - this.zoom.start;
      const delta = Math.sign(e.deltaX || e.deltaY) * span * 0.1;
      this.zoom = { start: this.zoom.start + delta, end: this.zoom.end + delta };
      this.render();
    }, { passive: false });
  }

  /**
   * The pointer's x on the plot (CSS pixels from the canvas's left), null off the plot.
   * @param {MouseEvent} event
   */
  #plotX(event) {
    const x = event.clientX - this.canvas.getBoundingClientRect().left;
    return x >= LABEL_WIDTH && x <= (this.canvas.clientWidth || 800) ? x : null;
  }

  /** @param {MouseEvent} event */
  #clampX(event) {
    const x = event.clientX - this.canvas.getBoundingClientRect().left;
    return Math.min(Math.max(x, LABEL_WIDTH), this.canvas.clientWidth || 800);
  }

  /** @param {number} x CSS pixels from the canvas's left */
  #timeAt(x) {
    const { start, end } = this.drawn;
    const plotWidth = (this.canvas.clientWidth || 800) - LABEL_WIDTH;
    return start + ((x - LABEL_WIDTH) / plotWidth) * (end - start);
  }

  /** @param {WorkerInfo[]} workers */
  setWorkers(workers) {
    const sorted = workers.slice().sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.address < b.address ? -1 : 1
    );
    const key = sorted.map((w) => `${w.address} ${w.name} ${w.nthreads}`).join("\n");
    if (key === this.workersKey) return;
    this.workersKey = key;
    this.workers = sorted;
    this.changed = true;
  }

  /**
   * Whether the live window shows a picture that time does not move: no run ever came (and no
   * transfer or spill), or the last run ended more than the window ago (the stream then stays on
   * the last activity).
   * @param {number} now
   */
  #settled(now) {
    return this.lastStop === 0 ? this.marks.size === 0 : this.lastStop < now - WINDOW_SECONDS;
  }

  /**
   * Whether a redraw now would draw the picture already drawn: nothing came since the last one,
   * no zoom or drag is on (a zoomed axis counts back from now), and both then and now the live
   * window was settled. A page then skips its timed redraws.
   */
  still() {
    return !this.changed && this.zoom === null && this.drag === null && this.drawnSettled &&
      this.#settled(serverNow());
  }

  /**
   * Takes a `tasks` part: `{ first, total, columns, marks }`, entries numbered from `first`.
   * @param {{ first: number, total: number, columns: TaskColumns, marks: Mark[] }} message
   */
  add(message) {
    if (message.total < this.nextSeq) {
      // A new scheduler behind the same address: its numbering starts again.
      this.runs = [];
      this.marks.clear();
      this.nextSeq = 0;
      this.lastStop = 0;
    }
    const skip = Math.max(0, this.nextSeq - message.first);
    const entries = runsOfColumns(message.columns);
    for (let i = skip; i < entries.length; i++) {
      const [key, prefix, worker, thread, start, stop, erred, count] = entries[i];
      this.runs.push({
        key,
        prefix,
        worker,
        thread,
        row: `${worker}#${thread}`,
        start,
        stop,
        erred: erred === 1,
        count: count ?? 1,
      });
      if (stop > this.lastStop) this.lastStop = stop;
    }
    this.nextSeq = Math.max(this.nextSeq, message.total);
    if (this.runs.length > MAX_ENTRIES) this.runs.splice(0, this.runs.length - MAX_ENTRIES / 2);
    for (const mark of message.marks) this.marks.set(mark[0], mark);
    if (this.marks.size > 4000) {
      const keep = [...this.marks.values()].slice(-2000);
      this.marks = new Map(keep.map((m) => [m[0], m]));
    }
    this.canvas.dataset.received = String(this.nextSeq);
    this.changed = true;
  }

  /** @param {string} prefix */
  #color(prefix) {
    let color = this.colors.get(prefix);
    if (color === undefined) {
      color = prefixColor(prefix);
      this.colors.set(prefix, color);
    }
    return color;
  }

  /** Rows: every thread of every worker, then threads seen in runs of workers now gone. */
  #rows(visible) {
    /** @type {Map<string, number>} */
    const index = new Map();
    /** @type {string[]} */
    const labels = [];
    /** @type {Map<string, number>} first row of each worker */
    const firstRow = new Map();
    const add = (worker, name, thread) => {
      const id = `${worker}#${thread}`;
      if (index.has(id)) return;
      if (!firstRow.has(worker)) firstRow.set(worker, labels.length);
      index.set(id, labels.length);
      labels.push(`${name} #${thread}`);
    };
    for (const w of this.workers) for (let t = 0; t < w.nthreads; t++) add(w.address, w.name, t);
    for (const run of visible) {
      if (!index.has(run.row)) add(run.worker, run.worker.replace(/^[a-z]+:\/\//, ""), run.thread);
    }
    return { index, labels, firstRow };
  }

  render() {
    const canvas = this.canvas;
    const now = serverNow();
    this.changed = false;
    this.drawnSettled = this.#settled(now);
    const zoom = this.zoom;
    const idle = zoom === null && this.lastStop > 0 && this.lastStop < now - WINDOW_SECONDS;
    const end = zoom !== null ? zoom.end : idle ? this.lastStop + WINDOW_SECONDS * 0.05 : now;
    const start = zoom !== null ? zoom.start : end - WINDOW_SECONDS;
    this.drawn = { start, end };
    /** @type {Run[]} */
    const visible = [];
    let runCount = 0;
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const run = this.runs[i];
      if (run.stop < start - ORDER_SLACK_SECONDS) break;
      if (run.stop >= start && run.start <= end) {
        visible.push(run);
        runCount += run.count;
      }
    }
    const { index, labels, firstRow } = this.#rows(visible);
    const rowHeight = Math.max(3, Math.min(22, Math.floor(360 / Math.max(1, labels.length))));
    const cssWidth = canvas.clientWidth || 800;
    const cssHeight = Math.max(80, labels.length * rowHeight + AXIS_HEIGHT);
    const height = `${cssHeight}px`;
    if (canvas.style.height !== height) canvas.style.height = height;
    const ctx = sizedContext(canvas, cssWidth, cssHeight);
    const plotWidth = cssWidth - LABEL_WIDTH;
    const scale = plotWidth / (end - start);
    const xOf = (t) => LABEL_WIDTH + (t - start) * scale;

    // Row backgrounds and labels.
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let r = 0; r < labels.length; r++) {
      if (r % 2 === 0) {
        ctx.fillStyle = "#f6f7f9";
        ctx.fillRect(LABEL_WIDTH, r * rowHeight, plotWidth, rowHeight);
      }
      if (rowHeight >= 9) {
        ctx.fillStyle = "#6a737d";
        ctx.fillText(labels[r].slice(-22), 4, r * rowHeight + rowHeight / 2, LABEL_WIDTH - 8);
      }
    }

    // Task runs. Runs of one colour less than a pixel apart on a row merge into one bar: at
    // thousands of tasks a second most runs are narrower than a pixel.
    this.hits = [];
    /** @type {Set<string>} */
    const prefixes = new Set();
    let erred = false;
    /** @type {Map<number, [number, number, string, Run, number]>} open bar per row */
    const open = new Map();
    const flush = (row, bar) => {
      const [x0, x1, color, run, count] = bar;
      const y = row * rowHeight + 1;
      const h = Math.max(1, rowHeight - 2);
      ctx.fillStyle = color;
      ctx.fillRect(x0, y, Math.max(1, x1 - x0), h);
      this.hits.push([x0, y, Math.max(1, x1 - x0), h, run, count]);
    };
    for (const run of visible) {
      const row = index.get(run.row);
      if (row === undefined) continue;
      const x0 = Math.max(LABEL_WIDTH, xOf(run.start));
      const x1 = Math.min(cssWidth, xOf(run.stop));
      const color = run.erred ? MARK_COLORS.erred : this.#color(run.prefix);
      prefixes.add(run.prefix);
      erred ||= run.erred;
      const bar = open.get(row);
      // Runs come newest first: this one ends where the open bar starts, give or take a pixel.
      if (bar !== undefined && bar[2] === color && x1 >= bar[0] - 1 && x0 <= bar[1] + 1) {
        bar[0] = Math.min(bar[0], x0);
        bar[1] = Math.max(bar[1], x1);
        bar[4] += run.count;
        continue;
      }
      if (bar !== undefined) flush(row, bar);
      open.set(row, [x0, x1, color, run, run.count]);
    }
    for (const [row, bar] of open) flush(row, bar);

    // Transfers and spills.
    const kinds = new Set();
    for (const [, worker, kind, markStart, markStop] of this.marks.values()) {
      const row = firstRow.get(worker);
      if (row === undefined || markStop < start || markStart > end) continue;
      kinds.add(kind);
      ctx.fillStyle = MARK_COLORS[kind];
      const x0 = Math.max(LABEL_WIDTH, xOf(markStart));
      if (kind === "transfer") {
        ctx.fillRect(x0, row * rowHeight, Math.max(2, xOf(markStop) - x0), 3);
      } else {
        ctx.fillRect(x0 - 1, row * rowHeight, 3, rowHeight);
      }
    }

    // Time axis.
    const axisY = labels.length * rowHeight;
    ctx.fillStyle = "#6a737d";
    ctx.fillRect(LABEL_WIDTH, axisY, plotWidth, 1);
    ctx.textBaseline = "top";
    if (zoom === null) {
      for (let s = 0; s <= WINDOW_SECONDS; s += 5) {
        const x = LABEL_WIDTH + plotWidth - s * scale;
        ctx.fillRect(x, axisY, 1, 4);
        const label = s === 0 ? (idle ? "last activity" : "now") : `-${s} s`;
        const right = cssWidth - ctx.measureText(label).width - 2;
        ctx.fillText(label, Math.min(x - 2, right), axisY + 5);
      }
    } else {
      // Ticks at round times before now.
      const step = tickStep(end - start);
      for (let ago = Math.ceil((now - end) / step) * step; now - ago >= start; ago += step) {
        const x = xOf(now - ago);
        ctx.fillRect(x, axisY, 1, 4);
        const label = formatOffset(ago);
        const right = cssWidth - ctx.measureText(label).width - 2;
        ctx.fillText(label, Math.max(LABEL_WIDTH, Math.min(x - 2, right)), axisY + 5);
      }
    }
    if (this.drag !== null) {
      ctx.fillStyle = "rgba(3, 102, 214, 0.18)";
      const x0 = Math.min(this.drag.from, this.drag.to);
      ctx.fillRect(x0, 0, Math.abs(this.drag.to - this.drag.from), axisY);
    }
    if (labels.length === 0) {
      ctx.textBaseline = "middle";
      ctx.fillText("No workers yet.", LABEL_WIDTH + 8, 30);
    }

    canvas.dataset.drawn = String(visible.length);
    canvas.dataset.bars = String(this.hits.length);
    canvas.dataset.rows = String(labels.length);
    canvas.dataset.zoomed = zoom === null ? "" : `${start},${end}`;
    const caption = zoom !== null
      ? `${runCount} task runs in the ${formatDuration(end - start)} selected ` +
        `(wheel pans; double-click returns to live)`
      : `${runCount} task runs in the last ${WINDOW_SECONDS} s` +
        (idle ? " of activity (idle now)" : "") + " · drag to zoom";
    // an unchanged text written again would still cost a layout
    if (this.caption.textContent !== caption) this.caption.textContent = caption;
    this.#legend(prefixes, kinds, erred);
  }

  /**
   * @param {Set<string>} prefixes
   * @param {Set<string>} kinds
   * @param {boolean} erred
   */
  #legend(prefixes, kinds, erred) {
    const items = [...prefixes].sort().map((p) => [p, this.#color(p)]);
    if (erred) items.push(["erred", MARK_COLORS.erred]);
    for (const kind of ["transfer", "spill", "unspill"]) {
      if (kinds.has(kind)) items.push([kind, MARK_COLORS[kind]]);
    }
    const text = items.map(([n]) => n).join(",");
    if (text === this.legendText) return;
    this.legendText = text;
    this.legend.replaceChildren(...items.map(([name, color]) => {
      const span = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = color;
      span.append(swatch, name);
      return span;
    }));
  }

  /** @param {MouseEvent} event */
  #hover(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    const hit = this.hits.find(([hx, hy, hw, hh]) =>
      x >= hx - 1 && x <= hx + hw + 1 && y >= hy && y <= hy + hh
    );
    if (hit === undefined) {
      this.tooltip.hidden = true;
      return;
    }
    const [, , , , run, count] = hit;
    const text = count > 1
      ? `${count} runs of ${run.prefix} on ${run.worker} thread ${run.thread}\n` +
        `latest ${run.key}: ${formatDuration(run.stop - run.start)}`
      : `${run.key}\n${run.prefix} on ${run.worker} thread ${run.thread}` +
        `\n${formatDuration(run.stop - run.start)}${run.erred ? " — erred" : ""}`;
    showTooltip(this.tooltip, text, event.clientX, event.clientY);
  }
}
