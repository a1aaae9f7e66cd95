/**
 * The Workers page: one table row per worker — name, address, threads, memory used / limit,
 * spilled, tasks processing / in memory, CPU, transfers, time since its last message.
 *
 * @module
 */

import { formatBytes, formatCount, formatDuration } from "../../../core/display/format.js";
import { serverNow } from "./live.js";

/**
 * @param {string} text
 * @param {string} [cls]
 */
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

export class WorkersPage {
  views = ["workers"];

  constructor() {
    this.body = /** @type {HTMLElement} */ (
      document.querySelector("#workers-table tbody")
    );
    this.caption = /** @type {HTMLElement} */ (document.getElementById("workers-caption"));
    /** @type {any[]} */
    this.workers = [];
  }

  /**
   * @param {string} event
   * @param {any} data
   */
  handle(event, data) {
    if (event === "workers") this.workers = data.workers;
  }

  render() {
    const now = serverNow();
    const rows = this.workers.slice().sort((a, b) => (a.name < b.name ? -1 : 1)).map((w) => {
      const tr = document.createElement("tr");
      tr.dataset.worker = w.address;
      const fraction = w.memoryLimit > 0 ? Math.min(1, w.memory / w.memoryLimit) : 0;
      const memory = document.createElement("td");
      memory.className = "mem";
      const bar = document.createElement("div");
      bar.className = "bar";
      const seg = document.createElement("div");
      seg.className = `seg ${fraction > 0.8 ? "over-limit" : "memory-bytes"}`;
      seg.style.width = `${fraction * 100}%`;
      const text = document.createElement("div");
      text.className = "text";
      text.textContent = `${formatBytes(w.memory)} / ` +
        (w.memoryLimit > 0 ? formatBytes(w.memoryLimit) : "no limit");
      bar.append(seg, text);
      memory.append(bar);
      tr.append(
        cell(w.name),
        cell(w.address, "muted"),
        cell(String(w.nthreads), "num"),
        memory,
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
    this.body.replaceChildren(...rows);
    let threads = 0;
    for (const w of this.workers) threads += w.nthreads;
    this.caption.textContent = `${this.workers.length} workers, ${threads} threads`;
  }
}
