/**
 * The System page: the scheduler host's memory and load, and per process (the scheduler and every
 * worker) its CPU use, resident memory and open files. Read from `/api/v1/system` once a second
 * while the page is shown.
 *
 * @module
 */

import { formatBytes, formatCount } from "../../../core/display/format.js";
import { cell, Poller, setFacts } from "./dom.js";

/** Least time between two readings, ms. */
const POLL_MS = 1000;

export class SystemPage {
  // The live connection keeps the connection badge honest; the numbers come from polling.
  views = ["workers"];

  constructor() {
    this.body = /** @type {HTMLElement} */ (document.querySelector("#system-table tbody"));
    this.host = /** @type {HTMLElement} */ (document.getElementById("system-host"));
    this.poller = new Poller(POLL_MS, (data) => this.#show(data));
  }

  /** Events are not needed: the page reads /api/v1/system. */
  handle() {}

  render() {
    this.poller.poll("/api/v1/system");
  }

  /** @param {any} data */
  #show(data) {
    const h = data.host;
    const facts = [
      [
        "Host memory",
        h.memoryTotal === null
          ? "–"
          : `${formatBytes(h.memoryAvailable)} available of ${formatBytes(h.memoryTotal)}`,
      ],
      [
        "Load average",
        h.loadAverage === null ? "–" : h.loadAverage.map((x) => x.toFixed(2)).join(" · "),
      ],
    ];
    setFacts(this.host, facts);
    const dash = (/** @type {number | null} */ v, /** @type {(v: number) => string} */ f) =>
      v === null ? "–" : f(v);
    this.body.replaceChildren(...data.processes.map((/** @type {any} */ p) => {
      const tr = document.createElement("tr");
      Object.assign(tr.dataset, {
        role: p.role,
        cpu: String(p.cpu),
        rss: String(p.rss),
        openFiles: String(p.openFiles),
      });
      tr.append(
        cell(p.name),
        cell(p.role, "muted"),
        cell(p.address, "muted"),
        cell(dash(p.pid, String), "num"),
        cell(dash(p.cpu, (v) => `${Math.round(v)} %`), "num"),
        cell(dash(p.rss, formatBytes), "num"),
        cell(dash(p.openFiles, formatCount), "num"),
      );
      return tr;
    }));
  }
}
